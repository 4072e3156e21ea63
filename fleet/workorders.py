"""The work-order life cycle: open → assigned → in_progress → done | cancelled.

The state machine is plain Python so it can be tested without a database; the SQLAlchemy model
:class:`fleet.models.WorkOrder` inherits :class:`WorkOrderLifecycle`, so ``order.assign(tech)``,
``order.start()``, ``order.complete(findings, parts)`` and ``order.cancel(reason)`` work on rows.
Every transition is appended to ``order.history`` (who, what, when) so the console can show the
order's story.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

OPEN = "open"
ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
# Steps of the full life cycle (fleet.lifecycle) the technicians' app takes; stored on the same row.
ACCEPTED = "accepted"
ON_HOLD = "on_hold"
DONE = "done"
CANCELLED = "cancelled"

CLOSED = "closed"
STATUSES = (OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD, DONE, CLOSED, CANCELLED)
#: Orders in these states still need someone's attention (dedup and load count them).
ACTIVE_STATUSES = (OPEN, ASSIGNED, ACCEPTED, IN_PROGRESS, ON_HOLD)
CLOSED_STATUSES = (DONE, CLOSED, CANCELLED)

# Which transitions are allowed; anything else raises InvalidTransition.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (ASSIGNED, CANCELLED),
    # Re-assigning an assigned order to another technician is allowed (stays "assigned").
    ASSIGNED: (ASSIGNED, IN_PROGRESS, CANCELLED),
    IN_PROGRESS: (DONE, CANCELLED),
    # An order the technician accepted (or paused) in the field app can still be started,
    # completed or cancelled from the console.
    ACCEPTED: (IN_PROGRESS, CANCELLED),
    ON_HOLD: (IN_PROGRESS, CANCELLED),
    DONE: (),
    CLOSED: (),
    CANCELLED: (),
}

PRIORITIES = ("low", "medium", "high", "urgent")


class DomainError(Exception):
    """A request that breaks a rule of the domain (not a programming error)."""


class InvalidTransition(DomainError):
    """The work order cannot go from its current status to the requested one."""

    def __init__(self, current: str, requested: str, order_id: Any = None):
        self.current = current
        self.requested = requested
        self.order_id = order_id
        super().__init__(
            f"work order {order_id if order_id is not None else ''} cannot go from "
            f"'{current}' to '{requested}' (allowed: {', '.join(TRANSITIONS.get(current, ())) or 'none'})"
        )


def can_transition(current: str, requested: str) -> bool:
    """True when ``current → requested`` is an allowed life-cycle step."""
    return requested in TRANSITIONS.get(current, ())


def priority_rank(priority: str) -> int:
    """0 for ``low`` … 3 for ``urgent``; unknown values rank lowest."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 0


def raise_priority(priority: str, steps: int = 1) -> str:
    """The priority ``steps`` levels higher, capped at ``urgent``."""
    return PRIORITIES[min(priority_rank(priority) + steps, len(PRIORITIES) - 1)]


def max_priority(*priorities: str) -> str:
    """The most urgent of ``priorities``."""
    return max(priorities, key=priority_rank)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _clean_parts(parts: Iterable[dict] | None) -> list[dict]:
    """Validate the parts list of a completed order: ``[{"part_number", "quantity", "description"?}]``."""
    cleaned: list[dict] = []
    for index, part in enumerate(parts or []):
        if not isinstance(part, dict):
            raise DomainError(f"parts[{index}] must be an object with part_number and quantity")
        number = str(part.get("part_number", "")).strip()
        if not number:
            raise DomainError(f"parts[{index}].part_number is required")
        try:
            quantity = float(part.get("quantity", 1))
        except (TypeError, ValueError):
            raise DomainError(f"parts[{index}].quantity must be a number") from None
        if quantity <= 0:
            raise DomainError(f"parts[{index}].quantity must be positive")
        item = {"part_number": number, "quantity": quantity}
        if part.get("description"):
            item["description"] = str(part["description"])
        cleaned.append(item)
    return cleaned


class WorkOrderLifecycle:
    """Life-cycle methods shared by the ``WorkOrder`` model.

    Expects attributes ``id``, ``status``, ``technician_id``, ``assigned_at``, ``started_at``,
    ``completed_at``, ``cancelled_at``, ``resolution``, ``parts``, ``cancel_reason``, ``history``
    and ``updated_at`` (the model's columns).
    """

    def _move(self, requested: str, actor: str | None, note: str | None, when: datetime | None) -> datetime:
        current = self.status or OPEN
        if not can_transition(current, requested):
            raise InvalidTransition(current, requested, getattr(self, "id", None))
        when = when or _now()
        entry = {"at": when.isoformat(), "from": current, "to": requested}
        if actor:
            entry["by"] = actor
        if note:
            entry["note"] = note
        # Reassign (not append) so SQLAlchemy notices the JSON column changed.
        self.history = [*(self.history or []), entry]
        self.status = requested
        self.updated_at = when
        return when

    def assign(self, technician, actor: str | None = None, when: datetime | None = None) -> None:
        """Give the order to ``technician`` (a ``Technician`` row or its id)."""
        technician_id = getattr(technician, "id", technician)
        if technician_id is None:
            raise DomainError("a technician is required to assign a work order")
        name = getattr(technician, "name", None) or f"technician {technician_id}"
        when = self._move(ASSIGNED, actor, f"assigned to {name}", when)
        self.technician_id = technician_id
        if getattr(technician, "id", None) is not None and hasattr(self, "technician"):
            self.technician = technician
        self.assigned_at = when

    def start(self, actor: str | None = None, when: datetime | None = None) -> None:
        """The technician begins work on site."""
        self.started_at = self._move(IN_PROGRESS, actor, None, when)

    def complete(self, findings: str, parts: Iterable[dict] | None = None,
                 actor: str | None = None, when: datetime | None = None) -> None:
        """Close the order with what was found and the parts used.

        Parameters
        ----------
        findings : str
            What the technician found and did (required, free text).
        parts : iterable of dict, optional
            ``{"part_number": str, "quantity": number > 0, "description": str?}`` per part.
        """
        if not findings or not str(findings).strip():
            raise DomainError("findings are required to complete a work order")
        cleaned = _clean_parts(parts)
        self.completed_at = self._move(DONE, actor, None, when)
        self.resolution = str(findings).strip()
        self.parts = cleaned

    def cancel(self, reason: str, actor: str | None = None, when: datetime | None = None) -> None:
        """Cancel the order (for example a false alarm); the reason is required."""
        if not reason or not str(reason).strip():
            raise DomainError("a reason is required to cancel a work order")
        self.cancelled_at = self._move(CANCELLED, actor, str(reason).strip(), when)
        self.cancel_reason = str(reason).strip()

    @property
    def is_active(self) -> bool:
        """True while the order is open, assigned or in progress."""
        return (self.status or OPEN) in ACTIVE_STATUSES
