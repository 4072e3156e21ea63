"""After the repair: a completed corrective order starts the component's diagnostics again.

When a corrective order (from a diagnosis, a trend or an RUL estimate; not a PM service) is
completed, :func:`record_repair_on_completion` (a subscriber of ``WorkOrderChanged`` in
``handlers.EVENT_HANDLERS``) records a ``component_repair`` row at the completion time. From then on:

* **Baseline.** The trend alarms (``diagnostics.trend``: the first 30 points form the baseline) and
  the RUL scoring read the component's features only from the repair on, so the replaced bearing is
  judged against its own fresh data, not against the worn one's; the component's latest zone,
  velocity and health index are cleared until the first burst after the repair.
* **Suppression.** Evidence of the repaired fault observed *before* the repair (a burst captured
  before the completion but diagnosed after it, say by the sweep catching up after an outage, or
  trend and RUL signals computed from the old history) opens or updates no order. Evidence from a
  burst captured after the completion is fresh: if the fault is still there, an order opens again.

Handlers may run twice for one event (a retry, a second process); the row's unique work order
makes the second run a no-op.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import insert_unless_exists, transaction
from .maintenance import TREND_FAULT_MODE, MaintenanceSignal
from .models import Component, ComponentRepair, WorkOrder

log = logging.getLogger(__name__)

#: Order statuses that mean the work was done (``closed`` follows the engineer's review).
COMPLETED_STATUSES = ("done", "completed", "closed")
#: Orders that are not repairs of a diagnosed fault: their completion resets no baseline.
NOT_REPAIRS = ("pm",)


@dataclass(frozen=True)
class Repair:
    """A component's repair as the suppression rule sees it."""

    component_id: int
    fault_mode: str
    repaired_at: datetime


def is_old_evidence(signal: MaintenanceSignal, repairs: Sequence[Repair]) -> bool:
    """True when ``signal`` was observed at or before a repair of its component that it speaks
    about: the same fault mode, or a trend or RUL signal (those are computed from the features the
    repair made obsolete, whatever the fault)."""
    for repair in repairs:
        if repair.component_id != signal.component_id or signal.observed_at > repair.repaired_at:
            continue
        if signal.fault_mode == repair.fault_mode or signal.source in ("trend", "rul") \
                or signal.fault_mode == TREND_FAULT_MODE:
            return True
    return False


def repairs_of(session: Session, component_ids: Iterable[int]) -> list[Repair]:
    """The recorded repairs of these components."""
    ids = sorted(set(component_ids))
    if not ids:
        return []
    rows = session.scalars(select(ComponentRepair).where(ComponentRepair.component_id.in_(ids)))
    return [Repair(r.component_id, r.fault_mode, r.repaired_at) for r in rows]


def without_old_evidence(session: Session, signals: Sequence[MaintenanceSignal]) -> list[MaintenanceSignal]:
    """``signals`` minus those :func:`is_old_evidence` drops (each dropped one is logged)."""
    repairs = repairs_of(session, (s.component_id for s in signals if s.component_id is not None))
    if not repairs:
        return list(signals)
    kept = []
    for signal in signals:
        if is_old_evidence(signal, repairs):
            log.info("%s evidence on component %s from %s predates its repair: no order", signal.fault_mode,
                     signal.component_id, signal.observed_at.isoformat())
        else:
            kept.append(signal)
    return kept


def baseline_since(session: Session, component_id: int) -> datetime | None:
    """When the component's diagnostic baseline starts: its latest repair (None: all its history)."""
    return session.scalar(select(func.max(ComponentRepair.repaired_at))
                          .where(ComponentRepair.component_id == component_id))


def baselines(session: Session) -> dict[int, datetime]:
    """Every repaired component's baseline start (component id → latest repair)."""
    return dict(session.execute(select(ComponentRepair.component_id, func.max(ComponentRepair.repaired_at))
                                .group_by(ComponentRepair.component_id)).all())


def record_repair(session: Session, order: WorkOrder) -> bool:
    """Record the completed corrective ``order`` as its component's repair and clear the
    component's latest diagnosis summary. False when there is nothing to record (a PM order, no
    component, not completed) or it was recorded before."""
    if order.component_id is None or order.source in NOT_REPAIRS or order.status not in COMPLETED_STATUSES:
        return False
    repaired_at = order.completed_at or order.updated_at
    if repaired_at is None:
        return False
    inserted = insert_unless_exists(session, ComponentRepair, {
        "component_id": order.component_id, "work_order_id": order.id, "fault_mode": order.fault_mode,
        "repaired_at": repaired_at}, ["work_order_id"])
    if inserted is None:
        return False
    component = session.get(Component, order.component_id)
    if component.last_burst_at is None or component.last_burst_at <= repaired_at:
        component.iso_zone = component.velocity_rms_mm_s = component.health_index = None
    log.info("%s completed: %s/%s baseline restarts at %s", order.number, order.machine.uid, component.name,
             repaired_at.isoformat())
    return True


def record_repair_on_completion(event, deps) -> list:
    """Message-bus subscriber of ``WorkOrderChanged``: a completed corrective order resets its
    component's baseline; the machine's status is recomputed and published when it changed."""
    order_view = event.order
    if deps.sessions is None or order_view.get("status") not in COMPLETED_STATUSES \
            or order_view.get("source") in NOT_REPAIRS or not order_view.get("component"):
        return []
    from .events import LiveUpdate
    from .models import utcnow
    from .queries import active_order_counts, machine_status_view
    from .work_order_service import refresh_machine_status

    from . import alarm_service
    from .alarm_sources import clear_onset_after_repair

    with transaction(deps.sessions) as session:
        order = session.get(WorkOrder, int(order_view["id"]))
        if order is None or not record_repair(session, order):
            return []
        machine = order.machine
        now = utcnow()
        # The baseline restarts: the bearing onset detector judges the new part from scratch.
        cleared = clear_onset_after_repair(session, machine, order.component.name, now)
        session.flush()
        refresh_machine_status(session, machine, now)
        count = active_order_counts(session, [machine.id]).get(machine.id, 0)
        return alarm_service.take_events(cleared) + [LiveUpdate(
            tenant_ids=tuple(machine.tenant.audience()), name="machine_status",
            payload=machine_status_view(machine, count))]
