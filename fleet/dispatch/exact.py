"""The optimal week for a small instance, to measure how far the greedy planner is from it.

Same jobs, technicians, locks and constraints as :func:`fleet.dispatch.plan` (skills, declines,
earliest day, working days and days off, a day's work plus its driving inside the working hours,
locks to a technician and day) and the objective of :mod:`fleet.dispatch.objective`. Set
partitioning: every feasible (technician, day, set of jobs) is a column whose cost is its shortest
route (Held-Karp over the distinct sites, from home and back) plus its jobs' late and day terms; a
binary program (``scipy.optimize.milp``, HiGHS) picks at most one column per technician and day and
covers each job once or pays for leaving it out.

The columns grow as the number of job subsets that fit a day, so this is for instances of a few
technicians and up to ~20 jobs (``python -m fleet.dispatch_bench`` prints the solve times); it is a
yardstick, not the product's planner (see ``docs/maintenance.md``, "Greedy against the optimum").
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from .model import Job, Lock, Settings, Technician, travel_hours
from .objective import RouteDay, timing_cost_h, unplanned_cost_h
from .routes import Distances


@dataclass(frozen=True)
class Optimum:
    """The solver's answer.

    Attributes
    ----------
    routes : list of RouteDay
        Each used technician-day with its jobs in the shortest driving order.
    cost_h : float
        The objective (h), as :func:`fleet.dispatch.objective.score` counts it.
    optimal : bool
        False when HiGHS stopped at the time limit (``cost_h`` is then the best found).
    columns : int
        Feasible (technician, day, jobs) columns enumerated.
    build_s, solve_s : float
        Seconds to enumerate the columns, and in HiGHS.
    """

    routes: list[RouteDay]
    cost_h: float
    optimal: bool
    columns: int
    build_s: float
    solve_s: float


class Infeasible(ValueError):
    """No plan satisfies the constraints (a job that must be planned cannot be)."""


def shortest_tour(home: tuple[float, float], sites: Sequence[tuple[float, float]],
                  distances: Distances) -> tuple[float, tuple[int, ...]]:
    """(great-circle km, order of ``sites``) of the shortest tour home → every site → home (Held-Karp)."""
    n = len(sites)
    if n == 0:
        return 0.0, ()
    # best[(mask, last)] = (km from home through the sites in mask, ending at last; previous site)
    best: dict[tuple[int, int], tuple[float, int]] = {(1 << i, i): (distances.km(home, sites[i]), -1) for i in range(n)}
    for mask in range(1, 1 << n):
        for last in range(n):
            here = best.get((mask, last))
            if here is None:
                continue
            for nxt in range(n):
                if mask & (1 << nxt):
                    continue
                key = (mask | (1 << nxt), nxt)
                km = here[0] + distances.km(sites[last], sites[nxt])
                if key not in best or km < best[key][0]:
                    best[key] = (km, last)
    full = (1 << n) - 1
    km, last = min((best[(full, i)][0] + distances.km(sites[i], home), i) for i in range(n))
    order, mask = [], full
    while last != -1:
        order.append(last)
        last, mask = best[(mask, last)][1], mask & ~(1 << last)
    return km, tuple(reversed(order))


def _allowed(job: Job, tech: Technician, day: date, lock: Lock | None) -> bool:
    """Whether the planner could put ``job`` with ``tech`` on ``day`` (before room is checked)."""
    if lock is not None:
        if tech.id != lock.technician_id or (lock.day is not None and day != lock.day):
            return False
    elif not job.skills <= tech.skills or tech.id in job.declined_by:
        return False
    return (job.earliest is None or day >= job.earliest) and tech.works_on(day)


def _columns(jobs: Sequence[Job], tech: Technician, day: date, settings: Settings, distances: Distances,
             tours: dict) -> Iterable[tuple[float, tuple[int, ...]]]:
    """(cost h, job indices in driving order) of every non-empty set of ``jobs`` that fits the day."""
    home = (tech.home_lat, tech.home_lon)

    def tour(chosen: list[int]) -> tuple[float, tuple[int, ...]]:
        sites = sorted({(jobs[i].lat, jobs[i].lon) for i in chosen})
        key = (home, tuple(sites))
        if key not in tours:
            tours[key] = shortest_tour(home, sites, distances)
        km, order = tours[key]
        position = {sites[k]: rank for rank, k in enumerate(order)}
        return km, tuple(sorted(chosen, key=lambda i: (position[(jobs[i].lat, jobs[i].lon)], jobs[i].id)))

    timing = [timing_cost_h(j, day, settings) for j in jobs]

    def extend(chosen: list[int], work: float, start: int):
        for i in range(start, len(jobs)):
            candidate = chosen + [i]
            hours = work + jobs[i].duration_h
            if hours > tech.day_hours + 1e-9:
                continue
            km, ordered = tour(candidate)
            # a superset's tour is never shorter (triangle inequality): stop extending a set that does not fit
            if hours + travel_hours(km, settings) > tech.day_hours + 1e-9:
                continue
            yield travel_hours(km, settings) + sum(timing[k] for k in candidate), ordered
            yield from extend(candidate, hours, i + 1)

    yield from extend([], 0.0, 0)


def solve(jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings, locks: Iterable[Lock] = (),
          must_plan: Iterable[int] = (), time_limit_s: float = 120.0) -> Optimum:
    """The cheapest plan (see the module docstring).

    Parameters
    ----------
    must_plan : iterable of int
        Job ids that may not be left out (orders a technician has accepted).
    time_limit_s : float
        HiGHS's limit (s); ``Optimum.optimal`` says whether it was reached.
    """
    began = time.perf_counter()
    lock_by_job = {lock.job_id: lock for lock in locks}
    distances, tours = Distances(), {}
    columns: list[tuple[float, int, date, tuple[int, ...]]] = []  # cost, technician id, day, job ids in order
    for tech in technicians:
        for day in settings.horizon:
            here = [j for j in jobs if _allowed(j, tech, day, lock_by_job.get(j.id))]
            for cost, ordered in _columns(here, tech, day, settings, distances, tours):
                columns.append((cost, tech.id, day, tuple(here[i].id for i in ordered)))
    built = time.perf_counter()
    job_row = {j.id: r for r, j in enumerate(jobs)}
    slots = sorted({(c[1], c[2]) for c in columns})
    slot_row = {s: len(jobs) + r for r, s in enumerate(slots)}
    rows, cols = [], []
    for k, (_, tech_id, day, ids) in enumerate(columns):
        rows += [job_row[i] for i in ids] + [slot_row[(tech_id, day)]]
        cols += [k] * (len(ids) + 1)
    n = len(columns)
    rows += list(range(len(jobs)))  # the "left out" variable of each job
    cols += list(range(n, n + len(jobs)))
    matrix = csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(jobs) + len(slots), n + len(jobs)))
    lower = np.r_[np.ones(len(jobs)), np.zeros(len(slots))]  # each job covered once (or left out)
    upper = np.ones(len(jobs) + len(slots))  # at most one route per technician and day
    forced = set(must_plan)
    cost = np.r_[[c[0] for c in columns], [unplanned_cost_h(j, settings) for j in jobs]]
    variable_upper = np.r_[np.ones(n), [0.0 if j.id in forced else 1.0 for j in jobs]]
    result = milp(cost, integrality=np.ones(n + len(jobs)), bounds=Bounds(np.zeros(n + len(jobs)), variable_upper),
                  constraints=LinearConstraint(matrix, lower, upper),
                  options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9})
    solved = time.perf_counter()
    if result.x is None:
        raise Infeasible(f"no plan satisfies the constraints ({result.message})")
    chosen = [columns[k] for k in range(n) if result.x[k] > 0.5]
    routes = [RouteDay(tech_id, day, ids) for _, tech_id, day, ids in sorted(chosen, key=lambda c: (c[1], c[2]))]
    return Optimum(routes, round(float(result.fun), 4), result.status == 0, n, built - began, solved - built)
