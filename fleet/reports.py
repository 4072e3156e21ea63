"""Reports for fleet owners: the CSV exports and the data of the monthly fleet report.

Services over adapters passed in (a SQL session, the telemetry store). One call,
:func:`fleet_usage`, reads the range once; the CSV tables and the PDF (:mod:`fleet.report_pdf`)
are views of its result, so the same day shows the same hours in every report.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import usage
from .models import Alarm, Machine, WorkOrder
from .scope import machine_clause

CSV_TABLES = ("days", "machines", "work_orders")


@dataclass
class FleetUsage:
    """Everything a report shows for one range of local days."""

    first: date
    last: date
    zone: str
    machines: list[dict]                       # one row per machine (identity, hours, totals)
    days: dict[str, list[dict]] = field(default_factory=dict)   # uid -> usage.day_rows
    work_orders: list[dict] = field(default_factory=list)       # created or completed in the range
    alarms: list[dict] = field(default_factory=list)            # raised in the range
    upcoming: dict[str, list[dict]] = field(default_factory=dict)  # uid -> usage.upcoming_maintenance


def fleet_usage(session: Session, store, visible_tenant_ids, first: date, last: date, zone: ZoneInfo,
                with_upcoming: bool = False) -> FleetUsage:
    """Usage per machine and day, the range's work orders and alarms, for the visible machines."""
    machines = session.scalars(select(Machine).where(machine_clause(visible_tenant_ids))
                               .options(selectinload(Machine.site), selectinload(Machine.tenant))
                               .order_by(Machine.uid)).all()
    start, end = _utc_bounds(first, last, zone)
    report = FleetUsage(first=first, last=last, zone=zone.key, machines=[])
    for machine in machines:
        rows = usage.day_rows(usage.machine_days(store, machine.uid, machine.kind, machine.model, first, last, zone))
        report.days[machine.uid] = rows
        report.machines.append({
            "machine": machine.uid, "kind": machine.kind, "model": machine.model, "serial": machine.serial,
            "customer": machine.tenant.name, "site": machine.site.name if machine.site else "",
            "hour_meter_h": round(machine.hours or 0.0, 1), "status": machine.status, **usage.totals(rows)})
        if with_upcoming:
            report.upcoming[machine.uid] = usage.upcoming_maintenance(session, machine, zone)
    ids = [m.id for m in machines]
    if ids:
        orders = session.scalars(select(WorkOrder).where(WorkOrder.machine_id.in_(ids))
                                 .where(((WorkOrder.created_at >= start) & (WorkOrder.created_at < end))
                                        | ((WorkOrder.completed_at >= start) & (WorkOrder.completed_at < end)))
                                 .options(selectinload(WorkOrder.machine)).order_by(WorkOrder.created_at)).all()
        report.work_orders = [_order_row(o) for o in orders]
        alarms = session.scalars(select(Alarm).where(Alarm.machine_id.in_(ids), Alarm.first_seen_at >= start,
                                                     Alarm.first_seen_at < end)
                                 .options(selectinload(Alarm.machine)).order_by(Alarm.first_seen_at)).all()
        report.alarms = [{"machine": a.machine.uid if a.machine else "", "severity": a.severity, "title": a.title,
                          "first_seen_at": _iso(a.first_seen_at), "state": a.state} for a in alarms]
    return report


def month_range(month_text: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``; :class:`fleet.usage.RangeError` when it is not a month."""
    try:
        year, month = (int(part) for part in month_text.strip().split("-"))
        first = date(year, month, 1)
    except (ValueError, AttributeError):
        raise usage.RangeError("month", f"month must be YYYY-MM, got {month_text!r}.") from None
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def previous_month(today: date) -> str:
    """``YYYY-MM`` of the month before ``today``'s (what the report of the 1st covers)."""
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


# --- CSV ------------------------------------------------------------------------------------------

DAY_COLUMNS = ["machine", "model", "site", "day", "working_h", "idle_h", "engine_h", "off_h",
               "utilization_pct", "idle_pct", "fuel_l", "fuel_l_per_working_h"]
MACHINE_COLUMNS = ["machine", "kind", "model", "serial", "site", "hour_meter_h", "status", "working_h", "idle_h",
                   "engine_h", "idle_pct", "fuel_l", "fuel_l_per_working_h"]
ORDER_COLUMNS = ["number", "machine", "title", "kind", "severity", "status", "created_at", "due_at",
                 "completed_at", "what_was_done"]


#: Columns holding a time (kept ISO 8601 UTC in :class:`FleetUsage`, written in the report's zone).
TIME_COLUMNS = ("created_at", "due_at", "completed_at")


def csv_table(report: FleetUsage, table: str) -> str:
    """One of :data:`CSV_TABLES` as CSV text: header row first; times ISO 8601 in the report's zone
    with their UTC offset (``2026-12-01T09:00:00+01:00``: the customer reads their own clock, a
    program still gets the instant), days the zone's days, hours h, fuel L. :func:`csv_file_name`
    names the zone."""
    out = io.StringIO()
    if table == "days":
        writer = csv.DictWriter(out, DAY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for machine in report.machines:
            for row in report.days[machine["machine"]]:
                writer.writerow({"machine": machine["machine"], "model": machine["model"], "site": machine["site"], **row})
    elif table == "machines":
        writer = csv.DictWriter(out, MACHINE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(report.machines)
    elif table == "work_orders":
        writer = csv.DictWriter(out, ORDER_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        zone = ZoneInfo(report.zone)
        writer.writerows({**row, **{c: local_iso(row[c], zone) for c in TIME_COLUMNS}} for row in report.work_orders)
    else:
        raise ValueError(f"unknown table {table!r}")
    return out.getvalue()


def csv_file_name(report: FleetUsage, table: str) -> str:
    """``ironwatch-days-2026-12-01-to-2026-12-07-Europe_London.csv``: the table, the range and the
    zone its days and times are in (``/`` of the zone name as ``_``, a file name has none)."""
    return f"ironwatch-{table}-{report.first}-to-{report.last}-{report.zone.replace('/', '_')}.csv"


def local_iso(text: str | None, zone: ZoneInfo) -> str:
    """An ISO 8601 UTC time of the report (``2026-12-01T08:00:00Z``) as ISO 8601 in ``zone`` with
    its offset (``2026-12-01T09:00:00+01:00``); "" for none."""
    if not text:
        return ""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(zone).isoformat(timespec="seconds")


def _order_row(order: WorkOrder) -> dict:
    return {"number": order.number, "machine": order.machine.uid, "title": order.title,
            "kind": "planned service" if order.source == "pm" else "repair",
            "severity": order.severity, "status": order.status.replace("_", " "),
            "created_at": _iso(order.created_at), "due_at": _iso(order.due_at),
            "completed_at": _iso(order.completed_at), "what_was_done": order.resolution or ""}


def _utc_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(timezone.utc)
    after = last + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(timezone.utc)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
