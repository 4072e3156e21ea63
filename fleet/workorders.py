"""Work-order statuses as stored on the row, priorities, and the domain's error type.

The life cycle itself (which step is legal from which state, who may take it, with which reason
or findings) is :mod:`fleet.lifecycle`; :mod:`fleet.order_actions` is the one service that applies
it to rows. The row stores the life cycle's ``completed`` as ``done``.
"""
from __future__ import annotations

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

PRIORITIES = ("low", "medium", "high", "urgent")


class DomainError(Exception):
    """A request that breaks a rule of the domain (not a programming error)."""


def priority_rank(priority: str) -> int:
    """0 for ``low`` … 3 for ``urgent``; unknown values rank lowest."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 0


def raise_priority(priority: str, steps: int = 1) -> str:
    """The priority ``steps`` levels higher, capped at ``urgent``."""
    return PRIORITIES[min(priority_rank(priority) + steps, len(PRIORITIES) - 1)]


def max_priority(*priorities: str) -> str:
    """The most urgent of ``priorities``."""
    return max(priorities, key=priority_rank)


class WorkOrderStatus:
    """What the ``WorkOrder`` model knows of its state without the life cycle."""

    @property
    def is_active(self) -> bool:
        """True while the order still needs someone (open, assigned, accepted, in progress, on hold)."""
        return (self.status or OPEN) in ACTIVE_STATUSES
