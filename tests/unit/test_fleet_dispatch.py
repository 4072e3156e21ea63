"""Dispatch planner on a case small enough to check by hand: two sites, three technicians."""
from __future__ import annotations

from datetime import date, datetime, timezone

from fleet import dispatch, lifecycle
from fleet.dispatch import Job, Lock, Settings, Technician

MONDAY = date(2026, 12, 7)
QUARRY = dict(site="blackstone", site_name="Blackstone Quarry", lat=53.2391, lon=-1.9070)
HOSPITAL = dict(site="hospital", site_name="Northbridge General Hospital", lat=53.8030, lon=-1.5520)

HELEN = Technician(1, "Helen Marsh", frozenset({"bearings", "engine"}), "Buxton", 53.2587, -1.9110)
SAM = Technician(2, "Sam Okafor", frozenset({"bearings", "electrical"}), "Leeds", 53.7997, -1.5492)
PRIYA = Technician(3, "Priya Raman", frozenset({"hydraulics"}), "Manchester", 53.4808, -2.2426)
TEAM = [HELEN, SAM, PRIYA]


def jobs(declined=frozenset()):
    return [
        Job(10, **QUARRY, skills=frozenset({"bearings"}), duration_h=3.0, priority="high", due=date(2026, 12, 9),
            declined_by=declined),
        Job(11, **QUARRY, skills=frozenset({"engine"}), duration_h=2.0, priority="low", due=date(2026, 12, 11),
            declined_by=declined),
        Job(20, **HOSPITAL, skills=frozenset({"electrical"}), duration_h=4.0, priority="medium",
            due=date(2026, 12, 10)),
    ]


def test_same_site_jobs_are_bundled_and_go_to_the_nearest_qualified_technician():
    result = dispatch.plan(jobs(), TEAM, Settings(start=MONDAY))
    quarry, hospital = result.for_job(10), result.for_job(20)
    # Helen lives 2 km from the quarry and has both skills: one visit for both quarry jobs.
    assert quarry.job_ids == (10, 11) and quarry.technician_name == "Helen Marsh"
    # Only Sam has the electrical skill.
    assert hospital.technician_name == "Sam Okafor" and hospital.job_ids == (20,)
    # Urgent-first ordering and the day preference put both on Monday, nobody late.
    assert quarry.day == hospital.day == MONDAY and result.late_jobs == 0 and not result.unplanned
    # Helen: 2.2 km great-circle x 1.3 road factor there; 08:00 + ~3 min travel, 5 h of work.
    assert 2.0 < quarry.travel_km < 4.0 and quarry.start_minute == 8 * 60 + 3
    assert quarry.end_minute == quarry.start_minute + 5 * 60
    assert quarry.reason.startswith("2 jobs at Blackstone Quarry in one stop")
    # Sam has bearings but not engine: Helen is the only one with both
    assert "the only technician with the bearings and engine skills" in quarry.reason
    assert "from home (Buxton)" in quarry.reason
    assert "Sam Okafor: the only technician with the electrical skill" in hospital.reason
    assert result.work_h == 9.0


def test_without_bundling_each_job_is_its_own_visit():
    result = dispatch.plan(jobs(), TEAM, Settings(start=MONDAY, bundling=False))
    assert len(result.assignments) == 3
    # Both quarry jobs still go to Helen on Monday, as two stops at the same place.
    assert {a.technician_name for a in result.assignments if a.site == "blackstone"} == {"Helen Marsh"}


def test_declining_sends_the_job_back_to_dispatch_and_to_someone_else():
    first = dispatch.plan(jobs(), TEAM, Settings(start=MONDAY))
    assert first.for_job(10).technician_id == HELEN.id
    engineer = lifecycle.Actor("engineer@ironwatch.example", "engineer")
    helen = lifecycle.Actor("Helen Marsh", "technician", HELEN.id)
    at = datetime(2026, 12, 7, 7, 30, tzinfo=timezone.utc)
    order = lifecycle.OrderLife(10, "open", "bearing_outer_race")
    order = lifecycle.apply(order, "assign", engineer, at, technician_id=HELEN.id)
    order = lifecycle.apply(order, "decline", helen, at, reason="on a course at the Buxton office all week")
    assert order.status == "open" and order.technician_id is None and order.declined_by == {HELEN.id}
    assert order.history[-1].to_dict()["declined_technician_id"] == HELEN.id
    # Back to dispatch: the job (with who declined it) is planned again, without Helen.
    again = [Job(**{**j.__dict__, "declined_by": order.declined_by}) if j.id == 10 else j for j in jobs()]
    second = dispatch.plan(again, TEAM, Settings(start=MONDAY))
    moved = second.for_job(10)
    assert moved.technician_name == "Sam Okafor"
    assert "the only technician with the bearings skill who has not declined it" in moved.reason
    assert "declined earlier by Helen Marsh" in moved.reason
    # Job 11 (engine) cannot go with it to Sam, who has no engine skill: it stays Helen's.
    assert second.for_job(11).technician_name == "Helen Marsh" and moved.job_ids == (10,)


def test_locks_are_kept_when_replanning():
    wednesday = date(2026, 12, 9)
    locks = [Lock(job_id=20, technician_id=SAM.id, day=wednesday), Lock(job_id=11, technician_id=PRIYA.id)]
    result = dispatch.plan(jobs(), TEAM, Settings(start=MONDAY), locks)
    hospital, engine_job = result.for_job(20), result.for_job(11)
    assert (hospital.technician_id, hospital.day, hospital.locked) == (SAM.id, wednesday, True)
    assert "Sam Okafor: locked by the service engineer" in hospital.reason
    assert "Wed 09 Dec: the day the service engineer locked it to" in hospital.reason
    # A lock overrides skills: the engineer knows something the planner does not.
    assert engine_job.technician_id == PRIYA.id and engine_job.job_ids == (11,)
    assert result.for_job(10).technician_id == HELEN.id  # unlocked jobs still planned as before


def test_days_off_working_hours_and_unplannable_jobs():
    helen_off = Technician(**{**HELEN.__dict__, "days_off": frozenset({MONDAY})})
    result = dispatch.plan(jobs(), [helen_off, SAM, PRIYA], Settings(start=MONDAY))
    assert result.for_job(10).day == date(2026, 12, 8)  # Helen back on Tuesday, still cheaper than Sam's drive
    too_long = Job(30, **HOSPITAL, skills=frozenset({"electrical"}), duration_h=12.0, priority="low",
                   due=date(2026, 12, 10))
    welding = Job(31, **HOSPITAL, skills=frozenset({"welding"}), duration_h=1.0, priority="low",
                  due=date(2026, 12, 10))
    result = dispatch.plan([too_long, welding], TEAM, Settings(start=MONDAY))
    reasons = {u.job_ids: u.reason for u in result.unplanned}
    assert "room" in reasons[(30,)] and "no technician has all of the skills welding" == reasons[(31,)]


def test_late_when_no_room_before_due_date():
    # Five 8-hour electrical jobs due Monday: Sam can do one a day; four are late, and say so.
    heavy = [Job(40 + i, **HOSPITAL, skills=frozenset({"electrical"}), duration_h=8.0, priority="medium",
                 due=MONDAY) for i in range(5)]
    result = dispatch.plan(heavy, TEAM, Settings(start=MONDAY))
    assert [a.day for a in sorted(result.assignments, key=lambda a: a.day)] == [
        date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 11)]
    assert result.late_jobs == 4
    friday = next(a for a in result.assignments if a.day == date(2026, 12, 11))
    assert friday.late_days == 4
    assert "due Mon 07 Dec, medium priority: 4 days late; every qualified technician is full on Mon to Thu" in friday.reason


def test_load_is_spread_over_equally_skilled_technicians():
    """Three engine technicians, one of them living next to eight 3-hour jobs around Leeds. On
    travel alone (the planner before its weekly load term) Ava, the nearest, is booked every day;
    with the load term the others take a fair share, and the visits say why."""
    ava = Technician(1, "Ava Lund", frozenset({"engine"}), "Leeds", 53.7997, -1.5492)
    ben = Technician(2, "Ben Hale", frozenset({"engine"}), "Bradford", 53.7960, -1.7594)
    cara = Technician(3, "Cara Wynn", frozenset({"engine"}), "Wakefield", 53.6833, -1.4977)
    around_leeds = [Job(100 + i, f"s{i}", f"Site {i}", 53.80 + 0.01 * (i % 3), -1.55 + 0.01 * (i // 3),
                        frozenset({"engine"}), 3.0, "low", date(2026, 12, 11)) for i in range(8)]
    team = [ava, ben, cara]
    travel_only = dispatch.plan(around_leeds, team, Settings(start=MONDAY, week_load_h=0.0, improve=False))
    spread = dispatch.plan(around_leeds, team, Settings(start=MONDAY))
    for result in (travel_only, spread):
        assert sum(len(a.job_ids) for a in result.assignments) == 8 and not result.unplanned and result.late_jobs == 0
    before, after = travel_only.booked_h, spread.booked_h
    # Before: Ava has most of the week's work (on site plus driving), Cara little.
    assert before[ava.id] > 2 * before[cara.id] and max(before.values()) - min(before.values()) > 10
    assert {a.day for a in travel_only.assignments if a.technician_id == ava.id} >= {MONDAY, date(2026, 12, 8)}
    # After: nobody has more than 4 h more than anybody else, for some more driving.
    assert max(after.values()) - min(after.values()) < 4
    assert spread.travel_km > travel_only.travel_km
    assert all(sum(1 for a in spread.assignments if a.technician_id == t.id) >= 2 for t in team)
    # Every visit states its technician's week as the final plan has it.
    for a in spread.assignments:
        assert f"week {spread.booked_h[a.technician_id]:.1f} of 45 h booked" in a.reason
    # Where the nearer Ava has room but would end up with the fuller week, the sentence says so.
    spread_out = [a for a in spread.assignments if "nearer ones busier" in a.reason_kinds]
    assert spread_out and all("Ava Lund would drive" in a.reason and "a fuller week (the work is spread)" in a.reason
                              for a in spread_out)
    first_pass = dispatch.plan(around_leeds, team, Settings(start=MONDAY, improve=False))
    assert max(first_pass.booked_h.values()) - min(first_pass.booked_h.values()) < 4
