"""The dispatch planner's data: jobs, technicians, locks, settings, visits and the plan (frozen
dataclasses, no behaviour beyond derived properties), the planning constants and travel time."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, timedelta

from ..workorders import priority_rank

ROAD_FACTOR = 1.3  # road distance / great-circle distance, typical for UK regional roads
SPEED_KM_H = 60.0  # average road speed of a service van
LATE_PENALTY_H = 8.0  # one day late costs as much as a day's driving (× priority weight)
DAY_PREFERENCE_H = 0.25  # each day's delay costs this much (× priority weight): urgent goes first
LOAD_BALANCE_H = 0.1  # per hour already planned that day: spreads work when travel ties
#: The weekly load term: a technician whose working hours in the horizon are fully booked (on site
#: plus driving) costs this much more (h) than an idle one, in proportion to the booked share, so
#: work spreads over the team instead of filling the best-placed technician's every day. A full
#: week weighs as much as one day late on a low-priority job (LATE_PENALTY_H).
WEEK_LOAD_H = 8.0
#: Jobs at one site bundle when their due dates are this close: a job may be done up to this much
#: early to save a second trip, never later than its own due date.
BUNDLE_WINDOW = timedelta(days=2)
PRIORITY_WEIGHT = {"low": 1.0, "medium": 2.0, "high": 4.0, "urgent": 8.0}


@dataclass(frozen=True)
class Job:
    """A work order waiting to be dispatched.

    Attributes
    ----------
    duration_h : float
        Work on site, hours (travel excluded).
    earliest, due : date
        First day the job may be done; the day it should be done by.
    declined_by : frozenset of int
        Technicians who declined it; never proposed again.
    """

    id: int
    site: str
    site_name: str
    lat: float
    lon: float
    skills: frozenset[str]
    duration_h: float
    priority: str
    due: date
    earliest: date | None = None
    title: str = ""
    declined_by: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Technician:
    """A technician's planning data: skills, home base, hours (minutes after midnight), calendar."""

    id: int
    name: str
    skills: frozenset[str]
    home_name: str
    home_lat: float
    home_lon: float
    start_minute: int = 8 * 60
    end_minute: int = 17 * 60
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO: 1 = Monday
    days_off: frozenset[date] = frozenset()

    @property
    def day_hours(self) -> float:
        return (self.end_minute - self.start_minute) / 60.0

    def works_on(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays and day not in self.days_off


@dataclass(frozen=True)
class Lock:
    """An engineer's decision: ``job_id`` goes to ``technician_id`` (on ``day`` when given).

    ``committed``: the technician has accepted the job (or started it). It is placed before
    everything else, on its day even when that day is over-full (it is never left out or moved by
    the plan), and the rest of the week fits around it.
    """

    job_id: int
    technician_id: int
    day: date | None = None
    committed: bool = False


@dataclass(frozen=True)
class Settings:
    start: date
    days: int = 5
    bundling: bool = True
    road_factor: float = ROAD_FACTOR
    speed_km_h: float = SPEED_KM_H
    week_load_h: float = WEEK_LOAD_H  # 0: no weekly load term (the planner before it had one)
    improve: bool = True  # False: the greedy's first pass only (step 3b, fleet.dispatch.improve, off)
    #: When jobs at one site become one visit (with bundling and the improvement pass on;
    #: fleet.dispatch.rebundle): "after": every job is planned and improved on its own and the jobs
    #: that end up at one stop are one visit; "split": bundles are placed whole, then the improvement
    #: pass moves single jobs (out of a bundle too) and they are bundled again; "before": bundles
    #: placed and moved only whole (the planner before); "best" (the default): "after" and "before"
    #: both, the cheaper week (cost plus load term, planner.week_cost_h) is the plan
    bundle_stage: str = "best"

    @property
    def horizon(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class Visit:
    """One stop of a technician: one or more jobs at the same site (the derived values are
    cached: the improvement pass reads them a million times on the bench's week)."""

    jobs: tuple[Job, ...]
    lock: Lock | None = None

    @property
    def site(self) -> str:
        return self.jobs[0].site

    @property
    def site_name(self) -> str:
        return self.jobs[0].site_name

    @property
    def lat(self) -> float:
        return self.jobs[0].lat

    @property
    def lon(self) -> float:
        return self.jobs[0].lon

    @cached_property
    def skills(self) -> frozenset[str]:
        return frozenset().union(*(j.skills for j in self.jobs))

    @cached_property
    def work_h(self) -> float:
        return sum(j.duration_h for j in self.jobs)

    @cached_property
    def due(self) -> date:
        return min(j.due for j in self.jobs)

    @cached_property
    def earliest(self) -> date | None:
        days = [j.earliest for j in self.jobs if j.earliest is not None]
        return max(days) if days else None

    @cached_property
    def priority(self) -> str:
        return max((j.priority for j in self.jobs), key=priority_rank)

    @cached_property
    def declined_by(self) -> frozenset[int]:
        return frozenset().union(*(j.declined_by for j in self.jobs))


@dataclass(frozen=True)
class Assignment:
    """A visit placed in the plan, with its explanation."""

    technician_id: int
    technician_name: str
    day: date
    start_minute: int
    end_minute: int
    job_ids: tuple[int, ...]
    site: str
    travel_km: float  # from the previous stop (home or the previous visit)
    late_days: int  # days after the earliest due date of its jobs (0 when on time)
    late_job_ids: tuple[int, ...]
    locked: bool
    reason: str
    committed: bool = False  # accepted by the technician: the plan keeps it where it is
    #: the kinds of reason ``reason`` gives (fleet.dispatch.explain.TECHNICIAN_KINDS, DAY_KINDS,
    #: "bundled", "moved"): what the bench counts
    reason_kinds: tuple[str, ...] = ()
    placed_by: str = "first pass"  # or "improvement pass": which pass put it where it is


@dataclass(frozen=True)
class Unplanned:
    job_ids: tuple[int, ...]
    reason: str


@dataclass
class Plan:
    assignments: list[Assignment]
    unplanned: list[Unplanned]
    travel_km: float  # all driving, including the way home each day
    work_h: float
    available_h: float
    #: technician id -> hours booked in the horizon: on site plus all driving (every technician,
    #: 0 when idle)
    booked_h: dict[int, float] = field(default_factory=dict)

    @property
    def late_jobs(self) -> int:
        return sum(len(a.late_job_ids) for a in self.assignments)

    @property
    def utilization(self) -> float:
        """Share of the technicians' working hours spent working on site (travel excluded)."""
        return self.work_h / self.available_h if self.available_h else 0.0

    def for_job(self, job_id: int) -> Assignment | None:
        return next((a for a in self.assignments if job_id in a.job_ids), None)


def travel_hours(distance_km: float, settings: Settings) -> float:
    """Driving time (h) for a great-circle distance (km), on roads."""
    return distance_km * settings.road_factor / settings.speed_km_h
