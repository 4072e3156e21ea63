"""Admin routes. Each POST checks CSRF, calls one service method and either redirects (with a
flash message) or, when a token or link must be shown once, renders it in the answer."""
from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import check_csrf, roles_required
from . import bp

AUDIT_PAGE_SIZE = 200


def _runtime():
    return current_app.extensions["ironwatch"]


def _actor():
    from fleet.user_admin import Actor

    return Actor(current_user.id, current_user.email)


def _users():
    from fleet.user_admin import UserAdmin

    return UserAdmin(_runtime().sessions, _runtime().notifier)


def oem_admin_required(view: Callable) -> Callable:
    """Signed in as an admin of the OEM (a customer's tenant has no fleet configuration)."""

    @roles_required("admin")
    @wraps(view)
    def guarded(*args, **kwargs):
        if current_user.tenant_kind != "oem":
            abort(403)
        return view(*args, **kwargs)

    return guarded


def user_admin_required(view: Callable) -> Callable:
    """Signed in as someone who manages users: an OEM admin, or a customer's user administrator."""

    @roles_required()
    @wraps(view)
    def guarded(*args, **kwargs):
        if not _users().may_manage_users(_actor()):
            abort(403)
        return view(*args, **kwargs)

    return guarded


def _form_int(name: str) -> int | None:
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        return None


# --- users and roles -------------------------------------------------------------------------------------

def _users_page(status: int = 200, issued=None, form=None):
    service = _users()
    return render_template("admin/users.html", users=service.list_users(_actor()), tenants=service.tenants(_actor()),
                           roles=service.assignable_roles(_actor()), issued=issued, form=form or {},
                           link_url=issued and url_for("admin.account_link", token=issued.token, _external=True)), status


@bp.get("/admin/users")
@user_admin_required
def users():
    return _users_page()


@bp.post("/admin/users/invite")
@user_admin_required
def invite_user():
    from fleet.user_admin import NotAllowed, UserAdminError

    check_csrf()
    form = request.form
    try:
        issued = _users().invite(_actor(), form.get("email", ""), form.get("name", ""), form.get("role", ""),
                                 _form_int("tenant_id") or -1, manages_users=form.get("manages_users") == "on")
    except (UserAdminError, NotAllowed) as error:
        flash(str(error), "error")
        return _users_page(403 if isinstance(error, NotAllowed) else 400, form=form)
    flash(f"Invitation for {issued.email} created. Send them the link below; it is shown only now.", "info")
    return _users_page(issued=issued)


@bp.post("/admin/users/<int:user_id>/deactivate", defaults={"action": "deactivate"})
@bp.post("/admin/users/<int:user_id>/reactivate", defaults={"action": "reactivate"})
@bp.post("/admin/users/<int:user_id>/reset", defaults={"action": "reset"})
@user_admin_required
def user_action(user_id: int, action: str):
    from fleet.user_admin import NotAllowed, UserAdminError

    check_csrf()
    service = _users()
    try:
        if action == "reset":
            issued = service.reset(_actor(), user_id)
            flash(f"Password reset link for {issued.email} created; it is shown only now.", "info")
            return _users_page(issued=issued)
        getattr(service, action)(_actor(), user_id)
        if action == "deactivate":  # its sessions are revoked; its open live sockets go too, in every process
            from ..live_sessions import live_sessions

            live_sessions().cut_stale(user_id)
    except NotAllowed as error:
        abort(404, description=str(error))
    except UserAdminError as error:
        flash(str(error), "error")
        return _users_page(400)
    flash("The account is deactivated and its sessions are ended." if action == "deactivate"
          else "The account is active again.", "info")
    return redirect(url_for("admin.users"))


@bp.route("/admin/users/<int:user_id>/sites", methods=["GET", "POST"])
@user_admin_required
def user_sites(user_id: int):
    """Which of their company's sites a customer's viewer sees: every site, or only those ticked."""
    from fleet.user_admin import NotAllowed, UserAdminError

    service = _users()
    try:
        access = service.site_access(_actor(), user_id)
    except NotAllowed as error:
        abort(404, description=str(error))
    except UserAdminError as error:
        flash(str(error), "error")
        return _users_page(400)
    if request.method == "GET":
        return render_template("admin/user_sites.html", access=access)
    check_csrf()
    limited = request.form.get("access") == "some"
    if request.form.get("access") not in ("all", "some"):
        flash("Choose whether they see every site or only some.", "error")
        return render_template("admin/user_sites.html", access=access), 400
    chosen = [int(v) for v in request.form.getlist("site_id") if v.isdigit() and len(v) < 10]
    try:
        service.limit_sites(_actor(), user_id, chosen if limited else None)
    except UserAdminError as error:
        flash(str(error), "error")
        return render_template("admin/user_sites.html", access=access), 400
    # Open pages of that person hear only what they may see from now on (their next request is scoped already).
    from ..live_sessions import live_sessions

    live_sessions().refresh_rooms([user_id])
    flash(f"{access['user']['name']} now sees " + ("only the sites ticked." if limited else "every site of "
                                                   f"{access['user']['tenant']}."), "info")
    return redirect(url_for("admin.users"))


@bp.route("/account/link/<token>", methods=["GET", "POST"])
def account_link(token: str):
    """Where an invited person (or one whose password was reset) sets a password."""
    from fleet.user_admin import MIN_PASSWORD_LENGTH, UserAdminError

    service = _users()
    holder = service.link_holder(token)
    if holder is None:
        return render_template("admin/link.html", holder=None, min_length=MIN_PASSWORD_LENGTH), 404
    if request.method == "POST":
        check_csrf()
        password = request.form.get("password", "")
        if password != request.form.get("password_again", ""):
            flash("The two passwords are not the same.", "error")
            return render_template("admin/link.html", holder=holder, min_length=MIN_PASSWORD_LENGTH), 400
        try:
            user_id = service.redeem(token, password)
        except UserAdminError as error:
            flash(str(error), "error")
            return render_template("admin/link.html", holder=holder, min_length=MIN_PASSWORD_LENGTH), 400
        from ..live_sessions import live_sessions

        live_sessions().cut_stale(user_id)  # the sessions it ended may have live sockets open, in any process
        flash("Your password is set. Sign in with it now.", "info")
        return redirect(url_for("auth.login"))
    return render_template("admin/link.html", holder=holder, min_length=MIN_PASSWORD_LENGTH)


# --- device credentials ----------------------------------------------------------------------------------

def _devices():
    from fleet.fleet_admin import DeviceAdmin

    return DeviceAdmin(_runtime().sessions, _runtime().devices, _runtime().notifier)


def _machine_sites():
    from fleet.machine_sites import MachineSites

    return MachineSites(_runtime().sessions, _runtime().notifier)


def _devices_page(status: int = 200, token: str | None = None, machine_uid: str | None = None):
    visible = current_user.visible_tenant_ids
    return render_template("admin/devices.html", machines=_devices().machines(visible),
                           sites=_machine_sites().sites_by_tenant(visible),
                           token=token, token_machine=machine_uid), status


@bp.get("/admin/devices")
@oem_admin_required
def devices():
    return _devices_page()


@bp.post("/admin/devices/<uid>/issue", defaults={"action": "issue"})
@bp.post("/admin/devices/<uid>/rotate", defaults={"action": "rotate"})
@bp.post("/admin/devices/<uid>/revoke", defaults={"action": "revoke"})
@oem_admin_required
def device_action(uid: str, action: str):
    from fleet.fleet_admin import ConfigError

    check_csrf()
    service = _devices()
    try:
        if action == "revoke":
            service.revoke(current_user.email, uid, request.form.get("device_id", ""))
            flash(f"The credential of {uid} is revoked: its gateway can no longer upload.", "info")
            return redirect(url_for("admin.devices"))
        token = getattr(service, action)(current_user.email, uid, request.form.get("label", "gateway"))
    except ConfigError as error:
        flash(str(error), "error")
        return _devices_page(400)
    flash(f"New token for {uid}: copy it into the gateway now, it is shown only once."
          + (" The old token no longer works." if action == "rotate" else ""), "info")
    return _devices_page(token=token, machine_uid=uid)


@bp.post("/admin/devices/<uid>/site")
@oem_admin_required
def machine_site(uid: str):
    """Move a machine to another of its owner's sites; viewers limited to sites hear it, or stop
    hearing it, at once (their open sockets change rooms in every web process)."""
    from fleet.machine_sites import MoveRefused

    check_csrf()
    try:
        move = _machine_sites().move(current_user.email, uid, _form_int("site_id"), current_user.visible_tenant_ids)
    except MoveRefused as error:
        flash(str(error), "error")
        return _devices_page(400)
    if move is None:
        flash(f"{uid} is at that site already.", "info")
    else:
        from ..live_sessions import live_sessions

        live_sessions().refresh_rooms(move.viewer_ids)
        flash(f"{uid} now works at {move.to_site}.", "info")
    return redirect(url_for("admin.devices"))


# --- machine groups and their ISO 20816 zone limits ----------------------------------------------------

def _zones():
    from fleet.fleet_admin import ZoneLimits

    return ZoneLimits(_runtime().sessions, _runtime().notifier)


@bp.get("/admin/zones")
@oem_admin_required
def zones():
    return render_template("admin/zones.html", groups=_zones().groups(current_user.visible_tenant_ids))


@bp.post("/admin/zones")
@oem_admin_required
def set_zone_limits():
    from fleet.fleet_admin import ConfigError

    check_csrf()
    form = request.form
    model, component = form.get("machine_model", ""), form.get("component_name", "")
    try:
        _zones().set_limits(current_user.email, model, component,
                            [form.get("a_b", ""), form.get("b_c", ""), form.get("c_d", "")])
    except ConfigError as error:
        flash(f"{model} · {component}: {error} Nothing was changed.", "error")
        return render_template("admin/zones.html", groups=_zones().groups(current_user.visible_tenant_ids)), 400
    flash(f"Zone limits of {model} · {component} saved; the next diagnosis uses them.", "info")
    return redirect(url_for("admin.zones"))


# --- the RUL model registry ------------------------------------------------------------------------------

def _models():
    from fleet.fleet_admin import ModelAdmin
    from fleet.model_registry import ModelRegistry

    runtime = _runtime()
    registry = ModelRegistry(runtime.sessions, var_dir=Path(runtime.config["IRONWATCH_VAR"]))
    return ModelAdmin(runtime.sessions, registry, runtime.notifier)


@bp.get("/admin/models")
@oem_admin_required
def models():
    return render_template("admin/models.html", models=_models().models())


@bp.post("/admin/models/promote", defaults={"action": "promote"})
@bp.post("/admin/models/rollback", defaults={"action": "rollback"})
@oem_admin_required
def model_action(action: str):
    from fleet.fleet_admin import ConfigError

    check_csrf()
    kind = request.form.get("component_kind", "")
    try:
        if action == "promote":
            record = _models().promote(current_user.email, kind, request.form.get("version", ""))
        else:
            record = _models().rollback(current_user.email, kind)
    except ConfigError as error:
        flash(f"{error}. Nothing was changed.", "error")
        return render_template("admin/models.html", models=_models().models()), 400
    flash(f"{record.version} is now the active {record.component_kind} model.", "info")
    return redirect(url_for("admin.models"))


# --- technicians --------------------------------------------------------------------------------------

def _technicians():
    from fleet.alarm_admin import Technicians

    return Technicians(_runtime().sessions, _runtime().notifier)


def _technicians_page(status: int = 200):
    from fleet.alarm_admin import KNOWN_SKILLS

    return render_template("admin/technicians.html", technicians=_technicians().list(current_user.visible_tenant_ids),
                           skills=KNOWN_SKILLS), status


@bp.get("/admin/technicians")
@oem_admin_required
def technicians():
    return _technicians_page()


@bp.post("/admin/technicians/<int:technician_id>")
@oem_admin_required
def update_technician(technician_id: int):
    from fleet.alarm_admin import AlarmConfigError

    check_csrf()
    form = request.form
    try:
        _technicians().update(current_user.email, current_user.visible_tenant_ids, technician_id,
                              form.getlist("skills"), form.get("home_base", ""), form.get("home_lat"),
                              form.get("home_lon"), form.get("start", ""), form.get("end", ""), form.getlist("weekdays"))
    except LookupError:
        abort(404, description="No such technician.")
    except AlarmConfigError as error:
        flash(f"{error} Nothing was changed.", "error")
        return _technicians_page(400)
    flash("The technician's planning data is saved; the next dispatch plan uses it.", "info")
    return redirect(url_for("admin.technicians"))


# --- alarm rules and escalation chains -------------------------------------------------------------------

def _alarm_rules():
    from fleet.alarm_admin import AlarmRules

    return AlarmRules(_runtime().sessions, _runtime().notifier)


def _alarm_rules_page(status: int = 200):
    from fleet.alarm_admin import MAX_STEPS
    from fleet.alarms import SEVERITIES
    from fleet.escalation import CHANNELS

    return render_template("admin/alarm_rules.html", tenants=_alarm_rules().overview(current_user.visible_tenant_ids),
                           severities=SEVERITIES, channels=CHANNELS, max_steps=MAX_STEPS), status


@bp.get("/admin/alarm-rules")
@oem_admin_required
def alarm_rules():
    return _alarm_rules_page()


@bp.post("/admin/alarm-rules/<int:tenant_id>/chain")
@oem_admin_required
def set_escalation_chain(tenant_id: int):
    from fleet.alarm_admin import MAX_STEPS, AlarmConfigError, StepInput

    check_csrf()
    if tenant_id not in current_user.visible_tenant_ids:
        abort(404)
    form = request.form
    steps = [StepInput(form.get(f"after_{i}", ""), form.get(f"target_{i}", ""), tuple(form.getlist(f"channels_{i}")))
             for i in range(MAX_STEPS + 1) if form.get(f"target_{i}")]
    try:
        _alarm_rules().set_chain(current_user.email, tenant_id, form.get("min_severity", ""), steps)
    except AlarmConfigError as error:
        flash(f"{error} Nothing was changed.", "error")
        return _alarm_rules_page(400)
    flash("The escalation chain is saved.", "info")
    return redirect(url_for("admin.alarm_rules"))


@bp.post("/admin/alarm-rules/<int:tenant_id>/fault-codes")
@oem_admin_required
def add_fault_code_rule(tenant_id: int):
    from fleet.alarm_admin import AlarmConfigError

    check_csrf()
    if tenant_id not in current_user.visible_tenant_ids:
        abort(404)
    form = request.form
    try:
        _alarm_rules().add_fault_code_rule(current_user.email, tenant_id, form.get("spn", ""), form.get("fmi", ""),
                                           form.get("severity", ""))
    except AlarmConfigError as error:
        flash(f"{error} Nothing was changed.", "error")
        return _alarm_rules_page(400)
    flash("The fault-code rule is saved.", "info")
    return redirect(url_for("admin.alarm_rules"))


@bp.post("/admin/alarm-rules/fault-codes/<int:rule_id>/delete")
@oem_admin_required
def delete_fault_code_rule(rule_id: int):
    from fleet.alarm_admin import AlarmConfigError

    check_csrf()
    try:
        _alarm_rules().delete_fault_code_rule(current_user.email, current_user.visible_tenant_ids, rule_id)
    except AlarmConfigError as error:
        abort(404, description=str(error))
    flash("The fault-code rule is removed; the code follows the lamp rule again.", "info")
    return redirect(url_for("admin.alarm_rules"))


# --- the audit log ---------------------------------------------------------------------------------------

@bp.get("/admin/audit")
@oem_admin_required
def audit():
    from fleet.audit_log import SUBJECT_TYPES, audit_entries

    subject = request.args.get("subject", "")
    actor = request.args.get("actor", "").strip()[:254]
    if subject and subject not in SUBJECT_TYPES:
        abort(400, description=f"Unknown kind of change {subject!r}; choose one from the list.")
    with _runtime().sessions() as db:
        entries = audit_entries(db, current_user.visible_tenant_ids, subject_type=subject or None,
                                actor=actor or None, limit=AUDIT_PAGE_SIZE)
    return render_template("admin/audit.html", entries=entries, subjects=SUBJECT_TYPES, subject=subject,
                           actor=actor, limit=AUDIT_PAGE_SIZE)
