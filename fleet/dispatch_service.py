"""Dispatch against the SQL store: load open orders, technicians and locks, plan the week, record
an engineer's lock and a technician's decline.

The planning itself is :func:`fleet.dispatch.plan`; this module only translates rows. Every change
to an order goes through :func:`fleet.order_actions.step` (the one path of the life cycle): an
accepted proposal assigns (or reassigns) each order to its proposed technician; a lock on an order
already assigned to somebody else reassigns it to the locked technician (a ``WorkOrderReassigned``
event tells the one who lost it, ``fleet.job_alerts``); a declined order goes back to ``open`` (the
history entry remembers who declined, so the next plan proposes somebody else) and loses a lock held
by the decliner. The accepted proposals are also what the technicians' "My day" follows
(:func:`planned_visits`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import dispatch, lifecycle, maintenance, order_actions
from .db import transaction
from .models import (DispatchLock, DispatchProposal, Technician, TechnicianDayOff, TechnicianWorkweek, WorkOrder, utcnow)
from .queries import work_order_view
from .work_order_service import OrderNotFound, machine_position
from .scope import row_clause

log = logging.getLogger(__name__)

#: Road distance / great-circle distance, as the planner counts it (read here, not from the planner's
#: module, by the pages that show distances).
ROAD_FACTOR = dispatch.ROAD_FACTOR

#: On-site hours by fault mode when the order does not say (a PM order carries its plan's).
DURATION_H = {"bearing_outer_race": 4.0, "bearing_inner_race": 4.0, "bearing_rolling_element": 4.0,
              "bearing_cage": 4.0, "gear_wear": 6.0, "gear_broken_tooth": 8.0, "unbalance": 3.0,
              "misalignment": 3.0, "looseness": 2.0, "electrical": 4.0}
DEFAULT_DURATION_H = 3.0
#: Row statuses the planner may (re)plan: nobody has accepted them yet.
DISPATCHABLE_ROW_STATUSES = ("open", "assigned")
#: Row statuses of work a technician has taken on: the plan keeps it with them, on the day it was
#: booked for (its lock's day), and fits the rest of the week around it (``dispatch.Lock.committed``).
COMMITTED_ROW_STATUSES = ("accepted", "in_progress")


class LockConflict(lifecycle.DomainError):
    """A lock that does not fit beside the work the technician has accepted for that day (409)."""


def job_of(order: WorkOrder, today: date) -> dispatch.Job | None:
    """The order as the planner sees it (None when the machine has no known position)."""
    lat, lon = machine_position(order.machine)
    if lat is None or lon is None:
        return None
    pm = (order.evidence or {}).get("pm") or {}
    skills = frozenset(pm.get("skills") or maintenance.required_skills(
        order.fault_mode, order.component.kind if order.component else ""))
    site = order.machine.site
    return dispatch.Job(
        id=order.id, site=f"site-{site.id}" if site else f"machine-{order.machine_id}",
        site_name=site.name if site else order.machine.uid, lat=lat, lon=lon, skills=skills,
        duration_h=float(pm.get("duration_h") or DURATION_H.get(order.fault_mode, DEFAULT_DURATION_H)),
        priority=order.priority, due=order.due_at.date() if order.due_at else today + timedelta(days=7),
        title=order.title, declined_by=lifecycle.from_row(order).declined_by)


def planning_technicians(session: Session, start: date, days: int) -> list[dispatch.Technician]:
    """Active technicians with their working week (default 08:00-17:00, Mon-Fri) and days off."""
    weeks = {w.technician_id: w for w in session.scalars(select(TechnicianWorkweek))}
    off: dict[int, set[date]] = {}
    for row in session.scalars(select(TechnicianDayOff).where(TechnicianDayOff.day >= start,
                                                              TechnicianDayOff.day < start + timedelta(days=days))):
        off.setdefault(row.technician_id, set()).add(row.day)
    technicians = []
    for t in session.scalars(select(Technician).where(Technician.active.is_(True)).order_by(Technician.id)):
        week = weeks.get(t.id)
        technicians.append(dispatch.Technician(
            t.id, t.name, frozenset(t.skills or []), t.home_base, t.home_lat, t.home_lon,
            start_minute=week.start_minute if week else 8 * 60, end_minute=week.end_minute if week else 17 * 60,
            weekdays=frozenset(week.weekdays) if week else frozenset({1, 2, 3, 4, 5}),
            days_off=frozenset(off.get(t.id, ()))))
    return technicians


def plan_week(session_factory: sessionmaker, start: date | None = None, days: int = 5,
              bundling: bool = True) -> dispatch.Plan:
    """Propose the plan for ``days`` days from ``start`` (default: today) for every open order."""
    return planned_week(session_factory, start, days, bundling)[0]


def planned_week(session_factory: sessionmaker, start: date | None = None, days: int = 5,
                 bundling: bool = True) -> tuple[dispatch.Plan, list[str]]:
    """:func:`plan_week`, and the revisions of every dispatch lock its input held
    (``DispatchLock.revision``, read in the same statement as the locks the plan keeps)."""
    start = start or utcnow().date()
    revisions: list[str] = []
    with session_factory() as session:
        jobs, locks = week_jobs(session, start, days, revisions)
        technicians = planning_technicians(session, start, days)
    settings = dispatch.Settings(start=start, days=days, bundling=bundling)
    return dispatch.plan(jobs, technicians, settings, locks), revisions


def week_jobs(session: Session, start: date, days: int,
              revisions: list[str] | None = None) -> tuple[list[dispatch.Job], list[dispatch.Lock]]:
    """The planner's jobs and locks for ``days`` days from ``start``: every open or assigned order
    (with the engineer's lock), and every order a technician has accepted or started, as a committed
    lock to them on the day it was booked for (an order booked for another week is left out; one
    accepted without a day goes on their first day with room). ``revisions``, when given, receives
    the revision of every lock row read that concerns the week (:func:`lock_concerns_week`), whether
    the plan keeps it or not."""
    end = start + timedelta(days=days)
    orders = session.scalars(select(WorkOrder).where(
        WorkOrder.status.in_(DISPATCHABLE_ROW_STATUSES + COMMITTED_ROW_STATUSES)).order_by(WorkOrder.id)).all()
    held = {lock.work_order_id: lock for lock in session.scalars(select(DispatchLock))}
    if revisions is not None:
        revisions.extend(sorted(lock.revision for lock in held.values() if lock_concerns_week(lock.day, start, days)))
    jobs, locks = [], []
    for order in orders:
        row = held.get(order.id)
        if order.status in COMMITTED_ROW_STATUSES:
            if order.technician_id is None:
                continue
            day = row.day if row is not None and row.technician_id == order.technician_id else None
            if day is not None and not start <= day < end:
                continue  # booked for another week
            lock = dispatch.Lock(order.id, order.technician_id, day, committed=True)
        else:
            lock = dispatch.Lock(order.id, row.technician_id, row.day) if row is not None else None
        job = job_of(order, start)
        if job is None:
            continue
        jobs.append(job)
        if lock is not None:
            locks.append(lock)
    return jobs, locks


def accepted_for(session: Session, technician_id: int, day: date) -> list[WorkOrder]:
    """The orders ``technician_id`` has accepted or started that are booked for ``day`` (their lock's day)."""
    return list(session.scalars(select(WorkOrder).join(DispatchLock, DispatchLock.work_order_id == WorkOrder.id).where(
        WorkOrder.technician_id == technician_id, WorkOrder.status.in_(COMMITTED_ROW_STATUSES),
        DispatchLock.technician_id == technician_id, DispatchLock.day == day).order_by(WorkOrder.id)))


def _refuse_without_room(session: Session, order: WorkOrder, technician: Technician, day: date) -> None:
    """Raise :class:`LockConflict` naming the accepted orders when ``order`` does not fit
    ``technician``'s ``day`` beside them; the accepted work is never the one that gives way."""
    accepted = [o for o in accepted_for(session, technician.id, day) if o.id != order.id]
    job = job_of(order, day)
    if not accepted or job is None:
        return  # nothing accepted that day (the planner handles the rest), or nowhere to drive to
    planner_tech = next((t for t in planning_technicians(session, day, 1) if t.id == technician.id), None)
    fixed = [dispatch.Visit((j,)) for j in (job_of(o, day) for o in accepted) if j is not None]
    if planner_tech is None or not fixed:
        return
    booked, with_it = dispatch.room_beside(planner_tech, day, fixed, dispatch.Visit((job,)),
                                           dispatch.Settings(start=day, days=1))
    if with_it <= planner_tech.day_hours + 1e-9:
        return
    names = [f"{o.number} ({j.duration_h:.1f} h at {j.site_name})"
             for o, j in zip(accepted, (job_of(o, day) for o in accepted)) if j is not None]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    raise LockConflict(
        f"{order.number} cannot be locked to {technician.name} on {day_words(day)}: {technician.name} has accepted "
        f"{listed} for that day, {booked:.1f} h of the {planner_tech.day_hours:.1f}-h working day with the driving, "
        f"and {order.number} would make it {with_it:.1f} h. The accepted work stays as it is: lock {order.number} "
        f"to another day or technician, or move the accepted order on the work-order board first.")


def lock(session_factory: sessionmaker, work_order_id: int, technician_id: int, day: date | None, by: str,
         notifier=None, visible_tenant_ids=None) -> dict | None:
    """Fix an order to a technician (and day) for every later plan. An order already assigned to
    another technician is reassigned to this one (through the life cycle, ``notifier`` told);
    an order somebody has accepted or started is refused (reassign it on the work-order board), and
    so is a lock to a day that the order does not fit beside the orders the technician has accepted
    for it (:class:`LockConflict`, naming them). Every stored lock is a ``WorkOrderChanged``
    (``change="locked"``: the audit log and the live board hear it). Returns the order's view when
    it was reassigned, else None."""
    from .events import WorkOrderChanged
    from .work_order_service import publish

    events = []
    with transaction(session_factory) as session:
        if visible_tenant_ids is not None:
            order = order_actions.visible_order(session, work_order_id, visible_tenant_ids)
        elif (order := session.get(WorkOrder, work_order_id)) is None:
            raise OrderNotFound(f"work order {work_order_id} not found")
        technician = session.get(Technician, technician_id)
        if technician is None or not technician.active:
            raise lifecycle.DomainError(f"technician {technician_id!r} does not exist or is inactive")
        if order.status not in DISPATCHABLE_ROW_STATUSES:
            raise lifecycle.DomainError(f"{order.number} is {order.status.replace('_', ' ')}: dispatch plans only "
                                        f"open and assigned orders and does not move accepted work; reassign it "
                                        f"on the work-order board")
        if day is not None:
            _refuse_without_room(session, order, technician, day)
        row = session.get(DispatchLock, work_order_id) or DispatchLock(work_order_id=work_order_id)
        row.technician_id, row.day, row.locked_by, row.locked_at = technician_id, day, by, utcnow()
        session.add(row)
        session.flush()
        when = f" on {day.isoformat()}" if day else ""
        why = f"dispatch: locked to {technician.name}{when} by {by}"
        if order.status == "assigned" and order.technician_id != technician_id:
            events = order_actions.step(session, order, "reassign", lifecycle.Actor(by, "engineer"),
                                        technician_id=technician_id, reason=why)
        view = work_order_view(order) if events else None
        events.append(WorkOrderChanged(tenant_ids=tuple(order.machine.tenant.audience()),
                                       order=work_order_view(order, with_evidence=False), change="locked", actor=by,
                                       comment=why))
    publish(notifier, events)
    return view


def day_words(day: date) -> str:
    """``Tue 8 Dec`` (a plan's day, as the pages say it)."""
    return f"{day:%a} {day.day} {day:%b}"


def decline(session_factory: sessionmaker, work_order_id: int, technician: Technician, reason: str,
            notifier=None) -> WorkOrder:
    """The assigned technician declines: the order goes back to ``open`` for the next plan."""
    from .work_order_service import publish

    with transaction(session_factory) as session:
        order = session.get(WorkOrder, work_order_id)
        if order is None:
            raise OrderNotFound(f"work order {work_order_id} not found")
        actor = lifecycle.Actor(technician.name, "technician", technician.id)
        events = order_actions.step(session, order, "decline", actor, reason=reason)
        session.flush()
        session.expunge(order)
    publish(notifier, events)
    return order


def next_working_day(today: date) -> date:
    """The first Monday-to-Friday day after ``today`` (a Friday night's proposal is for Monday)."""
    day = today + timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def plan_as_dict(plan: dispatch.Plan) -> dict:
    """A plan as JSON (stored with a proposal, returned by the dispatch API)."""
    return {
        "assignments": [{
            "technician_id": a.technician_id, "technician": a.technician_name, "day": a.day.isoformat(),
            "start_minute": a.start_minute, "end_minute": a.end_minute, "work_order_ids": list(a.job_ids),
            "site": a.site, "travel_km": round(a.travel_km, 1), "late_days": a.late_days,
            "late_work_order_ids": list(a.late_job_ids), "locked": a.locked, "accepted": a.committed,
            "reason": a.reason,
        } for a in plan.assignments],
        "unplanned": [{"work_order_ids": list(u.job_ids), "reason": u.reason} for u in plan.unplanned],
        "travel_km": round(plan.travel_km, 1), "work_h": round(plan.work_h, 2), "available_h": round(plan.available_h, 2),
        "late_jobs": plan.late_jobs, "utilization": round(plan.utilization, 3),
    }


def propose(session_factory: sessionmaker, start: date | None = None, days: int = 5) -> DispatchProposal:
    """Plan ``days`` days from ``start`` (default: the next working day) and store it as that
    day's proposal, replacing an earlier one not yet accepted (the nightly scheduler job).

    The proposal records the revisions of the locks its input held (``lock_revisions``), so a lock
    committed after the read, whatever its time stamp, marks it out of date (:func:`pending_locks`);
    its ``created_at`` is when its input was read (before planning), and a plan whose input is older
    than the stored one's is not stored (two re-plans in flight, in any processes: the later read
    wins)."""
    start = start or next_working_day(utcnow().date())
    as_of = utcnow()
    plan, revisions = planned_week(session_factory, start, days)
    with transaction(session_factory) as session:
        row = session.scalar(select(DispatchProposal).where(DispatchProposal.start_day == start))
        if row is None:
            row = DispatchProposal(start_day=start)
            session.add(row)
        elif row.accepted_at is not None or row.created_at > as_of:
            session.expunge(row)
            return row  # what an engineer accepted stays as accepted; a plan of later input stays
        row.days, row.plan, row.created_at, row.lock_revisions = days, plan_as_dict(plan), as_of, revisions
        session.flush()
        session.expunge(row)
    return row


def pending_locks(session: Session, proposal: DispatchProposal) -> list[DispatchLock]:
    """Locks for ``proposal``'s week (or without a day) that its plan did not see: the proposal does
    not show them yet (its re-plan is running, :func:`replan_after_lock`). None for an accepted
    proposal (what was accepted stays; its locks are its own).

    "Did not see" is by revision, not by time: a lock whose current revision is not among those the
    plan's input held (``DispatchProposal.lock_revisions``). A time stamp cannot say it: a lock's
    ``locked_at`` is taken before its transaction commits (and on its own server's clock), so a lock
    stamped before a re-plan read its input may still commit after the read, and the plan stored
    later looked newer than a lock it never saw. A claim, or a proposal stored before revisions were
    recorded, falls back to the time stamp."""
    if proposal.accepted_at is not None:
        return []
    end = proposal.start_day + timedelta(days=_lock_span_days(proposal.days))
    in_week = (DispatchLock.day.is_(None)) | ((DispatchLock.day >= proposal.start_day) & (DispatchLock.day < end))
    if proposal.lock_revisions is None:
        return list(session.scalars(select(DispatchLock).where(DispatchLock.locked_at > proposal.created_at, in_week)
                                    .order_by(DispatchLock.locked_at)))
    seen = set(proposal.lock_revisions)
    return [lock for lock in session.scalars(select(DispatchLock).where(in_week).order_by(DispatchLock.locked_at))
            if lock.revision not in seen]


def _lock_span_days(days: int) -> int:
    """The days from a week's start whose locks concern it: its working days and the weekend after
    (the lock form allows the weekend)."""
    return max(days, 1) + 2


def lock_concerns_week(day: date | None, start: date, days: int) -> bool:
    """Whether a lock to ``day`` (None: no day) concerns the week of ``days`` days from ``start``
    (the locks :func:`pending_locks` looks at, and whose revisions a proposal records)."""
    return day is None or start <= day < start + timedelta(days=_lock_span_days(days))


#: The live event a stored re-plan sends (``LiveUpdate``): the dispatch boards open on it redraw.
PROPOSAL_EVENT = "dispatch_proposal"


def replan_after_lock(session_factory: sessionmaker, start: date, days: int, notifier) -> DispatchProposal | None:
    """Re-plan the week after a lock and tell the open boards (a ``LiveUpdate`` named
    :data:`PROPOSAL_EVENT` to the tenants whose orders the plan holds). Run off the request
    (the lock answers at once); the board says "re-planning" until the stored plan is newer than
    the lock (:func:`pending_locks`), which needs no state in any process.

    Returns the stored proposal, or None when the re-plan failed: the failure is logged here,
    because an executor's future that nobody reads would drop it silently and leave the board
    saying "re-planning" with no trace of why (the board's "Re-plan" or the nightly job retries)."""
    try:
        return _replan_and_tell(session_factory, start, days, notifier)
    except Exception:  # noqa: BLE001 - off the request, on the background executor: log, never lose
        log.exception("dispatch: the re-plan of the week of %s after a lock failed", start.isoformat())
        return None


def _replan_and_tell(session_factory: sessionmaker, start: date, days: int, notifier) -> DispatchProposal:
    from .events import LiveUpdate
    from .work_order_service import publish

    proposal = propose(session_factory, start, days)
    order_ids = {i for a in proposal.plan.get("assignments", []) for i in a["work_order_ids"]}
    order_ids |= {i for u in proposal.plan.get("unplanned", []) for i in u["work_order_ids"]}
    with session_factory() as session:
        audience = sorted({t for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(order_ids)))
                           for t in o.machine.tenant.audience()})
    publish(notifier, [LiveUpdate(tenant_ids=tuple(audience), name=PROPOSAL_EVENT,
                                  payload={"start": start.isoformat(), "proposal_id": proposal.id})])
    return proposal


class ProposalNotFound(LookupError):
    """No stored dispatch proposal with that id."""


def accept_proposal(session_factory: sessionmaker, notifier, proposal_id: int, visible_tenant_ids, by: str) -> list[int]:
    """An engineer accepts a stored proposal: each visible order is locked to its proposed
    technician and day (so later plans keep it) and assigned to that technician, or reassigned
    when somebody else had it (the usual ``work_order`` and ``work_order_reassigned`` events), all
    in one transaction. Returns the order ids assigned. Accepting twice is refused."""
    from .work_order_service import publish

    actor = lifecycle.Actor(by, "engineer")
    events, assigned = [], []
    with transaction(session_factory) as session:
        proposal = session.get(DispatchProposal, proposal_id)
        if proposal is None:
            raise ProposalNotFound(f"dispatch proposal {proposal_id} not found")
        if proposal.accepted_at is not None:
            raise lifecycle.DomainError(f"dispatch proposal {proposal_id} was accepted by {proposal.accepted_by} "
                                        f"at {proposal.accepted_at:%Y-%m-%d %H:%M} UTC")
        if (proposal.plan or {}).get("planning"):
            raise lifecycle.DomainError(f"the week from {proposal.start_day.isoformat()} is still being planned; "
                                        f"accept it when the board has redrawn")
        if pending := pending_locks(session, proposal):
            # accepting would overwrite the newer locks with the proposal's places
            raise lifecycle.DomainError(f"dispatch proposal {proposal_id} is being re-planned around "
                                        f"{len(pending)} lock{'s' if len(pending) > 1 else ''} stored after it "
                                        f"(the latest by {pending[-1].locked_by}); accept it when the board has redrawn")
        placed = [(order_id, a["technician_id"], date.fromisoformat(a["day"]))
                  for a in proposal.plan.get("assignments", []) for order_id in a["work_order_ids"]]
        orders = {o.id: o for o in session.scalars(select(WorkOrder).where(
            WorkOrder.id.in_([p[0] for p in placed]), row_clause(visible_tenant_ids, WorkOrder.tenant_id, WorkOrder.machine_id)))}
        for order_id, technician_id, day in placed:
            order = orders.get(order_id)
            if order is None or order.status not in DISPATCHABLE_ROW_STATUSES:
                continue  # not this engineer's, or accepted / started / done since the plan was made
            technician = session.get(Technician, technician_id)
            if technician is None or not technician.active:
                continue  # left since the plan was made: the next plan places the order again
            row = session.get(DispatchLock, order_id) or DispatchLock(work_order_id=order_id)
            row.technician_id, row.day, row.locked_by, row.locked_at = technician_id, day, by, utcnow()
            session.add(row)
            session.flush()
            why = f"dispatch proposal of {proposal.start_day.isoformat()} accepted: {day.isoformat()}"
            if order.status == "open":
                events += order_actions.step(session, order, "assign", actor, technician_id=technician_id, reason=why)
            elif order.technician_id != technician_id:
                events += order_actions.step(session, order, "reassign", actor, technician_id=technician_id,
                                             reason=why)
            else:
                continue
            assigned.append(order_id)
        proposal.accepted_at, proposal.accepted_by = utcnow(), by
    publish(notifier, events)
    return assigned


@dataclass(frozen=True)
class PlannedVisit:
    """One stop of a technician in an accepted dispatch proposal: ``ordinal`` is its place among
    that technician's visits of ``day`` (1 = the first), ``work_order_ids`` the jobs bundled in it."""

    day: date
    ordinal: int
    start_minute: int
    work_order_ids: tuple[int, ...]
    proposal_id: int


def visits_of(plan: dict, technician_id: int, proposal_id: int = 0) -> list[PlannedVisit]:
    """The visits of ``technician_id`` in ``plan`` (:func:`plan_as_dict`), by day and start time,
    each with its place in its day (pure)."""
    mine = sorted((a for a in plan.get("assignments", []) if a.get("technician_id") == technician_id),
                  key=lambda a: (a["day"], a["start_minute"]))
    visits, count = [], {}
    for a in mine:
        day = date.fromisoformat(a["day"])
        count[day] = count.get(day, 0) + 1
        visits.append(PlannedVisit(day, count[day], int(a["start_minute"]), tuple(a["work_order_ids"]), proposal_id))
    return visits


#: Accepted proposals this many days old still say when their unfinished visits were planned.
PLANNED_LOOKBACK_DAYS = 14


def planned_visits(session: Session, technician_id: int, today: date) -> dict[int, PlannedVisit]:
    """Order id → its visit in the latest accepted proposal that placed it with ``technician_id``.

    An order counts only while the plan still holds for it: the proposal was accepted, nothing
    accepted later placed the order elsewhere, and the order's lock (which an engineer may have
    changed after accepting) names the same technician and day. The caller checks the order is
    still assigned to the technician."""
    proposals = session.scalars(select(DispatchProposal).where(
        DispatchProposal.accepted_at.is_not(None),
        DispatchProposal.start_day >= today - timedelta(days=PLANNED_LOOKBACK_DAYS))
        .order_by(DispatchProposal.accepted_at.desc(), DispatchProposal.id.desc())).all()
    seen: set[int] = set()
    found: dict[int, PlannedVisit] = {}
    for proposal in proposals:  # newest first: a later acceptance wins
        for a in proposal.plan.get("assignments", []):
            for order_id in a["work_order_ids"]:
                if order_id in seen:
                    continue
                seen.add(order_id)
                if a.get("technician_id") != technician_id:
                    continue
                visit = next(v for v in visits_of(proposal.plan, technician_id, proposal.id)
                             if order_id in v.work_order_ids)
                found[order_id] = visit
    if found:
        locks = {lock.work_order_id: lock for lock in session.scalars(
            select(DispatchLock).where(DispatchLock.work_order_id.in_(list(found))))}
        for order_id in list(found):
            lock = locks.get(order_id)
            if lock is not None and (lock.technician_id != technician_id
                                     or (lock.day is not None and lock.day != found[order_id].day)):
                del found[order_id]  # the engineer moved it after accepting: the plan no longer says
    return found
