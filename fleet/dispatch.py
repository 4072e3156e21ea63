"""Dispatch planner: who does which job on which day, and why (pure: no SQL, no clock).

Why greedy and not an ILP or a VRP solver: the plan is a *proposal* a service engineer reads,
edits and locks, and each assignment must explain itself in one sentence. A greedy planner
decides one visit at a time for reasons that can be written down ("cheapest qualified technician
with room before the due date"); an optimiser's answer is only "it minimised the objective", and
a small change to the input may reshuffle the whole week. Greedy with cheapest insertion is also
fast enough to re-plan on every change (see ``python -m fleet.dispatch_bench``).

The steps:

1. **Bundle.** Jobs at the same site whose windows ``[earliest, due]`` overlap, whose due dates
   lie within :data:`BUNDLE_WINDOW` of each other, whose combined
   work fits one working day and whose combined skills some technician has (who declined none of them), become one
   :class:`Visit` (a technician drives there once). Locked jobs bundle only with jobs locked the
   same way.
2. **Order.** Locked visits first, then by priority (urgent first), then by due date.
3. **Place.** Each visit goes to the (technician, day, position in that day's route) with the
   lowest cost among technicians who have every skill it needs, did not decline any of its jobs,
   work that day and still have room within their working hours:

   ``cost = added travel hours + LATE_PENALTY_H × days late × priority weight
   + DAY_PREFERENCE_H × day index × priority weight + LOAD_BALANCE_H × hours already planned that day``

   Travel is the great-circle distance times :data:`ROAD_FACTOR` at :data:`SPEED_KM_H`, from home
   or the previous visit, and back home at the end of the day, inside the working hours. Insertion
   may go anywhere in the day's route (cheapest insertion), so the route stays short whatever order
   the visits were decided in.
4. **Explain.** Once the week is built, every assignment says which skills matched, where the
   technician comes from (home or the previous job) and how far, why that day, and how much
   dearer the runner-up technician would have been.

A lock (:class:`Lock`) fixes a job to a technician and optionally a day; re-planning keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Sequence

from .maintenance import haversine_km
from .workorders import priority_rank

ROAD_FACTOR = 1.3  # road distance / great-circle distance, typical for UK regional roads
SPEED_KM_H = 60.0  # average road speed of a service van
LATE_PENALTY_H = 8.0  # one day late costs as much as a day's driving (× priority weight)
DAY_PREFERENCE_H = 0.25  # each day's delay costs this much (× priority weight): urgent goes first
LOAD_BALANCE_H = 0.1  # per hour already planned that day: spreads work when travel ties
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
    """An engineer's decision: ``job_id`` goes to ``technician_id`` (on ``day`` when given)."""

    job_id: int
    technician_id: int
    day: date | None = None


@dataclass(frozen=True)
class Settings:
    start: date
    days: int = 5
    bundling: bool = True
    road_factor: float = ROAD_FACTOR
    speed_km_h: float = SPEED_KM_H

    @property
    def horizon(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class Visit:
    """One stop of a technician: one or more jobs at the same site."""

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

    @property
    def skills(self) -> frozenset[str]:
        return frozenset().union(*(j.skills for j in self.jobs))

    @property
    def work_h(self) -> float:
        return sum(j.duration_h for j in self.jobs)

    @property
    def due(self) -> date:
        return min(j.due for j in self.jobs)

    @property
    def earliest(self) -> date | None:
        days = [j.earliest for j in self.jobs if j.earliest is not None]
        return max(days) if days else None

    @property
    def priority(self) -> str:
        return max((j.priority for j in self.jobs), key=priority_rank)

    @property
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

    @property
    def late_jobs(self) -> int:
        return sum(len(a.late_job_ids) for a in self.assignments)

    @property
    def utilization(self) -> float:
        """Share of the technicians' working hours spent working on site (travel excluded)."""
        return self.work_h / self.available_h if self.available_h else 0.0

    def for_job(self, job_id: int) -> Assignment | None:
        return next((a for a in self.assignments if job_id in a.job_ids), None)


# --- travel ----------------------------------------------------------------------------------------

def travel_hours(distance_km: float, settings: Settings) -> float:
    """Driving time (h) for a great-circle distance (km), on roads."""
    return distance_km * settings.road_factor / settings.speed_km_h


# --- bundling --------------------------------------------------------------------------------------

def bundle(jobs: Sequence[Job], technicians: Sequence[Technician], locks: dict[int, Lock],
           enabled: bool = True) -> list[Visit]:
    """Group jobs into visits (see the module docstring, step 1)."""
    longest_day = max((t.day_hours for t in technicians), default=0.0)
    groups: dict[tuple, list[Job]] = {}
    for job in sorted(jobs, key=lambda j: (j.due, -priority_rank(j.priority), j.id)):
        lock = locks.get(job.id)
        key = (job.site, lock.technician_id if lock else None, lock.day if lock else None)
        groups.setdefault(key if enabled else (job.id,), []).append(job)
    visits: list[Visit] = []
    for key, members in groups.items():
        lock = locks.get(members[0].id)
        current: list[Job] = []
        for job in members:
            candidate = current + [job]
            window_open = max((j.earliest for j in candidate if j.earliest), default=None)
            first_due = min(j.due for j in candidate)
            fits = (current and (window_open is None or window_open <= first_due)
                    and max(j.due for j in candidate) - first_due <= BUNDLE_WINDOW
                    and sum(j.duration_h for j in candidate) <= longest_day
                    and _someone_can_do(candidate, technicians))
            if fits:
                current = candidate
            else:
                if current:
                    visits.append(Visit(tuple(current), lock))
                current = [job]
        if current:
            visits.append(Visit(tuple(current), lock))
    return visits


def _someone_can_do(jobs: Sequence[Job], technicians: Sequence[Technician]) -> bool:
    """Whether a technician has every skill of ``jobs`` and declined none of them."""
    skills = frozenset().union(*(j.skills for j in jobs))
    declined = frozenset().union(*(j.declined_by for j in jobs))
    return any(skills <= t.skills and t.id not in declined for t in technicians)


# --- placing ----------------------------------------------------------------------------------------

@dataclass
class _Day:
    """One technician's route on one day (visits in driving order)."""

    technician: Technician
    day: date
    visits: list[Visit] = field(default_factory=list)

    def stops(self) -> list[tuple[float, float]]:
        home = (self.technician.home_lat, self.technician.home_lon)
        return [home] + [(v.lat, v.lon) for v in self.visits] + [home]

    def work_h(self) -> float:
        return sum(v.work_h for v in self.visits)


class _Distances:
    """Memoised great-circle distances between points (km)."""

    def __init__(self):
        self._cache: dict[tuple, float] = {}

    def km(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        key = (a, b) if a <= b else (b, a)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = haversine_km(a[0], a[1], b[0], b[1])
        return value


def _route_km(day: _Day, distances: _Distances) -> float:
    stops = day.stops()
    return sum(distances.km(stops[i], stops[i + 1]) for i in range(len(stops) - 1))


def _best_insertion(day: _Day, visit: Visit, distances: _Distances, settings: Settings) -> tuple[float, int] | None:
    """(added great-circle km, position) of the cheapest feasible insertion, or None if it does not fit."""
    stops = day.stops()
    point = (visit.lat, visit.lon)
    base_km = _route_km(day, distances)
    best: tuple[float, int] | None = None
    for position in range(len(stops) - 1):
        added = (distances.km(stops[position], point) + distances.km(point, stops[position + 1])
                 - distances.km(stops[position], stops[position + 1]))
        if best is None or added < best[0]:
            best = (added, position)
    if best is None:
        return None
    total_h = day.work_h() + visit.work_h + travel_hours(base_km + best[0], settings)
    return best if total_h <= day.technician.day_hours + 1e-9 else None


@dataclass(frozen=True)
class _Option:
    cost: float
    technician: Technician
    day: date
    position: int
    added_km: float
    late_days: int


def _options(visit: Visit, technicians: Sequence[Technician], days: dict[tuple[int, date], _Day],
             distances: _Distances, settings: Settings) -> list[_Option]:
    weight = PRIORITY_WEIGHT.get(visit.priority, 1.0)
    earliest = visit.earliest
    options = []
    for tech in technicians:
        if visit.lock is not None and tech.id != visit.lock.technician_id:
            continue
        if visit.lock is None and (not visit.skills <= tech.skills or tech.id in visit.declined_by):
            continue
        for index, day in enumerate(settings.horizon):
            if visit.lock is not None and visit.lock.day is not None and day != visit.lock.day:
                continue
            if (earliest is not None and day < earliest) or not tech.works_on(day):
                continue
            route = days.setdefault((tech.id, day), _Day(tech, day))
            insertion = _best_insertion(route, visit, distances, settings)
            if insertion is None:
                continue
            added_km, position = insertion
            late = max(0, (day - visit.due).days)
            cost = (travel_hours(added_km, settings) + LATE_PENALTY_H * late * weight
                    + DAY_PREFERENCE_H * index * weight + LOAD_BALANCE_H * route.work_h())
            options.append(_Option(cost, tech, day, position, added_km, late))
    return options


def _no_option_reason(visit: Visit, technicians: Sequence[Technician], settings: Settings) -> str:
    if visit.lock is not None:
        when = f" on {visit.lock.day:%a %d %b}" if visit.lock.day else ""
        return f"locked to technician {visit.lock.technician_id}{when}, who has no room or does not work then"
    qualified = [t for t in technicians if visit.skills <= t.skills]
    if not qualified:
        return f"no technician has all of the skills {', '.join(sorted(visit.skills))}"
    if all(t.id in visit.declined_by for t in qualified):
        return "every qualified technician has declined it"
    return (f"no qualified technician has {visit.work_h:.1f} h of room (plus travel) between "
            f"{settings.start:%a %d %b} and {settings.horizon[-1]:%a %d %b}")


def plan(jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings,
         locks: Iterable[Lock] = ()) -> Plan:
    """Propose who does which job on which day over ``settings.days`` days from ``settings.start``.

    Parameters
    ----------
    jobs : sequence of Job
        Open (not yet accepted) work orders.
    technicians : sequence of Technician
    settings : Settings
        Horizon, bundling on/off, road factor and speed.
    locks : iterable of Lock
        Kept as given (a lock on an unknown job is ignored).

    Returns
    -------
    Plan
        Assignments with explanations, jobs that could not be placed (with the reason), travel km,
        on-site hours and available hours.
    """
    lock_by_job = {lock.job_id: lock for lock in locks}
    visits = bundle(jobs, technicians, lock_by_job, settings.bundling)
    visits.sort(key=lambda v: (v.lock is None, -priority_rank(v.priority), v.due, v.jobs[0].id))
    distances = _Distances()
    days: dict[tuple[int, date], _Day] = {}
    decisions: dict[int, tuple[_Option, _Option | None, int]] = {}  # id(visit) -> (chosen, runner-up, qualified)
    unplanned: list[Unplanned] = []
    queue = list(reversed(visits))  # popped from the end: first visit first
    while queue:
        visit = queue.pop()
        options = _options(visit, technicians, days, distances, settings)
        if not options and len(visit.jobs) > 1:
            # No room for the whole bundle anywhere: its jobs try on their own, in the same order.
            queue.extend(Visit((job,), visit.lock) for job in reversed(visit.jobs))
            continue
        if not options:
            unplanned.append(Unplanned(tuple(j.id for j in visit.jobs), _no_option_reason(visit, technicians, settings)))
            continue
        options.sort(key=lambda o: (o.cost, o.day, o.technician.id))
        chosen = options[0]
        runner_up = next((o for o in options if o.technician.id != chosen.technician.id), None)
        days[(chosen.technician.id, chosen.day)].visits.insert(chosen.position, visit)
        decisions[id(visit)] = (chosen, runner_up, len({o.technician.id for o in options}))
    return _finish(days, decisions, unplanned, technicians, distances, settings)


def _finish(days, decisions, unplanned, technicians, distances, settings) -> Plan:
    """Times, distances and explanations from the final routes."""
    assignments: list[Assignment] = []
    total_km = work_h = 0.0
    for (_, day), route in sorted(days.items(), key=lambda item: (item[0][1], item[0][0])):
        if not route.visits:
            continue
        tech = route.technician
        total_km += _route_km(route, distances) * settings.road_factor
        minute = float(tech.start_minute)
        previous, previous_name = (tech.home_lat, tech.home_lon), f"home ({tech.home_name})"
        for visit in route.visits:
            km = distances.km(previous, (visit.lat, visit.lon)) * settings.road_factor
            minute += km / settings.speed_km_h * 60.0
            start = minute
            minute += visit.work_h * 60.0
            work_h += visit.work_h
            chosen, runner_up, qualified = decisions[id(visit)]
            assignments.append(Assignment(
                technician_id=tech.id, technician_name=tech.name, day=day, start_minute=round(start),
                end_minute=round(minute), job_ids=tuple(j.id for j in visit.jobs), site=visit.site,
                travel_km=round(km, 1), late_days=chosen.late_days,
                late_job_ids=tuple(j.id for j in visit.jobs if day > j.due), locked=visit.lock is not None,
                reason=explain(visit, tech, day, km, previous_name, chosen, runner_up, qualified, settings)))
            previous, previous_name = (visit.lat, visit.lon), f"the previous job at {visit.site_name}"
    available = sum(t.day_hours for t in technicians for d in settings.horizon if t.works_on(d))
    return Plan(assignments, unplanned, round(total_km, 1), round(work_h, 2), round(available, 2))


def explain(visit: Visit, tech: Technician, day: date, km: float, came_from: str, chosen: _Option,
            runner_up: _Option | None, qualified: int, settings: Settings) -> str:
    """Why this technician and this day, in plain words."""
    jobs = len(visit.jobs)
    what = f"{jobs} jobs at {visit.site_name} bundled into one visit" if jobs > 1 else f"job at {visit.site_name}"
    if visit.lock is not None:
        who = f"{tech.name}: locked by the service engineer"
    else:
        skills = ", ".join(sorted(visit.skills)) or "no special"
        who = f"{tech.name}: has the {skills} skills needed"
        if runner_up is not None:
            who += f"; best of {qualified} qualified technicians with room (next best {runner_up.technician.name}"
            extra_km = (runner_up.added_km - chosen.added_km) * settings.road_factor
            if runner_up.day != day:
                who += f" on {runner_up.day:%a %d %b}"
            who += f", {extra_km:.0f} km more driving)" if extra_km >= 1 else ")"
        elif qualified > 1:  # the round-robin baseline, which weighs no alternatives
            who += f"; next in turn among {qualified} qualified technicians"
        else:
            who += "; the only qualified technician with room"
        declined = sorted(visit.declined_by)
        if declined:
            who += f"; declined earlier by technician{'s' if len(declined) > 1 else ''} {', '.join(map(str, declined))}"
    route = f"{km:.0f} km ({travel_hours(km / settings.road_factor, settings) * 60:.0f} min) from {came_from}"
    if chosen.late_days > 0:
        when = (f"{day:%a %d %b}: {chosen.late_days} day{'s' if chosen.late_days > 1 else ''} after the due date "
                f"{visit.due:%a %d %b}, ")
        when += ("already overdue when this plan starts; the first day with room" if visit.due < settings.start
                 else "the first day a qualified technician had room")
    elif visit.lock is not None and visit.lock.day is not None:
        when = f"{day:%a %d %b}: the locked day"
    else:
        when = f"{day:%a %d %b}: due {visit.due:%a %d %b}, {visit.priority} priority"
        if visit.earliest and day == visit.earliest:
            when += ", first day it may be done"
    return f"{what}. {who}. {route}. {when}."


def round_robin(jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings) -> Plan:
    """The baseline a dispatcher without a planner uses: jobs by due date, each to the next
    qualified technician in turn on the first day with room, appended to the end of the day."""
    distances = _Distances()
    days: dict[tuple[int, date], _Day] = {}
    decisions: dict[int, tuple[_Option, None, int]] = {}
    unplanned: list[Unplanned] = []
    turn = 0
    for job in sorted(jobs, key=lambda j: (j.due, j.id)):
        visit = Visit((job,))
        qualified = [t for t in technicians if job.skills <= t.skills and t.id not in job.declined_by]
        placed = False
        for offset in range(len(qualified)):
            tech = qualified[(turn + offset) % len(qualified)]
            for day in settings.horizon:
                if (job.earliest and day < job.earliest) or not tech.works_on(day):
                    continue
                route = days.setdefault((tech.id, day), _Day(tech, day))
                km = _route_km(_Day(tech, day, route.visits + [visit]), distances)
                if route.work_h() + visit.work_h + travel_hours(km, settings) <= tech.day_hours:
                    route.visits.append(visit)
                    decisions[id(visit)] = (_Option(0.0, tech, day, len(route.visits), 0.0,
                                                    max(0, (day - job.due).days)), None, len(qualified))
                    placed = True
                    break
            if placed:
                turn = (turn + offset + 1) % len(qualified)
                break
        if not placed:
            unplanned.append(Unplanned((job.id,), _no_option_reason(visit, technicians, settings)))
    return _finish(days, decisions, unplanned, technicians, distances, settings)


def week_start(today: date) -> date:
    """The Monday of ``today``'s week."""
    return today - timedelta(days=today.isoweekday() - 1)


__all__ = ["Job", "Technician", "Lock", "Settings", "Visit", "Assignment", "Unplanned", "Plan", "plan", "bundle",
           "round_robin", "travel_hours", "explain", "week_start"]
