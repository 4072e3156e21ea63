"""The technician's view: the work orders assigned to them, most urgent first, with where to go."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from fleet.models import utcnow

from ..auth import roles_required

bp = Blueprint("tech", __name__, url_prefix="/tech")


@bp.get("/")
@roles_required("technician")
def orders():
    from fleet import queries

    include_closed = request.args.get("closed") == "1"
    with current_app.extensions["ironwatch"].sessions() as session:
        technician = queries.technician_for_user(session, current_user.id)
        orders = ([] if technician is None else
                  queries.technician_orders(session, technician.id, include_closed=include_closed))
        name = technician.name if technician is not None else None
        alarms = queries.technician_alarms(session, current_user.id, utcnow(), current_user.visible_tenant_ids)
    return render_template("tech/orders.html", orders=orders, technician_name=name, alarms=alarms,
                           include_closed=include_closed, live=True)


@bp.post("/alarms/<int:alarm_id>/acknowledge")
@roles_required("technician")
def acknowledge_alarm(alarm_id: int):
    """The phone's acknowledge button (the JSON API's ``/api/v1/alarms/<id>/acknowledge`` is the
    same for a script or an installed app)."""
    from flask import flash, redirect, url_for

    from fleet import alarm_service
    from fleet.alarms import AlarmNotFound, InvalidAlarmTransition

    from ..auth import check_csrf

    check_csrf()
    runtime = current_app.extensions["ironwatch"]
    try:
        view = alarm_service.acknowledge(runtime.sessions, runtime.notifier, alarm_id, current_user.visible_tenant_ids,
                                         current_user.email, current_user.id,
                                         (request.form.get("comment") or "").strip()[:500])
        flash(f"{view['number']} acknowledged: the escalation stops here.", "info")
    except (AlarmNotFound, InvalidAlarmTransition) as refused:
        flash(str(refused)[:1].upper() + str(refused)[1:] + ".", "error")
    return redirect(url_for("tech.orders"))


@bp.post("/orders/<int:order_id>/actions")
@roles_required("technician")
def order_action(order_id: int):
    from flask import url_for

    from ..actions import form_action

    return form_action(order_id, url_for("tech.orders"))
