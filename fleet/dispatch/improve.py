"""Step 3b of the planner: improve the greedy week by moving and swapping visits.

The greedy decides one visit at a time and never revisits a decision, so an early choice can block a
better week: a low-priority job due on Monday finds Monday full of high-priority jobs due on Friday
(one day late × 8 h), or a visit goes to a far technician because the near one's day filled before it
came up. ``python -m fleet.dispatch_bench`` measures the gap against the optimum on small weeks.

This pass tries, until nothing improves (at most :data:`MAX_PASSES` rounds):

- to place each job the greedy left unplanned (room may have opened),
- to **move** each visit to the cheapest insertion of another technician-day it may go to,
- to **swap** two visits between technician-days,
- for a visit done late, to **eject**: take an earlier day of a technician who may do it, the least
  pressing visits of that day (up to three) leaving for their cheapest other places,

and keeps a change only when it lowers the week's cost: the objective of
:mod:`fleet.dispatch.objective` (driving, late and day terms) plus the weekly load term as a whole
week's cost, ``week_load_h × Σ_technicians booked² / (2 × available)`` (the sum of the greedy's
per-visit load terms for a week booked in small steps), and a change between technicians may not
make the fuller of them fuller, so the pass does not undo the spreading.
Locked visits move only within their lock (another day when the lock names none); visits a
technician has accepted do not move. Every moved visit records where the first pass had it
(:class:`Move`), which its explanation compares with its final place (:mod:`fleet.dispatch.explain`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

from ..workorders import priority_rank
from .model import Settings, Technician, Visit, travel_hours
from .objective import timing_cost_h, unplanned_cost_h
from .routes import Distances, Route, best_insertion, route_km

#: Rounds over every visit; the bench's weeks settle in two or three.
MAX_PASSES = 2
#: Visits an ejection chain may push out of a day to make room for a late one.
EJECT_LIMIT = 3
#: A change must save at least this much (h, 3 minutes): no visits shuffled, and explained, for nothing.
MIN_SAVING_H = 0.05


@dataclass(frozen=True)
class Move:
    """Where the greedy had a visit (None: unplanned) and what moving it saved in the week's cost (h)."""

    technician_name: str | None
    day: date | None
    saving_h: float
    #: where the first pass had a merged visit's jobs, when they came from several places
    #: (:mod:`fleet.dispatch.rebundle`): "2 of its 3 jobs with Ben Hale on Mon 07 Dec, 1 of its 3 jobs here"
    origin: str = ""
    technician_id: int | None = None  # whom the first pass had it with (None: unplanned, or several places)


def may_go(visit: Visit, tech: Technician, day: date) -> bool:
    """Whether ``visit`` may be planned with ``tech`` on ``day`` (skills, declines, lock, calendar)."""
    if visit.lock is not None:
        if tech.id != visit.lock.technician_id or (visit.lock.day is not None and day != visit.lock.day):
            return False
    elif not visit.skills <= tech.skills or tech.id in visit.declined_by:
        return False
    return (visit.earliest is None or day >= visit.earliest) and tech.works_on(day)


class _Week:
    """The routes being improved, with the cost terms each change needs."""

    def __init__(self, days: dict[tuple[int, date], Route], technicians: Sequence[Technician],
                 settings: Settings, distances: Distances):
        self.days, self.settings, self.distances = days, settings, distances
        for tech in technicians:
            for day in settings.horizon:
                if tech.works_on(day):
                    days.setdefault((tech.id, day), Route(tech, day))
        self.available = {t.id: sum(t.day_hours for d in settings.horizon if t.works_on(d)) for t in technicians}
        self.booked = {t.id: 0.0 for t in technicians}
        self.hours = {key: self.route_h(route) for key, route in days.items()}  # on site plus driving (h)
        for key, hours in self.hours.items():
            self.booked[key[0]] += hours

    def route_h(self, route: Route) -> float:
        """On site plus driving (h)."""
        return route.work_h() + travel_hours(route_km(route, self.distances), self.settings)

    def timing(self, visit: Visit, day: date) -> float:
        return sum(timing_cost_h(job, day, self.settings) for job in visit.jobs)

    def load(self, tech_id: int, booked: float) -> float:
        """The weekly load term of a technician with ``booked`` h (see the module docstring)."""
        available = self.available.get(tech_id) or 1.0
        return self.settings.week_load_h * booked * booked / (2.0 * available)

    def change(self, edits: dict[tuple[int, date], list[Visit]]) -> tuple[float, dict] | None:
        """(cost change h, the new routes' hours) if each route in ``edits`` got those visits
        (in that order), or None when one of them no longer fits its day."""
        delta, hours_by_tech = 0.0, {}
        for key, visits in edits.items():
            old = self.days[key]
            new = Route(old.technician, old.day, visits)
            new_h = self.route_h(new)
            if new_h > old.technician.day_hours + 1e-9:
                return None
            old_h = self.hours[key]
            delta += (new_h - new.work_h()) - (old_h - old.work_h())  # the driving difference
            delta += sum(self.timing(v, old.day) for v in visits) - sum(self.timing(v, old.day) for v in old.visits)
            hours_by_tech[old.technician.id] = hours_by_tech.get(old.technician.id, 0.0) + new_h - old_h
        for tech_id, extra in hours_by_tech.items():
            booked = self.booked[tech_id]
            delta += self.load(tech_id, booked + extra) - self.load(tech_id, booked)
        if self.settings.week_load_h > 0 and len(hours_by_tech) > 1:
            # spreading is the load term's job: never make the fuller of the technicians involved fuller
            before = max(self.booked[t] for t in hours_by_tech)
            if max(self.booked[t] + extra for t, extra in hours_by_tech.items()) > before + 1e-9:
                return None
        return delta, hours_by_tech

    def apply(self, edits: dict[tuple[int, date], list[Visit]], hours_by_tech: dict) -> None:
        for key, visits in edits.items():
            self.days[key].visits[:] = visits
            self.hours[key] = self.route_h(self.days[key])
        for tech_id, extra in hours_by_tech.items():
            self.booked[tech_id] += extra

    def inserted(self, key: tuple[int, date], visits: list[Visit], visit: Visit,
                 current: bool = True) -> list[Visit] | None:
        """``visits`` with ``visit`` at its cheapest place, or None when it does not fit the day.
        ``current``: ``visits`` is the route as it stands, whose driving (which no insertion
        shortens) is known, so a visit with no room even without driving is refused at once."""
        route = self.days[key]
        if sum(v.work_h for v in visits) + visit.work_h > route.technician.day_hours:
            return None  # no room even without driving (checked before the insertion's distances)
        if current and self.hours[key] - route.work_h() + sum(v.work_h for v in visits) + visit.work_h > route.technician.day_hours:
            return None
        spot = best_insertion(Route(route.technician, route.day, visits), visit, self.distances, self.settings)
        if spot is None:
            return None
        return visits[:spot[1]] + [visit] + visits[spot[1]:]


def improve(days: dict[tuple[int, date], Route], unplanned: list[Visit], technicians: Sequence[Technician],
            settings: Settings, distances: Distances) -> dict[int, Move]:
    """Improve ``days`` in place (and take from ``unplanned`` what now fits); returns, by
    ``id(visit)``, where each moved visit was and what its moves saved."""
    week = _Week(days, technicians, settings, distances)
    techs = {t.id: t for t in technicians}
    keys = sorted(days, key=lambda k: (k[1], k[0]))
    allowed: dict[int, list[tuple[int, date]]] = {}

    def places(visit: Visit) -> list[tuple[int, date]]:
        if id(visit) not in allowed:
            committed = visit.lock is not None and visit.lock.committed  # accepted work stays where it is
            allowed[id(visit)] = [] if committed else [k for k in keys if may_go(visit, techs[k[0]], k[1])]
        return allowed[id(visit)]

    moves: dict[int, Move] = {}

    def record(visit: Visit, where: tuple[int, date] | None, saving: float) -> None:
        before = moves.get(id(visit))
        if before is None:
            before = Move(techs[where[0]].name if where else None, where[1] if where else None, 0.0,
                          technician_id=where[0] if where else None)
        moves[id(visit)] = Move(before.technician_name, before.day, before.saving_h + saving, before.origin,
                                before.technician_id)

    for _ in range(MAX_PASSES):
        improved = False
        for visit in list(unplanned):
            best = None
            for key in places(visit):
                visits = week.inserted(key, list(days[key].visits), visit)
                found = visits and week.change({key: visits})
                if found and (best is None or found[0] < best[0]):
                    best = (found[0], key, visits, found[1])
            if best is not None:
                week.apply({best[1]: best[2]}, best[3])
                unplanned.remove(visit)
                record(visit, None, sum(unplanned_cost_h(j, settings) for j in visit.jobs) - best[0])
                improved = True
        for key in keys:
            for visit in list(days[key].visits):
                if visit not in days[key].visits:
                    continue  # swapped away earlier in this round
                where = key
                saving = _relocate(week, days, visit, where, places(visit))
                if saving:
                    record(visit, where, saving)
                    improved = True
                    continue
                swapped = _swap(week, days, keys, visit, where, places) or _eject(week, days, visit, where, places)
                if swapped is not None:
                    saving, others = swapped
                    share = saving / (len(others) + 1)  # the saving is the chain's: shared out
                    record(visit, where, share)
                    for other, other_where in others:
                        record(other, other_where, share)
                    improved = True
        if not improved:
            break
    return moves


def _relocate(week: _Week, days, visit: Visit, where, places) -> float:
    """Move ``visit`` to its best other technician-day when that saves; the saving (h) or 0."""
    rest = [v for v in days[where].visits if v is not visit]
    removed = week.change({where: rest})
    best = None
    for key in places:
        if key == where:
            continue
        # what the move saves at best: the removal's change plus the arrival with no added driving
        arrival = week.timing(visit, key[1]) + week.load(key[0], week.booked[key[0]] + visit.work_h) - \
            week.load(key[0], week.booked[key[0]])
        if key[0] != where[0] and removed[0] + arrival >= -MIN_SAVING_H:  # (one technician: loads do not add)
            continue
        visits = week.inserted(key, list(days[key].visits), visit)
        found = visits and week.change({where: rest, key: visits})
        if found and found[0] < -MIN_SAVING_H and (best is None or found[0] < best[0]):
            best = (found[0], {where: rest, key: visits}, found[1])
    if best is None:
        return 0.0
    week.apply(best[1], best[2])
    return -best[0]


def _swap(week: _Week, days, keys, visit: Visit, where, places) -> tuple[float, list] | None:
    """Exchange ``visit`` with a visit of another technician-day when that saves; (the saving h,
    [(the other visit, where it was)]), or None."""
    mine = set(places(visit))
    rest = [v for v in days[where].visits if v is not visit]
    for key in keys:
        if key == where or key not in mine:
            continue
        for other in list(days[key].visits):
            if where not in places(other):
                continue
            theirs = [v for v in days[key].visits if v is not other]
            here = week.inserted(where, rest, other, current=False)
            there = here and week.inserted(key, theirs, visit, current=False)
            found = there and week.change({where: here, key: there})
            if found and found[0] < -MIN_SAVING_H:
                week.apply({where: here, key: there}, found[1])
                return -found[0], [(other, key)]
    return None


def _eject(week: _Week, days, visit: Visit, where, places) -> tuple[float, list] | None:
    """A late ``visit`` goes to an earlier day of a technician who may do it, whose visits make room:
    the least pressing of them (lowest priority, latest due) leave one by one, up to
    :data:`EJECT_LIMIT`, each to its cheapest other place. (The saving h, [(visit that left, where
    it was)]) when the whole chain lowers the week's cost, else None."""
    if where[1] <= visit.due:
        return None
    for key in places(visit):
        if key[1] >= where[1]:
            continue
        edits = {where: [v for v in days[where].visits if v is not visit], key: list(days[key].visits)}
        ejected = []
        landed = week.inserted(key, edits[key], visit, current=False)
        while landed is None and len(ejected) < EJECT_LIMIT and edits[key]:
            other = min(edits[key], key=lambda v: (priority_rank(v.priority), -v.due.toordinal(), v.jobs[0].id))
            if other.lock is not None and (other.lock.day is not None or other.lock.committed):
                break  # a visit locked to this day, or accepted, stays
            remaining = [v for v in edits[key] if v is not other]
            best = None
            for target in places(other):
                if target == key:
                    continue
                moved = week.inserted(target, edits.get(target, list(days[target].visits)), other,
                                      current=target not in edits)
                found = moved and week.change({**edits, key: remaining, target: moved})
                if found and (best is None or found[0] < best[0]):
                    best = (found[0], target, moved)
            if best is None:
                break
            edits = {**edits, key: remaining, best[1]: best[2]}
            ejected.append((other, key))
            landed = week.inserted(key, remaining, visit, current=False)
        if landed is None:
            continue
        edits[key] = landed
        found = week.change(edits)
        if found and found[0] < -MIN_SAVING_H:
            week.apply(edits, found[1])
            return -found[0], ejected
    return None
