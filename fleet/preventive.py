"""Preventive maintenance: when each machine's next service falls, from its own utilization.

Pure functions over small frozen dataclasses (no SQL, no InfluxDB, no clock); the service
:mod:`fleet.preventive_service` reads the hour meter and the plans, calls these and opens orders.

* An **hours plan** (every 250 / 500 / 1000 / 2000 engine hours) is due at
  ``last_done_hours + interval_h``. The date is projected from the machine's **utilization**:
  average running hours per calendar day over the last weeks, read from the hour meter
  (:func:`utilization`). A machine that runs 10 h/day with 100 h to go is due in 10 days.
* A **calendar plan** (yearly load-bank test of a standby genset) is due ``interval_days`` after
  it was last done, whatever the hours.
* The work order opens ``lead_days`` ahead of the projected date (:func:`should_open`), once per
  due point (``"h:9250"``, ``"d:2027-01-15"``; the database enforces the once).
* Services nest: the 2000-h service includes the 1000-, 500- and 250-h tasks. A smaller hours plan
  whose due point coincides with a larger one's (same hours, interval a divisor) is **covered**
  and opens no order of its own; completing the larger one resets the smaller ones' counters too
  (:func:`counters_after_service`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Sequence

HOURS, CALENDAR = "hours", "calendar"
#: Hour-meter history used for the utilization: long enough to average out a quiet week.
UTILIZATION_WINDOW = timedelta(days=28)
#: Below this much history the average is not trusted and the model default is used.
MIN_HISTORY = timedelta(days=3)
#: Running hours per day assumed for a machine without enough hour-meter history.
DEFAULT_H_PER_DAY = {"excavator": 8.0, "genset": 2.0}
PM_FAULT_MODE = "preventive_maintenance"


@dataclass(frozen=True)
class PlanRule:
    """A PM plan as the projection needs it (see :class:`fleet.models.PmPlan`)."""

    id: int
    code: str
    name: str
    kind: str  # hours | calendar
    interval_h: float | None = None
    interval_days: int | None = None
    lead_days: int = 14


@dataclass(frozen=True)
class Counter:
    """When a plan was last done on a machine."""

    last_done_hours: float
    last_done_at: datetime | None


@dataclass(frozen=True)
class Utilization:
    """How much a machine runs: hours per calendar day, and the reading it was measured up to."""

    h_per_day: float
    current_hours: float
    reading_at: datetime
    measured: bool  # False: the model default (too little hour-meter history)
    note: str


@dataclass(frozen=True)
class Projection:
    """The next due point of one plan on one machine."""

    plan_id: int
    code: str
    due_point: str  # "h:<hours>" or "d:<YYYY-MM-DD>": the dedup key with machine and plan
    due_hours: float | None
    due_at: datetime | None  # None: an idle machine whose hours plan cannot be dated
    open_at: datetime | None
    note: str
    covered_by: str = ""  # code of the larger service that includes this one


def utilization(first: tuple[datetime, float] | None, last: tuple[datetime, float] | None, now: datetime,
                fallback_hours: float, default_h_per_day: float) -> Utilization:
    """Average running hours per calendar day between two hour-meter readings.

    Parameters
    ----------
    first, last : (datetime, float) or None
        The oldest and newest hour-meter reading (h) of the window; None when there is none.
    now : datetime
        Used as the reading time when there is no reading.
    fallback_hours : float
        The hour meter to assume without readings (the machine record's last value), h.
    default_h_per_day : float
        Utilization assumed with less than :data:`MIN_HISTORY` of readings, h/day.
    """
    if first is None or last is None:
        return Utilization(default_h_per_day, fallback_hours, now, False,
                           f"no hour-meter readings: assumed {default_h_per_day:g} h/day")
    span = last[0] - first[0]
    if span < MIN_HISTORY:
        return Utilization(default_h_per_day, last[1], last[0], False,
                           f"only {span.total_seconds() / 86400:.1f} days of hour-meter readings: "
                           f"assumed {default_h_per_day:g} h/day")
    days = span.total_seconds() / 86400.0
    rate = max(0.0, (last[1] - first[1]) / days)
    return Utilization(rate, last[1], last[0], True,
                       f"{rate:.1f} h/day over the last {days:.0f} days ({first[1]:.0f} → {last[1]:.0f} h)")


def project(rule: PlanRule, counter: Counter, use: Utilization) -> Projection:
    """The next due point of ``rule`` on a machine with ``counter`` and utilization ``use``."""
    lead = timedelta(days=rule.lead_days)
    if rule.kind == CALENDAR:
        if counter.last_done_at is None:
            due_at = use.reading_at
            note = "never done: due now"
        else:
            due_at = counter.last_done_at + timedelta(days=int(rule.interval_days or 0))
            note = f"every {rule.interval_days} days, last done {counter.last_done_at:%d %b %Y}"
        return Projection(rule.id, rule.code, f"d:{due_at:%Y-%m-%d}", None, due_at, due_at - lead, note)
    due_hours = counter.last_done_hours + float(rule.interval_h or 0.0)
    remaining = due_hours - use.current_hours
    point = f"h:{due_hours:g}"
    if use.h_per_day <= 0.0:
        if remaining <= 0:
            return Projection(rule.id, rule.code, point, due_hours, use.reading_at, use.reading_at,
                              f"{-remaining:.0f} h overdue (machine idle lately)")
        return Projection(rule.id, rule.code, point, due_hours, None, None,
                          f"{remaining:.0f} h to go; machine idle lately, no date projected")
    due_at = use.reading_at + timedelta(days=remaining / use.h_per_day)
    left = f"{remaining:.0f} h to go" if remaining > 0 else f"{-remaining:.0f} h overdue"
    return Projection(rule.id, rule.code, point, due_hours, due_at, due_at - lead,
                      f"due at {due_hours:g} h: {left} ({use.note})")


def _covers(larger: PlanRule, smaller: PlanRule) -> bool:
    """Whether ``larger``'s service includes ``smaller``'s (hours plans, interval a multiple)."""
    if larger.kind != HOURS or smaller.kind != HOURS or not larger.interval_h or not smaller.interval_h:
        return False
    ratio = larger.interval_h / smaller.interval_h
    return larger.interval_h > smaller.interval_h and math.isclose(ratio, round(ratio))


def mark_covered(rules: Sequence[PlanRule], projections: Sequence[Projection]) -> list[Projection]:
    """``projections`` with each smaller hours service that falls on a larger one's due point
    marked ``covered_by`` that larger plan (it opens no order of its own)."""
    by_id = {r.id: r for r in rules}
    marked = []
    for p in projections:
        cover = next((q for q in sorted(projections, key=lambda q: -(by_id[q.plan_id].interval_h or 0))
                      if q.plan_id != p.plan_id and q.due_hours is not None and p.due_hours is not None
                      and math.isclose(q.due_hours, p.due_hours) and _covers(by_id[q.plan_id], by_id[p.plan_id])),
                     None)
        marked.append(p if cover is None else replace(p, covered_by=cover.code))
    return marked


def should_open(projection: Projection, now: datetime) -> bool:
    """Whether the order for ``projection`` should be open by ``now`` (its lead has started)."""
    return not projection.covered_by and projection.open_at is not None and projection.open_at <= now


def counters_after_service(rules: Sequence[PlanRule], done: PlanRule, hours: float, at: datetime
                           ) -> dict[int, Counter]:
    """New counters once ``done`` was carried out at ``hours`` (h) on ``at``: its own, and those of
    the smaller hours plans it includes."""
    reset = {done.id: Counter(hours, at)}
    for rule in rules:
        if _covers(done, rule):
            reset[rule.id] = Counter(hours, at)
    return reset


def initial_counter(rule: PlanRule, hours: float, at: datetime) -> Counter:
    """A counter for a machine with no service record: the last interval boundary of its hour
    meter (as if each service so far had been done on time)."""
    if rule.kind == HOURS and rule.interval_h:
        return Counter(math.floor(hours / rule.interval_h) * rule.interval_h, at)
    return Counter(hours, at)


__all__ = ["PlanRule", "Counter", "Utilization", "Projection", "utilization", "project", "mark_covered",
           "should_open", "counters_after_service", "initial_counter", "UTILIZATION_WINDOW", "DEFAULT_H_PER_DAY",
           "PM_FAULT_MODE", "HOURS", "CALENDAR"]
