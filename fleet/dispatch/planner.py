"""Steps 2 and 3 of the planner (order the visits, place each at its cheapest insertion), the
times and explanations of the final routes (:mod:`fleet.dispatch.explain`), and the round-robin
baseline."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Iterable, Sequence

from ..workorders import priority_rank
from .bundling import bundle
from .explain import FinalWeek, Why, explain
from .improve import Move, improve
from .objective import routes_of, score
from .rebundle import first_place, rebundle, unbundle
from .model import (DAY_PREFERENCE_H, LATE_PENALTY_H, LOAD_BALANCE_H, PRIORITY_WEIGHT, Assignment, Job, Lock,
                    Plan, Settings, Technician, Unplanned, Visit, travel_hours)
from .routes import Distances, Option, Route, WeekLoad, best_insertion, route_km


def _options(visit: Visit, technicians: Sequence[Technician], days: dict[tuple[int, date], Route],
             distances: Distances, settings: Settings, load: WeekLoad, check_room: bool = True) -> list[Option]:
    weight = PRIORITY_WEIGHT.get(visit.priority, 1.0)
    committed = visit.lock is not None and visit.lock.committed
    earliest = None if committed else visit.earliest  # the day the technician accepted it for holds
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
            route = days.setdefault((tech.id, day), Route(tech, day))
            insertion = best_insertion(route, visit, distances, settings, check_room)
            if insertion is None:
                continue
            added_km, position = insertion
            late = max(0, (day - visit.due).days)
            load_cost = settings.week_load_h * load.share(tech.id)
            cost = (travel_hours(added_km, settings) + LATE_PENALTY_H * late * weight
                    + DAY_PREFERENCE_H * index * weight + LOAD_BALANCE_H * route.work_h() + load_cost)
            options.append(Option(cost, tech, day, position, added_km, late, load_cost, load.booked_h(tech.id)))
    return options


def _placing_order(visit: Visit) -> tuple:
    """Step 2's order: accepted first, then locked, then urgent before low, then the earliest due date."""
    return (not (visit.lock is not None and visit.lock.committed), visit.lock is None, -priority_rank(visit.priority),
            visit.due, visit.jobs[0].id)


def _no_option_reason(visit: Visit, technicians: Sequence[Technician], settings: Settings) -> str:
    if visit.lock is not None:
        when = f" on {visit.lock.day:%a %d %b}" if visit.lock.day else ""
        if visit.lock.committed:
            return f"accepted by technician {visit.lock.technician_id}{when}, who does not work then"
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
    locks = list(locks)
    stage = settings.bundle_stage if settings.bundling and settings.improve else "before"
    if stage != "best":
        return _finish(*_build(jobs, technicians, replace(settings, bundle_stage=stage), locks))
    # two candidate weeks; the cheaper is proposed, and explained (on its own final routes)
    candidates = [_build(jobs, technicians, replace(settings, bundle_stage=s), locks) for s in ("after", "before")]
    cheaper = min(candidates, key=lambda built: week_cost_h(_finish(*built, explained=False), jobs, technicians,
                                                            settings))
    return _finish(*cheaper)


def _build(jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings, locks: list[Lock]) -> tuple:
    """Steps 1 to 3b for one ``settings.bundle_stage`` (not ``"best"``): the arguments of
    :func:`_finish` (final routes, unplanned, technicians, distances, settings, first places)."""
    stage = settings.bundle_stage
    lock_by_job = {lock.job_id: lock for lock in locks}
    visits = bundle(jobs, technicians, lock_by_job, stage in ("before", "split") and settings.bundling)
    visits.sort(key=_placing_order)
    distances = Distances()
    load = WeekLoad(technicians, settings)
    days: dict[tuple[int, date], Route] = {}
    left_out: list[Visit] = []
    queue = list(reversed(visits))  # popped from the end: first visit first
    while queue:
        visit = queue.pop()
        options = _options(visit, technicians, days, distances, settings, load)
        if not options and visit.lock is not None and visit.lock.committed:
            # accepted work stays on its day even when the day is over-full: the plan does not drop it
            options = _options(visit, technicians, days, distances, settings, load, check_room=False)
        if not options and len(visit.jobs) > 1:
            # No room for the whole bundle anywhere: its jobs try on their own, each in its own place
            # of the order (a low-priority job of an urgent bundle waits for the high ones again)
            queue.extend(Visit((job,), visit.lock) for job in visit.jobs)
            queue.sort(key=_placing_order, reverse=True)
            continue
        if not options:
            left_out.append(visit)
            continue
        # equal cost (same home, same route): the technician with the lighter week, then the day
        # (with the load term off, as the planner was before it: the day, then the technician)
        lighter = settings.week_load_h > 0
        options.sort(key=lambda o: (o.cost, o.booked_h if lighter else 0.0, o.day, o.technician.id))
        chosen = options[0]
        days[(chosen.technician.id, chosen.day)].visits.insert(chosen.position, visit)
        # the insertion's added km is exactly how much longer the route got: booked = on site + all driving
        load.book(chosen.technician.id, visit.work_h + travel_hours(chosen.added_km, settings))
    if stage == "split":
        unbundle(days)  # the improvement pass may take a job out of its bundle
    moves = improve(days, left_out, technicians, settings, distances) if settings.improve else {}
    members = rebundle(days) if stage != "before" else {}  # the jobs that ended up at one stop are one visit
    first_places = {}
    for (tech_id, day), route in days.items():
        for visit in route.visits:
            first_places[id(visit)] = first_place(visit, members.get(id(visit), (visit,)), moves, tech_id, day)
    unplanned = [Unplanned(tuple(j.id for j in v.jobs), _no_option_reason(v, technicians, settings)) for v in left_out]
    return days, unplanned, technicians, distances, settings, first_places


def week_cost_h(week: Plan, jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings) -> float:
    """What the improvement pass minimises, for a whole plan (h): the week's cost
    (:func:`fleet.dispatch.objective.score`) plus the weekly load term over the final booked hours,
    ``week_load_h × Σ booked² / (2 × available)`` (:mod:`fleet.dispatch.improve`)."""
    load = 0.0
    for tech in technicians:
        available = sum(tech.day_hours for d in settings.horizon if tech.works_on(d)) or 1.0
        load += settings.week_load_h * week.booked_h.get(tech.id, 0.0) ** 2 / (2.0 * available)
    return score(routes_of(week), jobs, technicians, settings).total_h + load


def _finish(days, unplanned, technicians, distances, settings, first_places: dict[int, Move | None] | None = None,
            by_turn: bool = False, explained: bool = True) -> Plan:
    """Times, distances and explanations from the final routes (``first_places``: where the first
    pass had each final visit, by ``id(visit)``, when the improvement pass moved it; ``by_turn``: the
    round-robin baseline, whose technicians are chosen in turn; ``explained=False``: no reasons, for
    a candidate week that is only costed)."""
    assignments: list[Assignment] = []
    total_km = work_h = 0.0
    week = FinalWeek(days, technicians, settings, distances)
    for (_, day), route in sorted(days.items(), key=lambda item: (item[0][1], item[0][0])):
        if not route.visits:
            continue
        tech = route.technician
        total_km += route_km(route, distances) * settings.road_factor
        minute = float(tech.start_minute)
        previous, previous_name = (tech.home_lat, tech.home_lon), f"home ({tech.home_name})"
        for index, visit in enumerate(route.visits):
            km = distances.km(previous, (visit.lat, visit.lon)) * settings.road_factor
            minute += km / settings.speed_km_h * 60.0
            start = minute
            minute += visit.work_h * 60.0
            work_h += visit.work_h
            moved = (first_places or {}).get(id(visit))
            why = explain(week, route, index, previous_name, km, moved, by_turn) if explained else Why("", ())
            assignments.append(Assignment(
                technician_id=tech.id, technician_name=tech.name, day=day, start_minute=round(start),
                end_minute=round(minute), job_ids=tuple(j.id for j in visit.jobs), site=visit.site,
                travel_km=round(km, 1), late_days=max(0, (day - visit.due).days),
                late_job_ids=tuple(j.id for j in visit.jobs if day > j.due), locked=visit.lock is not None,
                committed=visit.lock is not None and visit.lock.committed, reason=why.text, reason_kinds=why.kinds,
                placed_by="improvement pass" if moved is not None else "first pass"))
            previous, previous_name = (visit.lat, visit.lon), f"the previous job at {visit.site_name}"
    available = sum(t.day_hours for t in technicians for d in settings.horizon if t.works_on(d))
    return Plan(assignments, unplanned, round(total_km, 1), round(work_h, 2), round(available, 2),
                {tech_id: round(hours, 2) for tech_id, hours in week.booked.items()})


def round_robin(jobs: Sequence[Job], technicians: Sequence[Technician], settings: Settings) -> Plan:
    """The baseline a dispatcher without a planner uses: jobs by due date, each to the next
    qualified technician in turn on the first day with room, appended to the end of the day."""
    distances = Distances()
    days: dict[tuple[int, date], Route] = {}
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
                route = days.setdefault((tech.id, day), Route(tech, day))
                km = route_km(Route(tech, day, route.visits + [visit]), distances)
                if route.work_h() + visit.work_h + travel_hours(km, settings) <= tech.day_hours:
                    route.visits.append(visit)
                    placed = True
                    break
            if placed:
                turn = (turn + offset + 1) % len(qualified)
                break
        if not placed:
            unplanned.append(Unplanned((job.id,), _no_option_reason(visit, technicians, settings)))
    return _finish(days, unplanned, technicians, distances, settings, by_turn=True)
