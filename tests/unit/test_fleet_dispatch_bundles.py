"""Where bundling happens (``Settings.bundle_stage``), on weeks small enough to check by hand.

One technician, Helen, lives in Buxton beside Blackstone Quarry. A bundle placed whole can block
the week: the quarry's two jobs (8 h together) do not fit Monday beside a job locked there, so
the bundle goes to Tuesday and its high-priority job, due Monday, is a day late. Taking that job out
of the bundle (Monday) and leaving the other for Tuesday costs one more short trip and saves the
day late (4 × 8 h). Where the jobs fit one day together, they stay one visit.
"""
from __future__ import annotations

from datetime import date

from fleet import dispatch
from fleet.dispatch import Job, Lock, Settings, Technician, objective

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
QUARRY = dict(site="blackstone", site_name="Blackstone Quarry", lat=53.2391, lon=-1.9070)
DEPOT = dict(site="depot", site_name="Buxton Plant Depot", lat=53.2500, lon=-1.9000)
HELEN = Technician(1, "Helen Marsh", frozenset({"bearings", "engine"}), "Buxton", 53.2587, -1.9110)

URGENT_PART = Job(10, **QUARRY, skills=frozenset({"bearings"}), duration_h=5.0, priority="high", due=MONDAY)
LATER_PART = Job(11, **QUARRY, skills=frozenset({"engine"}), duration_h=3.0, priority="low", due=date(2026, 12, 9))
LOCKED = Job(30, **DEPOT, skills=frozenset({"engine"}), duration_h=3.0, priority="low", due=date(2026, 12, 11))
BLOCKED_WEEK = [URGENT_PART, LATER_PART, LOCKED]
MONDAY_LOCK = [Lock(30, HELEN.id, MONDAY)]


def cost(result: dispatch.Plan, jobs, settings: Settings) -> float:
    return objective.score(objective.routes_of(result), jobs, [HELEN], settings).total_h


def test_a_bundle_moved_only_whole_leaves_its_urgent_job_late():
    settings = Settings(start=MONDAY, bundle_stage="before")
    result = dispatch.plan(BLOCKED_WEEK, [HELEN], settings, MONDAY_LOCK)
    quarry = result.for_job(10)
    assert quarry.job_ids == (10, 11) and quarry.day == TUESDAY and quarry.late_job_ids == (10,)


def test_planning_jobs_one_by_one_then_bundling_splits_the_blocked_bundle():
    settings = Settings(start=MONDAY, bundle_stage="after")
    result = dispatch.plan(BLOCKED_WEEK, [HELEN], settings, MONDAY_LOCK)
    urgent, later = result.for_job(10), result.for_job(11)
    assert urgent.job_ids == (10,) and urgent.day == MONDAY and not urgent.late_job_ids
    assert later.job_ids == (11,) and later.day > MONDAY and result.late_jobs == 0
    whole = dispatch.plan(BLOCKED_WEEK, [HELEN], Settings(start=MONDAY, bundle_stage="before"), MONDAY_LOCK)
    # the day late (high priority: 4 × 8 h) against one more 4-km trip
    assert cost(whole, BLOCKED_WEEK, settings) - cost(result, BLOCKED_WEEK, settings) > 30
    assert "in one stop" not in urgent.reason and "Mon 07 Dec: due Mon 07 Dec, high priority: on time" in urgent.reason
    # the default plans both ways and proposes the cheaper week: this one
    chosen = dispatch.plan(BLOCKED_WEEK, [HELEN], Settings(start=MONDAY), MONDAY_LOCK)
    assert chosen.assignments == result.assignments


def test_the_default_keeps_whole_bundles_when_that_week_is_cheaper():
    """The bench's 18-job, 4-technician week (seed 3): planned one by one, jobs at one site cannot
    move together, and the week with whole bundles is cheaper; the default proposes that one."""
    from fleet.dispatch_bench import synthetic_week

    week_jobs, team = synthetic_week(18, 4, 9, 3, MONDAY)
    settings = Settings(start=MONDAY)
    weeks = {stage: dispatch.plan(week_jobs, team, Settings(start=MONDAY, bundle_stage=stage))
             for stage in ("before", "after")}
    costs = {stage: dispatch.week_cost_h(week, week_jobs, team, settings) for stage, week in weeks.items()}
    assert costs["before"] < costs["after"] - 1.0
    chosen = dispatch.plan(week_jobs, team, settings)
    assert chosen.assignments == weeks["before"].assignments
    assert any(len(a.job_ids) > 1 and "in one stop" in a.reason and "bundled" in a.reason_kinds
               for a in chosen.assignments)


def test_the_improvement_pass_takes_a_job_out_of_a_bundle_and_says_so():
    settings = Settings(start=MONDAY, bundle_stage="split")
    result = dispatch.plan(BLOCKED_WEEK, [HELEN], settings, MONDAY_LOCK)
    urgent, later = result.for_job(10), result.for_job(11)
    assert urgent.job_ids == (10,) and urgent.day == MONDAY and later.job_ids == (11,) and later.day == TUESDAY
    # the first pass had the bundle on Tuesday (Monday locked full); the urgent job is now on time
    assert "the first pass had it Tue; moved: on time" in urgent.reason and urgent.placed_by == "improvement pass"
    assert later.placed_by == "first pass" and "moved" not in later.reason_kinds


def test_jobs_that_fit_one_day_together_stay_one_visit():
    together = [URGENT_PART, LATER_PART]  # nothing locked: Monday has room for both (8 h + 6 min driving)
    for stage in ("before", "split", "after"):
        settings = Settings(start=MONDAY, bundle_stage=stage)
        result = dispatch.plan(together, [HELEN], settings)
        (visit,) = result.assignments
        assert visit.job_ids == (10, 11) and visit.day == MONDAY, stage
        assert visit.reason.startswith("2 jobs at Blackstone Quarry in one stop"), stage
        # one trip: home, the quarry, home
        assert result.travel_km == round(2 * dispatch.haversine_km(HELEN.home_lat, HELEN.home_lon, QUARRY["lat"],
                                                                   QUARRY["lon"]) * dispatch.ROAD_FACTOR, 1), stage


def test_jobs_locked_differently_are_not_merged_into_one_visit():
    locks = [Lock(10, HELEN.id, MONDAY)]  # one quarry job locked to Monday, the other free
    result = dispatch.plan([URGENT_PART, LATER_PART], [HELEN], Settings(start=MONDAY), locks)
    assert result.for_job(10).job_ids == (10,) and result.for_job(10).locked
    assert not result.for_job(11).locked and 11 not in result.for_job(10).job_ids
