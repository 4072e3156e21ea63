"""Usage of machines per local day (working, idle and off hours, fuel) read from InfluxDB, and what
an owner is told about maintenance: upcoming work with its reason in words, and the history.

Services over adapters passed in (the telemetry store, a SQL session); the arithmetic is in
:mod:`fleet.utilization`. Nothing here shows internal details to a customer: no technician
proposals, no database ids.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import utilization
from .models import Machine, MachinePmState, PmWorkOrder, WorkOrder
from .workorders import ACTIVE_STATUSES

USAGE_FIELDS = ["engine_speed_rpm", "engine_load_pct", "fuel_rate_l_h"]
BUCKET_S = 60  # one-minute means: the continuous query's resolution
MAX_DAYS = 400  # a range longer than this is refused (a year and a month of one-minute means)


def machine_days(store, uid: str, kind: str, model: str, first: date, last: date, zone: ZoneInfo
                 ) -> list[utilization.DayUsage]:
    """Usage of machine ``uid`` on each local day from ``first`` to ``last`` inclusive (in ``zone``)."""
    days = utilization.local_days(first, last, zone)
    means = store.operating_means(uid, USAGE_FIELDS, days[0][1], days[-1][2], every=f"{BUCKET_S}s")

    def column(name: str) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in means[name]], dtype=float)

    return utilization.daily_usage(np.array(means["time"], dtype=np.int64), column("engine_speed_rpm"),
                                   column("engine_load_pct"), column("fuel_rate_l_h"),
                                   utilization.thresholds_for(kind, model), days, bucket_s=BUCKET_S)


def day_rows(usage: list[utilization.DayUsage]) -> list[dict]:
    """Usage days as plain rows (hours in h, fuel in L, shares in %), rounded for people."""
    return [{"day": u.day.isoformat(), "working_h": round(u.working_h, 2), "idle_h": round(u.idle_h, 2),
             "off_h": round(u.off_h, 2), "engine_h": round(u.running_h, 2),
             "utilization_pct": round(u.utilization_pct, 1), "idle_pct": round(u.idle_pct, 1),
             "fuel_l": round(u.fuel_l, 1),
             "fuel_l_per_working_h": None if u.fuel_l_per_working_h is None else round(u.fuel_l_per_working_h, 1)}
            for u in usage]


def totals(rows: list[dict]) -> dict:
    """Sums over day rows, with the range's fuel per working hour (L/h) and idle share (%)."""
    working = sum(r["working_h"] for r in rows)
    idle = sum(r["idle_h"] for r in rows)
    fuel = sum(r["fuel_l"] for r in rows)
    return {"working_h": round(working, 2), "idle_h": round(idle, 2), "engine_h": round(working + idle, 2),
            "fuel_l": round(fuel, 1), "idle_pct": round(100 * idle / (working + idle), 1) if working + idle else 0.0,
            "fuel_l_per_working_h": round(fuel / working, 1) if working else None}


# --- maintenance in words -------------------------------------------------------------------------

def _local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(zone)


def _day_words(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def order_reason(order: WorkOrder, zone: ZoneInfo) -> str:
    """Why an open work order exists and when it is booked, in one sentence for the owner.

    "Alternator bearing wear found on 3 Dec 2026; a technician is booked for 5 Dec 2026."
    """
    found = _local(order.created_at, zone)
    what = order.title.rstrip(".")
    verb = "planned on" if order.source == "pm" or order.fault_mode == "preventive_maintenance" else "found on"
    sentence = f"{what} {verb} {_day_words(found)}" if found else what
    due = _local(order.due_at, zone)
    if order.status == "in_progress":
        sentence += "; a technician is working on it now"
    elif order.technician_id is not None and due is not None:
        sentence += f"; a technician is booked for {_day_words(due)}"
    elif order.technician_id is not None:
        sentence += "; a technician is assigned and will agree a date with you"
    elif due is not None:
        sentence += f"; to be done by {_day_words(due)}, a technician is not booked yet"
    else:
        sentence += "; a technician is not booked yet"
    return sentence + "."


def upcoming_maintenance(session: Session, machine: Machine, zone: ZoneInfo) -> list[dict]:
    """Open work orders and projected services of ``machine``, soonest first.

    Each: ``{"kind": "work order" | "service", "what", "reason", "due_at" (ISO UTC or None),
    "number" (work orders only)}``. A projected service that already has an open order appears once,
    as the order.
    """
    orders = session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine.id,
                                                     WorkOrder.status.in_(ACTIVE_STATUSES))).all()
    ordered_plans = set(session.scalars(select(PmWorkOrder.plan_id).join(WorkOrder, PmWorkOrder.work_order_id == WorkOrder.id)
                                        .where(PmWorkOrder.machine_id == machine.id,
                                               WorkOrder.status.in_(ACTIVE_STATUSES))).all())
    items = [{"kind": "work order", "number": o.number, "what": o.title, "reason": order_reason(o, zone),
              "due_at": None if o.due_at is None else _utc_iso(o.due_at), "severity": o.severity,
              "status": o.status.replace("_", " ")} for o in orders]
    states = session.scalars(select(MachinePmState).where(MachinePmState.machine_id == machine.id)
                             .options(selectinload(MachinePmState.plan))).all()
    for state in states:
        if state.plan_id in ordered_plans or state.projected_due_at is None:
            continue
        if state.projection_note.startswith("covered by"):
            continue  # included in a larger service at the same hours
        due = _local(state.projected_due_at, zone)
        per_day = state.utilization_h_per_day
        basis = f" at the machine's recent {per_day:.1f} engine hours a day" if per_day else ""
        interval = (f"every {state.plan.interval_h:,.0f} engine hours" if state.plan.interval_h
                    else f"every {state.plan.interval_days} days")
        items.append({"kind": "service", "number": None, "what": state.plan.name, "severity": "ok",
                      "status": "planned", "due_at": _utc_iso(state.projected_due_at),
                      "reason": f"{state.plan.name} ({interval}) falls due around {_day_words(due)}{basis}; "
                                f"we will open the work order and book a technician before then."})
    items.sort(key=lambda item: (item["due_at"] is None, item["due_at"] or ""))
    return items


def work_order_history(session: Session, machine_ids: list[int], start: datetime | None = None,
                       end: datetime | None = None, limit: int = 50) -> list[dict]:
    """Completed work orders, newest first: what was found, what was done, parts used."""
    stmt = (select(WorkOrder).where(WorkOrder.machine_id.in_(machine_ids), WorkOrder.status == "done")
            .options(selectinload(WorkOrder.machine)).order_by(WorkOrder.completed_at.desc()).limit(limit))
    if start is not None:
        stmt = stmt.where(WorkOrder.completed_at >= start)
    if end is not None:
        stmt = stmt.where(WorkOrder.completed_at < end)
    return [{"number": o.number, "machine": o.machine.uid, "what": o.title,
             "done": o.resolution or "Completed; no notes recorded.",
             "parts": ", ".join(_part_words(p) for p in (o.parts or [])),
             "completed_at": _utc_iso(o.completed_at), "created_at": _utc_iso(o.created_at)}
            for o in session.scalars(stmt)]


def _part_words(part) -> str:
    if isinstance(part, dict):
        name = part.get("description") or part.get("part_number") or part.get("name") or ""
        quantity = part.get("quantity") or part.get("qty")
        return f"{float(quantity):g} × {name}" if quantity else str(name)
    return str(part)


def _utc_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- date ranges from people ------------------------------------------------------------------------

class RangeError(ValueError):
    """A date range a person asked for is not usable: ``field`` names the input, ``message`` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def parse_day_range(first_text: str | None, last_text: str | None, today: date, default_days: int = 14
                    ) -> tuple[date, date]:
    """The local days ``[first, last]`` asked for as ``YYYY-MM-DD`` (either may be empty).

    Defaults: the ``default_days`` days up to ``today``. Refused (:class:`RangeError`): text that is
    not a date, ``last`` before ``first``, a range longer than :data:`MAX_DAYS` or starting after today.
    """
    from datetime import timedelta

    def parse(name: str, text: str | None) -> date | None:
        if text is None or text.strip() == "":
            return None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise RangeError(name, f"{name} must be a date as YYYY-MM-DD, got {text!r}.") from None

    last = parse("to", last_text) or today
    first = parse("from", first_text) or last - timedelta(days=default_days - 1)
    if last < first:
        raise RangeError("to", f"to ({last}) is before from ({first}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError("from", f"a range may cover at most {MAX_DAYS} days; this one covers {(last - first).days + 1}.")
    if first > today:
        raise RangeError("from", f"from ({first}) is in the future; there is no data yet.")
    return first, last


def zone_of(session: Session, user_timezone: str | None, tenant_id: int, scope=None) -> ZoneInfo:
    """The zone a customer user's days are counted in: their own choice, else their company's
    (its first site's zone; for a site-limited ``scope`` the first of their sites), else UTC."""
    from .scope import scope_zone_name

    name = user_timezone or scope_zone_name(session, scope if scope is not None else [tenant_id], tenant_id) or "UTC"
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
