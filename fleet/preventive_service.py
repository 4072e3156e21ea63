"""Run preventive maintenance against the stores: project every machine's plans from its hour meter
in InfluxDB, open the orders whose lead has started, reset counters when a PM order is done.

The rules are in :mod:`fleet.preventive`; orders open the same way the maintenance rules open
theirs (:func:`fleet.work_order_service._open`, then the usual ``work_order`` and
``machine_status`` events after the commit). One order per machine + plan + due point is enforced
by the unique constraint of ``pm_work_order``: a second run, or a second process racing this one,
finds the row and opens nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from telemetry.store import TelemetryStore

from . import maintenance, preventive, work_order_service
from .db import transaction
from .maintenance import WorkOrderDraft
from .models import Machine, MachinePmState, PmPlan, PmWorkOrder, WorkOrder, from_ns, utcnow
from .notify import Notifier
from .preventive import Counter, PlanRule, Projection
from .queries import active_order_counts
from .wording import sentence

log = logging.getLogger(__name__)
HOUR_METER = "hour_meter_h"


@dataclass
class PmRunReport:
    machines: int = 0
    projections: int = 0
    opened: list[tuple[str, str, str]] = field(default_factory=list)  # (machine uid, plan code, due point)


def rule_of(plan: PmPlan) -> PlanRule:
    return PlanRule(plan.id, plan.code, plan.name, plan.kind, plan.interval_h, plan.interval_days, plan.lead_days)


def machine_utilization(store: TelemetryStore, machine: Machine, now: datetime,
                        window: timedelta = preventive.UTILIZATION_WINDOW) -> preventive.Utilization:
    """The machine's utilization from its hour meter over ``window`` before ``now``."""
    span = store.first_and_last(machine.uid, HOUR_METER, now - window, now + timedelta(seconds=1))
    first = last = None
    if span is not None:
        first, last = ((from_ns(t), hours) for t, hours in span)
    return preventive.utilization(first, last, now, machine.hours or 0.0,
                                  preventive.DEFAULT_H_PER_DAY.get(machine.kind, 8.0))


def _state(session: Session, machine: Machine, plan: PmPlan, hours: float, now: datetime) -> MachinePmState:
    state = session.scalar(select(MachinePmState).where(MachinePmState.machine_id == machine.id,
                                                        MachinePmState.plan_id == plan.id))
    if state is None:
        counter = preventive.initial_counter(rule_of(plan), hours, now)
        state = MachinePmState(machine_id=machine.id, plan_id=plan.id, last_done_hours=counter.last_done_hours,
                               last_done_at=counter.last_done_at)
        session.add(state)
        session.flush()
    return state


def project_machine(session: Session, machine: Machine, use: preventive.Utilization, now: datetime
                    ) -> list[tuple[PmPlan, Projection]]:
    """Project every plan of the machine's model and store the projections on its counters."""
    plans = session.scalars(select(PmPlan).where(PmPlan.machine_model == machine.model).order_by(PmPlan.id)).all()
    states = {p.id: _state(session, machine, p, use.current_hours, now) for p in plans}
    rules = [rule_of(p) for p in plans]
    projections = preventive.mark_covered(rules, [
        preventive.project(rule, Counter(states[rule.id].last_done_hours, states[rule.id].last_done_at), use)
        for rule in rules])
    for plan, projection in zip(plans, projections):
        state = states[plan.id]
        state.projected_due_at, state.utilization_h_per_day = projection.due_at, round(use.h_per_day, 3)
        state.projection_note = (f"covered by {projection.covered_by}; " if projection.covered_by else "") + \
            projection.note[:200]
        state.updated_at = now
    return list(zip(plans, projections))


def _draft(machine: Machine, plan: PmPlan, projection: Projection, candidates, now: datetime) -> WorkOrderDraft:
    lat, lon = work_order_service.machine_position(machine)
    proposal = maintenance.propose_technician(candidates, frozenset(plan.skills or []), lat, lon)
    overdue = projection.due_at is not None and projection.due_at <= now
    when = f"{projection.due_at:%a %d %b %Y}" if projection.due_at else "not dated"
    kit = ", ".join(f"{k['quantity']:g} × {k['part_number']}" for k in plan.kit or []) or "none"
    description = "\n".join([f"{sentence(plan.name)}: {projection.note}. Projected due date {when}.",
                             "Tasks:", *(f"- {t}" for t in plan.tasks or []), f"Parts kit: {kit}"])
    # An hour-meter plan is due at a reading; a calendar plan on a day.
    due = f"at {projection.due_hours:g} h" if projection.due_hours is not None else f"due {when}"
    return WorkOrderDraft(
        machine_id=machine.id, component_id=None, fault_mode=preventive.PM_FAULT_MODE, location="", source="pm",
        title=sentence(f"{plan.name} {due}")[:200], description=description, priority="high" if overdue else "medium",
        severity="watch", confidence=1.0, due_at=projection.due_at or now + timedelta(days=plan.lead_days),
        evidence={"pm": {"plan": plan.code, "due_point": projection.due_point, "due_hours": projection.due_hours,
                         "note": projection.note, "kit": list(plan.kit or []), "duration_h": plan.duration_h,
                         "skills": list(plan.skills or [])}},
        proposal=proposal)


def open_due_order(session: Session, machine: Machine, plan: PmPlan, projection: Projection, candidates,
                   now: datetime) -> WorkOrder | None:
    """Open the order for ``projection`` unless one exists for this due point (None then)."""
    exists = session.scalar(select(PmWorkOrder.id).where(PmWorkOrder.machine_id == machine.id,
                                                         PmWorkOrder.plan_id == plan.id,
                                                         PmWorkOrder.due_point == projection.due_point))
    if exists is not None:
        return None
    try:
        with session.begin_nested():
            order = work_order_service._open(session, machine, _draft(machine, plan, projection, candidates, now), now)
            session.add(PmWorkOrder(machine_id=machine.id, plan_id=plan.id, due_point=projection.due_point,
                                    work_order_id=order.id, created_at=now))
            session.flush()
    except IntegrityError:
        # Another process opened it between our check and our insert: its order stands.
        log.info("PM order for %s %s %s already opened elsewhere", machine.uid, plan.code, projection.due_point)
        return None
    return order


def run_pm(session_factory: sessionmaker, store: TelemetryStore, notifier: Notifier,
           now: datetime | None = None) -> PmRunReport:
    """Project every machine's PM plans and open the orders that are due within their lead."""
    now = now or utcnow()
    report = PmRunReport()
    events = []
    with transaction(session_factory) as session:
        machines = session.scalars(select(Machine).order_by(Machine.id)).all()
        for machine in machines:
            use = machine_utilization(store, machine, now)
            projected = project_machine(session, machine, use, now)
            if not projected:
                continue
            report.machines += 1
            report.projections += len(projected)
            candidates = None
            changes = []
            for plan, projection in projected:
                if not preventive.should_open(projection, now):
                    continue
                if candidates is None:
                    candidates = work_order_service.technician_candidates(
                        session, machine.tenant.audience() if machine.tenant else None)
                order = open_due_order(session, machine, plan, projection, candidates, now)
                if order is not None:
                    changes.append(work_order_service.OrderChange(order, "opened"))
                    report.opened.append((machine.uid, plan.code, projection.due_point))
            if changes:
                work_order_service.refresh_machine_status(session, machine, now)
                count = active_order_counts(session, [machine.id]).get(machine.id, 0)
                events += work_order_service.change_events(machine, changes, count)
    work_order_service.publish(notifier, events)
    return report


def record_service_done(session: Session, order: WorkOrder, hours: float, done_at: datetime) -> list[str]:
    """Reset the counters of the plan behind a completed PM ``order`` (and of the smaller services
    it includes) to ``hours`` (the hour meter at the service) and ``done_at``. Returns the codes
    of the plans reset; empty when ``order`` is not a PM order."""
    link = session.scalar(select(PmWorkOrder).where(PmWorkOrder.work_order_id == order.id))
    if link is None:
        return []
    plans = session.scalars(select(PmPlan).where(PmPlan.machine_model == link.plan.machine_model)).all()
    reset = preventive.counters_after_service([rule_of(p) for p in plans], rule_of(link.plan), hours, done_at)
    codes = []
    for plan in plans:
        if plan.id not in reset:
            continue
        state = _state(session, order.machine, plan, hours, done_at)
        state.last_done_hours, state.last_done_at = reset[plan.id].last_done_hours, reset[plan.id].last_done_at
        state.updated_at = done_at
        codes.append(plan.code)
    return codes
