"""Domain events: what happened in the fleet, recorded by the domain and fanned out by
:mod:`fleet.handlers` (Cosmic Python's message bus).

The domain (alarms, work orders, diagnoses) appends events while it changes rows; the service
commits, then hands the events to ``MessageBus.handle``. Subscribers (Socket.IO, Web Push, e-mail,
the delivery log, the audit log) never run inside the transaction, so a broken channel can neither
roll back nor delay what was decided.

Every event carries ``tenant_ids``: the tenants allowed to see it (the machine's customer and its
OEM). Payloads are plain JSON-ready dicts built inside the session (``fleet.queries`` views).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    """Base of every domain event."""

    tenant_ids: tuple[int, ...]


@dataclass(frozen=True)
class LiveUpdate(Event):
    """A read-model change for live pages (``diagnosis``, ``machine_status``, ``rul``): no person is
    told, the open consoles redraw."""

    name: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkOrderChanged(Event):
    """A work order was opened, updated, escalated or moved through its life cycle."""

    order: dict = field(default_factory=dict)  # fleet.queries.work_order_view
    change: str = ""
    actor: str | None = None
    comment: str = ""  # why, when the change has a reason of its own (a dispatch lock: to whom and when)


@dataclass(frozen=True)
class WorkOrderReassigned(Event):
    """A work order moved from one technician to another (or to nobody): the one who lost it is told."""

    order: dict = field(default_factory=dict)  # fleet.queries.work_order_view after the change
    from_technician_id: int | None = None
    to_technician_id: int | None = None
    actor: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class AlarmEvent(Event):
    """Something happened to an alarm; ``alarm`` is ``fleet.queries.alarm_view`` after the change."""

    alarm: dict = field(default_factory=dict)
    actor: str | None = None
    comment: str = ""

    #: the Socket.IO ``alarm`` event's ``change`` field and the audit log's verb
    change = "changed"

    @property
    def alarm_id(self) -> int:
        return int(self.alarm["id"])


@dataclass(frozen=True)
class AlarmRaised(AlarmEvent):
    change = "raised"


@dataclass(frozen=True)
class AlarmUpdated(AlarmEvent):
    """A repeat of an active alarm's condition (count, last seen, perhaps a higher severity)."""

    change = "updated"
    severity_raised: bool = False


@dataclass(frozen=True)
class AlarmAcknowledged(AlarmEvent):
    change = "acknowledged"


@dataclass(frozen=True)
class AlarmCleared(AlarmEvent):
    change = "cleared"


@dataclass(frozen=True)
class AlarmEscalated(AlarmEvent):
    """A step of the escalation chain is due: ``recipients`` are user ids, ``channels`` how."""

    change = "escalated"
    step: int = 0
    recipients: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()


def live_name(event: Event) -> str:
    """The Socket.IO event name of ``event``."""
    if isinstance(event, LiveUpdate):
        return event.name
    if isinstance(event, WorkOrderChanged):
        return "work_order"
    if isinstance(event, WorkOrderReassigned):
        return "work_order_reassigned"
    if isinstance(event, AlarmEvent):
        return "alarm"
    raise TypeError(f"not a live event: {type(event).__name__}")


def live_payload(event: Event) -> dict:
    """The Socket.IO payload of ``event`` (what the pages' ``live.js`` reads)."""
    if isinstance(event, LiveUpdate):
        return event.payload
    if isinstance(event, WorkOrderChanged):
        return {**event.order, "change": event.change}
    if isinstance(event, WorkOrderReassigned):
        return {**event.order, "change": "reassigned", "from_technician_id": event.from_technician_id,
                "to_technician_id": event.to_technician_id, "actor": event.actor, "reason": event.reason}
    if isinstance(event, AlarmEvent):
        return {**event.alarm, "change": event.change, "actor": event.actor}
    raise TypeError(f"not a live event: {type(event).__name__}")


@dataclass(frozen=True)
class AdminChanged(Event):
    """An administrator changed configuration: a user, a device credential, zone limits, a model.

    ``subject_type`` names what was changed (``user``, ``device``, ``zone_limits``, ``model``,
    ...), ``subject_id`` its row id, ``action`` the verb (``invited``, ``rotated``, ``promoted``);
    ``detail`` says enough to read the audit log without joining (never a secret).
    """

    subject_type: str = ""
    subject_id: int = 0
    action: str = ""
    actor: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SignInAttempted(Event):
    """Someone tried to sign in: ``outcome`` is ``ok``, ``refused`` or ``locked``; ``user_id`` is
    None when the e-mail belongs to nobody."""

    email: str = ""
    user_id: int | None = None
    outcome: str = ""
    address: str = ""
