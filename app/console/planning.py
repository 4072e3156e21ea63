"""Console planning pages: a machine's PM plan (``/console/machines/<uid>/pm``), the dispatch board
for a week (``/console/dispatch``: accept the proposal, lock a job to a technician and day, re-plan)
and the repair feedback report (``/console/feedback``). The accept and lock forms also sit on the
work-order board (``back=board`` returns there).

Views are thin: read models from :mod:`fleet.planning_views`, changes through
:mod:`fleet.dispatch_service`; a bad form value is a 400 naming it, and changes nothing.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth import check_csrf, roles_required
from . import bp

CONSOLE_ROLES = ("admin", "engineer")
WEEK_DAYS = 5


def _runtime():
    return current_app.extensions["ironwatch"]


def _day(text: str | None, what: str, default: date | None = None) -> date:
    """A form or query date (YYYY-MM-DD), or a 400 that says which field and why."""
    if not text:
        if default is not None:
            return default
        abort(400, description=f"{what} is required (YYYY-MM-DD).")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        abort(400, description=f"{what} must be a date as YYYY-MM-DD, got {text[:40]!r}.")


def _positive_id(text: str | None, what: str) -> int:
    value = (text or "").strip()
    if not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
        abort(400, description=f"{what} must be a whole number from 1, got {value[:40]!r}.")
    return int(value)


@bp.get("/machines/<uid>/pm")
@roles_required(*CONSOLE_ROLES)
def machine_pm(uid: str):
    from fleet import planning_views

    with _runtime().sessions() as session:
        plan = planning_views.pm_plan(session, uid, current_user.scope)
    if plan is None:
        abort(404, description=f"Machine {uid} does not exist or is not visible to you.")
    return render_template("console/machine_pm.html", machine=plan)


def _week_start(today: date) -> date:
    from fleet.dispatch_service import next_working_day

    return next_working_day(today - timedelta(days=1))  # today when a working day


@bp.get("/dispatch")
@roles_required(*CONSOLE_ROLES)
def dispatch_board():
    from fleet import dispatch_claims, dispatch_service, planning_views
    from fleet.models import utcnow

    start = _day(request.args.get("start"), "start", _week_start(utcnow().date()))
    with _runtime().sessions() as session:
        proposal = planning_views.stored_proposal(session, start)
    if proposal is None or (dispatch_claims.is_claim(proposal) and dispatch_claims.is_stale(proposal.created_at)):
        _plan_in_background(start, proposal)
    with _runtime().sessions() as session:
        proposal = planning_views.stored_proposal(session, start)
        pending = dispatch_service.pending_locks(session, proposal) if proposal is not None else []
        pending = [{"by": lock.locked_by, "at": lock.locked_at.isoformat()} for lock in pending]
    planning = dispatch_claims.is_claim(proposal)
    plan = proposal.plan if proposal is not None else dispatch_claims.empty_plan()
    with _runtime().sessions() as session:
        board = planning_views.dispatch_board(session, start, plan, current_user.scope, WEEK_DAYS)
        from fleet import queries

        technicians = [t for t in queries.technicians(session) if t["active"]]
    return render_template("console/dispatch.html", board=board, proposal=proposal, planning=planning, pending=pending,
                           technicians=technicians, previous=(start - timedelta(days=7)).isoformat(),
                           following=(start + timedelta(days=7)).isoformat(), live=True)


def _plan_in_background(start: date, stale_claim=None) -> None:
    """The week's first plan (or a stale claim's) off the request: the database decides which
    request plans it (``fleet.dispatch_claims``); the board says "being planned" and redraws on the
    ``dispatch_proposal`` live event when it is stored."""
    from fleet import dispatch_claims, dispatch_service

    sessions = _runtime().sessions
    won = (dispatch_claims.claim_first_plan(sessions, start, WEEK_DAYS) if stale_claim is None
           else dispatch_claims.reclaim(sessions, stale_claim))
    if won:
        _runtime().background.submit(dispatch_service.replan_after_lock, sessions, start, WEEK_DAYS,
                                     _runtime().notifier)


def _back(start: date):
    """Where a dispatch form returns: the work-order board (``back=board``, its filters kept) or
    the dispatch board of the week."""
    if request.form.get("back") == "board":
        from . import board

        return redirect(url_for("console.work_order_board", **board.kept_params(request.form)))
    return redirect(url_for("console.dispatch_board", start=start.isoformat()))


@bp.post("/dispatch/propose")
@roles_required(*CONSOLE_ROLES)
def dispatch_propose():
    """Store a fresh proposal for the week (replacing one not yet accepted)."""
    from fleet import dispatch_service

    check_csrf()
    start = _day(request.form.get("start"), "start")
    proposal = dispatch_service.propose(_runtime().sessions, start, WEEK_DAYS)
    flash("Proposal re-planned and stored." if proposal.accepted_at is None
          else "This week's proposal was already accepted; it was kept as accepted.")
    return redirect(url_for("console.dispatch_board", start=start.isoformat()))


@bp.post("/dispatch/<int:proposal_id>/accept")
@roles_required(*CONSOLE_ROLES)
def dispatch_accept(proposal_id: int):
    from fleet import dispatch_service
    from fleet.lifecycle import DomainError

    check_csrf()
    try:
        assigned = dispatch_service.accept_proposal(_runtime().sessions, _runtime().notifier, proposal_id,
                                                    current_user.scope, current_user.email)
    except dispatch_service.ProposalNotFound as error:
        abort(404, description=str(error))
    except DomainError as error:
        abort(409, description=str(error))
    with _runtime().sessions() as session:
        from fleet.models import DispatchProposal

        start = session.get(DispatchProposal, proposal_id).start_day
    flash(f"Proposal accepted: {len(assigned)} orders assigned and locked to their day.")
    return _back(start)


@bp.post("/dispatch/lock")
@roles_required(*CONSOLE_ROLES)
def dispatch_lock():
    """Change the technician or the day of a job, or lock it where it is; then re-plan the week."""
    from fleet import dispatch_service, queries
    from fleet.lifecycle import DomainError
    from fleet.work_order_service import OrderNotFound

    check_csrf()
    order_id = _positive_id(request.form.get("work_order_id"), "work_order_id")
    technician_id = _positive_id(request.form.get("technician_id"), "technician_id")
    day = _day(request.form.get("day"), "day") if request.form.get("day") else None
    start = _day(request.form.get("start"), "start")
    if day is not None and not (start <= day < start + timedelta(days=WEEK_DAYS + 2)):
        abort(400, description=f"day {day} is not in the week from {start}.")
    with _runtime().sessions() as session:
        if queries.work_order(session, order_id, current_user.scope) is None:
            abort(404, description=f"Work order {order_id} does not exist or is not visible to you.")
    try:
        moved = dispatch_service.lock(_runtime().sessions, order_id, technician_id, day, current_user.email,
                                      _runtime().notifier, current_user.scope)
    except OrderNotFound as error:
        abort(404, description=str(error))
    except dispatch_service.LockConflict as error:
        abort(409, description=str(error))  # the technician's accepted work that day leaves no room
    except DomainError as error:
        abort(400, description=str(error))
    # The re-plan takes seconds on a full week (python -m fleet.dispatch_bench): off the request, on the
    # background executor; the board says "re-planning" until the stored plan is newer than the lock
    # and redraws on the dispatch_proposal live event.
    _runtime().background.submit(dispatch_service.replan_after_lock, _runtime().sessions, start, WEEK_DAYS,
                                 _runtime().notifier)
    flash(f"Job locked{'; ' + moved['number'] + ' reassigned to ' + moved['technician'] if moved else ''}; "
          f"the week is being re-planned around it, the board redraws when it is done.")
    return _back(start)


@bp.get("/feedback")
@roles_required(*CONSOLE_ROLES)
def feedback_report():
    from fleet import planning_views

    with _runtime().sessions() as session:
        report = planning_views.feedback_report(session)
    return render_template("console/feedback.html", report=report)


def weekday_label(iso_day: str) -> str:
    """``2026-12-07`` → ``Mon 07 Dec`` (the board's column heads)."""
    return f"{date.fromisoformat(iso_day):%a %d %b}"


@bp.record_once
def _register_planning_filters(state) -> None:
    state.app.jinja_env.filters["weekday_label"] = weekday_label
