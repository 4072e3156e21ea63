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
    rows = _read(queries.fleet_overview, current_user.scope)
    rows = [r for r in rows if (kind is None or r.get("kind") == kind)
            and (status is None or r.get("status") == status)]
    return jsonify(machines=rows)


@bp.get("/machines/<uid>")
@roles_required(*ALL_ROLES)
def machine(uid: str):
    from fleet import queries

    detail = _read(queries.machine_detail, uid, current_user.scope)
    if detail is None:
        return not_found(f"Machine {uid}")
    return jsonify(detail)


@bp.get("/machines/<uid>/diagnoses")
@roles_required(*ALL_ROLES)
def machine_diagnoses(uid: str):
    from fleet import queries

    limit = int_param("limit", 20, 1, 200)
    component = request.args.get("component") or None
    diagnoses = _read(queries.recent_diagnoses, uid, current_user.scope,
                      limit=limit, component=component)
    if diagnoses is None:
        return not_found(f"Machine {uid}")
    return jsonify(diagnoses=diagnoses)


@bp.get("/machines/<uid>/trend")
@roles_required(*ALL_ROLES)
def machine_trend(uid: str):
    """``?field=<operating field>`` and either ``hours=<1..8784>`` (up to now) or ``start`` and
    ``end`` (epoch seconds or RFC 3339): about 600 bucket means, whatever the range."""
    from fleet import queries
    from telemetry.schema import OPERATING_FIELDS

    field = request.args.get("field") or "engine_speed_rpm"
    if field not in OPERATING_FIELDS:
        raise BadParameter("field", "enum", f"field must be an operating field such as coolant_temp_c; "
                                            f"{field!r} is not one.")
    start_s, end_s = time_range_params(default_hours=int_param("hours", 24, 1, MAX_TREND_DAYS * 24))
    if _read(queries.machine_detail, uid, current_user.scope) is None:
        return not_found(f"Machine {uid}")
    return jsonify(trend_series(uid, field, start_s, end_s))


MAX_TREND_DAYS = 366
#: Bucket widths the trend may use (s): whole minutes read the 1-minute CQ series, whole hours the
#: hourly one, so a year is 8,784 hourly rows read, not 31 million samples.
TREND_BUCKETS_S = (60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400)
TREND_POINTS = 600


def time_param(name: str) -> float | None:
    """Optional time query parameter: epoch seconds or RFC 3339 (``2026-11-25T06:00:00Z``)."""
    from datetime import datetime, timezone

    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(name, "time", f"{name} must be epoch seconds or an RFC 3339 time, got {raw!r}.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def time_range_params(default_hours: int) -> tuple[float, float]:
    """``(start_s, end_s)`` from ``start``/``end`` (both or neither), else the last ``default_hours``."""
    start, end = time_param("start"), time_param("end")
    now = time.time()
    if start is None and end is None:
        return now - default_hours * 3600, now
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise BadParameter(missing, "required", "Give both start and end, or neither (then hours applies).")
    if end <= start:
        raise BadParameter("end", "range", "end must be after start.")
    if end - start > MAX_TREND_DAYS * 86400:
        raise BadParameter("start", "range", f"A trend spans at most {MAX_TREND_DAYS} days.")
    if end > now + 86400 or start < 946684800:  # 2000-01-01: no machine reported before
        raise BadParameter("end" if end > now + 86400 else "start", "range",
                           "The range must lie between 2000-01-01 and tomorrow.")
    return start, end


def trend_bucket_s(span_s: float, points: int = TREND_POINTS) -> int:
    """The smallest bucket of :data:`TREND_BUCKETS_S` that keeps ``span_s`` within ``points``."""
    return next((b for b in TREND_BUCKETS_S if span_s / b <= points), TREND_BUCKETS_S[-1])


def trend_series(uid: str, field: str, start_s: float, end_s: float) -> dict[str, Any]:
    """Mean of ``field`` per bucket over ``[start_s, end_s)``, at most about 600 buckets."""
    every_s = trend_bucket_s(end_s - start_s)
    start_ns, end_ns = int(start_s * 1e9), int(end_s * 1e9)
    series = _runtime().store.trend(uid, field, start_ns, end_ns, every=f"{every_s}s")
    return {"machine": uid, "field": field, "every_s": every_s, "start": int(start_s), "end": int(end_s),
            "times": [t // 10**9 for t in series["time"]], "values": series["value"]}


@bp.get("/work-orders")
@roles_required(*ALL_ROLES)
def work_orders():
    from fleet import queries

    status = choice_param("status", WORK_ORDER_FILTERS)
    limit = int_param("limit", 100, 1, 500)
    machine_uid = request.args.get("machine") or None
    orders = _read(queries.work_orders, current_user.scope, status=status,
                   machine_uid=machine_uid, limit=limit)
    return jsonify(work_orders=orders)


@bp.get("/work-orders/<int:order_id>")
@roles_required(*ALL_ROLES)
def work_order(order_id: int):
    from fleet import queries

    order = _read(queries.work_order, order_id, current_user.scope)
    if order is None:
        return not_found(f"Work order {order_id}")
    return jsonify(order)


@bp.post("/work-orders/<int:order_id>/actions")
@roles_required(*ALL_ROLES)
def work_order_action(order_id: int):
    """Body ``{"action": "assign"|"start"|"complete"|"cancel", "technician_id"?, "findings"?,
    "parts"?, "reason"?}``; answers the order's new view, or an error naming what was wrong."""
    from telemetry.json_input import MAX_DEPTH

    from .actions import ActionRefused, run_action

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        # not JSON, not an object, or beyond the JSON bounds (app.input_bounds: silent gives None)
        return jsonify(error="bad_body", message=f"Send a JSON object (application/json, at most {MAX_DEPTH} "
                                                 f"levels deep) such as {{\"action\": \"start\"}}."), 415
    try:
        order = run_action(_runtime(), current_user, order_id, str(body.get("action", "")), body)
    except ActionRefused as refused:
        return jsonify(refused.to_dict()), refused.status
    return jsonify(order)

from . import plot_api  # noqa: E402,F401  (the plot-data routes register on bp)
from . import alarm_api  # noqa: E402,F401  (alarm, push-subscription and preference routes on bp)
from . import usage_api  # noqa: E402,F401  (the usage route registers on bp)
from . import site_security_api  # noqa: E402,F401  (the sites' geofence and curfew routes on bp)
