"""The one way a work order changes state: every step of :mod:`fleet.lifecycle`, against the rows.

Every path that moves an order (the console's board and forms, the JSON API, the technicians' app,
dispatch accept / lock / decline) ends in :func:`step`, inside the caller's transaction: it loads the
order's :class:`~fleet.lifecycle.OrderLife` (:func:`fleet.lifecycle.from_row`), lets
:func:`fleet.lifecycle.apply` decide (who may, which codes, which reason), and writes the result back
to the row: status, technician, the step's time stamp, the history entry (who, when, why), the
structured findings (``work_order_finding``), the PM plan's reset, the alarms a finished order
closes and the machine's status. It returns the domain events to publish after the commit:
``WorkOrderChanged`` for the step, ``WorkOrderReassigned`` when the order moved to another
technician (or to nobody) so the one who lost it is told, and the alarm and machine events.
:func:`perform` is the same in a transaction of its own, publishing afterwards.

Changes that are not steps (dedup updates from new evidence, escalations) are history entries
made by :func:`fleet.lifecycle.record_update`, in :mod:`fleet.work_order_service`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import lifecycle
from .db import transaction
from .events import Event, WorkOrderReassigned
from .lifecycle import Actor, Completion
from .models import DispatchLock, Part, PmWorkOrder, Technician, WorkOrder, utcnow
from .notify import Notifier
from .queries import active_order_counts, work_order_view
from .work_order_service import OrderNotFound
from .workorders import DomainError

#: ``WorkOrderChanged.change`` per action where it is not the past tense: to the technician who
#: gets a reassigned order it is an assignment (``fleet.job_alerts`` pushes "New job").
CHANGE_NAME = {"reassign": "assigned"}


def _technician(session: Session, order: WorkOrder, technician_id) -> Technician:
    """The active technician ``technician_id`` serving the order's machine, or a DomainError."""
    technician = session.get(Technician, technician_id) if isinstance(technician_id, int) else None
    if technician is None or not technician.active:
        raise DomainError(f"technician {technician_id!r} does not exist or is inactive")
    audience = order.machine.tenant.audience() if order.machine.tenant else [order.tenant_id]
    if technician.tenant_id not in audience:
        raise DomainError(f"{technician.name} does not serve {order.machine.uid}'s customer")
    return technician


def step(session: Session, order: WorkOrder, action: str, actor: Actor, at: datetime | None = None, *,
         technician_id: int | None = None, reason: str = "", completion: Completion | None = None,
         now: datetime | None = None) -> list[Event]:
    """Take ``action`` on ``order`` as ``actor`` (in the caller's transaction); return the events
    to publish once it is committed.

    ``at`` is when the step was taken (a phone's offline time; default ``now``). Raises
    ``fleet.lifecycle.IllegalTransition`` (not from this state), ``fleet.lifecycle.NotPermitted``
    (not this actor's to take) or ``DomainError`` (a missing reason, an unknown technician, codes
    not in the fault's list); the row is unchanged then.
    """
    from .alarm_service import take_events
    from .work_order_service import OrderChange, change_events, clear_order_alarms, refresh_machine_status

    now = now or utcnow()
    at = at or now
    technician = None
    if action in ("assign", "reassign"):
        technician = _technician(session, order, technician_id)
    catalogue = None
    if action in ("complete", "complete_on_behalf") and completion is not None:
        catalogue = session.scalars(select(Part.part_number).where(Part.machine_model == order.machine.model)).all()
    before = lifecycle.from_row(order)
    after = lifecycle.apply(before, action, actor, at, technician_id=technician_id, reason=reason,
                            completion=completion, catalogue=catalogue or None)
    transition = after.history[-1]
    entry = transition.to_dict()
    if technician is not None:
        entry["note"] = reason or f"assigned to {technician.name}"
    on_behalf = f"on behalf of technician {before.technician_id}"
    if action == "complete_on_behalf" and order.technician is not None and entry["note"].startswith(on_behalf):
        entry["note"] = f"on behalf of {order.technician.name}" + entry["note"][len(on_behalf):]  # names for people
    order.status = lifecycle.LIFE_TO_ROW.get(after.status, after.status)
    order.technician = technician if technician is not None else (
        session.get(Technician, after.technician_id) if after.technician_id is not None else None)
    order.technician_id = after.technician_id
    order.history = [*(order.history or []), entry]  # reassigned, not appended: SQLAlchemy sees the change
    order.updated_at = at
    _stamp(session, order, action, after, actor, at)
    session.flush()
    closed_alarms = clear_order_alarms(session, order, actor.name, now) if order.status in ("done", "cancelled") \
        else []
    refresh_machine_status(session, order.machine, now)
    open_count = active_order_counts(session, [order.machine_id]).get(order.machine_id, 0)
    change = CHANGE_NAME.get(action, lifecycle.PAST_TENSE[action])
    events = change_events(order.machine, [OrderChange(order, change)], open_count, actor=actor.name)
    moved = lifecycle.technician_change(before, after)
    if moved is not None:
        events.append(WorkOrderReassigned(
            tenant_ids=tuple(order.machine.tenant.audience()), order=work_order_view(order, with_evidence=False),
            from_technician_id=moved[0], to_technician_id=moved[1], actor=actor.name,
            reason=transition.why))
    return events + take_events(closed_alarms)


def _stamp(session: Session, order: WorkOrder, action: str, after: lifecycle.OrderLife, actor: Actor,
           at: datetime) -> None:
    """The row's own columns for the step: time stamps, findings, parts, locks that no longer hold."""
    if action in ("assign", "reassign"):
        order.assigned_at = at
    if action in ("reassign", "decline", "unassign"):
        held = session.get(DispatchLock, order.id)
        if held is not None and held.technician_id != after.technician_id:
            session.delete(held)  # the lock named the one who no longer has the job
    if action in ("decline", "unassign"):
        order.assigned_at = None
        if action == "decline":
            order.proposed_technician_id = None
    elif action == "start" and order.started_at is None:
        order.started_at = at
    elif action in ("complete", "complete_on_behalf"):
        from .feedback import record_finding

        completion = after.completion
        order.completed_at = at
        order.resolution = completion.notes
        order.parts = [{"part_number": p.part_number, "quantity": p.quantity} for p in completion.parts_used]
        recorded_by = actor.name if action == "complete" else \
            f"{actor.name} for {order.technician.name if order.technician else 'the technician'}"
        record_finding(session, order.id, completion, recorded_by[:120], at)
        if session.scalar(select(PmWorkOrder).where(PmWorkOrder.work_order_id == order.id)) is not None:
            from .preventive_service import record_service_done

            record_service_done(session, order, order.machine.hours or 0.0, at)
    elif action == "reopen":
        order.completed_at = None
    elif action == "cancel":
        order.cancelled_at, order.cancel_reason = at, after.history[-1].why[:240]


def visible_order(session: Session, order_id: int, visible) -> WorkOrder:
    """The order ``order_id`` if the caller's :class:`fleet.scope.Scope` (or tenant ids) sees it,
    else :class:`OrderNotFound`."""
    from .scope import row_clause

    order = session.scalar(select(WorkOrder).where(WorkOrder.id == order_id,
                                                   row_clause(visible, WorkOrder.tenant_id, WorkOrder.machine_id)))
    if order is None:
        raise OrderNotFound(f"work order {order_id} not found")
    return order


def perform(session_factory: sessionmaker, notifier: Notifier, order_id: int, action: str, actor: Actor,
            visible, **arguments) -> dict:
    """:func:`step` on a visible order in a transaction of its own, then publish; returns the order's
    view. ``arguments``: ``technician_id``, ``reason``, ``completion``, ``at``. Raises
    :class:`OrderNotFound` and what :func:`step` raises."""
    from .work_order_service import publish

    with transaction(session_factory) as session:
        order = visible_order(session, order_id, visible)
        events = step(session, order, action, actor, **arguments)
        view = work_order_view(order)
    publish(notifier, events)
    return view
