"""Users and roles: list, invite with a one-time link, deactivate, reset a password.

Who may manage whom (:func:`manageable_tenant_ids`): the OEM's admins manage every user of the
OEM and its customers; a customer's user flagged ``manages_users`` manages the users of their own
tenant, and may only give them the ``customer`` role. Either may limit a customer's viewer to some
of the customer's sites (:meth:`UserAdmin.limit_sites`; :mod:`fleet.scope` applies it everywhere).

Links are ``/account/link/<token>``: the token is 32 random bytes shown once (to the admin who
passes it on), stored as its SHA-256, valid for :data:`INVITE_LIFETIME` / :data:`RESET_LIFETIME`
and spent on use. Deactivating a user, and every password set through a link, revokes the user's
sessions at once. Every change records an :class:`~fleet.events.AdminChanged` event; the audit
subscriber writes it down.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from . import passwords
from .accounts import SignInService, normalise_email
from .db import transaction
from .events import AdminChanged
from .models import AccountLink, Site, Tenant, User, UserSite, utcnow

INVITE_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=24)
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
#: The roles a customer's user administrator may hand out (their people use the portal).
CUSTOMER_ASSIGNABLE_ROLES = ("customer",)
OEM_ASSIGNABLE_ROLES = ("admin", "engineer", "technician", "customer")


class UserAdminError(ValueError):
    """The request cannot be done as asked (the message says why, in words for the admin)."""


class NotAllowed(PermissionError):
    """The acting user may not manage that user or tenant."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: their user id, e-mail (the audit log's "who") and tenant."""

    user_id: int
    email: str


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link's token (shown once) for ``user_id``, and when it stops working."""

    user_id: int
    email: str
    purpose: str
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str) -> None:
    """Refuse passwords too short to resist guessing (NIST SP 800-63B: length over composition)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise UserAdminError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise UserAdminError("The password is too long (at most 1024 characters).")


class UserAdmin:
    """User administration over the SQL store, publishing audit events on ``bus``.

    Parameters
    ----------
    sessions : sessionmaker
    bus : fleet.handlers.MessageBus
    clock : callable
        Aware UTC now (tests step past a link's expiry).
    """

    def __init__(self, sessions: sessionmaker, bus, clock: Callable[[], datetime] = utcnow):
        self.sessions, self.bus, self.clock = sessions, bus, clock

    # -- scope ---------------------------------------------------------------------------------

    def manageable_tenant_ids(self, actor: Actor) -> list[int]:
        """Tenants whose users ``actor`` may manage (empty: none)."""
        with self.sessions() as db:
            user = db.get(User, actor.user_id)
            if user is None or not user.active:
                return []
            tenant = db.get(Tenant, user.tenant_id)
            if tenant.kind == "oem" and user.role == "admin":
                return [tenant.id] + list(db.scalars(select(Tenant.id).where(Tenant.parent_id == tenant.id)))
            if tenant.kind == "customer" and user.manages_users:
                return [tenant.id]
            return []

    def may_manage_users(self, actor: Actor) -> bool:
        return bool(self.manageable_tenant_ids(actor))

    def assignable_roles(self, actor: Actor) -> tuple[str, ...]:
        with self.sessions() as db:
            tenant = db.get(Tenant, db.get(User, actor.user_id).tenant_id)
        return OEM_ASSIGNABLE_ROLES if tenant.kind == "oem" else CUSTOMER_ASSIGNABLE_ROLES

    def tenants(self, actor: Actor) -> list[dict]:
        """The tenants ``actor`` may add users to, as ``{"id", "name", "kind"}``."""
        ids = self.manageable_tenant_ids(actor)
        with self.sessions() as db:
            rows = db.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.kind.desc(), Tenant.name))
            return [{"id": t.id, "name": t.name, "kind": t.kind} for t in rows]

    def list_users(self, actor: Actor) -> list[dict]:
        """Users ``actor`` may manage, with their state (active, invited, deactivated)."""
        ids = self.manageable_tenant_ids(actor)
        now = self.clock()
        with self.sessions() as db:
            users = db.scalars(select(User).where(User.tenant_id.in_(ids)).order_by(User.tenant_id, User.name)).all()
            pending = set(db.scalars(select(AccountLink.user_id).where(
                AccountLink.purpose == "invite", AccountLink.used_at.is_(None), AccountLink.expires_at > now)))
            names = {t.id: t.name for t in db.scalars(select(Tenant).where(Tenant.id.in_(ids)))}
            kinds = {t.id: t.kind for t in db.scalars(select(Tenant).where(Tenant.id.in_(ids)))}
            site_names: dict[int, list[str]] = {}
            for user_id, site_name in db.execute(select(UserSite.user_id, Site.name).join(Site, Site.id == UserSite.site_id)
                                                 .where(UserSite.user_id.in_([u.id for u in users])).order_by(Site.name)):
                site_names.setdefault(user_id, []).append(site_name)
            return [{"id": u.id, "email": u.email, "name": u.name, "role": u.role, "tenant": names[u.tenant_id],
                     "tenant_id": u.tenant_id, "manages_users": bool(u.manages_users),
                     "state": "active" if u.active else ("invited" if u.id in pending else "deactivated"),
                     "last_login_at": u.last_login_at,
                     "may_limit_sites": self._may_be_limited(u, kinds[u.tenant_id]),
                     "sites": site_names.get(u.id, []) if u.sites_limited else None} for u in users]

    # -- changes -------------------------------------------------------------------------------

    def invite(self, actor: Actor, email: str, name: str, role: str, tenant_id: int,
               manages_users: bool = False) -> IssuedLink:
        """Create an inactive user and the one-time link with which they set a password."""
        email, name = normalise_email(email), (name or "").strip()
        if not _EMAIL.match(email) or len(email) > 254:
            raise UserAdminError(f"{email or 'An empty value'!r} is not an e-mail address.")
        if not name or len(name) > 120:
            raise UserAdminError("Give the person's name (1 to 120 characters).")
        if tenant_id not in self.manageable_tenant_ids(actor):
            raise NotAllowed("You may not add users to that organisation.")
        if role not in self.assignable_roles(actor):
            raise UserAdminError(f"The role must be one of: {', '.join(self.assignable_roles(actor))}.")
        with transaction(self.sessions) as db:
            tenant = db.get(Tenant, tenant_id)
            if role in ("admin", "engineer", "technician") and tenant.kind != "oem":
                raise UserAdminError(f"A {role} works for the OEM; a customer's people have the customer role.")
            if db.scalar(select(User.id).where(User.email == email)) is not None:
                raise UserAdminError(f"There is already a user with the e-mail {email}.")
            user = User(tenant_id=tenant_id, email=email, name=name, role=role, active=False,
                        manages_users=bool(manages_users and tenant.kind == "customer"),
                        # Nobody knows a password for this hash: the account opens only through the link.
                        password_hash=passwords.hash_password(secrets.token_urlsafe(32)))
            db.add(user)
            db.flush()
            link = self._new_link(db, user, "invite", actor, INVITE_LIFETIME)
        self._record(actor, tenant_id, user.id, "invited", {"email": email, "role": role,
                                                            "expires_at": link.expires_at.isoformat()})
        return link

    def deactivate(self, actor: Actor, user_id: int) -> None:
        """Close the account: no more sign-ins, every session ends now, open links are spent."""
        user = self._managed(actor, user_id)
        if user_id == actor.user_id:
            raise UserAdminError("You cannot deactivate your own account; ask another admin.")
        with transaction(self.sessions) as db:
            db.get(User, user_id).active = False
            self._spend_links(db, user_id)
        ended = SignInService(self.sessions, clock=self.clock).end_all_sessions(user_id)
        self._record(actor, user["tenant_id"], user_id, "deactivated", {"email": user["email"], "sessions_ended": ended})

    def reactivate(self, actor: Actor, user_id: int) -> None:
        """Open a deactivated account again (with the password it had)."""
        user = self._managed(actor, user_id)
        with transaction(self.sessions) as db:
            db.get(User, user_id).active = True
        self._record(actor, user["tenant_id"], user_id, "reactivated", {"email": user["email"]})

    def reset(self, actor: Actor, user_id: int) -> IssuedLink:
        """A one-time link with which the user sets a new password (the old one works until then)."""
        user = self._managed(actor, user_id)
        with transaction(self.sessions) as db:
            row = db.get(User, user_id)
            if not row.active:
                raise UserAdminError(f"{row.email} is deactivated; reactivate the account first.")
            self._spend_links(db, user_id)
            link = self._new_link(db, row, "reset", actor, RESET_LIFETIME)
        self._record(actor, user["tenant_id"], user_id, "reset_link", {"email": user["email"],
                                                                       "expires_at": link.expires_at.isoformat()})
        return link

    # -- a viewer's sites ------------------------------------------------------------------------

    @staticmethod
    def _may_be_limited(user: User, tenant_kind: str) -> bool:
        # A customer's viewer; a user administrator manages everyone and so sees every site.
        return tenant_kind == "customer" and user.role == "customer" and not user.manages_users

    def site_access(self, actor: Actor, user_id: int) -> dict:
        """What the sites page shows: ``{"user": {id, email, name, tenant}, "limited": bool,
        "sites": [{"id", "name", "address", "chosen"}]}`` (the user's company's sites)."""
        self._managed(actor, user_id)
        with self.sessions() as db:
            user = db.get(User, user_id)
            tenant = db.get(Tenant, user.tenant_id)
            if not self._may_be_limited(user, tenant.kind):
                raise UserAdminError(self._why_not_limited(user, tenant))
            chosen = set(db.scalars(select(UserSite.site_id).where(UserSite.user_id == user_id)))
            sites = db.scalars(select(Site).where(Site.tenant_id == tenant.id).order_by(Site.name)).all()
            return {"user": {"id": user.id, "email": user.email, "name": user.name, "tenant": tenant.name},
                    "limited": bool(user.sites_limited),
                    "sites": [{"id": s.id, "name": s.name, "address": s.address,
                               "chosen": s.id in chosen} for s in sites]}

    def limit_sites(self, actor: Actor, user_id: int, site_ids: list[int] | None) -> None:
        """Limit a customer's viewer to ``site_ids`` of their company, or (None) let them see every site.

        Raises
        ------
        NotAllowed
            The user is not one ``actor`` manages.
        UserAdminError
            Not a viewer who can be limited (a user administrator, an OEM user), no site chosen, or
            a site that is not their company's. Nothing is changed then.
        """
        self._managed(actor, user_id)
        with transaction(self.sessions) as db:
            user = db.get(User, user_id)
            tenant = db.get(Tenant, user.tenant_id)
            if not self._may_be_limited(user, tenant.kind):
                raise UserAdminError(self._why_not_limited(user, tenant))
            own = {s.id: s.name for s in db.scalars(select(Site).where(Site.tenant_id == tenant.id))}
            before = sorted(own[i] for i in db.scalars(select(UserSite.site_id).where(UserSite.user_id == user_id))
                            if i in own) if user.sites_limited else None
            if site_ids is not None:
                wanted = sorted({int(i) for i in site_ids})
                if not wanted:
                    raise UserAdminError("Choose at least one site, or let them see every site.")
                strangers = [i for i in wanted if i not in own]
                if strangers:
                    raise UserAdminError(f"Site {strangers[0]} is not a site of {tenant.name}.")
            db.query(UserSite).filter(UserSite.user_id == user_id).delete()
            user.sites_limited = site_ids is not None
            if site_ids is not None:
                db.add_all([UserSite(user_id=user_id, site_id=i) for i in wanted])
            after = sorted(own[i] for i in wanted) if site_ids is not None else None
            email, tenant_id = user.email, tenant.id
        self._record(actor, tenant_id, user_id, "sites_limited" if after is not None else "sites_all",
                     {"email": email, "sites": after, "before": before})

    @staticmethod
    def _why_not_limited(user: User, tenant: Tenant) -> str:
        if user.manages_users:
            return f"{user.email} manages {tenant.name}'s users and so sees every site."
        return f"Only a customer's viewers can be limited to sites; {user.email} is not one."

    # -- the invitee's side --------------------------------------------------------------------

    def link_holder(self, token: str) -> dict | None:
        """``{"email", "name", "purpose"}`` of a live link, else None (unknown, used or expired)."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        with self.sessions() as db:
            link = db.get(AccountLink, _digest(token))
            if link is None or link.used_at is not None or link.expires_at <= self.clock():
                return None
            user = db.get(User, link.user_id)
            return {"email": user.email, "name": user.name, "purpose": link.purpose}

    def redeem(self, token: str, password: str) -> int:
        """Set the password of a live link's user, open the account and spend the link; the user id.

        Every other session of the user ends (a reset is what one does after a stolen password).
        """
        if self.link_holder(token) is None:
            raise UserAdminError("This link is not valid any more: it was used, it expired, or it was mistyped. "
                                 "Ask your administrator for a new one.")
        validate_password(password)
        now = self.clock()
        with transaction(self.sessions) as db:
            # Spend the link in one conditional UPDATE: two tabs submitting at once cannot both win.
            spent = db.execute(update(AccountLink).where(AccountLink.token_sha256 == _digest(token),
                                                         AccountLink.used_at.is_(None)).values(used_at=now)).rowcount
            if spent != 1:
                raise UserAdminError("This link was just used; sign in with the password you set.")
            link = db.get(AccountLink, _digest(token))
            user = db.get(User, link.user_id)
            user.password_hash = passwords.hash_password(password)
            user.active = True
            user_id, tenant_id, email, purpose = user.id, user.tenant_id, user.email, link.purpose
        SignInService(self.sessions, clock=self.clock).end_all_sessions(user_id)
        self._record(Actor(user_id, email), tenant_id, user_id,
                     "accepted_invite" if purpose == "invite" else "password_reset", {"email": email})
        return user_id

    # -- helpers -------------------------------------------------------------------------------

    def _managed(self, actor: Actor, user_id: int) -> dict:
        with self.sessions() as db:
            user = db.get(User, user_id)
            if user is None or user.tenant_id not in self.manageable_tenant_ids(actor):
                raise NotAllowed("No such user among the ones you manage.")
            return {"id": user.id, "email": user.email, "tenant_id": user.tenant_id}

    def _new_link(self, db, user: User, purpose: str, actor: Actor, lifetime: timedelta) -> IssuedLink:
        token = secrets.token_urlsafe(32)
        expires = self.clock() + lifetime
        db.add(AccountLink(token_sha256=_digest(token), user_id=user.id, purpose=purpose, created_by=actor.email,
                           created_at=self.clock(), expires_at=expires))
        return IssuedLink(user.id, user.email, purpose, token, expires)

    def _spend_links(self, db, user_id: int) -> None:
        db.execute(update(AccountLink).where(AccountLink.user_id == user_id, AccountLink.used_at.is_(None))
                   .values(used_at=self.clock()))

    def _record(self, actor: Actor, tenant_id: int, user_id: int, action: str, detail: dict) -> None:
        self.bus.handle([AdminChanged(tenant_ids=(tenant_id,), subject_type="user", subject_id=user_id,
                                      action=action, actor=actor.email, detail=detail)])


def record_sign_in(sessions: sessionmaker, bus, email: str, outcome: str, address: str | None) -> None:
    """Put a sign-in (``ok``) or a refused one (``refused``) in the audit log, under the account's
    tenant when the e-mail belongs to someone.

    Attempts refused while locked out are not recorded: they never reach the password check, and
    a flood of them would only fill the table.
    """
    from .events import SignInAttempted

    if outcome not in ("ok", "refused"):
        return
    email = normalise_email(email)[:254]
    with sessions() as db:
        user = db.scalar(select(User).where(User.email == email)) if email else None
        user_id, tenant_id = (user.id, user.tenant_id) if user is not None else (None, None)
    bus.handle([SignInAttempted(tenant_ids=(tenant_id,) if tenant_id else (), email=email or "(empty)",
                                user_id=user_id, outcome=outcome, address=(address or "")[:64])])
