"""A week's first plan off the request, and stale re-plans that recover by themselves.

The first time a week's dispatch board opens there is no stored proposal; planning it takes seconds
(5.3 s at 500 jobs and 30 technicians, ``python -m fleet.dispatch_bench``). The board instead stores
a *claim*: a ``dispatch_proposal`` row for the week whose plan is empty and marked ``planning``,
and hands :func:`fleet.dispatch_service.replan_after_lock` to the background executor. The row's
unique ``start_day`` is what decides between two engineers opening the board at once (the second
insert fails, so only one plan starts), in any process; ``created_at`` is the claim's time, so the
background plan (input read later) replaces it under the usual newest-input-wins rule of
:func:`fleet.dispatch_service.propose`.

A claim, or a lock the stored proposal does not show yet (:func:`fleet.dispatch_service.pending_locks`),
older than :data:`STALE_AFTER` means the process planning it died: the next board load (claims) or
the scheduler's ``dispatch_recovery`` job (both) plans the week again.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .db import transaction
from .models import DispatchProposal, utcnow

#: A claim or pending lock older than this is a plan whose process died (about 10x the bench's
#: largest plan, 5.3 s, so a slow shared machine is not mistaken for a dead one).
STALE_AFTER = timedelta(seconds=60)
#: The plan key that marks a claim row (its week is being planned for the first time).
PLANNING_KEY = "planning"


def empty_plan() -> dict:
    """A claim's plan: the shape of :func:`fleet.dispatch_service.plan_as_dict`, with nothing in it."""
    return {"assignments": [], "unplanned": [], "travel_km": 0.0, "work_h": 0.0, "available_h": 0.0,
            "late_jobs": 0, "utilization": 0.0, PLANNING_KEY: True}


def is_claim(proposal: DispatchProposal | None) -> bool:
    """True when ``proposal`` is a claim: its week's first plan is still running."""
    return proposal is not None and proposal.accepted_at is None and bool((proposal.plan or {}).get(PLANNING_KEY))


def is_stale(moment: datetime, now: datetime | None = None) -> bool:
    """True when a claim or lock made at ``moment`` is older than :data:`STALE_AFTER`."""
    return (now or utcnow()) - moment > STALE_AFTER


def claim_first_plan(session_factory: sessionmaker, start: date, days: int) -> bool:
    """Store the claim for ``start``'s week; False when a row for the week exists already
    (another request claimed it first, or it was planned meanwhile)."""
    try:
        with transaction(session_factory) as session:
            session.add(DispatchProposal(start_day=start, days=days, plan=empty_plan(), created_at=utcnow()))
    except IntegrityError:
        return False
    return True


def reclaim(session_factory: sessionmaker, proposal: DispatchProposal) -> bool:
    """Take over ``proposal``'s stale claim: only the one caller whose update finds the row as it
    read it wins (a conditional UPDATE, so the database decides between processes)."""
    with transaction(session_factory) as session:
        done = session.execute(update(DispatchProposal).where(
            DispatchProposal.id == proposal.id, DispatchProposal.created_at == proposal.created_at,
            DispatchProposal.accepted_at.is_(None)).values(created_at=utcnow()))
    return done.rowcount == 1


def stale_weeks(session: Session, now: datetime | None = None) -> list[DispatchProposal]:
    """Unaccepted proposals whose plan has stopped: a claim, or a pending lock, older than
    :data:`STALE_AFTER`."""
    from .dispatch_service import pending_locks

    now = now or utcnow()
    found = []
    for proposal in session.scalars(select(DispatchProposal).where(DispatchProposal.accepted_at.is_(None))
                                    .order_by(DispatchProposal.start_day)):
        if is_claim(proposal):
            if is_stale(proposal.created_at, now):
                found.append(proposal)
        elif (pending := pending_locks(session, proposal)) and is_stale(pending[-1].locked_at, now):
            found.append(proposal)
    return found


def recover_stale(session_factory: sessionmaker, notifier=None) -> list[date]:
    """Plan again every week whose claim or re-plan has stopped (the scheduler's
    ``dispatch_recovery`` job, run in its process). Returns the weeks re-planned."""
    from .dispatch_service import replan_after_lock

    with session_factory() as session:
        stale = stale_weeks(session)
        for proposal in stale:
            session.expunge(proposal)
    weeks = []
    for proposal in stale:
        if is_claim(proposal) and not reclaim(session_factory, proposal):
            continue  # a board load took it over meanwhile
        replan_after_lock(session_factory, proposal.start_day, proposal.days, notifier)
        weeks.append(proposal.start_day)
    return weeks
