"""``/api/v1/machines/<uid>/usage?from=YYYY-MM-DD&to=YYYY-MM-DD``: working, idle and off hours,
utilization, idle share and fuel per local day (the viewer's zone), on the read API's blueprint.

Visibility first (SQL, tenant-scoped): another customer's machine is a 404 like an unknown one.
"""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from .api import ALL_ROLES, BadParameter, bp, not_found
from .auth import roles_required


@bp.get("/machines/<uid>/usage")
@roles_required(*ALL_ROLES)
def machine_usage(uid: str):
    from fleet import queries, usage

    from .portal.views import today_in, viewer_zone

    zone = viewer_zone()
    try:
        first, last = usage.parse_day_range(request.args.get("from"), request.args.get("to"), today_in(zone))
    except usage.RangeError as error:
        raise BadParameter(error.field, "date_range", error.message) from None
    with current_app.extensions["ironwatch"].sessions() as session:
        detail = queries.machine_detail(session, uid, current_user.scope, recent=0)
    if detail is None:
        return not_found(f"Machine {uid}")
    rows = usage.day_rows(usage.machine_days(current_app.extensions["ironwatch"].store, uid, detail["kind"],
                                             detail["model"], first, last, zone))
    return jsonify(machine=uid, timezone=zone.key, first=first.isoformat(), last=last.isoformat(),
                   units={"hours": "h", "fuel": "L", "fuel_per_working_hour": "L/h", "shares": "%"},
                   days=rows, totals=usage.totals(rows))
