"""The ``security`` alarm source: a machine that left its site's geofence (``geofence_exit``, severity
alarm) or runs outside its site's allowed hours (``curfew``, warning). The ``security_check``
scheduler job evaluates every machine at a site once a minute from the last 90 minutes of its
operating data in InfluxDB (``TelemetryStore.minute_positions``); the rules are in
:mod:`fleet.security_rules`.

No state is kept between runs or in any process: the open alarm is the state. Each run reads the
newest minutes again and raises, keeps or clears the one open alarm per machine and cause (its
``open_key`` dedups across processes), so a second run, or a second scheduler, changes nothing.

Severities: leaving the site may be a theft in progress, and the owner's chance to recover the
machine falls by the minute, so it is an ``alarm`` (urgent: through quiet hours, push with high
urgency). Running out of hours is often a late shift or a fitter's test run; the owner should look,
but it is not urgent by itself: ``warning``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import selectinload, sessionmaker

from . import alarm_service
from .alarms import AlarmCondition
from .db import transaction
from .events import Event
from .models import Machine, Site, from_ns, utcnow
from .security_rules import (CONSECUTIVE_MINUTES, GNSS_TOLERANCE_M, WEEKDAY_WORDS, curfew_breach, distance_words,
                             fence_verdict, local_time)
from .site_security import SiteRules, rules_of
from .utilization import thresholds_for

log = logging.getLogger(__name__)

SECURITY_CHECK_INTERVAL_S = 60
#: How far back a run reads: three key-off heartbeats (every 15 min) of a machine at rest fit with room
#: to spare for one that was late or lost.
LOOKBACK = timedelta(minutes=90)
#: Gateways' clocks may run a little ahead of the server's.
CLOCK_AHEAD = timedelta(minutes=5)
GEOFENCE_CAUSE, CURFEW_CAUSE = "geofence_exit", "curfew"
GEOFENCE_SEVERITY, CURFEW_SEVERITY = "alarm", "warning"


def check_security(store, session_factory: sessionmaker, bus, clock: Callable[[], datetime] = utcnow) -> int:
    """The ``security_check`` job: evaluate every machine at a site; returns the events handed to ``bus``."""
    now = clock()
    with session_factory() as session:
        machines = session.execute(select(Machine.id, Machine.uid).where(Machine.site_id.is_not(None))
                                   .order_by(Machine.uid)).all()
    count = 0
    for machine_id, uid in machines:
        try:
            minutes = store.minute_positions(uid, now - LOOKBACK, now + CLOCK_AHEAD)
            events = evaluate_machine(session_factory, machine_id, minutes, now)
        except Exception:  # one machine's trouble must not stop the others
            log.exception("security check of %s failed", uid)
            continue
        bus.handle(events)
        count += len(events)
    return count


def evaluate_machine(session_factory: sessionmaker, machine_id: int, minutes: dict, now: datetime) -> list[Event]:
    """Bring one machine's security alarms in line with its newest minutes (``minute_positions``)."""
    with transaction(session_factory) as session:
        machine = session.scalar(select(Machine).where(Machine.id == machine_id).options(
            selectinload(Machine.tenant), selectinload(Machine.site).selectinload(Site.security)))
        if machine is None or machine.site is None:
            return []
        rules = rules_of(machine.site)
        touched = _apply_fence(session, machine, rules, minutes, now)
        touched += _apply_curfew(session, machine, rules, minutes, now)
        if not touched:
            return []
        return alarm_service.take_events(touched) + alarm_service.status_events(session, machine, now)


def _apply_fence(session, machine: Machine, rules: SiteRules, minutes: dict, now: datetime) -> list:
    if not rules.fence.enabled:
        return alarm_service.clear_gone(session, machine, "security", [CURFEW_CAUSE], now)
    positions = [(t, lat, lon) for t, lat, lon in zip(minutes["time"], minutes["lat"], minutes["lon"])
                 if lat is not None and lon is not None]
    verdict = fence_verdict(rules.fence, positions)
    if verdict.state == "inside":
        return alarm_service.clear_gone(session, machine, "security", [CURFEW_CAUSE], now)
    if verdict.state != "outside":
        return []  # too few positions, or they disagree: the open alarm (or its absence) stands
    condition = AlarmCondition(
        machine_id=machine.id, component="", source="security", cause=GEOFENCE_CAUSE, severity=GEOFENCE_SEVERITY,
        title=f"{machine.uid} left {rules.site}: {distance_words(verdict.distance_m)} from the site",
        observed_at=from_ns(verdict.at_ns),
        detail={"distance_m": round(verdict.distance_m, 1), "radius_m": rules.fence.radius_m,
                "tolerance_m": GNSS_TOLERANCE_M, "minutes_outside": CONSECUTIVE_MINUTES,
                "fence": [rules.fence.lat, rules.fence.lon], "position": list(positions[-1][1:]),
                "site": rules.site})
    return _raise_or_keep(session, machine, condition, now, retitle=True)


def _apply_curfew(session, machine: Machine, rules: SiteRules, minutes: dict, now: datetime) -> list:
    running_rpm = thresholds_for(machine.kind, machine.model).running_rpm
    verdict = curfew_breach(rules.curfew, rules.timezone, list(zip(minutes["time"], minutes["engine_speed_rpm"])),
                            running_rpm)
    if verdict is None:
        return []  # no data in the last 90 minutes: nothing new is known
    breach, at_ns = verdict
    if not breach:
        return alarm_service.clear_gone(session, machine, "security", [GEOFENCE_CAUSE], now)
    local = local_time(at_ns, rules.timezone)
    condition = AlarmCondition(
        machine_id=machine.id, component="", source="security", cause=CURFEW_CAUSE, severity=CURFEW_SEVERITY,
        title=(f"{machine.uid} running outside allowed hours ({WEEKDAY_WORDS[local.weekday()]} {local:%H:%M}, "
               f"allowed {rules.curfew.describe()})"),
        observed_at=from_ns(at_ns),
        detail={"local_time": local.isoformat(), "timezone": rules.timezone, "allowed": rules.curfew.to_json(),
                "running_rpm": running_rpm, "site": rules.site})
    # the title keeps the time it was first seen running: "since Sat 02:14"
    return _raise_or_keep(session, machine, condition, now, retitle=False)


def _raise_or_keep(session, machine: Machine, condition: AlarmCondition, now: datetime, retitle: bool) -> list:
    """Raise a new alarm; for one already open, keep it current without counting every run as a
    repeat (no repeat count, no notification: the condition simply persists)."""
    existing = alarm_service.open_alarm(session, condition)
    if existing is None:
        return alarm_service.record_conditions(session, machine, [condition], now)
    if condition.observed_at > existing.last_seen_at:
        existing.last_seen_at = condition.observed_at
        detail = dict(existing.detail or {})
        detail.update({k: v for k, v in condition.detail.items() if k != "local_time"},
                      last_local_time=condition.detail.get("local_time"))
        existing.detail = detail
        if retitle:
            existing.title = condition.title[:240]
    return []
