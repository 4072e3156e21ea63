"""Read models for the front ends (console, technician app, customer portal, REST API, live events).

Every function takes an open ``Session`` first and returns plain, JSON-ready data (dicts, lists,
strings, numbers; timestamps as RFC 3339 ``...Z`` text), never ORM rows, so callers can close the
session at once. Scoping is done here: ``visible_tenant_ids`` is the caller's :class:`fleet.scope.Scope`
(or a plain list of tenant ids: every site of them), filtered with :func:`fleet.scope.machine_clause`
and :func:`fleet.scope.row_clause` (a customer user: its own tenant, a site-limited viewer only some
of its sites; an OEM user: the OEM and all its customers). A machine or order outside them reads as
absent (None), exactly like one that does not exist.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .models import BurstDiagnosis, Component, Machine, Technician, WorkOrder
from .wording import component_words, confidence_level
from .workorders import ACTIVE_STATUSES, STATUSES, priority_rank
from .scope import machine_clause, row_clause

DEFAULT_RECENT_FINDINGS = 10


def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC text (``2026-11-25T10:00:00Z``) or None."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


# --- views of single rows (also the payloads of the live events) -----------------------------------

def work_order_view(order: WorkOrder, with_evidence: bool = True) -> dict:
    """A work order as the API and the ``work_order`` event show it."""
    view = {
        "id": order.id, "number": order.number,
        "machine": order.machine.uid if order.machine is not None else None,
        "machine_id": order.machine_id, "tenant_id": order.tenant_id,
        "component": order.component.name if order.component is not None else None,
        "title": order.title, "description": order.description, "fault_mode": order.fault_mode,
        "location": order.location, "source": order.source, "status": order.status,
        "priority": order.priority, "severity": order.severity, "confidence": order.confidence,
        "occurrences": order.occurrences, "due_at": iso(order.due_at),
        "technician_id": order.technician_id,
        "technician": order.technician.name if order.technician is not None else None,
        "proposed_technician_id": order.proposed_technician_id,
        "proposed_technician": order.proposed_technician.name if order.proposed_technician is not None else None,
        "proposal_reason": order.proposal_reason,
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        "assigned_at": iso(order.assigned_at), "started_at": iso(order.started_at),
        "completed_at": iso(order.completed_at), "cancelled_at": iso(order.cancelled_at),
        "escalated_at": iso(order.escalated_at),
        "resolution": order.resolution, "parts": order.parts or [], "cancel_reason": order.cancel_reason,
    }
    if with_evidence:
        view["evidence"] = order.evidence or {}
        view["history"] = order.history or []
    return view


def machine_status_view(machine: Machine, open_work_orders: int) -> dict:
    """A machine's live status (the ``machine_status`` event and one overview row's state)."""
    return {
        "machine": machine.uid, "uid": machine.uid, "tenant_id": machine.tenant_id,
        "status": machine.status, "iso_zone": machine.iso_zone, "health_index": machine.health_index,
        "last_seen_at": iso(machine.last_seen_at), "hours": machine.hours,
        "open_work_orders": open_work_orders, "status_updated_at": iso(machine.status_updated_at),
    }


def diagnosis_view(record: BurstDiagnosis) -> dict:
    """One diagnosed burst: where, when, ISO zone, features and ranked findings."""
    return {
        "burst_id": record.burst_id,
        "machine": record.machine.uid if record.machine is not None else None,
        "component": record.component.name if record.component is not None else None,
        "sensor": record.sensor, "burst_at": iso(record.burst_at), "time": iso(record.burst_at),
        "processed_at": iso(record.processed_at), "iso_zone": record.iso_zone,
        "velocity_rms_mm_s": record.velocity_rms_mm_s, "health_index": record.health_index,
        "worst_severity": record.worst_severity, "features": record.features or {},
        "findings": [_with_level(f) for f in record.findings or []], "work_order_ids": record.work_order_ids or [],
    }


def _with_level(finding: dict) -> dict:
    """A stored finding with its calibrated confidence level as the committed table gives it now
    (``diagnostics.confidence``), also for findings stored before the table existed."""
    return {**finding, "confidence_level": confidence_level(finding.get("confidence"), finding.get("fault_mode"))}


# --- helpers ------------------------------------------------------------------------------------------

def active_order_counts(session: Session, machine_ids: Iterable[int] | None = None) -> Counter:
    """``machine_id → number of active work orders``."""
    stmt = (select(WorkOrder.machine_id, func.count()).where(WorkOrder.status.in_(ACTIVE_STATUSES))
            .group_by(WorkOrder.machine_id))
    if machine_ids is not None:
        stmt = stmt.where(WorkOrder.machine_id.in_(list(machine_ids)))
    return Counter(dict(session.execute(stmt).all()))


def _worst_open_severity(session: Session, machine_ids: list[int]) -> dict[int, str]:
    rank = {"watch": 1, "warning": 2, "alarm": 3}
    worst: dict[int, str] = {}
    rows = session.execute(select(WorkOrder.machine_id, WorkOrder.severity)
                           .where(WorkOrder.status.in_(ACTIVE_STATUSES), WorkOrder.machine_id.in_(machine_ids)))
    for machine_id, severity in rows:
        if rank.get(severity, 0) > rank.get(worst.get(machine_id, ""), 0):
            worst[machine_id] = severity
    return worst


def _order_query():
    return select(WorkOrder).options(selectinload(WorkOrder.machine), selectinload(WorkOrder.component),
                                     selectinload(WorkOrder.technician),
                                     selectinload(WorkOrder.proposed_technician))


def _order_sort_key(view: dict):
    # Active before closed, then most urgent, then earliest due, then newest.
    active = view["status"] in ACTIVE_STATUSES
    return (not active, -priority_rank(view["priority"]), view["due_at"] or "9999", -(view["id"] or 0))


# --- read models ----------------------------------------------------------------------------------------

def fleet_overview(session: Session, visible_tenant_ids: Iterable[int]) -> list[dict]:
    """Every visible machine with its latest status, ordered by uid.

    Row keys: ``uid, kind, model, serial, customer, tenant_id, site, lat, lon, status,
    worst_open_severity, iso_zone, health_index, last_seen_at, hours, open_work_orders,
    nominal_shaft_rpm, rated_power_kw``.
    """
    machines = session.scalars(
        select(Machine).where(machine_clause(visible_tenant_ids))
        .options(selectinload(Machine.tenant), selectinload(Machine.site)).order_by(Machine.uid)).all()
    ids = [m.id for m in machines]
    counts = active_order_counts(session, ids)
    worst = _worst_open_severity(session, ids)
    rows = []
    for machine in machines:
        row = machine_status_view(machine, counts.get(machine.id, 0))
        row.update({
            "kind": machine.kind, "model": machine.model, "serial": machine.serial,
            "customer": machine.tenant.name, "site": machine.site.name if machine.site else None,
            "lat": machine.lat, "lon": machine.lon, "worst_open_severity": worst.get(machine.id),
            "nominal_shaft_rpm": machine.nominal_shaft_rpm, "rated_power_kw": machine.rated_power_kw,
        })
        rows.append(row)
    return rows


def _visible_machine(session: Session, uid: str, visible_tenant_ids: Iterable[int]) -> Machine | None:
    return session.scalar(select(Machine).where(Machine.uid == uid,
                                                machine_clause(visible_tenant_ids))
                          .options(selectinload(Machine.components).selectinload(Component.sensors),
                                   selectinload(Machine.tenant), selectinload(Machine.site)))


def machine_detail(session: Session, uid: str, visible_tenant_ids: Iterable[int],
                   recent: int = DEFAULT_RECENT_FINDINGS) -> dict | None:
    """A machine with its components (kinematics, sensor, latest zone and health), its active work
    orders and its most recent findings; None when absent or not visible."""
    machine = _visible_machine(session, uid, visible_tenant_ids)
    if machine is None:
        return None
    orders = [work_order_view(o, with_evidence=False) for o in session.scalars(
        _order_query().where(WorkOrder.machine_id == machine.id, WorkOrder.status.in_(ACTIVE_STATUSES)))]
    orders.sort(key=_order_sort_key)
    per_component = Counter(o["component"] for o in orders)
    view = machine_status_view(machine, len(orders))
    view.update({
        "kind": machine.kind, "model": machine.model, "serial": machine.serial, "year": machine.year,
        "customer": machine.tenant.name, "lat": machine.lat, "lon": machine.lon,
        "nominal_shaft_rpm": machine.nominal_shaft_rpm, "rated_power_kw": machine.rated_power_kw,
        "site": None if machine.site is None else {"id": machine.site.id, "name": machine.site.name,
                                                   "address": machine.site.address,
                                                   "lat": machine.site.lat, "lon": machine.site.lon,
                                                   "timezone": machine.site.timezone},
        "components": [{
            "name": c.name, "kind": c.kind, "description": c.description, "kinematics": c.kinematics,
            "sensors": [{"name": s.name, "axis": s.axis, "sample_rate_hz": s.sample_rate_hz,
                         "position": s.position, "units": s.units} for s in c.sensors],
            "iso_zone": c.iso_zone, "velocity_rms_mm_s": c.velocity_rms_mm_s, "health_index": c.health_index,
            "last_burst_at": iso(c.last_burst_at), "open_work_orders": per_component.get(c.name, 0),
            "rul_note": c.rul_note,
        } for c in machine.components],
        "work_orders": orders,
        "recent_findings": _recent_findings(session, machine.id, recent),
    })
    return view


def _recent_findings(session: Session, machine_id: int, limit: int) -> list[dict]:
    """The latest bursts that had findings, flattened: one entry per finding, newest first."""
    records = session.scalars(
        select(BurstDiagnosis).where(BurstDiagnosis.machine_id == machine_id, BurstDiagnosis.worst_severity != "")
        .options(selectinload(BurstDiagnosis.component)).order_by(BurstDiagnosis.burst_at.desc()).limit(limit)).all()
    flat = []
    for record in records:
        for finding in record.findings or []:
            flat.append({**_with_level(finding), "burst_id": record.burst_id, "time": iso(record.burst_at),
                         "iso_zone": record.iso_zone})
    return flat[:limit]


def recent_diagnoses(session: Session, uid: str, visible_tenant_ids: Iterable[int], limit: int = 20,
                     component: str | None = None) -> list[dict] | None:
    """The machine's latest diagnosed bursts (healthy ones included), newest first; None if not visible."""
    machine = session.scalar(select(Machine).where(Machine.uid == uid,
                                                   machine_clause(visible_tenant_ids)))
    if machine is None:
        return None
    stmt = (select(BurstDiagnosis).where(BurstDiagnosis.machine_id == machine.id)
            .options(selectinload(BurstDiagnosis.machine), selectinload(BurstDiagnosis.component))
            .order_by(BurstDiagnosis.burst_at.desc()).limit(limit))
    if component:
        stmt = stmt.join(Component, BurstDiagnosis.component_id == Component.id).where(Component.name == component)
    return [diagnosis_view(r) for r in session.scalars(stmt)]


def work_orders(session: Session, visible_tenant_ids: Iterable[int], status: str | None = None,
                machine_uid: str | None = None, limit: int = 100, technician_id: int | None = None) -> list[dict]:
    """Visible work orders, most urgent first. ``status``: one of the life-cycle states, ``"active"``
    (open, assigned or in progress) or None for all."""
    stmt = _order_query().where(row_clause(visible_tenant_ids, WorkOrder.tenant_id, WorkOrder.machine_id))
    if status == "active":
        stmt = stmt.where(WorkOrder.status.in_(ACTIVE_STATUSES))
    elif status in STATUSES:
        stmt = stmt.where(WorkOrder.status == status)
    elif status is not None:
        raise ValueError(f"status must be one of {STATUSES + ('active',)}, got {status!r}")
    if machine_uid:
        stmt = stmt.join(Machine, WorkOrder.machine_id == Machine.id).where(Machine.uid == machine_uid)
    if technician_id is not None:
        stmt = stmt.where(WorkOrder.technician_id == technician_id)
    views = [work_order_view(o, with_evidence=False) for o in session.scalars(stmt)]
    return sorted(views, key=_order_sort_key)[:limit]


def work_order(session: Session, order_id: int, visible_tenant_ids: Iterable[int]) -> dict | None:
    """One work order with evidence and history; None when absent or not visible."""
    order = session.scalar(_order_query().where(WorkOrder.id == order_id,
                                                row_clause(visible_tenant_ids, WorkOrder.tenant_id, WorkOrder.machine_id)))
    return None if order is None else work_order_view(order)


def technician_for_user(session: Session, user_id: int) -> Technician | None:
    """The technician record of a logged-in user, if they are one."""
    return session.scalar(select(Technician).where(Technician.user_id == user_id))


def technician_orders(session: Session, technician_id: int, include_closed: bool = False,
                      limit: int = 100) -> list[dict]:
    """A technician's orders (assigned to them), active first, most urgent first, with the
    machine's site and position so the mobile app can navigate there."""
    stmt = _order_query().where(WorkOrder.technician_id == technician_id)
    if not include_closed:
        stmt = stmt.where(WorkOrder.status.in_(ACTIVE_STATUSES))
    orders = session.scalars(stmt.options(selectinload(WorkOrder.machine).selectinload(Machine.site))).all()
    views = []
    for order in orders:
        view = work_order_view(order)
        site = order.machine.site
        view["site"] = None if site is None else {"name": site.name, "address": site.address,
                                                  "lat": site.lat, "lon": site.lon}
        view["machine_lat"], view["machine_lon"] = order.machine.lat, order.machine.lon
        views.append(view)
    return sorted(views, key=_order_sort_key)[:limit]


def technicians(session: Session, tenant_id: int | None = None) -> list[dict]:
    """Technicians with skills, home base and current load (active orders assigned)."""
    load = Counter(dict(session.execute(
        select(WorkOrder.technician_id, func.count()).where(WorkOrder.status.in_(ACTIVE_STATUSES),
                                                            WorkOrder.technician_id.is_not(None))
        .group_by(WorkOrder.technician_id)).all()))
    stmt = select(Technician).order_by(Technician.name)
    if tenant_id is not None:
        stmt = stmt.where(Technician.tenant_id == tenant_id)
    return [{"id": t.id, "name": t.name, "tenant_id": t.tenant_id, "skills": list(t.skills or []), "home_base": t.home_base,
             "home_lat": t.home_lat, "home_lon": t.home_lon, "active": t.active, "user_id": t.user_id,
             "active_orders": load.get(t.id, 0)} for t in session.scalars(stmt)]


def burst_diagnosis(session: Session, burst_id: str, visible_tenant_ids: Iterable[int]) -> dict | None:
    """The diagnosis record of one burst (:func:`diagnosis_view`); None when the burst was never
    diagnosed or belongs to a machine the caller may not see."""
    record = session.scalar(
        select(BurstDiagnosis).join(Machine, BurstDiagnosis.machine_id == Machine.id)
        .where(BurstDiagnosis.burst_id == burst_id, machine_clause(visible_tenant_ids))
        .options(selectinload(BurstDiagnosis.machine), selectinload(BurstDiagnosis.component)))
    return None if record is None else diagnosis_view(record)


def focus_diagnosis(session: Session, uid: str, visible_tenant_ids: Iterable[int],
                    recent_findings: list[dict], recent: list[dict]) -> dict | None:
    """The diagnosis the machine page explains: the burst of the newest finding, else the newest
    diagnosed burst (healthy), else None."""
    if recent_findings:
        record = burst_diagnosis(session, recent_findings[0]["burst_id"], visible_tenant_ids)
        if record is not None:
            return record
    return recent[0] if recent else None


# --- alarms -----------------------------------------------------------------------------------------------

def alarm_view(alarm) -> dict:
    """An alarm as the API, the alarm list and the ``alarm`` live event show it."""
    from .alarms import SOURCE_LABELS

    return {
        "id": alarm.id, "number": alarm.number,
        "machine": alarm.machine.uid if alarm.machine is not None else None,
        "machine_id": alarm.machine_id, "tenant_id": alarm.tenant_id,
        "customer": alarm.tenant.name if alarm.tenant is not None else None,
        "component": alarm.component or None,
        "component_label": component_words(alarm.component) if alarm.component else None, "source": alarm.source,
        "source_label": SOURCE_LABELS.get(alarm.source, alarm.source), "cause": alarm.cause,
        "severity": alarm.severity, "title": alarm.title, "detail": alarm.detail or {}, "state": alarm.state,
        "first_seen_at": iso(alarm.first_seen_at), "last_seen_at": iso(alarm.last_seen_at), "count": alarm.count,
        "acknowledged_at": iso(alarm.acknowledged_at), "acknowledged_by": alarm.acknowledged_by,
        "ack_comment": alarm.ack_comment or "",
        "cleared_at": iso(alarm.cleared_at), "cleared_by": alarm.cleared_by,
        "clear_comment": alarm.clear_comment or "", "clear_reason": alarm.clear_reason or "",
        "escalation_step": alarm.escalation_step, "next_escalation_at": iso(alarm.next_escalation_at),
        "work_order_id": alarm.work_order_id, "history": alarm.history or [],
    }


#: The alarm list's state filters: "open" is active + acknowledged.
ALARM_STATE_FILTERS = ("open", "active", "acknowledged", "cleared", "all")


def alarms(session: Session, visible_tenant_ids: Iterable[int], state: str = "open", machine_uid: str | None = None,
           source: str | None = None, severity: str | None = None, limit: int = 200) -> list[dict]:
    """Visible alarms, most serious and newest first: unacknowledged before acknowledged before
    cleared, then severity, then last seen."""
    from .alarms import OPEN_STATES, severity_rank
    from .models import Alarm

    stmt = (select(Alarm).where(row_clause(visible_tenant_ids, Alarm.tenant_id, Alarm.machine_id))
            .options(selectinload(Alarm.machine), selectinload(Alarm.tenant)))
    if state == "open":
        stmt = stmt.where(Alarm.state.in_(OPEN_STATES))
    elif state and state != "all":
        stmt = stmt.where(Alarm.state == state)
    if machine_uid:
        stmt = stmt.join(Machine, Alarm.machine_id == Machine.id).where(Machine.uid == machine_uid)
    if source:
        stmt = stmt.where(Alarm.source == source)
    if severity:
        stmt = stmt.where(Alarm.severity == severity)
    rows = session.scalars(stmt.order_by(Alarm.last_seen_at.desc()).limit(limit)).all()
    order = {"active": 0, "acknowledged": 1, "cleared": 2}
    views = [alarm_view(a) for a in rows]
    # The query gave newest first; a stable sort keeps that inside each (state, severity) group.
    views.sort(key=lambda v: (order.get(v["state"], 3), -severity_rank(v["severity"])))
    return views


def alarm(session: Session, alarm_id: int, visible_tenant_ids: Iterable[int]) -> dict | None:
    """One visible alarm with its delivery log, or None."""
    from .models import Alarm, Delivery, User

    row = session.scalar(select(Alarm).where(Alarm.id == alarm_id, row_clause(visible_tenant_ids, Alarm.tenant_id, Alarm.machine_id))
                         .options(selectinload(Alarm.machine), selectinload(Alarm.tenant)))
    if row is None:
        return None
    view = alarm_view(row)
    deliveries = session.execute(select(Delivery, User.name).join(User, Delivery.user_id == User.id)
                                 .where(Delivery.alarm_id == row.id).order_by(Delivery.created_at, Delivery.id)).all()
    view["deliveries"] = [{"id": d.id, "channel": d.channel, "recipient": name, "address": d.address, "kind": d.kind,
                           "step": d.step, "status": d.status, "attempts": d.attempts, "error": d.last_error,
                           "created_at": iso(d.created_at), "sent_at": iso(d.sent_at)} for d, name in deliveries]
    return view


def order_alarms(session: Session, order_id: int, visible_tenant_ids: Iterable[int], limit: int = 5) -> list[dict]:
    """The visible alarms linked to a work order (``alarm.work_order_id``), open ones first, newest first."""
    from .alarms import OPEN_STATES
    from .models import Alarm

    rows = session.scalars(select(Alarm).where(Alarm.work_order_id == order_id,
                                               row_clause(visible_tenant_ids, Alarm.tenant_id, Alarm.machine_id))
                           .options(selectinload(Alarm.machine), selectinload(Alarm.tenant))
                           .order_by(Alarm.state.in_(OPEN_STATES).desc(), Alarm.last_seen_at.desc())
                           .limit(limit)).all()
    return [alarm_view(a) for a in rows]


def open_alarm_counts(session: Session, machine_ids: Iterable[int] | None = None) -> Counter:
    """``machine_id → number of active or acknowledged alarms``."""
    from .alarms import OPEN_STATES
    from .models import Alarm

    stmt = select(Alarm.machine_id, func.count()).where(Alarm.state.in_(OPEN_STATES)).group_by(Alarm.machine_id)
    if machine_ids is not None:
        stmt = stmt.where(Alarm.machine_id.in_(list(machine_ids)))
    return Counter(dict(session.execute(stmt).all()))


def technician_alarms(session: Session, user_id: int, now: datetime, visible_tenant_ids: Iterable[int]) -> list[dict]:
    """Open alarms a technician should see on their phone: those they were told about (the
    delivery log) and those of machines at the sites where they are on call at ``now``."""
    from .alarms import OPEN_STATES
    from .models import Alarm, Delivery, OnCallShift

    told = select(Delivery.alarm_id).where(Delivery.user_id == user_id)
    on_call_sites = (select(OnCallShift.site_id).join(Technician, OnCallShift.technician_id == Technician.id)
                     .where(Technician.user_id == user_id, OnCallShift.starts_at <= now, OnCallShift.ends_at > now))
    rows = session.scalars(
        select(Alarm).join(Machine, Alarm.machine_id == Machine.id)
        .where(Alarm.state.in_(OPEN_STATES), row_clause(visible_tenant_ids, Alarm.tenant_id, Alarm.machine_id),
               (Alarm.id.in_(told)) | (Machine.site_id.in_(on_call_sites)))
        .options(selectinload(Alarm.machine), selectinload(Alarm.tenant))
        .order_by(Alarm.last_seen_at.desc()).limit(50)).all()
    views = [alarm_view(a) for a in rows]
    views.sort(key=lambda v: (v["state"] != "active", -SEVERITY_ORDER.index(v["severity"])))
    return views


SEVERITY_ORDER = ("watch", "warning", "alarm")
