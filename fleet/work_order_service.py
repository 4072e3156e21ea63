"""Apply maintenance decisions to the SQL store and tell the people concerned.

The glue between the pure rules (:mod:`fleet.maintenance`), the rows (:mod:`fleet.models`) and
the notifier: open or update work orders from signals, keep each machine's status in step with
its active orders, apply RUL estimates, escalate overdue orders, and run life-cycle actions
are :mod:`fleet.order_actions` (the one path through :mod:`fleet.lifecycle`); changes that are
not steps (dedup updates, escalations) are recorded here as :func:`fleet.lifecycle.record_update`
history entries.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from . import alarm_service, lifecycle, maintenance, repairs
from .alarms import AlarmCondition
from .db import transaction
from .maintenance import (ActiveOrder, MaintenanceSignal, TechnicianCandidate, WorkOrderDraft, WorkOrderUpdate,
                          worst_severity)
from .models import Component, Machine, Technician, WorkOrder, utcnow
from .events import Event, LiveUpdate, WorkOrderChanged
from .notify import Notifier
from .queries import active_order_counts, iso, machine_status_view, work_order_view
from .workorders import ACTIVE_STATUSES
from .wording import component_words

log = logging.getLogger(__name__)


@dataclass
class OrderChange:
    """A work order touched by a decision: ``change`` is opened / updated / escalated / assigned / ..."""

    order: WorkOrder
    change: str


class OrderNotFound(LookupError):
    """No such work order, or not visible to the caller."""


# --- loading what the rules need ----------------------------------------------------------------------

def active_orders(session: Session, machine_id: int) -> list[ActiveOrder]:
    """The machine's active orders as the rules see them."""
    rows = session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine_id,
                                                   WorkOrder.status.in_(ACTIVE_STATUSES)))
    return [_as_active(o) for o in rows]


def _as_active(order: WorkOrder) -> ActiveOrder:
    return ActiveOrder(id=order.id, machine_id=order.machine_id, component_id=order.component_id,
                       fault_mode=order.fault_mode, priority=order.priority, severity=order.severity,
                       confidence=order.confidence, due_at=order.due_at, occurrences=order.occurrences,
                       evidence=order.evidence or {}, escalated_at=order.escalated_at,
                       location=order.location or "")


def technician_candidates(session: Session, tenant_ids) -> list[TechnicianCandidate]:
    """Active technicians of the service tenants ``tenant_ids`` (a machine's dealer and OEM:
    ``Tenant.audience()``; one id is taken too) with the number of active orders assigned to each."""
    load = dict(session.execute(
        select(WorkOrder.technician_id, func.count()).where(WorkOrder.status.in_(ACTIVE_STATUSES),
                                                            WorkOrder.technician_id.is_not(None))
        .group_by(WorkOrder.technician_id)).all())
    stmt = select(Technician).where(Technician.active.is_(True))
    if tenant_ids is not None:
        ids = [tenant_ids] if isinstance(tenant_ids, int) else list(tenant_ids)
        stmt = stmt.where(Technician.tenant_id.in_(ids))
    return [TechnicianCandidate(t.id, t.name, frozenset(t.skills or []), t.home_base, t.home_lat, t.home_lon,
                                load.get(t.id, 0)) for t in session.scalars(stmt)]


def machine_position(machine: Machine) -> tuple[float | None, float | None]:
    """Where to send a technician: the machine's last known position, else its site's."""
    if machine.lat is not None and machine.lon is not None:
        return machine.lat, machine.lon
    if machine.site is not None:
        return machine.site.lat, machine.site.lon
    return None, None


# --- applying decisions -------------------------------------------------------------------------------

def _open(session: Session, machine: Machine, draft: WorkOrderDraft, now: datetime) -> WorkOrder:
    proposal = draft.proposal
    order = WorkOrder(
        tenant_id=machine.tenant_id, machine_id=machine.id, component_id=draft.component_id,
        fault_mode=draft.fault_mode, location=draft.location, source=draft.source, title=draft.title,
        description=draft.description, status="open", priority=draft.priority, severity=draft.severity,
        confidence=draft.confidence, evidence=draft.evidence, occurrences=1, due_at=draft.due_at,
        proposed_technician_id=proposal.technician_id if proposal else None,
        proposal_reason=proposal.reason if proposal else "", created_at=now, updated_at=now,
        parts=[], history=[{"at": now.isoformat(), "action": "open", "to": "open", "by": f"rules ({draft.source})",
                            "note": f"opened with priority {draft.priority}"}])
    session.add(order)
    session.flush()
    return order


def _update(order: WorkOrder, update: WorkOrderUpdate, now: datetime, source: str = "") -> None:
    order.priority, order.severity, order.confidence = update.priority, update.severity, update.confidence
    order.due_at, order.evidence, order.occurrences = update.due_at, update.evidence, update.occurrences
    order.updated_at = now
    if update.priority_raised:
        record_note(order, f"rules ({source})" if source else "rules", now, update_note(update, source))


def update_note(update: WorkOrderUpdate, source: str = "") -> str:
    """Why a dedup update changed the order, in words: "new evidence from burst X: priority raised
    to high" (the evidence's newest burst; the kind of signal when it has none)."""
    bursts = (update.evidence or {}).get("burst_ids") or []
    origin = f"burst {bursts[-1]}" if bursts else ("a new remaining-life estimate" if source == "rul"
                                                   else f"the {source or 'rules'}")
    return f"new evidence from {origin}: priority raised to {update.priority}"


def record_note(order: WorkOrder, by: str, at: datetime, why: str, action: str = "update") -> None:
    """Append a history entry that changes no status (through :func:`fleet.lifecycle.record_update`)."""
    life = lifecycle.record_update(lifecycle.from_row(order), lifecycle.Actor(by, "rules"), at, why, action=action)
    order.history = [*(order.history or []), life.history[-1].to_dict()]


def apply_signals(session: Session, machine: Machine, signals: Sequence[MaintenanceSignal],
                  now: datetime) -> list[OrderChange]:
    """Open or update the machine's work orders for ``signals`` (in the caller's transaction).

    Evidence of a fault observed before that fault's repair on the component is dropped first
    (:func:`fleet.repairs.without_old_evidence`)."""
    signals = repairs.without_old_evidence(session, signals)
    if not signals:
        return []
    active = active_orders(session, machine.id)
    candidates = technician_candidates(session, machine.tenant.audience() if machine.tenant else None)
    lat, lon = machine_position(machine)
    changes: list[OrderChange] = []
    for signal in signals:
        decision = maintenance.plan(signal, active, candidates, lat, lon, now)
        if isinstance(decision, WorkOrderDraft):
            order = _open(session, machine, decision, now)
            changes.append(OrderChange(order, "opened"))
            active.append(_as_active(order))
        elif isinstance(decision, WorkOrderUpdate):
            order = session.get(WorkOrder, decision.order_id)
            _update(order, decision, now, signal.source)
            changes.append(OrderChange(order, "updated"))
            active = [_as_active(order) if a.id == order.id else a for a in active]
    session.flush()
    return changes


def refresh_machine_status(session: Session, machine: Machine, now: datetime) -> None:
    """Recompute the machine's status (worst severity of its active orders and open alarms, so a
    red stop lamp or a silent machine shows; ``ok`` when none and the machine has been diagnosed),
    ISO zone (worst component zone) and health (lowest component)."""
    from .alarm_service import open_alarm_severities

    severities = session.scalars(select(WorkOrder.severity).where(WorkOrder.machine_id == machine.id,
                                                                  WorkOrder.status.in_(ACTIVE_STATUSES))).all()
    severities = [*severities, *open_alarm_severities(session, machine.id)]
    components = session.scalars(select(Component).where(Component.machine_id == machine.id)).all()
    zones = [c.iso_zone for c in components if c.iso_zone]
    healths = [c.health_index for c in components if c.health_index is not None]
    status = worst_severity(*severities) if severities else ("ok" if zones else "unknown")
    iso_zone = max(zones) if zones else None  # "A" < "B" < "C" < "D"
    health = min(healths) if healths else None
    if (status, iso_zone, health) != (machine.status, machine.iso_zone, machine.health_index):
        machine.status_updated_at = now
    machine.status, machine.iso_zone, machine.health_index = status, iso_zone, health


def change_events(machine: Machine, changes: Iterable[OrderChange], open_work_orders: int,
                  actor: str | None = None) -> list[Event]:
    """``WorkOrderChanged`` events for ``changes`` and a ``machine_status`` update, addressed to
    the machine's customer and its OEM. Build them inside the session (they read relationships) and
    publish them with :func:`publish` after the commit (never announce what may roll back)."""
    audience = tuple(machine.tenant.audience())
    events: list[Event] = [WorkOrderChanged(tenant_ids=audience, order=work_order_view(c.order), change=c.change,
                                            actor=actor) for c in changes]
    events.append(LiveUpdate(tenant_ids=audience, name="machine_status",
                             payload=machine_status_view(machine, open_work_orders)))
    return events


def publish(notifier: Notifier, events: Iterable[Event]) -> None:
    """Hand committed events to the message bus (``fleet.handlers``; a bare notifier is wrapped
    in one). Failing subscribers are logged, never raised: the data is committed."""
    from .handlers import as_bus

    as_bus(notifier).handle(list(events))


# --- RUL, escalation, life-cycle actions ---------------------------------------------------------------

def apply_rul_estimate(session_factory: sessionmaker, notifier: Notifier, machine_uid: str, component_name: str,
                       p10_h: float, p50_h: float, p90_h: float, model_version: str,
                       now: datetime | None = None, publish_rul: bool = True) -> list[OrderChange]:
    """Turn one RUL estimate (hours) into work-order decisions; publish an ``rul`` event unless
    ``publish_rul`` is False (the scoring job has already announced it)."""
    now = now or utcnow()
    rul = {"p10_h": float(p10_h), "p50_h": float(p50_h), "p90_h": float(p90_h), "model_version": model_version}
    with transaction(session_factory) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid))
        component = machine.component(component_name) if machine else None
        if component is None:
            raise LookupError(f"no component {component_name!r} on machine {machine_uid!r}")
        signal = MaintenanceSignal(
            machine_id=machine.id, component_id=component.id, component_name=component.name,
            component_kind=component.kind, fault_mode=maintenance.RUL_FAULT_MODE, location="",
            severity=maintenance.rul_severity(float(p10_h)), confidence=0.8, source="rul",
            summary=(f"{component_words(component.name).capitalize()}: 10 % chance of failure within {p10_h:.0f} h "
                     f"(median {p50_h:.0f} h, 90 % within {p90_h:.0f} h)"),
            observed_at=now, rul=rul)
        changes = apply_signals(session, machine, [signal], now)
        refresh_machine_status(session, machine, now)
        open_count = active_order_counts(session, [machine.id]).get(machine.id, 0)
        events: list[Event] = []
        if publish_rul:
            events.append(LiveUpdate(tenant_ids=tuple(machine.tenant.audience()), name="rul",
                                     payload={"machine": machine_uid, "component": component_name, **rul,
                                              "time": iso(now)}))
        alarms = rul_alarm(session, machine, component, float(p10_h), p50_h, p90_h, model_version, now)
        if changes or alarms:
            refresh_machine_status(session, machine, now)
            events += change_events(machine, changes, open_count)
            events += alarm_service.take_events(alarms)
    publish(notifier, events)
    return changes


#: RUL P10 below this many operating hours raises an alarm: the planning horizon (a part ordered and
#: a visit booked in two weeks of 12 h days). The work-order rules decide the priority separately.
RUL_PLANNING_HORIZON_H = 168.0


def rul_alarm(session: Session, machine: Machine, component: Component, p10_h: float, p50_h, p90_h,
              model_version: str, now: datetime, horizon_h: float = RUL_PLANNING_HORIZON_H) -> list:
    """Raise or update the component's "RUL below horizon" alarm when P10 < ``horizon_h``; clear it
    once an estimate is back above (``condition_gone``). Returns the alarms touched."""
    if p10_h >= horizon_h:
        return alarm_service.clear_gone(session, machine, "rul", [], now, component=component.name)
    condition = AlarmCondition(
        machine_id=machine.id, component=component.name, component_id=component.id, source="rul",
        cause="p10_below_horizon", severity=maintenance.rul_severity(p10_h), observed_at=now,
        title=(f"{component_words(component.name).capitalize()}: 10 % chance of failure within {p10_h:.0f} h, inside the {horizon_h:.0f} h "
               f"planning horizon"),
        detail={"p10_h": p10_h, "p50_h": p50_h, "p90_h": p90_h, "model_version": model_version,
                "horizon_h": horizon_h})
    return alarm_service.record_conditions(session, machine, [condition], now)


def clear_rul_alarm(session_factory: sessionmaker, notifier: Notifier, machine_uid: str, component_name: str,
                    now: datetime | None = None) -> int:
    """An estimate at the model's cap says "healthy for at least that long": the component's
    RUL alarm, if any, clears (``condition_gone``). Returns the number cleared."""
    now = now or utcnow()
    with transaction(session_factory) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid))
        if machine is None:
            return 0
        cleared = alarm_service.clear_gone(session, machine, "rul", [], now, component=component_name)
        if not cleared:
            return 0
        events = alarm_service.take_events(cleared) + alarm_service.status_events(session, machine, now)
    publish(notifier, events)
    return len(cleared)


def escalate_overdue(session_factory: sessionmaker, notifier: Notifier, now: datetime | None = None) -> int:
    """Raise the priority of overdue active orders (rules in :func:`fleet.maintenance.escalate`)."""
    now = now or utcnow()
    events: list[Event] = []
    with transaction(session_factory) as session:
        overdue = session.scalars(select(WorkOrder).where(WorkOrder.status.in_(ACTIVE_STATUSES),
                                                          WorkOrder.due_at.is_not(None), WorkOrder.due_at < now)).all()
        for order in overdue:
            raised = maintenance.escalate(order.priority, order.due_at, order.escalated_at, now)
            if raised is None:
                continue
            record_note(order, "escalation", now, f"overdue since {order.due_at.isoformat()}: "
                                                  f"priority {order.priority} → {raised}", action="escalate")
            # (an urgent order stays urgent: "urgent → urgent" in the history is the reminder)
            order.priority, order.escalated_at, order.updated_at = raised, now, now
            events.append(WorkOrderChanged(tenant_ids=tuple(order.machine.tenant.audience()),
                                           order=work_order_view(order), change="escalated", actor="escalation"))
    publish(notifier, events)
    return len(events)


def clear_order_alarms(session: Session, order: WorkOrder, actor: str | None, now: datetime) -> list:
    """A completed (or cancelled) order closes the alarms it was opened for: the fault was fixed
    (or judged a false alarm) by the person who closed the order."""
    from .alarms import OPEN_STATES
    from .models import Alarm

    alarms = list(session.scalars(select(Alarm).where(Alarm.work_order_id == order.id, Alarm.state.in_(OPEN_STATES))))
    for alarm in alarms:
        alarm.clear(actor, comment=f"{order.number} {order.status}", when=now, reason=f"work_order_{order.status}")
    session.flush()
    return alarms
