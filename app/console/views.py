"""Console routes: ``/console/`` (fleet), ``/console/machines/<uid>``, ``/console/work-orders``
and the evidence image ``/console/bursts/<burst_id>/evidence.png``."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from ..auth import roles_required
from ..cache import LruCache
from . import bp

CONSOLE_ROLES = ("admin", "engineer")
STATUS_ORDER = ("alarm", "warning", "watch", "ok", "unknown")


def _runtime():
    return current_app.extensions["ironwatch"]


def _read(query, *args, **kwargs) -> Any:
    with _runtime().sessions() as session:
        return query(session, *args, **kwargs)


def fleet_counts(rows: list[dict]) -> dict[str, int]:
    """How many machines are in each status, plus the total and open work orders (for the KPIs)."""
    counts = {status: 0 for status in STATUS_ORDER}
    for row in rows:
        counts[row.get("status") or "unknown"] = counts.get(row.get("status") or "unknown", 0) + 1
    counts["machines"] = len(rows)
    counts["open_work_orders"] = sum(int(row.get("open_work_orders") or 0) for row in rows)
    return counts


def sort_by_urgency(rows: list[dict]) -> list[dict]:
    """Worst status first, then machine uid, so alarms are at the top of the fleet table."""
    rank = {status: i for i, status in enumerate(STATUS_ORDER)}
    return sorted(rows, key=lambda r: (rank.get(r.get("status") or "unknown", len(rank)), r.get("uid", "")))


@bp.get("/")
@roles_required(*CONSOLE_ROLES)
def fleet():
    from fleet import queries

    rows = sort_by_urgency(_read(queries.fleet_overview, current_user.scope))
    recent_orders = _read(queries.work_orders, current_user.scope, status="active", limit=12)
    open_alarms = _read(queries.alarms, current_user.scope, state="open", limit=12)
    return render_template("console/fleet.html", machines=rows, counts=fleet_counts(rows),
                           recent_orders=recent_orders, open_alarms=open_alarms, live=True)


@bp.get("/machines/<uid>")
@roles_required(*CONSOLE_ROLES)
def machine(uid: str):
    from fleet import queries
    from fleet.bearing_verdicts import lead_with_verdict
    from telemetry.schema import OPERATING_FIELDS

    tenants = current_user.scope
    with _runtime().sessions() as session:
        detail = queries.machine_detail(session, uid, tenants)
        if detail is None:
            abort(404, description=f"Machine {uid} does not exist or is not visible to you.")
        diagnoses = queries.recent_diagnoses(session, uid, tenants, limit=12)
        focus = queries.focus_diagnosis(session, uid, tenants, detail["recent_findings"], diagnoses)
        alarms = queries.alarms(session, tenants, state="open", machine_uid=uid)
    verdict, also_found = None, []
    if focus is not None:
        # Several modes of one bearing are one verdict: the leading mode heads the panel, as in its alarm.
        findings, verdict, also_found = lead_with_verdict(focus["findings"])
        focus = {**focus, "findings": findings}
    latest = _latest_operating(uid)
    rul = latest_rul(_runtime().store, uid, [c["name"] for c in detail["components"]])
    return render_template("console/machine.html", machine=detail, diagnosis=focus, focus_verdict=verdict,
                           also_found=also_found,
                           recent_diagnoses=diagnoses, latest=latest, rul=rul, alarms=alarms,
                           fault_codes=_fault_codes(uid),
                           readings=operating_readings(latest.get("fields", {}), OPERATING_FIELDS),
                           trend_fields=trend_fields_for(detail.get("kind", ""), OPERATING_FIELDS),
                           live=True)


def _fault_codes(uid: str, days: int = 7) -> dict | None:
    """The DM1 panel (``app.j1939.fault_code_view``) over the last ``days``; None when unreachable."""
    import time

    from telemetry.influx import InfluxError

    from ..j1939 import fault_code_view

    end_ns = time.time_ns() + 300 * 10**9  # gateways' clocks may run a little ahead
    try:
        history = _runtime().store.fault_history(uid, end_ns - (days * 86400 + 300) * 10**9, end_ns)
    except InfluxError as error:
        current_app.logger.warning("fault history of %s unavailable: %s", uid, error)
        return None
    return fault_code_view(history)


def _register_wording_filters(state) -> None:
    # Names in words on every page (console, portal, tech): app-wide filters from fleet.wording.
    from fleet import wording

    state.app.jinja_env.filters.update(component_words=wording.component_words, fault_words=wording.fault_words,
                                       confidence_level=wording.confidence_level, words=wording.words,
                                       counted=wording.counted)
    state.app.jinja_env.globals.update(zone_explanation=wording.zone_explanation,
                                       confidence_explanation=wording.confidence_explanation)


bp.record_once(_register_wording_filters)


@bp.app_template_filter("reading")
def format_reading(value: float) -> str:
    """A reading for people: whole numbers from 1000 up (hour meters), else 4 significant digits."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def operating_readings(fields: dict, operating_fields: dict) -> list[dict]:
    """Latest operating values as labelled readings, in the schema's order (position last).

    Each: ``{"name", "label" (the schema's description), "value" (float), "unit"}``; names the schema
    does not know are left out rather than shown without a unit.
    """
    readings = [{"name": name, "label": spec.description[:1].upper() + spec.description[1:],
                 "value": fields[name], "unit": spec.unit}
                for name, spec in operating_fields.items() if fields.get(name) is not None]
    return sorted(readings, key=lambda r: r["name"] in ("lat", "lon"))


def trend_fields_for(kind: str, operating_fields: dict) -> list[tuple[str, str]]:
    """The operating fields offered in the machine page's trend chart, as (name, label with unit)."""
    common = ["engine_speed_rpm", "engine_load_pct", "coolant_temp_c", "oil_pressure_kpa", "fuel_rate_l_h"]
    extra = {"excavator": ["hydraulic_pressure_bar", "hydraulic_oil_temp_c"],
             "genset": ["power_kw", "voltage_v", "frequency_hz", "power_factor"]}.get(kind, [])
    chosen = [name for name in common + extra if name in operating_fields]
    return [(name, f"{operating_fields[name].description} ({operating_fields[name].unit})") for name in chosen]


def _latest_operating(uid: str) -> dict:
    """Latest operating values from InfluxDB; empty (and said so on the page) when unreachable."""
    from telemetry.influx import InfluxError

    try:
        latest = _runtime().store.latest(uid)
    except InfluxError as error:
        current_app.logger.warning("latest operating data of %s unavailable: %s", uid, error)
        return {"time": None, "fields": {}, "error": str(error)}
    latest["time_iso"] = (datetime.fromtimestamp(latest["time"] / 1e9, tz=timezone.utc).isoformat()
                          if latest.get("time") else None)
    return latest


def latest_rul(store, uid: str, components: list[str]) -> dict[str, dict]:
    """Newest RUL estimate per component: ``{name: {"p10_h", "p50_h", "p90_h", "model_version",
    "time"}}``; components without an estimate (too little history) are absent."""
    from telemetry.influx import InfluxError

    estimates = {}
    for name in components:
        try:
            history = store.rul_history(uid, name)
        except InfluxError as error:
            current_app.logger.warning("RUL history of %s/%s unavailable: %s", uid, name, error)
            continue
        if history["time"]:
            estimates[name] = {key: values[-1] for key, values in history.items()}
    return estimates


@bp.get("/work-orders")
@roles_required(*CONSOLE_ROLES)
def work_orders():
    from fleet import queries

    status = request.args.get("status") or "active"
    if status not in ("active", "open", "assigned", "accepted", "in_progress", "on_hold", "done", "closed",
                      "cancelled", "all"):
        abort(400, description=f"Unknown work-order status filter {status!r}.")
    orders = _read(queries.work_orders, current_user.scope,
                   status=None if status == "all" else status, limit=300)
    return render_template("console/work_orders.html", orders=orders, status=status, live=True)


@bp.get("/work-orders/board")
@roles_required(*CONSOLE_ROLES)
def work_order_board():
    """Columns per state; filters (customer, site, technician, priority) and sort as query
    parameters; ``?format=csv`` exports exactly what the board shows; ``?act=<id>`` opens the
    action panel of one order (its engineer actions, and where the week's proposal puts it)."""
    from fleet import planning_views, queries
    from fleet.models import utcnow

    from . import board
    from .planning import _week_start

    tenants = current_user.scope
    with _runtime().sessions() as session:
        machines = queries.fleet_overview(session, tenants)
        orders = board.with_places(queries.work_orders(session, tenants, status=None, limit=1000), machines)
        technicians = assignable_technicians(session, tenants)
        week = _week_start(utcnow().date())
        stored = planning_views.stored_proposal(session, week)
        from fleet.dispatch_claims import is_claim

        proposal = None if stored is None or is_claim(stored) else {
            "id": stored.id, "start_day": stored.start_day.isoformat(), "plan": stored.plan,
            "accepted_by": stored.accepted_by, "accepted_at": stored.accepted_at.isoformat() if stored.accepted_at else None,
            "created_at": stored.created_at.isoformat() if stored.created_at else None}
    choices = board.filter_choices(orders, machines, [t["name"] for t in technicians])
    chosen = {key: (request.args.get(key) or "").strip() for key in board.FILTERS}
    for key, value in chosen.items():
        if value and value not in choices[key]:
            abort(400, description=f"Unknown {key} {value!r}: choose one of the board's filter values.")
    sort = request.args.get("sort") or "due"
    if sort not in dict(board.SORTS):
        abort(400, description=f"Unknown sort {sort!r}; sort by one of {', '.join(dict(board.SORTS))}.")
    shown = board.sort_orders(board.apply_filters(orders, chosen), sort)
    if request.args.get("format") == "csv":
        return Response(board.to_csv(shown), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=work-orders.csv"})
    acting = _acting_order(request.args.get("act"), tenants)
    plan = proposal["plan"] if proposal else None
    panel = None if acting is None else {
        "order": acting, "actions": board.engineer_actions(acting["status"]),
        "codes": board.code_choices(acting["fault_mode"]), "proposal": board.proposal_for(plan, acting["id"]),
        "hold_reason": next((h.get("note") for h in reversed(acting.get("history") or [])
                             if h.get("action") == "hold"), "") if acting["status"] == "on_hold" else ""}
    requested_state = (request.args.get("state") or "").strip()
    if requested_state and requested_state not in board.STATE_LABELS:
        abort(400, description=f"Unknown state {requested_state[:40]!r}; show one of "
                               f"{', '.join(board.STATE_LABELS)}.")
    columns = board.columns(shown)
    kept = board.kept_params(request.args)
    return render_template("console/board.html", columns=columns, choices=choices, chosen=chosen,
                           phone_state=board.phone_state(columns, requested_state, acting["status"] if acting else ""),
                           sort=sort, sorts=board.SORTS, shown=len(shown), total=len(orders), live=True,
                           labels=board.STATE_LABELS, action_labels=board.ACTION_LABELS, panel=panel,
                           technicians=technicians, proposal=proposal, kept=kept,
                           kept_without_act={k: v for k, v in kept.items() if k != "act"},
                           # An action's form leaves the state out: the board then opens on the
                           # column the order moved to.
                           kept_without_state={k: v for k, v in kept.items() if k != "state"},
                           summary=board.proposal_summary(plan, [o["id"] for o in orders]), week=week.isoformat())


def assignable_technicians(session, tenants) -> list[dict]:
    """Active technicians of the tenants the signed-in engineer sees (an OEM engineer: all of the
    OEM's and its dealers'; a dealer's engineer: the dealer's own)."""
    from fleet import queries

    visible = {int(t) for t in tenants}
    return [t for t in queries.technicians(session) if t["active"] and t["tenant_id"] in visible]


def _acting_order(raw: str | None, tenants) -> dict | None:
    """The order whose action panel is open (``?act=<id>``), or None; a bad or hidden id is a 400 / 404."""
    from fleet import queries

    if not raw:
        return None
    value = raw.strip()
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        abort(400, description=f"act must be a work-order id (a whole number from 1), got {value[:40]!r}.")
    order = _read(queries.work_order, int(value), tenants)
    if order is None:
        abort(404, description=f"Work order {value} does not exist or is not visible to you.")
    return order


@bp.post("/work-orders/board/<int:order_id>/actions")
@roles_required(*CONSOLE_ROLES)
def board_action(order_id: int):
    """One engineer action from the board's panel (reassign, hold, resume, complete on behalf,
    close, reopen, cancel, ...); back to the board with its filters, the panel still open."""
    from flask import url_for

    from ..actions import form_action
    from . import board

    return form_action(order_id, url_for("console.work_order_board", **board.kept_params(request.form)))


# --- evidence image -------------------------------------------------------------------------------

_png_cache = LruCache()  # evidence PNGs: drawing one takes ~0.5 s


@bp.get("/bursts/<burst_id>/evidence.png")
@roles_required(*CONSOLE_ROLES)
def evidence_png(burst_id: str):
    from fleet.queries import burst_diagnosis

    from ..evidence import evidence_png_for_burst

    # Visibility first (SQL), so an id of another customer's burst reveals nothing.
    record = _read(burst_diagnosis, burst_id, current_user.scope)
    if record is None:
        abort(404, description=f"Burst {burst_id} does not exist or is not visible to you.")
    png = _png_cache.get(burst_id)
    if png is None:
        png = evidence_png_for_burst(_runtime().store, _runtime().sessions, record)
        _png_cache.put(burst_id, png)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/work-orders/<int:order_id>")
@roles_required(*CONSOLE_ROLES)
def work_order(order_id: int):
    from fleet import queries

    with _runtime().sessions() as session:
        order = queries.work_order(session, order_id, current_user.scope)
        if order is None:
            abort(404, description=f"Work order {order_id} does not exist or is not visible to you.")
        technicians = assignable_technicians(session, current_user.visible_tenant_ids)
        alarms = queries.order_alarms(session, order_id, current_user.scope)
    from . import board

    return render_template("console/work_order.html", order=order, technicians=technicians, live=True, alarms=alarms,
                           actions=board.engineer_actions(order["status"]), action_labels=board.ACTION_LABELS,
                           codes=board.code_choices(order["fault_mode"]))


@bp.post("/work-orders/<int:order_id>/actions")
@roles_required(*CONSOLE_ROLES)
def work_order_action(order_id: int):
    from flask import url_for

    from ..actions import form_action

    return form_action(order_id, url_for("console.work_order", order_id=order_id))
