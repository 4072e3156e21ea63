"""What a week's plan costs, as one number both the greedy planner and the exact solver are judged by.

The greedy planner decides visit by visit with a per-decision cost (:func:`fleet.dispatch.planner.plan`);
a plan as a whole is scored here with the parts of that cost that describe the plan itself, summed
over every job:

``cost (h) = travel hours of every day's route (home, the stops, home)
+ Σ_jobs priority weight × (LATE_PENALTY_H × days late + DAY_PREFERENCE_H × day index)
+ Σ_unplanned jobs UNPLANNED_H(job)``

The greedy's two load terms (``LOAD_BALANCE_H``, ``WEEK_LOAD_H``) are left out: they are there to
share the work fairly, not to make the week cheaper, and they depend on the order decisions were
taken in, so no plan "has" them. Their effect is measured separately (hours booked per technician,
``python -m fleet.dispatch_bench``).

An unplanned job costs what it would cost done on the first working day after the horizon (late days
and day index counted from there) plus :data:`UNPLANNED_EXTRA_H` × its priority weight, so planning a
job, however late, always beats leaving it out, and leaving out an urgent job costs most.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

from .model import DAY_PREFERENCE_H, LATE_PENALTY_H, PRIORITY_WEIGHT, Job, Plan, Settings, Technician, travel_hours
from .routes import Distances

#: On top of the late and day terms of the day after the horizon: a job left out costs at least a
#: working day (h) × its priority weight, more than any placement inside the week can cost in travel.
UNPLANNED_EXTRA_H = 9.0
#: Priorities whose unplanned jobs the bench counts separately.
HIGH_PRIORITIES = ("high", "urgent")


@dataclass(frozen=True)
class RouteDay:
    """One technician's day in a plan: the jobs in driving order (jobs at one site follow each other)."""

    technician_id: int
    day: date
    job_ids: tuple[int, ...]


@dataclass(frozen=True)
class Score:
    """A plan's cost, in hours, and its parts.

    Attributes
    ----------
    total_h : float
        ``travel_h + timing_h + unplanned_h``.
    travel_h : float
        Driving of every route, hours.
    travel_km : float
        The same on roads, km.
    timing_h : float
        The late and day-index terms of the planned jobs, hours.
    unplanned_h : float
        The penalty of the jobs left out, hours.
    unplanned_high : int
        High and urgent jobs left out.
    late_jobs : int
        Planned jobs done after their due date.
    """

    total_h: float
    travel_h: float
    travel_km: float
    timing_h: float
    unplanned_h: float
    unplanned_high: int
    late_jobs: int


def timing_cost_h(job: Job, day: date, settings: Settings) -> float:
    """The late and day-index terms of doing ``job`` on ``day`` (h)."""
    weight = PRIORITY_WEIGHT.get(job.priority, 1.0)
    late = max(0, (day - job.due).days)
    return weight * (LATE_PENALTY_H * late + DAY_PREFERENCE_H * (day - settings.start).days)


def unplanned_cost_h(job: Job, settings: Settings) -> float:
    """What leaving ``job`` out of the week costs (h): done the day after the horizon, plus a day's work."""
    after = settings.start + timedelta(days=settings.days)
    return timing_cost_h(job, after, settings) + UNPLANNED_EXTRA_H * PRIORITY_WEIGHT.get(job.priority, 1.0)


def route_travel_km(technician: Technician, stops: Sequence[tuple[float, float]], distances: Distances) -> float:
    """Great-circle km from home through ``stops`` (in order) and back home."""
    home = (technician.home_lat, technician.home_lon)
    points = [home, *stops, home]
    return sum(distances.km(points[i], points[i + 1]) for i in range(len(points) - 1))


def routes_of(plan: Plan) -> list[RouteDay]:
    """A planner's :class:`Plan` as routes (its assignments by technician, day and start time)."""
    days: dict[tuple[int, date], list] = {}
    for a in sorted(plan.assignments, key=lambda a: (a.technician_id, a.day, a.start_minute)):
        days.setdefault((a.technician_id, a.day), []).extend(a.job_ids)
    return [RouteDay(tech, day, tuple(ids)) for (tech, day), ids in days.items()]


def score(routes: Iterable[RouteDay], jobs: Sequence[Job], technicians: Sequence[Technician],
          settings: Settings) -> Score:
    """The cost of a plan given as routes (see the module docstring); jobs in no route are unplanned."""
    by_id = {j.id: j for j in jobs}
    techs = {t.id: t for t in technicians}
    distances = Distances()
    km = timing = 0.0
    planned: set[int] = set()
    late = 0
    for route in routes:
        stops = [(by_id[i].lat, by_id[i].lon) for i in route.job_ids]
        km += route_travel_km(techs[route.technician_id], stops, distances)
        for job_id in route.job_ids:
            job = by_id[job_id]
            planned.add(job_id)
            timing += timing_cost_h(job, route.day, settings)
            late += route.day > job.due
    left_out = [j for j in jobs if j.id not in planned]
    unplanned = sum(unplanned_cost_h(j, settings) for j in left_out)
    travel = travel_hours(km, settings)
    return Score(round(travel + timing + unplanned, 4), round(travel, 4), round(km * settings.road_factor, 1),
                 round(timing, 4), round(unplanned, 4), sum(j.priority in HIGH_PRIORITIES for j in left_out), late)
