"""Console alarm routes: the alarm list with filters (``/console/alarms``) and the HTML-form
fallbacks for acknowledging, clearing and bulk-acknowledging (the pages' ``alarms.js`` calls the
JSON API instead when scripts run). Both ways end in ``fleet.alarm_service``."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import _safe_next, check_csrf, roles_required
from . import bp

CONSOLE_ROLES = ("admin", "engineer")


def _runtime():
    return current_app.extensions["ironwatch"]


@bp.get("/alarms")
@roles_required(*CONSOLE_ROLES)
def alarms():
    from fleet import queries
    from fleet.alarms import SEVERITIES, SOURCE_LABELS, SOURCES

    filters = {"state": request.args.get("state") or "open", "source": request.args.get("source") or "",
               "severity": request.args.get("severity") or "", "machine": (request.args.get("machine") or "").strip()}
    if filters["state"] not in queries.ALARM_STATE_FILTERS:
        abort(400, description=f"Unknown alarm state filter {filters['state']!r}.")
    if filters["source"] and filters["source"] not in SOURCES:
        abort(400, description=f"Unknown alarm source {filters['source']!r}.")
    if filters["severity"] and filters["severity"] not in SEVERITIES:
        abort(400, description=f"Unknown severity {filters['severity']!r}.")
    with _runtime().sessions() as session:
        rows = queries.alarms(session, current_user.scope, state=filters["state"],
                              machine_uid=filters["machine"] or None, source=filters["source"] or None,
                              severity=filters["severity"] or None, limit=300)
    counts = {"active": sum(r["state"] == "active" for r in rows),
              "acknowledged": sum(r["state"] == "acknowledged" for r in rows)}
    return render_template("console/alarms.html", alarms=rows, filters=filters, counts=counts,
                           sources=[(s, SOURCE_LABELS[s]) for s in SOURCES], severities=SEVERITIES, live=True)


def _answer(action, *args) -> None:
    from fleet.alarms import AlarmNotFound, InvalidAlarmTransition

    comment = (request.form.get("comment") or "").strip()[:500]
    try:
        result = action(_runtime().sessions, _runtime().notifier, *args, current_user.scope,
                        current_user.email, current_user.id, comment)
    except (AlarmNotFound, InvalidAlarmTransition) as refused:
        flash(str(refused)[:1].upper() + str(refused)[1:] + ".", "error")
        return
    if isinstance(result, list):
        flash(f"{len(result)} alarm{'s' if len(result) != 1 else ''} acknowledged.", "info")
    else:
        flash(f"{result['number']} is now {result['state']}.", "info")


def _back():
    return redirect(_safe_next(request.form.get("next")) or url_for("console.alarms"))


@bp.post("/alarms/<int:alarm_id>/acknowledge")
@roles_required(*CONSOLE_ROLES)
def acknowledge(alarm_id: int):
    from fleet import alarm_service

    check_csrf()
    _answer(alarm_service.acknowledge, alarm_id)
    return _back()


@bp.post("/alarms/<int:alarm_id>/clear")
@roles_required(*CONSOLE_ROLES)
def clear(alarm_id: int):
    from fleet import alarm_service

    check_csrf()
    if not (request.form.get("comment") or "").strip():
        flash("Say why the alarm is cleared.", "error")
        return _back()
    _answer(alarm_service.clear, alarm_id)
    return _back()


@bp.post("/machines/<uid>/alarms/acknowledge")
@roles_required(*CONSOLE_ROLES)
def acknowledge_machine(uid: str):
    from fleet import alarm_service

    check_csrf()
    _answer(alarm_service.acknowledge_machine, uid)
    return _back()
