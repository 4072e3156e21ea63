"""The message bus: one table says which subscribers each domain event reaches.

Services record events (:mod:`fleet.events`) while they change rows and hand them to
:meth:`MessageBus.handle` after the commit. Each handler is a plain function
``handler(event, deps) -> list[Event] | None``: what it returns is handled next, in the same call
(an ``AlarmRaised`` starts the escalation chain, whose ``AlarmEscalated`` is then delivered).
A failing handler is logged and the others still run: the decision is committed, a broken channel
must not hide it from the other channels.

``MessageBus.publish(name, payload, tenant_ids)`` keeps the older ``fleet.notify.Notifier``
protocol working: a service written against it publishes a :class:`~fleet.events.LiveUpdate`.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from .events import (AdminChanged, AlarmAcknowledged, AlarmCleared, AlarmEscalated, AlarmEvent, AlarmRaised, AlarmUpdated, Event,
                     LiveUpdate, SignInAttempted, WorkOrderChanged, WorkOrderReassigned, live_name, live_payload)
from .job_alerts import push_job_change, push_job_reassigned
from .models import utcnow
from .notify import NullNotifier, Notifier
from .owner_alerts import OWNER_KINDS, alert_owners, tell_owners_all_clear
from .repairs import record_repair_on_completion

log = logging.getLogger(__name__)


@dataclass
class Dependencies:
    """The adapters the handlers use, passed in at start-up (any may be absent: its handlers skip).

    notifier : fleet.notify.Notifier
        Live channel (Socket.IO in the app).
    sessions : sessionmaker, optional
        SQL store, for the audit log and the escalation chain.
    delivery : fleet.delivery.DeliveryService, optional
        Web Push and e-mail to people.
    clock : callable
        Aware UTC now (injectable: tests move time forward).
    """

    notifier: Notifier
    sessions: object | None = None
    delivery: object | None = None
    clock: Callable[[], datetime] = utcnow


# --- subscribers ------------------------------------------------------------------------------------------

def publish_live(event: Event, deps: Dependencies) -> None:
    """Socket.IO rooms of the event's tenants."""
    deps.notifier.publish(live_name(event), live_payload(event), list(event.tenant_ids))


def write_audit(event: Event, deps: Dependencies) -> None:
    """One audit-log row per alarm, work-order or configuration change (who, what, when, comment)."""
    if deps.sessions is None:
        return
    from .db import transaction
    from .models import AuditEntry

    if isinstance(event, AlarmEvent):
        subject, subject_id, action = "alarm", event.alarm_id, event.change
        tenant_id, detail = event.alarm.get("tenant_id"), {"severity": event.alarm.get("severity"),
                                                            "state": event.alarm.get("state")}
        if isinstance(event, AlarmEscalated):
            detail.update(step=event.step, recipients=list(event.recipients), channels=list(event.channels))
    elif isinstance(event, AdminChanged):
        subject, subject_id, action = event.subject_type, event.subject_id, event.action
        tenant_id, detail = (event.tenant_ids[0] if event.tenant_ids else None), dict(event.detail)
    elif isinstance(event, SignInAttempted):
        subject, subject_id, action = "user", event.user_id or 0, f"sign_in_{event.outcome}"
        tenant_id, detail = (event.tenant_ids[0] if event.tenant_ids else None), {"address": event.address}
    elif isinstance(event, WorkOrderChanged):
        subject, subject_id, action = "work_order", int(event.order["id"]), event.change
        tenant_id, detail = event.order.get("tenant_id"), {"status": event.order.get("status"),
                                                            "priority": event.order.get("priority")}
    elif isinstance(event, WorkOrderReassigned):
        subject, subject_id, action = "work_order", int(event.order["id"]), "reassigned"
        tenant_id, detail = event.order.get("tenant_id"), {"status": event.order.get("status"),
                                                            "from_technician_id": event.from_technician_id,
                                                            "to_technician_id": event.to_technician_id}
    else:
        return
    # Who acted: the signed-in person, or for a sign-in the e-mail that was typed.
    actor = event.email if isinstance(event, SignInAttempted) else getattr(event, "actor", None)
    comment = getattr(event, "comment", "") or getattr(event, "reason", "") or ""
    with transaction(deps.sessions) as session:
        session.add(AuditEntry(at=deps.clock(), tenant_id=tenant_id, actor=(actor or "system")[:254],
                               subject_type=subject, subject_id=subject_id, action=action[:32],
                               comment=comment, detail=detail))


def start_escalation(event: AlarmRaised, deps: Dependencies) -> list[Event]:
    """A new alarm whose first step is due at once (``after_minutes = 0``) is escalated now, not
    at the scheduler's next tick."""
    if deps.sessions is None:
        return []
    from .escalation import escalate_due

    return escalate_due(deps.sessions, deps.clock(), alarm_ids=[event.alarm_id])


def deliver_escalation(event: AlarmEscalated, deps: Dependencies) -> None:
    """Queue push and e-mail messages for the step's recipients (sent in the background)."""
    if deps.delivery is not None:
        deps.delivery.deliver(event)


def stop_deliveries(event: AlarmEvent, deps: Dependencies) -> None:
    """Someone answered (or the condition went away): messages still waiting to be retried are not sent.
    The OEM's acknowledgement does not answer the owner: their alerts still go out."""
    if deps.delivery is not None:
        keep = OWNER_KINDS if isinstance(event, AlarmAcknowledged) else ()
        deps.delivery.cancel_pending(event.alarm_id, reason=f"alarm {event.change} before delivery", keep_kinds=keep)


#: event type → subscribers, in order. The one place that says who hears what.
EVENT_HANDLERS: dict[type, list[Callable]] = {
    LiveUpdate: [publish_live],
    WorkOrderChanged: [publish_live, write_audit, record_repair_on_completion, push_job_change],
    WorkOrderReassigned: [publish_live, write_audit, push_job_reassigned],
    AlarmRaised: [publish_live, write_audit, start_escalation, alert_owners],
    AlarmUpdated: [publish_live, alert_owners],  # a severity that rose into an owner's subscription
    AlarmAcknowledged: [publish_live, write_audit, stop_deliveries],
    AlarmCleared: [publish_live, write_audit, stop_deliveries, tell_owners_all_clear],
    AlarmEscalated: [publish_live, write_audit, deliver_escalation],
    AdminChanged: [write_audit],
    SignInAttempted: [write_audit],
}


class MessageBus:
    """Hands each event to its subscribers (``handlers``, default :data:`EVENT_HANDLERS`)."""

    def __init__(self, deps: Dependencies, handlers: dict[type, list[Callable]] | None = None):
        self.deps = deps
        self.handlers = EVENT_HANDLERS if handlers is None else handlers

    def handle(self, events: Iterable[Event]) -> None:
        queue = deque(events)
        while queue:
            event = queue.popleft()
            for handler in self.handlers.get(type(event), []):
                try:
                    follow_ups = handler(event, self.deps)
                except Exception:  # one broken channel must not silence the others
                    log.exception("handler %s failed on %s", handler.__name__, type(event).__name__)
                    continue
                queue.extend(follow_ups or [])

    # fleet.notify.Notifier, for services that publish read-model updates by name
    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
        self.handle([LiveUpdate(tenant_ids=tuple(tenant_ids), name=event, payload=payload)])


def as_bus(notifier: Notifier | MessageBus | None, sessions=None, clock: Callable[[], datetime] = utcnow,
           delivery=None) -> MessageBus:
    """``notifier`` itself when it is a bus, else a bus whose only live channel is ``notifier``
    (a CLI run, or a test's event log); ``sessions`` lets the audit log and escalation work."""
    if isinstance(notifier, MessageBus):
        return notifier
    return MessageBus(Dependencies(notifier=notifier or NullNotifier(), sessions=sessions, delivery=delivery,
                                   clock=clock))
