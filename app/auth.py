"""Sign-in against the SQL users, the logged-in principal, role checks and CSRF for forms.

The principal kept by Flask-Login is a plain, session-independent snapshot of the SQL user
(:class:`Principal`), with what the user may see worked out once at load time
(:func:`fleet.scope.scope_of_user`: the tenants, and for a site-limited viewer the sites); every
view, API route, report and Socket.IO room scopes by :attr:`Principal.scope`.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, make_response, redirect, render_template,
                   request, session, url_for)
from flask_login import current_user, login_user, logout_user

from .extensions import login_manager

bp = Blueprint("auth", __name__)

#: Where each role lands after signing in (blueprint endpoint names).
HOME_BY_ROLE = {
    "admin": "console.fleet",
    "engineer": "console.fleet",
    "technician": "tech.orders",
    "customer": "portal.index",
}
OEM_STAFF_ROLES = ("admin", "engineer")


@dataclass(frozen=True)
class Principal:
    """The logged-in user as the web layer needs it (no live SQL session attached).

    ``visible_tenant_ids`` holds the tenants whose machines this user may see: a customer user
    only its own tenant; a dealer's user the dealer and its customers; a user of the OEM the OEM,
    its dealers and every customer (:func:`descendant_tenant_ids`). ``site_ids`` is None, or the
    sites a site-limited viewer of a customer is confined to. Read models take :attr:`scope`.
    """

    id: int
    email: str
    name: str
    role: str
    tenant_id: int
    tenant_name: str
    tenant_kind: str
    visible_tenant_ids: tuple[int, ...] = field(default_factory=tuple)
    active: bool = True
    timezone: str | None = None  # IANA zone the user reads times in; None: the browser's
    manages_users: bool = False  # a customer's user administrator (docs/admin.md)
    site_ids: tuple[int, ...] | None = None  # None: every site of the visible tenants

    # Flask-Login's user interface.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_oem_staff(self) -> bool:
        """True for OEM engineers and admins, who see the whole fleet on the console."""
        return self.tenant_kind == "oem" and self.role in OEM_STAFF_ROLES

    @property
    def scope(self):
        """What this user may see, as a :class:`fleet.scope.Scope` (pass it to every read model)."""
        from fleet.scope import Scope

        return Scope(self.visible_tenant_ids, self.site_ids)

    @property
    def site_limited(self) -> bool:
        """True for a viewer who sees only some of their company's sites."""
        return self.site_ids is not None

    def may_see_tenant(self, tenant_id: int | None) -> bool:
        """Whether a machine owned by ``tenant_id`` is visible to this user."""
        return tenant_id is not None and int(tenant_id) in self.visible_tenant_ids


def principal_from_user(user, tenant, descendant_ids: list[int], site_ids: tuple[int, ...] | None = None) -> Principal:
    """Build a :class:`Principal` from SQL rows (``fleet.models.User`` and its ``Tenant``).

    Parameters
    ----------
    user, tenant
        The user row and its tenant row.
    descendant_ids : list of int
        Ids of the tenants below the user's (a dealer's customers; the OEM's dealers and all
        their customers). A customer tenant has none.
    site_ids : tuple of int, optional
        The sites a site-limited viewer sees (``fleet.scope.user_site_ids``); None: every site.
    """
    visible = [tenant.id] + list(descendant_ids)
    return Principal(id=user.id, email=user.email, name=user.name, role=user.role,
                     tenant_id=tenant.id, tenant_name=tenant.name, tenant_kind=tenant.kind,
                     visible_tenant_ids=tuple(sorted(set(visible))), active=bool(user.active),
                     timezone=getattr(user, "timezone", None) or None,
                     manages_users=bool(getattr(user, "manages_users", False)),
                     site_ids=None if site_ids is None else tuple(sorted(site_ids)))


def descendant_tenant_ids(db, tenant_id: int) -> list[int]:
    """Every tenant below ``tenant_id`` (children, their children, ...). Who sees whose machines
    is worked out in one place, :mod:`fleet.scope` (this tenant chain, plus a viewer's site limit);
    pages, the APIs, the reports and the Socket.IO rooms all scope by :attr:`Principal.scope`."""
    from fleet.scope import descendant_tenant_ids as below

    return below(db, tenant_id)


def load_principal(session_factory, user_id: int) -> Principal | None:
    """Read user ``user_id`` with its scope from SQL; None if unknown or deactivated."""
    from fleet.models import Tenant, User
    from fleet.scope import scope_of_user

    with session_factory() as db:
        user = db.get(User, user_id)
        if user is None or not user.active:
            return None
        tenant = db.get(Tenant, user.tenant_id)
        scope = scope_of_user(db, user)
        return principal_from_user(user, tenant, [t for t in scope.tenant_ids if t != tenant.id], scope.site_ids)


def sign_in_service():
    """The SQL-backed sign-in service (throttles, sessions) of the running app."""
    from fleet.accounts import SignInService

    return SignInService(current_app.extensions["ironwatch"].sessions)


@login_manager.user_loader
def _load_user(user_id: str) -> Principal | None:
    # Cached per request on ``g``: Socket.IO handlers and views may ask several times.
    cached = getattr(g, "_ironwatch_principal", None)
    if cached is not None and cached.get_id() == user_id:
        return cached
    # The cookie is only as good as its server-side session: revoked at sign-out, or expired.
    if sign_in_service().session_user(session.get("_sid")) != int(user_id):
        return None
    principal = load_principal(current_app.extensions["ironwatch"].sessions, int(user_id))
    g._ironwatch_principal = principal
    return principal


# --- CSRF for HTML forms (the JSON API and device ingest do not use cookies for writes) --------

def csrf_token() -> str:
    """The per-session anti-forgery token, created on first use (exposed to templates)."""
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort with 400 unless the request carries this session's token: the ``csrf_token`` field of
    an HTML form, or the ``X-CSRF-Token`` header of a script (the technicians' app). Under
    ``/api/`` the answer is JSON naming the header (``bad_field``), as the other API errors are."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("_csrf", "")
    # compared as bytes: compare_digest raises TypeError on a str with non-ASCII letters (a 500
    # from a forged form); "replace" because a header can hold any latin-1 byte
    if expected and hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode()):
        return
    if wants_json():
        abort(make_response(jsonify(error="bad_field", field="X-CSRF-Token",
                                    message="Send the page's CSRF token in the X-CSRF-Token header (reload the app)."),
                            400))
    abort(400, description="The form expired or did not come from this site; please try again.")


# --- role checks --------------------------------------------------------------------------------

def wants_json() -> bool:
    """True for API routes, which answer errors as JSON rather than HTML."""
    return request.path.startswith("/api/")


def roles_required(*roles: str) -> Callable:
    """Decorator: the user must be signed in and have one of ``roles``.

    HTML views redirect anonymous users to the sign-in page; API routes answer 401 JSON. A signed-in
    user with another role gets 403.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                if wants_json():
                    return jsonify(error="unauthenticated", message="Sign in first."), 401
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                if wants_json():
                    return jsonify(error="forbidden",
                                   message=f"This needs one of the roles: {', '.join(roles)}."), 403
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def home_url_for(principal: Principal) -> str:
    """The landing page of ``principal``'s role."""
    endpoint = HOME_BY_ROLE.get(principal.role, "console.fleet")
    if endpoint not in current_app.view_functions:
        endpoint = "console.fleet"
    return url_for(endpoint)


def _safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: an open redirect would let a phishing link bounce through us.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# --- views --------------------------------------------------------------------------------------

@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.args.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url or home_url_for(current_user))
        return render_template("auth/login.html", next_url=next_url, email="")
    check_csrf()
    email = request.form.get("email", "")
    result = sign_in_service().sign_in(email, request.form.get("password", ""), request.remote_addr)
    _record_sign_in(email, result.status)
    if result.status == "locked":
        minutes = max(1, -(-result.retry_after_s // 60))
        flash(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.", "error")
        response = current_app.make_response(
            (render_template("auth/login.html", next_url=next_url, email=email), 429))
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    principal = None if result.user_id is None else load_principal(
        current_app.extensions["ironwatch"].sessions, result.user_id)
    if principal is None:
        flash("E-mail or password is not right.", "error")
        return render_template("auth/login.html", next_url=next_url, email=email), 401
    session.clear()  # nothing of the anonymous session survives the privilege change (new CSRF token too)
    session["_sid"] = result.session_token
    login_user(principal)
    return redirect(next_url or home_url_for(principal))


def _record_sign_in(email: str, status: str) -> None:
    from fleet.user_admin import record_sign_in

    runtime = current_app.extensions["ironwatch"]
    record_sign_in(runtime.sessions, runtime.notifier, email, status, request.remote_addr)


@bp.post("/logout")
def logout():
    check_csrf()
    from .live_sessions import live_sessions

    # Read before the session ends: afterwards the cookie no longer loads anybody.
    user_id = current_user.id if current_user.is_authenticated else None
    sign_in_service().end_session(session.get("_sid"))
    if user_id is not None:  # this session's sockets, in whichever process they are open
        live_sessions().cut_stale(user_id)
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))


# --- the signed-in user's own settings ----------------------------------------------------------

def known_time_zones() -> list[str]:
    """IANA zone names a user may choose (the Python zone database's, region/city ones)."""
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))) + ["UTC"]


@bp.route("/account/time-zone", methods=["GET", "POST"])
def time_zone():
    """Which zone this user reads times in: a zone of their choice, or their browser's (empty)."""
    from fleet.models import User

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    zones = known_time_zones()
    if request.method == "POST":
        check_csrf()
        chosen = request.form.get("timezone", "").strip()
        if chosen and chosen not in zones:
            flash(f"{chosen!r} is not a time zone this server knows; choose one from the list.", "error")
            return render_template("auth/time_zone.html", zones=zones, chosen=current_user.timezone or ""), 400
        with current_app.extensions["ironwatch"].sessions() as db:
            db.get(User, current_user.id).timezone = chosen or None
            db.commit()
        flash(f"Times are now shown in {chosen}." if chosen else "Times are now shown in your browser's zone.", "info")
        return redirect(url_for("auth.time_zone"))
    return render_template("auth/time_zone.html", zones=zones, chosen=current_user.timezone or "")
