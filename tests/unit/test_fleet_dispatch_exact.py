"""The exact solver against hand-worked optima, and the greedy (first pass, improvement pass) against it."""
from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest

from fleet import dispatch
from fleet.dispatch import Job, Lock, Settings, Technician, exact, objective
from fleet.dispatch.routes import Distances
from fleet.dispatch_bench import synthetic_week
from fleet.maintenance import haversine_km

MONDAY = date(2026, 12, 7)
LEEDS = Technician(1, "Sam Okafor", frozenset({"electrical"}), "Leeds", 53.7997, -1.5492)
HOSPITAL = dict(site="hospital", site_name="Northbridge General Hospital", lat=53.8030, lon=-1.5520)
WEEK = Settings(start=MONDAY)


def round_trip_h(tech: Technician, lat: float, lon: float) -> float:
    return 2 * haversine_km(tech.home_lat, tech.home_lon, lat, lon) * dispatch.ROAD_FACTOR / dispatch.SPEED_KM_H


def full_monday_jobs() -> list[Job]:
    """Two 5-h jobs, one technician: they cannot share a day. The low one is due Monday, the high one Friday."""
    return [Job(1, **HOSPITAL, skills=frozenset({"electrical"}), duration_h=5.0, priority="low", due=MONDAY),
            Job(2, **HOSPITAL, skills=frozenset({"electrical"}), duration_h=5.0, priority="high",
                due=MONDAY + timedelta(days=4))]


def test_the_optimum_of_a_full_monday_is_the_low_job_first():
    jobs = full_monday_jobs()
    optimum = exact.solve(jobs, [LEEDS], WEEK)
    # Low job Monday (0 h), high job Tuesday (weight 4 × 0.25 h day term), two round trips of driving.
    expected = 2 * round_trip_h(LEEDS, HOSPITAL["lat"], HOSPITAL["lon"]) + 4 * 0.25
    assert optimum.optimal and optimum.cost_h == pytest.approx(expected, abs=1e-3)
    assert [(r.day, r.job_ids) for r in optimum.routes] == [(MONDAY, (1,)), (MONDAY + timedelta(days=1), (2,))]
    assert objective.score(optimum.routes, jobs, [LEEDS], WEEK).total_h == pytest.approx(optimum.cost_h, abs=1e-3)


def test_the_first_pass_misses_it_and_the_improvement_pass_finds_it():
    jobs = full_monday_jobs()
    best = exact.solve(jobs, [LEEDS], WEEK).cost_h
    first = dispatch.plan(jobs, [LEEDS], Settings(start=MONDAY, improve=False))
    # High first onto Monday: the low job is a day late (8 h × 1 + its 0.25 h day term).
    assert first.for_job(2).day == MONDAY and first.for_job(1).late_days == 1
    first_cost = objective.score(objective.routes_of(first), jobs, [LEEDS], WEEK).total_h
    assert first_cost == pytest.approx(best - 1.0 + 8.25, abs=1e-2)
    improved = dispatch.plan(jobs, [LEEDS], WEEK)
    assert objective.score(objective.routes_of(improved), jobs, [LEEDS], WEEK).total_h == pytest.approx(best, abs=1e-2)
    assert improved.for_job(1).day == MONDAY and improved.late_jobs == 0
    assert improved.for_job(1).placed_by == "improvement pass"
    assert "the first pass had it Tue; moved: on time" in improved.for_job(1).reason


def test_locks_and_must_plan_are_kept():
    jobs = full_monday_jobs()
    # The low job locked to Wednesday: the optimum is the high one Monday, the low one Wednesday (2 days late).
    optimum = exact.solve(jobs, [LEEDS], WEEK, locks=[Lock(1, LEEDS.id, MONDAY + timedelta(days=2))])
    assert [(r.day, r.job_ids) for r in optimum.routes] == [(MONDAY, (2,)), (MONDAY + timedelta(days=2), (1,))]
    # A third 5-h job must be planned although the week has room for only five days of one job each.
    nobody = Technician(2, "Nobody", frozenset(), "Leeds", 53.7997, -1.5492)
    with pytest.raises(exact.Infeasible):
        exact.solve(jobs, [nobody], WEEK, must_plan=[1])
    assert exact.solve(jobs, [nobody], WEEK).routes == []  # left out, paid for


def test_shortest_tour_matches_every_permutation():
    rng = random.Random(3)
    home = (53.8, -1.55)
    sites = [(53.2 + rng.random(), -2.8 + rng.random() * 2.4) for _ in range(6)]
    distances = Distances()
    km, order = exact.shortest_tour(home, sites, distances)

    def tour(p):
        points = [home, *(sites[i] for i in p), home]
        return sum(distances.km(points[i], points[i + 1]) for i in range(len(points) - 1))

    assert km == pytest.approx(min(tour(p) for p in itertools.permutations(range(6))))
    assert tour(order) == pytest.approx(km)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_plan_is_cheaper_than_the_optimum(seed):
    jobs, technicians = synthetic_week(10, 3, 5, seed, MONDAY)
    best = exact.solve(jobs, technicians, WEEK).cost_h
    for settings in (Settings(start=MONDAY, improve=False), WEEK, Settings(start=MONDAY, week_load_h=0.0)):
        plan = dispatch.plan(jobs, technicians, settings)
        assert objective.score(objective.routes_of(plan), jobs, technicians, WEEK).total_h >= best - 1e-2
