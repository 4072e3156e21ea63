"""Alarms in the SQL store: raise or update from conditions, clear what went away, acknowledge.

The rules are in :mod:`fleet.alarms` (pure); this module applies them to rows inside the caller's
transaction and turns what the rows recorded into domain events (:mod:`fleet.events`) for the
message bus, which the caller hands over after the commit.

Dedup across processes: a new alarm is inserted with ``ON CONFLICT (open_key) DO NOTHING``; if
another process inserted the same open alarm first, the unique ``open_key`` keeps ours out and the
existing one is updated instead.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .alarms import ACTIVE, OPEN_STATES, AlarmCondition, AlarmNotFound, severity_rank
from .db import insert_unless_exists, transaction
from .events import AlarmRaised, Event
from .models import Alarm, EscalationPolicy, Machine, utcnow
from .queries import alarm_view
from .scope import machine_clause, row_clause

log = logging.getLogger(__name__)


# --- escalation schedule (the chain itself runs in fleet.escalation) -----------------------------------

def policy_for(session: Session, machine: Machine) -> EscalationPolicy | None:
    """The escalation chain that covers ``machine``: its customer's own, else its OEM's."""
    for tenant_id in machine.tenant.audience():
        policy = session.scalar(select(EscalationPolicy).where(EscalationPolicy.tenant_id == tenant_id)
                                .options(selectinload(EscalationPolicy.steps)))
        if policy is not None:
            return policy
    return None


def schedule_escalation(session: Session, alarm: Alarm, machine: Machine) -> None:
    """Set when the next step of the chain is due (None when no chain covers this alarm, it is
    below the chain's severity, acknowledged, cleared, or every step was notified)."""
    policy = policy_for(session, machine)
    alarm.next_escalation_at = None
    if alarm.state != ACTIVE or policy is None or severity_rank(alarm.severity) < severity_rank(policy.min_severity):
        return
    if alarm.escalation_step < len(policy.steps):
        step = policy.steps[alarm.escalation_step]
        alarm.next_escalation_at = alarm.raised_at + timedelta(minutes=step.after_minutes)


# --- raising, updating, clearing ------------------------------------------------------------------------

def open_alarm(session: Session, condition: AlarmCondition) -> Alarm | None:
    machine_id, component, cause = condition.key
    return session.scalar(select(Alarm).where(Alarm.open_key == Alarm.key_text(machine_id, component,
                                                                                condition.source, condition.cause)))


def record_conditions(session: Session, machine: Machine, conditions: Sequence[AlarmCondition],
                      now: datetime) -> list[Alarm]:
    """Raise an alarm for each new condition, update the open one for a repeat; returns the alarms
    touched (their ``pending_events`` say what happened). ``now`` (the service's clock) is when a
    new alarm was raised: its escalation chain counts from then, not from the observation (a
    burst diagnosed an hour late must not skip the first steps)."""
    touched = []
    for condition in conditions:
        alarm = open_alarm(session, condition)
        if alarm is None:
            alarm, inserted = _insert(session, machine, condition, now)
            if inserted:
                touched.append(alarm)
                continue
        if alarm.repeat(condition) and alarm.escalation_step == 0:
            # e.g. watch → alarm: a chain that ignored the watch starts now
            schedule_escalation(session, alarm, machine)
        touched.append(alarm)
    session.flush()
    return touched


def _insert(session: Session, machine: Machine, condition: AlarmCondition, now: datetime) -> tuple[Alarm, bool]:
    key = Alarm.key_text(machine.id, condition.component, condition.source, condition.cause)
    alarm_id = insert_unless_exists(session, Alarm, dict(
        tenant_id=machine.tenant_id, machine_id=machine.id, component_id=condition.component_id,
        component=condition.component, source=condition.source, cause=condition.cause, open_key=key,
        severity=condition.severity, title=condition.title[:240], detail=dict(condition.detail or {}), state=ACTIVE,
        raised_at=now, first_seen_at=condition.observed_at, last_seen_at=condition.observed_at, count=1,
        escalation_step=0, ack_comment="", clear_comment="", clear_reason="",
        history=[{"at": condition.observed_at.isoformat(), "note": f"raised ({condition.severity})"}]), ["open_key"])
    if alarm_id is None:
        # Another process raised the same alarm between our look-up and our insert: theirs stands.
        return open_alarm(session, condition), False
    alarm = session.get(Alarm, alarm_id)
    alarm._record(AlarmRaised)
    schedule_escalation(session, alarm, machine)
    return alarm, True


def clear_gone(session: Session, machine: Machine, source: str, present_causes: Iterable[str], now: datetime,
               component: str | None = None) -> list[Alarm]:
    """Clear (``condition_gone``) the machine's open alarms of ``source`` whose cause is not in
    ``present_causes`` (restricted to ``component`` when given)."""
    present = set(present_causes)
    stmt = select(Alarm).where(Alarm.machine_id == machine.id, Alarm.source == source, Alarm.state.in_(OPEN_STATES))
    if component is not None:
        stmt = stmt.where(Alarm.component == component)
    cleared = []
    for alarm in session.scalars(stmt):
        if alarm.cause not in present:
            alarm.clear(None, when=now, reason="condition_gone")
            cleared.append(alarm)
    session.flush()
    return cleared


def take_events(alarms: Iterable[Alarm]) -> list[Event]:
    """The domain events the alarms recorded, as bus events (views built now, inside the session)."""
    events: list[Event] = []
    for alarm in alarms:
        recorded = alarm.take_events()
        if not recorded:
            continue
        view = alarm_view(alarm)
        audience = tuple(alarm.machine.tenant.audience())
        for kind, actor, comment, extra in recorded:
            events.append(kind(tenant_ids=audience, alarm=view, actor=actor, comment=comment, **extra))
    return events


def open_alarm_severities(session: Session, machine_id: int) -> list[str]:
    """Severities of the machine's active and acknowledged alarms (for its status)."""
    return list(session.scalars(select(Alarm.severity).where(Alarm.machine_id == machine_id,
                                                             Alarm.state.in_(OPEN_STATES))))


# --- acknowledging and clearing by people ---------------------------------------------------------------

def _visible_alarms(session: Session, ids: Iterable[int], visible_tenant_ids: Iterable[int]) -> list[Alarm]:
    return list(session.scalars(select(Alarm).where(Alarm.id.in_([int(i) for i in ids]),
                                                    row_clause(visible_tenant_ids, Alarm.tenant_id, Alarm.machine_id))
                                .options(selectinload(Alarm.machine).selectinload(Machine.tenant))))


def acknowledge(session_factory: sessionmaker, bus, alarm_id: int, visible_tenant_ids: Iterable[int], actor: str,
                user_id: int | None, comment: str = "", now: datetime | None = None) -> dict:
    """Acknowledge one visible active alarm; returns its view.

    Raises :class:`fleet.alarms.AlarmNotFound` (absent or not visible) or
    :class:`fleet.alarms.InvalidAlarmTransition` (not active); nothing changes then.
    """
    return _act(session_factory, bus, alarm_id, visible_tenant_ids, "acknowledge", actor, user_id, comment, now)


def clear(session_factory: sessionmaker, bus, alarm_id: int, visible_tenant_ids: Iterable[int], actor: str,
          user_id: int | None, comment: str = "", now: datetime | None = None) -> dict:
    """A person clears an alarm (condition fixed, false alarm); same errors as :func:`acknowledge`."""
    return _act(session_factory, bus, alarm_id, visible_tenant_ids, "clear", actor, user_id, comment, now)


def _act(session_factory, bus, alarm_id, visible_tenant_ids, action, actor, user_id, comment, now) -> dict:
    now = now or utcnow()
    with transaction(session_factory) as session:
        found = _visible_alarms(session, [alarm_id], visible_tenant_ids)
        if not found:
            raise AlarmNotFound(f"alarm {alarm_id} does not exist or is not visible to you")
        alarm = found[0]
        if action == "acknowledge":
            alarm.acknowledge(actor, user_id, comment, when=now)
        else:
            alarm.clear(actor, user_id, comment, when=now, reason="manual")
        events = take_events([alarm]) + status_events(session, alarm.machine, now)
        view = alarm_view(alarm)
    bus.handle(events)
    return view


def acknowledge_machine(session_factory: sessionmaker, bus, machine_uid: str, visible_tenant_ids: Iterable[int],
                        actor: str, user_id: int | None, comment: str = "", now: datetime | None = None) -> list[dict]:
    """Bulk acknowledge: every active alarm of one visible machine; returns their views (may be
    empty). Raises :class:`AlarmNotFound` when the machine is absent or not visible."""
    now = now or utcnow()
    with transaction(session_factory) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid,
                                                       machine_clause(visible_tenant_ids)))
        if machine is None:
            raise AlarmNotFound(f"machine {machine_uid} does not exist or is not visible to you")
        active = list(session.scalars(select(Alarm).where(Alarm.machine_id == machine.id, Alarm.state == ACTIVE)))
        for alarm in active:
            alarm.acknowledge(actor, user_id, comment, when=now)
        events = take_events(active) + (status_events(session, machine, now) if active else [])
        views = [alarm_view(a) for a in active]
    bus.handle(events)
    return views


def status_events(session: Session, machine: Machine, now: datetime) -> list[Event]:
    """The machine's status after an alarm change, as a live update (status reflects open alarms)."""
    from .events import LiveUpdate
    from .queries import active_order_counts, machine_status_view
    from .work_order_service import refresh_machine_status

    refresh_machine_status(session, machine, now)
    session.flush()
    count = active_order_counts(session, [machine.id]).get(machine.id, 0)
    return [LiveUpdate(tenant_ids=tuple(machine.tenant.audience()), name="machine_status",
                       payload=machine_status_view(machine, count))]

