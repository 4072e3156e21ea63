"""Dispatch on the seeded demo fleet in a real SQL database: plan, decline, lock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from fleet import dispatch, dispatch_service, lifecycle, order_actions, preventive_service, seed
from fleet.lifecycle import IllegalTransition
from fleet.models import DispatchLock, Technician, WorkOrder
from telemetry.store import TelemetryStore

from fleet_helpers import EventLog

pytestmark = pytest.mark.integration


@pytest.fixture
def planned_fleet(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    preventive_service.run_pm(session_factory, TelemetryStore(influx), EventLog(), now=datetime.now(timezone.utc))
    return session_factory


def assign(sessions, order_id: int, technician_id: int) -> None:
    """The engineer's assign step, through the one path (fleet.order_actions)."""
    from fleet import order_actions
    from fleet.lifecycle import Actor

    with sessions.begin() as session:
        order_actions.step(session, session.get(WorkOrder, order_id), "assign", Actor("engineer@x", "engineer"),
                           technician_id=technician_id)


def test_plan_decline_and_lock_round_trip(planned_fleet):
    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    first = dispatch_service.plan_week(planned_fleet, monday)
    with planned_fleet() as session:
        open_ids = set(session.scalars(select(WorkOrder.id).where(WorkOrder.status == "open")))
        names = {t.id: t for t in session.scalars(select(Technician))}
    planned = {j for a in first.assignments for j in a.job_ids}
    assert open_ids and planned | {j for u in first.unplanned for j in u.job_ids} == open_ids
    assert all(a.reason and a.technician_name in a.reason for a in first.assignments)

    # The load-bank test at GS-2004 needs the electrical skill.
    with planned_fleet() as session:
        loadbank = session.scalar(select(WorkOrder).where(WorkOrder.title.like("Yearly load-bank test due %"),
                                                          WorkOrder.machine.has(uid="GS-2004")))
    chosen = first.for_job(loadbank.id)
    assert "electrical" in names[chosen.technician_id].skills
    assign(planned_fleet, loadbank.id, chosen.technician_id)

    declined = dispatch_service.decline(planned_fleet, loadbank.id, names[chosen.technician_id], "van off the road")
    assert declined.status == "open" and declined.technician_id is None
    assert declined.history[-1]["declined_technician_id"] == chosen.technician_id
    with pytest.raises(IllegalTransition, match="cannot decline a work order that is open"):
        dispatch_service.decline(planned_fleet, loadbank.id, names[chosen.technician_id], "again")

    second = dispatch_service.plan_week(planned_fleet, monday)
    again = second.for_job(loadbank.id)
    assert again is not None and again.technician_id != chosen.technician_id
    assert f"declined earlier by {names[chosen.technician_id].name}" in again.reason

    # Lock it to a technician on the Thursday: the next plan keeps it there.
    thursday = monday + timedelta(days=3)
    other = next(t for t in names.values() if t.id not in (chosen.technician_id, again.technician_id))
    dispatch_service.lock(planned_fleet, loadbank.id, other.id, thursday, "engineer@ironwatch.example")
    third = dispatch_service.plan_week(planned_fleet, monday)
    kept = third.for_job(loadbank.id)
    assert (kept.technician_id, kept.day, kept.locked) == (other.id, thursday, True)
    with planned_fleet() as session:
        assert session.get(DispatchLock, loadbank.id).locked_by == "engineer@ironwatch.example"


def test_bad_locks_and_declines_change_nothing(planned_fleet):
    from fleet.work_order_service import OrderNotFound
    from fleet.workorders import DomainError

    with planned_fleet() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.status == "open"))
        sam, priya = (session.scalar(select(Technician).where(Technician.name == n)) for n in ("Sam Okafor",
                                                                                                "Priya Raman"))
    with pytest.raises(OrderNotFound, match="work order 999999 not found"):
        dispatch_service.lock(planned_fleet, 999999, sam.id, None, "engineer")
    with pytest.raises(DomainError, match="technician 999999 does not exist"):
        dispatch_service.lock(planned_fleet, order.id, 999999, None, "engineer")
    assign(planned_fleet, order.id, sam.id)
    with pytest.raises(DomainError, match="only the assigned technician may decline"):
        dispatch_service.decline(planned_fleet, order.id, priya, "not mine")
    with pytest.raises(DomainError, match="a reason is required to decline"):
        dispatch_service.decline(planned_fleet, order.id, sam, " ")
    with planned_fleet() as session:
        row = session.get(WorkOrder, order.id)
        assert (row.status, row.technician_id) == ("assigned", sam.id)
        assert session.scalar(select(DispatchLock)) is None


def test_a_lock_moves_an_unaccepted_order_and_a_decline_gives_it_back_each_telling_who_lost_it(planned_fleet):
    from fleet.events import WorkOrderChanged, WorkOrderReassigned
    from fleet.handlers import Dependencies, MessageBus

    heard: list = []
    bus = MessageBus(Dependencies(notifier=EventLog()), handlers={
        WorkOrderReassigned: [lambda event, deps: heard.append(event)],
        WorkOrderChanged: [lambda event, deps: heard.append(event)]})
    with planned_fleet() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.status == "open"))
        sam, priya = (session.scalar(select(Technician).where(Technician.name == n)) for n in ("Sam Okafor",
                                                                                                "Priya Raman"))
    order_actions.perform(planned_fleet, bus, order.id, "assign", lifecycle.Actor("engineer", "engineer"),
                          [order.tenant_id], technician_id=sam.id)
    heard.clear()
    day = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=8)
    dispatch_service.lock(planned_fleet, order.id, priya.id, day, "engineer@ironwatch.example", bus)
    with planned_fleet() as session:
        assert (session.get(WorkOrder, order.id).status, session.get(WorkOrder, order.id).technician_id) == (
            "assigned", priya.id)
    changed, moved, locked = heard
    assert isinstance(changed, WorkOrderChanged) and changed.change == "assigned"
    assert (moved.from_technician_id, moved.to_technician_id, moved.actor) == (sam.id, priya.id,
                                                                               "engineer@ironwatch.example")
    assert moved.order["technician_id"] == priya.id and "locked to Priya Raman" in moved.reason
    assert (locked.change, locked.actor) == ("locked", "engineer@ironwatch.example")
    assert locked.comment == f"dispatch: locked to Priya Raman on {day.isoformat()} by engineer@ironwatch.example"
    dispatch_service.lock(planned_fleet, order.id, priya.id, day + timedelta(days=1), "engineer", bus)
    assert [e.change for e in heard[3:]] == ["locked"]  # the same technician, another day: nobody lost anything

    heard.clear()
    dispatch_service.decline(planned_fleet, order.id, priya, "no hydraulics kit on the van", bus)
    changed, moved = heard
    assert changed.change == "declined" and changed.order["status"] == "open"
    assert (moved.from_technician_id, moved.to_technician_id, moved.reason) == (priya.id, None,
                                                                                "no hydraulics kit on the van")


def test_a_lock_marks_the_stored_proposal_out_of_date_until_its_re_plan_is_stored(planned_fleet):
    """The lock answers before the week is re-planned (the board's re-plan runs in the background):
    until the re-plan is stored the proposal is out of date (``pending_locks``, from the rows alone,
    so any web process sees it), accepting it is refused, and the stored re-plan tells the boards."""
    from fleet.handlers import as_bus
    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    stored = dispatch_service.propose(planned_fleet, monday)
    with planned_fleet() as session:
        assert dispatch_service.pending_locks(session, session.get(DispatchProposal, stored.id)) == []
    moved = stored.plan["assignments"][0]
    order_id, day = moved["work_order_ids"][0], monday + timedelta(days=4)
    with planned_fleet() as session:
        other = next(t.id for t in session.scalars(select(Technician).order_by(Technician.id))
                     if t.id != moved["technician_id"])
    dispatch_service.lock(planned_fleet, order_id, other, day, "engineer@ironwatch.example")
    with planned_fleet() as session:
        pending = dispatch_service.pending_locks(session, session.get(DispatchProposal, stored.id))
        tenants = list({t for (t,) in session.execute(select(WorkOrder.tenant_id))})
    assert [p.work_order_id for p in pending] == [order_id]
    with pytest.raises(lifecycle.DomainError, match="being re-planned around 1 lock"):
        dispatch_service.accept_proposal(planned_fleet, EventLog(), stored.id, tenants, "engineer@ironwatch.example")

    log = EventLog()
    replanned = dispatch_service.replan_after_lock(planned_fleet, monday, 5, as_bus(log, planned_fleet))
    assert replanned.id == stored.id
    placed = next(a for a in replanned.plan["assignments"] if order_id in a["work_order_ids"])
    assert (placed["technician_id"], placed["day"], placed["locked"]) == (other, day.isoformat(), True)
    with planned_fleet() as session:
        assert dispatch_service.pending_locks(session, session.get(DispatchProposal, stored.id)) == []
        order = session.get(WorkOrder, order_id)
        audience = set(order.machine.tenant.audience())
    (event,) = log.named(dispatch_service.PROPOSAL_EVENT)
    assert event[1] == {"start": monday.isoformat(), "proposal_id": stored.id} and audience <= set(event[2])


def test_a_failed_re_plan_after_a_lock_is_logged_not_lost(planned_fleet, monkeypatch, caplog):
    """The lock route hands the re-plan to the background executor and never reads its future: a
    failure there must reach the log (the board would otherwise say "re-planning" with no trace)."""
    from fleet.handlers import as_bus

    def planner_breaks(*_args, **_kwargs):
        raise RuntimeError("planner broke")

    monkeypatch.setattr(dispatch_service, "planned_week", planner_breaks)
    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    with caplog.at_level("ERROR", logger="fleet.dispatch_service"):
        assert dispatch_service.replan_after_lock(planned_fleet, monday, 5, as_bus(EventLog(), planned_fleet)) is None
    (record,) = [r for r in caplog.records if r.name == "fleet.dispatch_service"]
    assert monday.isoformat() in record.getMessage() and "planner broke" in record.exc_text


def test_a_re_plan_of_older_input_does_not_replace_a_newer_stored_one(planned_fleet):
    """Two re-plans in flight (two locks, or two processes): the one that read its input later wins,
    whichever finishes last."""
    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    stored = dispatch_service.propose(planned_fleet, monday)
    later = datetime.now(timezone.utc) + timedelta(minutes=5)  # as if a re-plan started after this one stored it
    with planned_fleet.begin() as session:
        row = session.get(DispatchProposal, stored.id)
        row.created_at, row.plan = later, {"assignments": [], "unplanned": [], "marker": "newer"}
    kept = dispatch_service.propose(planned_fleet, monday)
    with planned_fleet() as session:
        row = session.get(DispatchProposal, stored.id)
        assert row.plan.get("marker") == "newer" and row.created_at == later and kept.id == stored.id


def test_a_weeks_first_plan_is_claimed_once_and_a_stale_claim_is_planned_again(planned_fleet):
    from concurrent.futures import ThreadPoolExecutor

    from fleet import dispatch_claims
    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=14)
    # two engineers open the board at once: the unique week row lets exactly one claim it
    with ThreadPoolExecutor(2) as pool:
        won = list(pool.map(lambda _: dispatch_claims.claim_first_plan(planned_fleet, monday, 5), range(2)))
    assert sorted(won) == [False, True]
    with planned_fleet() as session:
        claim = session.scalar(select(DispatchProposal).where(DispatchProposal.start_day == monday))
        assert dispatch_claims.is_claim(claim) and claim.plan["assignments"] == []
        assert dispatch_claims.stale_weeks(session) == []  # fresh: its plan is still running
    with pytest.raises(lifecycle.DomainError, match="still being planned"):
        dispatch_service.accept_proposal(planned_fleet, EventLog(), claim.id, None, "engineer@x")

    # the process planning it died: once older than STALE_AFTER the scheduler's job plans it, once
    with planned_fleet.begin() as session:
        session.get(DispatchProposal, claim.id).created_at = claim.created_at - dispatch_claims.STALE_AFTER * 2
    assert dispatch_claims.recover_stale(planned_fleet, EventLog()) == [monday]
    with planned_fleet() as session:
        rows = session.scalars(select(DispatchProposal).where(DispatchProposal.start_day == monday)).all()
        assert len(rows) == 1 and not dispatch_claims.is_claim(rows[0]) and rows[0].plan["assignments"]
    assert dispatch_claims.recover_stale(planned_fleet, EventLog()) == []


def test_a_stale_pending_lock_is_re_planned_by_the_recovery_job(planned_fleet):
    from fleet import dispatch_claims
    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=21)
    proposal = dispatch_service.propose(planned_fleet, monday, 5)
    order_id = proposal.plan["assignments"][0]["work_order_ids"][0]
    technician_id = proposal.plan["assignments"][-1]["technician_id"]
    dispatch_service.lock(planned_fleet, order_id, technician_id, None, "engineer@x")  # its re-plan never runs
    with planned_fleet() as session:
        assert dispatch_claims.stale_weeks(session) == []
    with planned_fleet.begin() as session:
        row = session.get(DispatchLock, order_id)
        row.locked_at = row.locked_at - dispatch_claims.STALE_AFTER * 2
        session.get(DispatchProposal, proposal.id).created_at = row.locked_at - timedelta(seconds=1)
    assert dispatch_claims.recover_stale(planned_fleet, EventLog()) == [monday]
    with planned_fleet() as session:
        stored = session.get(DispatchProposal, proposal.id)
        assert dispatch_service.pending_locks(session, stored) == []
        placed = next(a for a in stored.plan["assignments"] if order_id in a["work_order_ids"])
        assert placed["technician_id"] == technician_id


def test_a_lock_committed_while_a_re_plan_runs_is_pending_whatever_its_time_stamp(planned_fleet, monkeypatch):
    """The race of a lock and a re-plan, held step by step (no sleeps): the lock's transaction stamps
    ``locked_at``, the re-plan then reads its input (the lock not committed yet: it cannot see it),
    the lock commits, the re-plan stores. The stored plan is newer than the lock by time stamp but
    never saw it; the board must still say "re-planning" (before the lock versions were recorded,
    ``pending_locks`` compared time stamps and said nothing was pending, so the board showed the
    week without the lock until the next re-plan)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    stored = dispatch_service.propose(planned_fleet, monday)
    moved = stored.plan["assignments"][0]
    order_id, day = moved["work_order_ids"][0], monday + timedelta(days=4)
    with planned_fleet() as session:
        other = next(t.id for t in session.scalars(select(Technician).order_by(Technician.id))
                     if t.id != moved["technician_id"])

    lock_stamped, lock_go, input_read, plan_go = (threading.Event() for _ in range(4))
    real_view, real_plan = dispatch_service.work_order_view, dispatch.plan

    def view_held(*args, **kwargs):  # called inside lock()'s transaction, after its row is stamped and flushed
        if not lock_stamped.is_set():
            lock_stamped.set()
            assert lock_go.wait(120), "the test never released the lock"
        return real_view(*args, **kwargs)

    def plan_held(*args, **kwargs):  # the re-plan has read its input; it stores after planning
        input_read.set()
        assert plan_go.wait(120), "the test never released the planner"
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(dispatch_service, "work_order_view", view_held)
    monkeypatch.setattr(dispatch, "plan", plan_held)
    with ThreadPoolExecutor(2) as pool:
        locking = pool.submit(dispatch_service.lock, planned_fleet, order_id, other, day, "engineer@ironwatch.example")
        while not lock_stamped.wait(1):
            assert not locking.done(), locking.result()  # the lock failed before its hold point: say why
        replanning = pool.submit(dispatch_service.replan_after_lock, planned_fleet, monday, 5, EventLog())
        while not input_read.wait(1):
            assert not replanning.done(), replanning.result()
        lock_go.set()
        locking.result(timeout=120)  # committed after the re-plan's read, before its store
        plan_go.set()
        replanned = replanning.result(timeout=120)
    monkeypatch.undo()

    assert replanned is not None and replanned.id == stored.id
    placed = next(a for a in replanned.plan["assignments"] + replanned.plan["unplanned"] if order_id in a["work_order_ids"])
    assert (placed.get("technician_id"), placed.get("day")) != (other, day.isoformat())  # the plan did not see it
    with planned_fleet() as session:
        row = session.get(DispatchLock, order_id)
        proposal = session.get(DispatchProposal, stored.id)
        assert row.locked_at < proposal.created_at  # by time stamp the plan looks newer than the lock
        assert [p.work_order_id for p in dispatch_service.pending_locks(session, proposal)] == [order_id]

    again = dispatch_service.replan_after_lock(planned_fleet, monday, 5, EventLog())
    placed = next(a for a in again.plan["assignments"] if order_id in a["work_order_ids"])
    assert (placed["technician_id"], placed["day"]) == (other, day.isoformat())
    with planned_fleet() as session:
        assert dispatch_service.pending_locks(session, session.get(DispatchProposal, stored.id)) == []


def test_every_write_of_a_lock_gives_it_a_new_revision_which_the_database_keeps_unique(planned_fleet):
    """The revision changes on any UPDATE of the row, also one that does not name it (a write path
    that forgets it still marks the proposal out of date), and no two lock versions share one."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from fleet.models import DispatchProposal

    monday = dispatch.week_start(datetime.now(timezone.utc).date()) + timedelta(days=7)
    proposal = dispatch_service.propose(planned_fleet, monday)
    first, second = (a["work_order_ids"][0] for a in proposal.plan["assignments"][:2])
    technician_id = proposal.plan["assignments"][0]["technician_id"]
    for order_id in (first, second):
        dispatch_service.lock(planned_fleet, order_id, technician_id, None, "engineer@x")
    dispatch_service.propose(planned_fleet, monday)
    with planned_fleet() as session:
        assert dispatch_service.pending_locks(session, session.get(DispatchProposal, proposal.id)) == []
        before = session.get(DispatchLock, first).revision

    with planned_fleet.begin() as session:  # Core UPDATE, revision not named
        session.execute(update(DispatchLock).where(DispatchLock.work_order_id == first).values(day=monday))
    with planned_fleet() as session:
        assert session.get(DispatchLock, first).revision != before
        pending = dispatch_service.pending_locks(session, session.get(DispatchProposal, proposal.id))
        assert [p.work_order_id for p in pending] == [first]
        taken = session.get(DispatchLock, second).revision
    with pytest.raises(IntegrityError):
        with planned_fleet.begin() as session:
            session.execute(update(DispatchLock).where(DispatchLock.work_order_id == first).values(revision=taken))
