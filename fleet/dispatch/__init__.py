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
   same way. Where this happens is ``Settings.bundle_stage`` (:mod:`~fleet.dispatch.rebundle`): by
   default (``"best"``) the week is planned twice, once with these bundles placed and moved whole
   and once with every job placed and improved on its own and the jobs that end up at one stop
   bundled after, and the cheaper week (:func:`~fleet.dispatch.planner.week_cost_h`) is the plan: on
   the bench's 500-job week bundling after costs 1161 h against 2127 h with whole bundles, while on
   some small weeks whole bundles are cheaper (jobs at one site move together).
2. **Order.** Locked visits first, then by priority (urgent first), then by due date.
3. **Place.** Each visit goes to the (technician, day, position in that day's route) with the
   lowest cost among technicians who have every skill it needs, did not decline any of its jobs,
   work that day and still have room within their working hours:

   ``cost = added travel hours + LATE_PENALTY_H × days late × priority weight
   + DAY_PREFERENCE_H × day index × priority weight + LOAD_BALANCE_H × hours already planned that day
   + WEEK_LOAD_H × share of the technician's week already booked``

   The last term spreads the load: without it the technician nearest the busy sites was booked
   every day while qualified colleagues a little further away sat idle (``python -m
   fleet.dispatch_bench`` prints the hours booked per technician, before and after). Between
   options of equal cost (same home, same route) the technician with the lighter week wins.

   Travel is the great-circle distance times :data:`ROAD_FACTOR` at :data:`SPEED_KM_H`, from home
   or the previous visit, and back home at the end of the day, inside the working hours. Insertion
   may go anywhere in the day's route (cheapest insertion), so the route stays short whatever order
   the visits were decided in.
3b. **Improve.** :func:`~fleet.dispatch.improve.improve` then moves and swaps visits between
   technician-days (and places what the first pass left out) while that lowers the week's cost (the
   objective of :mod:`~fleet.dispatch.objective` plus the weekly load term), at most two rounds. The
   first pass alone was up to 108 % above the optimum on the bench's small weeks (a low-priority job
   due Monday found Monday full of jobs due Friday); with this pass the mean gap is 6.5 %, 2.2 % with
   the load term off (``python -m fleet.dispatch_bench``, docs/maintenance.md).
   ``Settings(improve=False)`` is the first pass alone.
4. **Explain** (:mod:`~fleet.dispatch.explain`). Once the week is built, every visit says, measured
   on the final routes whichever pass placed it, why that day (due date, priority, on time or how
   late and why not earlier), why that technician (the skill; the nearest qualified one that day
   and by how many km, or who is nearer and why not them: no room that day, or a fuller week), where
   they come from and how far, their week's booked hours, what bundling at the site saved, and,
   where the final week shows a difference, where the first pass had it and what the move changed.

A lock (:class:`Lock`) fixes a job to a technician and optionally a day; re-planning keeps it.

The package: :mod:`~fleet.dispatch.model` (the dataclasses and constants),
:mod:`~fleet.dispatch.bundling` (step 1), :mod:`~fleet.dispatch.routes` (a day's route and the
cheapest insertion, the week's load), :mod:`~fleet.dispatch.planner` (steps 2 and 3, and the round-robin baseline),
:mod:`~fleet.dispatch.improve` (step 3b), :mod:`~fleet.dispatch.rebundle` (bundling around step 3b),
:mod:`~fleet.dispatch.explain` (step 4), and, to judge plans,
:mod:`~fleet.dispatch.objective` (a week's cost) and :mod:`~fleet.dispatch.exact` (the optimum of a
small week, scipy's HiGHS; the bench's yardstick, not used by the product). Callers import from ``fleet.dispatch``.
"""
from __future__ import annotations

from datetime import date, timedelta

from ..maintenance import haversine_km
from .bundling import bundle
from .explain import explain
from .model import (BUNDLE_WINDOW, DAY_PREFERENCE_H, LATE_PENALTY_H, LOAD_BALANCE_H, PRIORITY_WEIGHT, ROAD_FACTOR,
                    SPEED_KM_H, WEEK_LOAD_H, Assignment, Job, Lock, Plan, Settings, Technician, Unplanned, Visit, travel_hours)
from .planner import plan, round_robin, week_cost_h
from .routes import room_beside


def week_start(today: date) -> date:
    """The Monday of ``today``'s week."""
    return today - timedelta(days=today.isoweekday() - 1)


__all__ = ["Job", "Technician", "Lock", "Settings", "Visit", "Assignment", "Unplanned", "Plan", "plan", "bundle",
           "round_robin", "week_cost_h", "room_beside", "travel_hours", "explain", "week_start", "haversine_km", "ROAD_FACTOR", "SPEED_KM_H",
           "LATE_PENALTY_H", "DAY_PREFERENCE_H", "LOAD_BALANCE_H", "WEEK_LOAD_H", "BUNDLE_WINDOW", "PRIORITY_WEIGHT"]
