"""Read models of the planning pages: a machine's PM plan, the week's dispatch board, the feedback
report. Plain dicts built inside the session, scoped to the tenants the caller may see (the console
views render them; nothing here knows Flask)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import feedback
from .models import DispatchLock, DispatchProposal, Machine, MachinePmState, Part, PmPlan, PmWorkOrder, WorkOrder
from .queries import iso
from .scope import machine_clause, row_clause


def pm_plan(session: Session, uid: str, visible_tenant_ids: Iterable[int]) -> dict | None:
    """A machine's PM plans: next due point, projected date, the utilization it was projected
    from, tasks and kit (with the catalogue's descriptions), and the order opened for it. None when
    the machine is not visible."""
    machine = session.scalar(select(Machine).where(Machine.uid == uid,
                                                   machine_clause(visible_tenant_ids)))
    if machine is None:
        return None
    parts = {p.part_number: p.description for p in session.scalars(
        select(Part).where(Part.machine_model == machine.model))}
    states = {s.plan_id: s for s in session.scalars(select(MachinePmState).where(MachinePmState.machine_id == machine.id))}
    orders = {}
    for link in session.scalars(select(PmWorkOrder).where(PmWorkOrder.machine_id == machine.id)
                                .order_by(PmWorkOrder.id)):
        orders[link.plan_id] = link  # the latest due point's order per plan
    plans = []
    for plan in session.scalars(select(PmPlan).where(PmPlan.machine_model == machine.model)
                                .order_by(PmPlan.kind.desc(), PmPlan.interval_h, PmPlan.code)):
        state = states.get(plan.id)
        link = orders.get(plan.id)
        if plan.kind == "hours" and state is not None:
            due_point = f"{state.last_done_hours + plan.interval_h:,.0f} h"
        elif plan.kind == "calendar" and state is not None and state.last_done_at is not None:
            due_point = f"{(state.last_done_at + timedelta(days=plan.interval_days)):%d %b %Y}"
        else:
            due_point = ""
        plans.append({
            "code": plan.code, "name": plan.name, "kind": plan.kind,
            "every": f"{plan.interval_h:,.0f} h" if plan.kind == "hours" else f"{plan.interval_days} days",
            "due_point": due_point, "projected_due_at": iso(state.projected_due_at) if state else None,
            "utilization_h_per_day": state.utilization_h_per_day if state else None,
            "note": state.projection_note if state else "not projected yet",
            "last_done_hours": state.last_done_hours if state else None,
            "last_done_at": iso(state.last_done_at) if state else None, "lead_days": plan.lead_days,
            "duration_h": plan.duration_h, "skills": list(plan.skills or []), "tasks": list(plan.tasks or []),
            "kit": [{"part_number": k["part_number"], "quantity": k["quantity"],
                     "description": parts.get(k["part_number"], "")} for k in plan.kit or []],
            "order": ({"id": link.work_order.id, "number": link.work_order.number, "status": link.work_order.status,
                       "due_point": link.due_point} if link is not None else None),
        })
    return {"uid": machine.uid, "kind": machine.kind, "model": machine.model, "hours": machine.hours,
            "plans": plans}


def dispatch_board(session: Session, start: date, plan: dict, visible_tenant_ids: Iterable[int],
                   days: int = 5) -> dict:
    """The week as technicians × days with the visits of ``plan`` (:func:`dispatch_service.plan_as_dict`)
    whose orders the caller may see, each visit with its orders, times and reason; locks marked."""
    ids = {i for a in plan["assignments"] for i in a["work_order_ids"]} | {
        i for u in plan["unplanned"] for i in u["work_order_ids"]}
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids),
                                                                       row_clause(visible_tenant_ids, WorkOrder.tenant_id, WorkOrder.machine_id)))}
    locks = {lock.work_order_id: lock for lock in session.scalars(select(DispatchLock).where(
        DispatchLock.work_order_id.in_(list(orders))))}
    day_list = [start + timedelta(days=i) for i in range(days)]

    def job(order_id: int) -> dict:
        order = orders[order_id]
        lock = locks.get(order_id)
        return {"id": order.id, "number": order.number, "title": order.title, "machine": order.machine.uid,
                "priority": order.priority, "status": order.status, "due_at": iso(order.due_at),
                "locked": lock is not None,
                "locked_day": lock.day.isoformat() if lock is not None and lock.day else None}

    rows: dict[int, dict] = {}
    for a in plan["assignments"]:
        jobs = [job(i) for i in a["work_order_ids"] if i in orders]
        if not jobs:
            continue
        row = rows.setdefault(a["technician_id"], {"technician_id": a["technician_id"], "technician": a["technician"],
                                                   "days": {d.isoformat(): [] for d in day_list}})
        row["days"].setdefault(a["day"], []).append({
            "start": f"{a['start_minute'] // 60:02d}:{a['start_minute'] % 60:02d}",
            "end": f"{a['end_minute'] // 60:02d}:{a['end_minute'] % 60:02d}", "jobs": jobs, "site": a["site"],
            "travel_km": a["travel_km"], "late_days": a["late_days"], "locked": a["locked"],
            "accepted": a.get("accepted", False), "reason": a["reason"]})
    unplanned = [{"jobs": [job(i) for i in u["work_order_ids"] if i in orders], "reason": u["reason"]}
                 for u in plan["unplanned"]]
    return {"start": start.isoformat(), "days": [d.isoformat() for d in day_list],
            "rows": sorted(rows.values(), key=lambda r: r["technician"]),
            "unplanned": [u for u in unplanned if u["jobs"]],
            "totals": {k: plan[k] for k in ("travel_km", "work_h", "available_h", "late_jobs", "utilization")}}


def stored_proposal(session: Session, start: date) -> DispatchProposal | None:
    """The stored proposal for the week from ``start`` (the nightly job's, or an engineer's re-plan)."""
    return session.scalar(select(DispatchProposal).where(DispatchProposal.start_day == start))


def feedback_report(session: Session) -> dict:
    """``fleet.feedback``'s report as a dict: per fault mode, overall, and the RUL error."""
    outcomes = feedback.load_outcomes(session)
    report = feedback.summarize(outcomes)
    return {
        "orders": report.orders, "hit_rate": report.hit_rate, "false_alarm_rate": report.false_alarm_rate,
        "wrong_fault_rate": report.wrong_fault_rate, "missed": [{"fault_mode": f, "orders": n} for f, n in report.missed],
        "modes": [{"fault_mode": m.fault_mode, "orders": m.orders, "confirmed": m.confirmed,
                   "other_fault": m.other_fault, "no_fault": m.no_fault, "hit_rate": m.hit_rate,
                   "false_alarm_rate": m.false_alarm_rate, "wrong_fault_rate": m.wrong_fault_rate,
                   "found_instead": [{"fault_mode": f, "orders": n} for f, n in m.found_instead]}
                  for m in report.modes],
        "rul": (None if report.rul is None else {
            "replaced": report.rul.replaced, "mean_error_h": report.rul.mean_error_h,
            "mean_absolute_error_h": report.rul.mean_absolute_error_h,
            "within_p10_p90": report.rul.within_p10_p90}),
        "outcomes": [{"order_id": o.order_id, "machine": o.machine, "component": o.component,
                      "predicted": o.predicted_fault_mode, "confirmed": o.fault_confirmed,
                      "found": o.found_fault_mode, "problem_code": o.problem_code,
                      "replaced": o.component_replaced, "replaced_at": iso(o.replaced_at),
                      "actual_remaining_h": o.actual_remaining_h, "rul_p50_h": o.rul_p50_h}
                     for o in reversed(outcomes[-50:])],
    }


__all__ = ["pm_plan", "dispatch_board", "stored_proposal", "feedback_report"]
