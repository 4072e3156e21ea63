"""Step 4 of the planner: each assignment in plain words (why this technician, why this day)."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .model import Settings, Technician, Visit, travel_hours
from .routes import Option

if TYPE_CHECKING:
    from .improve import Move


def explain(visit: Visit, tech: Technician, day: date, km: float, came_from: str, chosen: Option,
            runner_up: Option | None, qualified: int, settings: Settings, passed_over: Option | None = None,
            moved: "Move | None" = None, route_h: float = 0.0, note: str = "") -> str:
    """Why this technician and this day, in plain words.

    ``passed_over`` is the option that would have won without the weekly load term (a nearer
    technician with a fuller week), when the load decided. ``moved`` says where the first pass had
    the visit, when the improvement pass moved it. ``route_h`` is the day's on-site plus driving
    hours (said when accepted work over-fills the day). ``note`` is a clause on how a re-bundled
    visit differs from the first pass's (:mod:`fleet.dispatch.rebundle`).
    """
    jobs = len(visit.jobs)
    what = f"{jobs} jobs at {visit.site_name} bundled into one visit" if jobs > 1 else f"job at {visit.site_name}"
    over = route_h > tech.day_hours + 1e-9
    if visit.lock is not None and visit.lock.committed:
        who = f"{tech.name}: accepted by the technician, kept where it is"
        if over:
            who += f"; the day's accepted work and driving take {route_h:.1f} h of {tech.day_hours:.1f} working hours"
    elif visit.lock is not None and moved is None:
        who = f"{tech.name}: locked by the service engineer"
    elif moved is not None:
        was = (moved.origin or (f"it {moved.technician_name} on {moved.day:%a %d %b}" if moved.technician_name
                                else "it unplanned"))
        locked = "locked by the service engineer, " if visit.lock is not None else \
            f"has the {', '.join(sorted(visit.skills)) or 'no special'} skills needed, "
        who = (f"{tech.name}: {locked}moved here by the improvement pass (the first pass had {was}): "
               f"the week costs {_hours(moved.saving_h)} less in driving, lateness and load; "
               f"{chosen.booked_h:.1f} h of the week booked in the final plan")
    else:
        skills = ", ".join(sorted(visit.skills)) or "no special"
        who = f"{tech.name}: has the {skills} skills needed"
        if runner_up is not None:
            who += f"; best of {qualified} qualified technicians with room ({_versus(chosen, runner_up, day, settings)})"
        elif qualified > 1:  # the round-robin baseline, which weighs no alternatives
            who += f"; next in turn among {qualified} qualified technicians"
        else:
            who += "; the only qualified technician with room"
        if passed_over is not None:
            who += "; " + _load_decided(chosen, passed_over, settings)
        else:
            who += f"; {chosen.booked_h:.1f} h of the week booked when this visit was planned"
        declined = sorted(visit.declined_by)
        if declined:
            who += f"; declined earlier by technician{'s' if len(declined) > 1 else ''} {', '.join(map(str, declined))}"
    if note:
        who += f"; {note}"
    route = f"{km:.0f} km ({travel_hours(km / settings.road_factor, settings) * 60:.0f} min) from {came_from}"
    if visit.lock is not None and visit.lock.committed:
        when = (f"{day:%a %d %b}: the day it was accepted for" if visit.lock.day is not None
                else f"{day:%a %d %b}: accepted without a day, the technician's first day with room")
    elif chosen.late_days > 0:
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


def _hours(value: float) -> str:
    """``2.1 h``; a share of a saving too small to show in tenths is ``under 0.1 h``."""
    return f"{value:.1f} h" if value >= 0.05 else "under 0.1 h"


def _versus(chosen: Option, runner_up: Option, day: date, settings: Settings) -> str:
    """How the runner-up compared: how much more driving (when it was dearer in travel)."""
    text = f"next best {runner_up.technician.name}"
    if runner_up.day != day:
        text += f" on {runner_up.day:%a %d %b}"
    extra_km = (runner_up.added_km - chosen.added_km) * settings.road_factor
    return f"{text}, {extra_km:.0f} km more driving" if extra_km >= 1 else text


def _load_decided(chosen: Option, passed_over: Option, settings: Settings) -> str:
    """Why not the technician who would have had the visit on travel and dates alone."""
    saved_km = (chosen.added_km - passed_over.added_km) * settings.road_factor
    other = passed_over.technician.name
    nearer = f" (who would drive {saved_km:.0f} km less)" if saved_km >= 1 else ""
    return (f"preferred to {other}{nearer} to spread the work: when this visit was planned {other} had "
            f"{passed_over.booked_h:.1f} h of the week booked, {chosen.technician.name} {chosen.booked_h:.1f} h")
