"""The read API (JSON): machines, diagnoses, trends and work orders, scoped to the user's tenants.

Authentication is the session cookie from ``/login``. A machine or work order of a tenant the
user may not see answers 404, exactly like one that does not exist, so the API does not reveal
other customers' fleets. Bad query parameters answer 400 naming the parameter and the rule.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from .auth import roles_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")

ALL_ROLES = ("admin", "engineer", "technician", "customer")
MACHINE_KINDS = ("excavator", "genset")
MACHINE_STATUSES = ("unknown", "ok", "watch", "warning", "alarm")
WORK_ORDER_FILTERS = ("open", "assigned", "in_progress", "done", "cancelled", "active")


class BadParameter(Exception):
    """A query parameter broke a rule; answered as 400 ``{"error", "field", "rule", "message"}``."""

    def __init__(self, field: str, rule: str, message: str):
        super().__init__(message)
        self.field, self.rule, self.message = field, rule, message


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter):
    return jsonify(error="bad_parameter", field=error.field, rule=error.rule, message=error.message), 400


def not_found(what: str):
    return jsonify(error="not_found", message=f"{what} does not exist or is not visible to you."), 404


def int_param(name: str, default: int, low: int, high: int) -> int:
    """Integer query parameter ``name`` within ``[low, high]``, else :class:`BadParameter`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, "integer", f"{name} must be a whole number, got {raw!r}.") from None
    if not low <= value <= high:
        raise BadParameter(name, "range", f"{name} must be between {low} and {high}, got {value}.")
    return value


def choice_param(name: str, choices: tuple[str, ...]) -> str | None:
    """Optional query parameter restricted to ``choices``, else :class:`BadParameter`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise BadParameter(name, "enum", f"{name} must be one of {', '.join(choices)}; got {raw!r}.")
    return raw


def _runtime():
    return current_app.extensions["ironwatch"]


def _read(query: Callable[..., Any], *args, **kwargs) -> Any:
    """Run a ``fleet.queries`` read model (plain JSON-ready data) in a fresh session."""
    with _runtime().sessions() as session:
        return query(session, *args, **kwargs)


@bp.get("/machines")
@roles_required(*ALL_ROLES)
def machines():
    from fleet import queries

    kind = choice_param("kind", MACHINE_KINDS)
    status = choice_param("status", MACHINE_STATUSES)
    rows = _read(queries.fleet_overview, current_user.visible_tenant_ids)
    rows = [r for r in rows if (kind is None or r.get("kind") == kind)
            and (status is None or r.get("status") == status)]
    return jsonify(machines=rows)


@bp.get("/machines/<uid>")
@roles_required(*ALL_ROLES)
def machine(uid: str):
    from fleet import queries

    detail = _read(queries.machine_detail, uid, current_user.visible_tenant_ids)
    if detail is None:
        return not_found(f"Machine {uid}")
    return jsonify(detail)


@bp.get("/machines/<uid>/diagnoses")
@roles_required(*ALL_ROLES)
def machine_diagnoses(uid: str):
    from fleet import queries

    limit = int_param("limit", 20, 1, 200)
    component = request.args.get("component") or None
    diagnoses = _read(queries.recent_diagnoses, uid, current_user.visible_tenant_ids,
                      limit=limit, component=component)
    if diagnoses is None:
        return not_found(f"Machine {uid}")
    return jsonify(diagnoses=diagnoses)


@bp.get("/machines/<uid>/trend")
@roles_required(*ALL_ROLES)
def machine_trend(uid: str):
    from fleet import queries
    from telemetry.schema import OPERATING_FIELDS

    field = request.args.get("field") or "engine_speed_rpm"
    if field not in OPERATING_FIELDS:
        raise BadParameter("field", "enum", f"field must be an operating field such as coolant_temp_c; "
                                            f"{field!r} is not one.")
    hours = int_param("hours", 24, 1, 720)
    if _read(queries.machine_detail, uid, current_user.visible_tenant_ids) is None:
        return not_found(f"Machine {uid}")
    return jsonify(trend_series(uid, field, hours))


def trend_series(uid: str, field: str, hours: int) -> dict[str, Any]:
    """Mean of ``field`` per bucket over the last ``hours``, about 240 buckets whatever the range."""
    every_s = max(60, (hours * 3600 // 240) // 60 * 60)  # whole minutes: reads the 1-min CQ series
    end_ns = time.time_ns()
    start_ns = end_ns - hours * 3600 * 10**9
    series = _runtime().store.trend(uid, field, start_ns, end_ns, every=f"{every_s}s")
    return {"machine": uid, "field": field, "every_s": every_s,
            "times": [t // 10**9 for t in series["time"]], "values": series["value"]}


@bp.get("/work-orders")
@roles_required(*ALL_ROLES)
def work_orders():
    from fleet import queries

    status = choice_param("status", WORK_ORDER_FILTERS)
    limit = int_param("limit", 100, 1, 500)
    machine_uid = request.args.get("machine") or None
    orders = _read(queries.work_orders, current_user.visible_tenant_ids, status=status,
                   machine_uid=machine_uid, limit=limit)
    return jsonify(work_orders=orders)


@bp.get("/work-orders/<int:order_id>")
@roles_required(*ALL_ROLES)
def work_order(order_id: int):
    from fleet import queries

    order = _read(queries.work_order, order_id, current_user.visible_tenant_ids)
    if order is None:
        return not_found(f"Work order {order_id}")
    return jsonify(order)


@bp.post("/work-orders/<int:order_id>/actions")
@roles_required(*ALL_ROLES)
def work_order_action(order_id: int):
    """Body ``{"action": "assign"|"start"|"complete"|"cancel", "technician_id"?, "findings"?,
    "parts"?, "reason"?}``; answers the order's new view, or an error naming what was wrong."""
    from .actions import ActionRefused, run_action

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="bad_body", message="Send a JSON object such as {\"action\": \"start\"}."), 415
    try:
        order = run_action(_runtime(), current_user, order_id, str(body.get("action", "")), body)
    except ActionRefused as refused:
        return jsonify(refused.to_dict()), refused.status
    return jsonify(order)


from . import alarm_api  # noqa: E402,F401  (alarm, push-subscription and preference routes on bp)
