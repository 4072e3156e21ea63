"""Step 4 of the planner: each visit of the final week in a dispatcher's words.

Why from the final week, and not from the decision that placed the visit: most visits of a real
week are placed by the improvement pass or merged after it (on the bench's 500-job week 262 of 376),
and "moved here by the improvement pass: the week costs 0.7 h less" tells a dispatcher nothing they
can check. So every visit says, whichever pass placed it, and with every figure measured on the
final routes:

- **why this day**: its due date and priority and whether it is on time; when late, why no earlier
  day: every qualified technician is full on the earlier days (each one's final route on that day
  has no room for it), it was overdue before the week began, or its earliest day is after its due
  date;
- **why this technician**: the nearest of the qualified technicians that day (the stop's detour on
  the route against what it would add to each other qualified technician's route that day), or who
  is nearer and why not them (no room that day; or they would then have a fuller week than this
  technician, which the planner's load rule does not allow); where the technician comes from and
  how far; how much of their week is booked;
- **what bundling saved**: the jobs that share the stop and the detour driven once instead of once
  per job;
- **what the improvement pass changed**, only when it says something the rest does not: where the
  first pass had the visit and what that place would cost now (more driving, later, a fuller week).

Each explanation also carries its *kinds* (:data:`TECHNICIAN_KINDS`, :data:`DAY_KINDS`), which the
bench counts. A kind ``... (not explained)`` is a visit whose plan the planner's rules do not account
for (a nearer technician with room and a lighter week, or an earlier day with room): the sentence then
says so plainly instead of inventing a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from .improve import Move
from .model import Settings, Technician, Visit, travel_hours
from .routes import Distances, Route, best_insertion, route_km
from ..wording import counted

#: Why this technician, as counted by the bench.
TECHNICIAN_KINDS = ("nearest qualified", "only qualified", "nearer ones full", "nearer ones busier",
                    "nearer with room (not explained)", "next in turn", "locked", "accepted")
#: Why this day.
DAY_KINDS = ("on time", "late: earlier days full", "late: earlier room, fuller week", "late: overdue before the week",
             "late: earliest day after due", "late: earlier room (not explained)", "locked day", "accepted day")
#: Distances within this much (km on roads) count as the same.
SAME_KM = 1.0


@dataclass(frozen=True)
class Why:
    """A visit's explanation and the kinds of reason it gives (for counting)."""

    text: str
    kinds: tuple[str, ...]


class FinalWeek:
    """The final routes, with what the explanations measure on them.

    Parameters
    ----------
    days : dict
        ``(technician id, day) -> Route``, the final week.
    technicians : sequence of Technician
    settings : Settings
    distances : Distances
    """

    def __init__(self, days: dict[tuple[int, date], Route], technicians: Sequence[Technician], settings: Settings,
                 distances: Distances):
        self.days, self.technicians, self.settings, self.distances = days, list(technicians), settings, distances
        self.booked = {t.id: 0.0 for t in technicians}
        for route in days.values():
            self.booked[route.technician.id] += self.route_h(route)
        self.available = {t.id: sum(t.day_hours for d in settings.horizon if t.works_on(d)) for t in technicians}

    def route_h(self, route: Route) -> float:
        """On site plus driving (h)."""
        return route.work_h() + travel_hours(route_km(route, self.distances), self.settings)

    def route(self, tech: Technician, day: date) -> Route:
        return self.days.get((tech.id, day)) or Route(tech, day)

    def detour_km(self, route: Route, index: int) -> float:
        """Road km the ``index``-th visit adds to its route (to it and on, minus the direct way)."""
        stops = route.stops()
        before, here, after = stops[index], stops[index + 1], stops[index + 2]
        km = self.distances.km(before, here) + self.distances.km(here, after) - self.distances.km(before, after)
        return km * self.settings.road_factor

    def insertion(self, tech: Technician, day: date, visit: Visit) -> tuple[float, bool, float] | None:
        """(road km ``visit`` would add to ``tech``'s final route on ``day``, whether it fits the
        working day, the technician's booked hours with it), or None when they do not work then."""
        if not tech.works_on(day) or day not in self.settings.horizon:
            return None
        route = self.route(tech, day)
        added, _ = best_insertion(route, visit, self.distances, self.settings, check_room=False)
        day_h = self.route_h(route) + visit.work_h + travel_hours(added, self.settings)
        booked = self.booked.get(tech.id, 0.0) + visit.work_h + travel_hours(added, self.settings)
        return added * self.settings.road_factor, day_h <= tech.day_hours + 1e-9, booked

    def fuller(self, other: Technician, other_booked: float, tech: Technician) -> bool:
        """Whether ``other`` with ``other_booked`` h would have a fuller week than ``tech`` has now, in
        hours or as a share of their working hours: what the improvement pass's load term and its
        rule (a move may not make the fuller technician fuller) keep it from doing."""
        mine = self.booked.get(tech.id, 0.0)
        if other_booked > mine + 1e-9:
            return True
        theirs, own = self.available.get(other.id, 0.0), self.available.get(tech.id, 0.0)
        return bool(theirs and own) and other_booked / theirs > mine / own + 1e-9

    def week_words(self, tech: Technician, booked: float | None = None) -> str:
        """``38.5 of 45 h``: booked hours of the week (now, or ``booked``) and working hours."""
        hours = self.booked.get(tech.id, 0.0) if booked is None else booked
        return f"{hours:.1f} of {self.available.get(tech.id, 0.0):.0f} h"

    def eligible(self, visit: Visit) -> list[Technician]:
        """Who may do ``visit``: its lock's technician, else everybody with its skills who declined none of it."""
        if visit.lock is not None:
            return [t for t in self.technicians if t.id == visit.lock.technician_id]
        return [t for t in self.technicians if visit.skills <= t.skills and t.id not in visit.declined_by]


def explain(week: FinalWeek, route: Route, index: int, came_from: str, km_from: float,
            moved: Move | None = None, by_turn: bool = False) -> Why:
    """The explanation of the ``index``-th visit of ``route`` (``came_from``: "home (Leeds)" or "the
    previous job at …", ``km_from`` road km from there; ``moved``: where the first pass had it, when
    the improvement pass moved it; ``by_turn``: the round-robin baseline, whose reason is its turn)."""
    visit, tech, day = route.visits[index], route.technician, route.day
    detour = week.detour_km(route, index)
    when, day_kind = _why_day(week, visit, tech, day)
    who, tech_kind = _why_technician(week, visit, tech, day, detour, by_turn)
    kinds = [tech_kind, day_kind]
    jobs = len(visit.jobs)
    if jobs > 1:
        what = (f"{jobs} jobs at {visit.site_name} in one stop (its {detour:.0f}-km detour driven once, "
                f"not {'twice' if jobs == 2 else f'{jobs} times'})")
        kinds.append("bundled")
    else:
        what = f"Job at {visit.site_name}"
    who += f"; {km_from:.0f} km from {came_from}; week {week.week_words(tech)} booked"
    if visit.lock is not None and visit.lock.committed:
        day_h = week.route_h(route)
        if day_h > tech.day_hours + 1e-9:
            who += f"; the day's accepted work and driving take {day_h:.1f} h of {tech.day_hours:.1f} working hours"
    declined = [t.name for t in week.technicians if t.id in visit.declined_by]
    if declined:
        who += f"; declined earlier by {_names(declined)}"
    change = _what_moving_changed(week, visit, tech, day, detour, moved) if moved is not None else ""
    if change:
        who += f"; {change}"
        kinds.append("moved")
    return Why(f"{what}, {day:%a %d %b}: {when}. {tech.name}: {who}.", tuple(kinds))


def _why_day(week: FinalWeek, visit: Visit, tech: Technician, day: date) -> tuple[str, str]:
    """Why ``day``: (the clause, its kind)."""
    lock = visit.lock
    if lock is not None and lock.committed:
        if lock.day is not None:
            return "the day the technician accepted it for", "accepted day"
        return "accepted without a day, the technician's first day with room", "accepted day"
    due = f"due {visit.due:%a %d %b}, {visit.priority} priority"
    if lock is not None and lock.day is not None:
        return f"the day the service engineer locked it to; {due}", "locked day"
    late_jobs = [j for j in visit.jobs if day > j.due]
    if not late_jobs:
        first = ", the first day it may be done" if visit.earliest is not None and day == visit.earliest else ""
        return f"{due}: on time{first}", "on time"
    late = (day - visit.due).days
    some = f"{len(late_jobs)} of its {len(visit.jobs)} jobs " if len(late_jobs) < len(visit.jobs) else ""
    when = f"{due}: {some}{counted(late, 'day')} late"
    if visit.earliest is not None and visit.earliest > visit.due:
        return f"{when}; it may not be done before {visit.earliest:%a %d %b}", "late: earliest day after due"
    earlier = [d for d in week.settings.horizon if d < day and (visit.earliest is None or d >= visit.earliest)]
    overdue = visit.due < week.settings.start
    working = [d for d in earlier if any(t.works_on(d) for t in week.eligible(visit))]
    if not working:
        if overdue:
            return f"{when}; overdue before the week began, and this is its first possible day in the week", \
                "late: overdue before the week"
        return f"{when}; no qualified technician works on an earlier day", "late: earlier days full"
    room = _earlier_room(week, visit, tech, working)
    if room is None:
        who = "the locked technician is" if visit.lock is not None else "every qualified technician is"
        since = "overdue before the week began; " if overdue else ""
        return f"{when}; {since}{who} full on {_days(working)}", "late: earlier days full"
    other, other_day, other_booked, fuller = room
    if fuller:
        return (f"{when}; {other.name} has room on {other_day:%a} but would then have "
                f"{week.week_words(other, other_booked)} booked, a fuller week than {tech.name}'s "
                f"{week.week_words(tech)} (the work is spread)"), "late: earlier room, fuller week"
    return f"{when}; {other.name} has room on {other_day:%a}, but the planner kept it here", \
        "late: earlier room (not explained)"


def _earlier_room(week: FinalWeek, visit: Visit, tech: Technician,
                  days: Sequence[date]) -> tuple[Technician, date, float, bool] | None:
    """Who could take ``visit`` on an earlier day of the final week: (technician, day, their booked
    hours with it, whether that would leave them with a fuller week than ``tech`` has now, which the
    improvement pass does not allow), an option that would not first; None when every one is full."""
    options = []
    for day in days:
        for other in week.eligible(visit):
            found = week.insertion(other, day, visit)
            if found is not None and found[1]:
                fuller = other.id != tech.id and week.fuller(other, found[2], tech)  # the same one: nobody gets fuller
                options.append((fuller, found[2], day, other.id, other))
    if not options:
        return None
    fuller, booked, day, _, other = min(options, key=lambda o: o[:4])
    return other, day, booked, fuller


def _why_technician(week: FinalWeek, visit: Visit, tech: Technician, day: date, detour: float,
                    by_turn: bool) -> tuple[str, str]:
    """Why ``tech``: (the clause, its kind)."""
    if visit.lock is not None:
        if visit.lock.committed:
            return "accepted by the technician, kept where it is", "accepted"
        return "locked by the service engineer", "locked"
    skills = _skills(visit.skills)
    qualified = week.eligible(visit)
    if by_turn:
        return f"has {skills}; next in turn among the {len(qualified)} who have it", "next in turn"
    if len(qualified) <= 1:
        who = " who has not declined it" if visit.declined_by else ""
        return f"the only technician with {skills}{who}", "only qualified"
    others = []
    for other in qualified:
        if other.id == tech.id:
            continue
        found = week.insertion(other, day, visit)
        if found is not None:
            others.append((found[0], other, found[1], found[2]))
    others.sort(key=lambda o: (o[0], o[1].id))
    of = f"the {len(qualified)} with {skills}"
    nearer = [o for o in others if o[0] < detour - SAME_KM]
    if not nearer:
        if not others:
            return f"the only one of {of} working on {day:%a}, the stop adds {detour:.0f} km", "nearest qualified"
        km, nearest = others[0][0], others[0][1]
        versus = f"{km - detour:.0f} km more" if km - detour >= SAME_KM else "about as far"
        return f"nearest of {of} that day, the stop adds {detour:.0f} km ({nearest.name}: {versus})", \
            "nearest qualified"
    with_room = [o for o in nearer if o[2]]
    if not with_room:
        names = _names([o[1].name for o in nearer])
        verb = "is" if len(nearer) == 1 else "are"
        return (f"one of {of}, the stop adds {detour:.0f} km; {names} {verb} nearer but "
                f"{'has' if len(nearer) == 1 else 'have'} no room on {day:%a}"), "nearer ones full"
    lighter = [o for o in with_room if not week.fuller(o[1], o[3], tech)]  # the load would not stop a move there
    km, other, _, other_booked = (lighter or with_room)[0]
    saved = f"would drive {detour - km:.0f} km less"
    if not lighter:
        return (f"one of {of}; {other.name} {saved} but would then have {week.week_words(other, other_booked)} "
                f"booked, a fuller week (the work is spread)"), "nearer ones busier"
    return f"one of {of}; {other.name} {saved} and has room, but the planner kept it here", \
        "nearer with room (not explained)"


def _what_moving_changed(week: FinalWeek, visit: Visit, tech: Technician, day: date, detour: float,
                         moved: Move) -> str:
    """Where the first pass had the visit and what that place would cost in the final week ("" when
    it had it nowhere, in several places, or the difference is nothing a dispatcher can see)."""
    first = next((t for t in week.technicians if t.id == moved.technician_id), None)
    if first is None or moved.day is None or (first.id, moved.day) == (tech.id, day):
        return ""
    found = week.insertion(first, moved.day, visit)
    gains = []
    late_there, late_here = max(0, (moved.day - visit.due).days), max(0, (day - visit.due).days)
    if late_there > late_here:
        gains.append("on time" if late_here == 0 else f"{counted(late_there - late_here, 'day')} less late")
    if found is not None and found[1] and found[0] - detour >= SAME_KM:
        gains.append(f"{found[0] - detour:.0f} km less driving")
    if first.id != tech.id and found is not None and week.fuller(first, found[2], tech):
        gains.append(f"{first.name}'s week would be fuller ({week.week_words(first, found[2])})")
    if not gains:
        return ""
    where = f"{moved.day:%a}" + (f" with {first.name}" if first.id != tech.id else "")
    return f"the first pass had it {where}; moved: {', '.join(gains)}"


def _skills(skills: frozenset[str]) -> str:
    """``the engine skill``, ``the bearings and vibration skills``."""
    names = sorted(skills)
    if not names:
        return "no special skill"
    return f"the {names[0]} skill" if len(names) == 1 else f"the {', '.join(names[:-1])} and {names[-1]} skills"


def _names(names: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and 2 others``."""
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {counted(len(names) - 2, 'other')}"


def _days(days: Sequence[date]) -> str:
    """``Mon``, ``Mon and Tue``, ``Mon to Wed`` (consecutive), ``Mon, Wed and Thu``."""
    names = [f"{d:%a}" for d in days]
    if len(days) > 2 and all(b - a == timedelta(days=1) for a, b in zip(days, days[1:])):
        return f"{names[0]} to {names[-1]}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
