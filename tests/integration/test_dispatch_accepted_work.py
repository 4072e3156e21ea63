"""Dispatch around the work technicians have accepted, in the real app, SQL database and InfluxDB: the
plan keeps an accepted order with its technician on its day and fits the rest around it; a lock that
would not fit beside it is refused (409) naming the accepted orders, and changes nothing; a lock that
fits is stored and audited (``work_order`` / ``locked``); a lock on accepted work itself is refused."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app_helpers import ENGINEER, replanned_week
from field_helpers import TECHNICIAN, accepted_plan, open_job, technician_id_by_name
from test_app_board_actions import world  # noqa: F401 (the real app on the demo fleet, a pytest fixture)
from test_tech_app import sign_in

pytestmark = pytest.mark.integration
SAM = "Sam Okafor"  # TECHNICIAN in the demo fleet


def state(runtime, order_id: int) -> tuple:
    """What a refused lock must not change: status, technician, history, the lock row."""
    from fleet.models import DispatchLock, WorkOrder

    with runtime.sessions() as session:
        order = session.get(WorkOrder, order_id)
        lock = session.get(DispatchLock, order_id)
        return (order.status, order.technician_id, len(order.history),
                (lock.technician_id, lock.day) if lock is not None else None)


def lock_audits(runtime, order_id: int) -> list:
    from fleet.models import AuditEntry

    with runtime.sessions() as session:
        return [(a.action, a.actor, a.comment) for a in session.scalars(select(AuditEntry).where(
            AuditEntry.subject_type == "work_order", AuditEntry.subject_id == order_id,
            AuditEntry.action == "locked"))]


def accept_as_technician(runtime, order_ids, technician_id: int) -> None:
    from fleet.lifecycle import Actor
    from fleet.models import Machine
    from fleet.order_actions import perform

    with runtime.sessions() as session:
        tenants = sorted(set(session.scalars(select(Machine.tenant_id))))
    for order_id in order_ids:
        perform(runtime.sessions, runtime.notifier, order_id, "accept", Actor(SAM, "technician", technician_id),
                tenants)


def test_a_lock_does_not_break_the_work_a_technician_accepted(world):
    from fleet import dispatch, dispatch_service
    from fleet.models import WorkOrder, utcnow

    app, runtime = world
    engineer, csrf = sign_in(app, ENGINEER)
    week = dispatch.week_start(utcnow().date()) + timedelta(days=7)  # next week's Monday: every day is ahead
    tuesday, wednesday = week + timedelta(days=1), week + timedelta(days=2)
    sam = technician_id_by_name(runtime.sessions, SAM)
    # Two 4-h bearing jobs at the hospital, planned for Sam on Tuesday and accepted by him: 8 h of his 9.
    first = open_job(runtime.sessions, runtime.notifier, component="alternator_de")
    second = open_job(runtime.sessions, runtime.notifier, component="alternator_nde", location="NDE")
    # (a proposal of its own, from that Tuesday: the board's week is planned afresh around it)
    accepted_plan(runtime.sessions, runtime.notifier, [(sam, tuesday, [first, second], 8 * 60)], tuesday)
    accept_as_technician(runtime, [first, second], sam)
    with runtime.sessions() as session:
        numbers = {i: session.get(WorkOrder, i).number for i in (first, second)}
        assert {session.get(WorkOrder, i).status for i in (first, second)} == {"accepted"}

    # A third 4-h job locked to Sam on that Tuesday does not fit beside them: refused, naming them.
    third = open_job(runtime.sessions, runtime.notifier, uid="GS-2004", component="alternator_de")
    before = [state(runtime, i) for i in (first, second, third)]
    lock = {"csrf_token": csrf, "start": week.isoformat(), "work_order_id": str(third), "technician_id": str(sam),
            "day": tuesday.isoformat()}
    response = engineer.post("/console/dispatch/lock", data=lock)
    text = response.get_data(as_text=True)
    assert response.status_code == 409, text
    assert f"cannot be locked to {SAM} on {dispatch_service.day_words(tuesday)}" in text
    assert numbers[first] in text and numbers[second] in text and "The accepted work stays as it is" in text
    assert [state(runtime, i) for i in (first, second, third)] == before and lock_audits(runtime, third) == []

    # The same lock through the service says the same (the JSON-free path the board uses).
    with pytest.raises(dispatch_service.LockConflict, match=numbers[first]):
        dispatch_service.lock(runtime.sessions, third, sam, tuesday, ENGINEER, runtime.notifier)

    # Wednesday has room: stored, audited with who and why, and the week re-planned around both.
    response = engineer.post("/console/dispatch/lock", data={**lock, "day": wednesday.isoformat()})
    assert response.status_code == 302
    assert state(runtime, third)[3] == (sam, wednesday)
    assert lock_audits(runtime, third) == [("locked", ENGINEER,
                                            f"dispatch: locked to {SAM} on {wednesday.isoformat()} by {ENGINEER}")]
    plan = replanned_week(runtime, week).plan  # the lock answers at once; the re-plan runs in the background
    mine = {i: a for a in plan["assignments"] for i in a["work_order_ids"] if a["technician_id"] == sam}
    assert mine[first]["day"] == mine[second]["day"] == tuesday.isoformat()
    assert mine[first]["accepted"] and mine[second]["accepted"] and not mine[third]["accepted"]
    assert mine[third]["day"] == wednesday.isoformat() and mine[third]["locked"]
    assert "accepted by the technician, kept where it is" in mine[first]["reason"]
    # Nothing else was squeezed into Sam's Tuesday: the day ends within his working hours.
    tuesday_visits = [a for a in plan["assignments"] if a["technician_id"] == sam and a["day"] == tuesday.isoformat()]
    assert max(a["end_minute"] for a in tuesday_visits) <= 17 * 60
    assert [state(runtime, i)[:2] for i in (first, second)] == [("accepted", sam)] * 2

    # The board shows the accepted visits as accepted, without a lock form for them.
    page = engineer.get(f"/console/dispatch?start={week.isoformat()}").get_data(as_text=True)
    visit = page.split(f'data-work-order="{first}"')[0].rsplit("<article", 1)[1]
    assert "accepted" in visit.split(">")[0] and "· accepted" in visit
    assert f'name="work_order_id" value="{first}"' not in page and f'name="work_order_id" value="{third}"' in page

    # A lock on the accepted order itself (another day) is refused: dispatch does not move accepted work.
    response = engineer.post("/console/dispatch/lock", data={**lock, "work_order_id": str(first),
                                                             "day": wednesday.isoformat()})
    assert response.status_code == 400 and "does not move accepted work" in response.get_data(as_text=True)
    assert state(runtime, first)[3] == (sam, tuesday) and lock_audits(runtime, first) == []


def test_a_lock_without_a_day_is_planned_around_accepted_work(world):
    """A lock without a day is never refused: the planner puts it on a day with room."""
    from fleet import dispatch, dispatch_service
    from fleet.models import utcnow

    app, runtime = world
    week = dispatch.week_start(utcnow().date()) + timedelta(days=7)
    sam = technician_id_by_name(runtime.sessions, SAM)
    jobs = [open_job(runtime.sessions, runtime.notifier, component=c, location=loc)
            for c, loc in (("alternator_de", "DE"), ("alternator_nde", "NDE"))]
    accepted_plan(runtime.sessions, runtime.notifier, [(sam, week, jobs, 8 * 60)], week)
    accept_as_technician(runtime, jobs, sam)
    third = open_job(runtime.sessions, runtime.notifier, uid="GS-2004", component="alternator_de",
                     technician_email=TECHNICIAN)
    dispatch_service.lock(runtime.sessions, third, sam, None, ENGINEER, runtime.notifier)
    plan = dispatch_service.plan_week(runtime.sessions, week)
    assert plan.for_job(third).technician_id == sam and plan.for_job(third).day != week
    assert {plan.for_job(j).day for j in jobs} == {week} and all(plan.for_job(j).committed for j in jobs)
