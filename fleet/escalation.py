"""The escalation chain: tell the next person while an alarm stays unacknowledged.

A tenant's :class:`fleet.models.EscalationPolicy` is a list of steps (who, after how many minutes
since the alarm was raised, through which channels), e.g. the on-call technician of the site
by push at once, the service engineers by push and e-mail after 15 min, the service manager by
e-mail after 60 min. :func:`escalate_due` runs as an APScheduler job (``alarm_escalation``) on
an injectable clock and also right after an alarm is raised; it returns ``AlarmEscalated`` events
for the message bus, whose delivery subscriber sends the messages. An acknowledged or cleared
alarm has no ``next_escalation_at`` and is never picked up again.

Several schedulers (a second app process) cannot notify a step twice: each step is claimed with a
conditional UPDATE (``WHERE escalation_step = <seen>``); only the process whose UPDATE matched a row
goes on.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .alarm_service import policy_for
from .alarms import ACTIVE
from .db import transaction
from .events import AlarmEscalated, Event
from .models import Alarm, EscalationStep, Machine, OnCallShift, Technician, User
from .queries import alarm_view

log = logging.getLogger(__name__)

ESCALATION_INTERVAL_S = 30
CHANNELS = ("push", "email")


def step_recipients(session: Session, step: EscalationStep, machine: Machine, now: datetime) -> list[int]:
    """User ids the step reaches: a role of the policy's tenant, a named user, or the technician on
    call at the machine's site at ``now`` (none when nobody is on call: the next step follows)."""
    if step.target_kind == "role":
        return list(session.scalars(select(User.id).where(User.tenant_id == step.policy.tenant_id,
                                                          User.role == step.target_role,
                                                          User.active.is_(True)).order_by(User.id)))
    if step.target_kind == "user":
        user = session.get(User, step.target_user_id)
        return [user.id] if user is not None and user.active else []
    if machine.site_id is None:
        return []
    user_id = session.scalar(select(Technician.user_id).join(OnCallShift, OnCallShift.technician_id == Technician.id)
                             .where(OnCallShift.site_id == machine.site_id, OnCallShift.starts_at <= now,
                                    OnCallShift.ends_at > now, Technician.active.is_(True))
                             .order_by(OnCallShift.starts_at.desc()))
    return [user_id] if user_id is not None else []


def escalate_due(session_factory: sessionmaker, now: datetime, alarm_ids: Iterable[int] | None = None) -> list[Event]:
    """Notify every due step of every active alarm (or of ``alarm_ids`` only); returns the events.

    A step is due when ``raised_at + after_minutes <= now``; an alarm that has been waiting
    past several steps (the scheduler was down) gets each of them now, in order.
    """
    events: list[Event] = []
    with transaction(session_factory) as session:
        stmt = (select(Alarm).where(Alarm.state == ACTIVE, Alarm.next_escalation_at.is_not(None),
                                    Alarm.next_escalation_at <= now)
                .options(selectinload(Alarm.machine).selectinload(Machine.tenant)).order_by(Alarm.id))
        if alarm_ids is not None:
            stmt = stmt.where(Alarm.id.in_([int(i) for i in alarm_ids]))
        for alarm in session.scalars(stmt).all():
            events += _escalate(session, alarm, now)
    return events


def _escalate(session: Session, alarm: Alarm, now: datetime) -> list[Event]:
    policy = policy_for(session, alarm.machine)
    if policy is None:
        alarm.next_escalation_at = None
        return []
    events: list[Event] = []
    while alarm.escalation_step < len(policy.steps):
        step = policy.steps[alarm.escalation_step]
        if alarm.raised_at + timedelta(minutes=step.after_minutes) > now:
            break
        seen = alarm.escalation_step
        claimed = session.execute(update(Alarm).where(Alarm.id == alarm.id, Alarm.escalation_step == seen,
                                                      Alarm.state == ACTIVE)
                                  .values(escalation_step=seen + 1).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            log.info("escalation of %s step %d taken by another process", alarm.number, seen)
            session.refresh(alarm)
            return events
        alarm.escalation_step = seen + 1
        recipients = step_recipients(session, step, alarm.machine, now)
        channels = tuple(c for c in (step.channels or []) if c in CHANNELS)
        alarm._note(now, f"escalation step {seen + 1}: {_who(step)} by {', '.join(channels) or 'no channel'}"
                         f" ({len(recipients)} {'person' if len(recipients) == 1 else 'people'})")
        events.append(AlarmEscalated(tenant_ids=tuple(alarm.machine.tenant.audience()), alarm={}, actor="escalation",
                                     step=seen, recipients=tuple(recipients), channels=channels))
    if alarm.escalation_step < len(policy.steps):
        following = policy.steps[alarm.escalation_step]
        alarm.next_escalation_at = alarm.raised_at + timedelta(minutes=following.after_minutes)
    else:
        alarm.next_escalation_at = None
    session.flush()
    view = alarm_view(alarm)  # the events carry the alarm as it is after all of this run's steps
    return [AlarmEscalated(tenant_ids=e.tenant_ids, alarm=view, actor=e.actor, step=e.step, recipients=e.recipients,
                           channels=e.channels) for e in events]


def _who(step: EscalationStep) -> str:
    if step.target_kind == "role":
        return f"every {step.target_role}"
    if step.target_kind == "user":
        return step.target_user.name if step.target_user is not None else f"user {step.target_user_id}"
    return "the on-call technician"


def run_escalation(session_factory: sessionmaker, bus, clock) -> int:
    """The scheduler job: escalate what is due at ``clock()`` and hand the events to ``bus``."""
    events = escalate_due(session_factory, clock())
    bus.handle(events)
    return len(events)
