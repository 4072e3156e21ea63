"""Alarm sources that are not a burst diagnosis: J1939 DM1 fault codes, machines that stopped
reporting, and the bearing onset detector. (Diagnosis findings and trend alarms are raised by
``fleet.diagnosis_service``, RUL below the planning horizon by
``fleet.work_order_service.apply_rul_estimate``.)

Both return domain events for the message bus and change the machine's status with its alarms,
so the fleet table, the machine page and the portal show a red stop lamp or a silent machine.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload, sessionmaker

from . import alarm_service
from .alarms import (AlarmCondition, ReportingPolicy, fault_code_cause, fault_code_severity, is_stale,
                     silence_text)
from .db import transaction
from .events import Event
from .models import FaultCodeRule, Machine, from_ns, utcnow
from .wording import component_words

log = logging.getLogger(__name__)

#: How far back the latest DM1 message of a machine is looked for.
FAULT_LOOKBACK = timedelta(days=30)
REPORTING_CHECK_INTERVAL_S = 60
FAULT_SWEEP_INTERVAL_S = 60


def fault_code_rules(session, machine: Machine) -> dict[str, str | None]:
    """The tenant overrides that apply to ``machine``: its OEM's, then its customer's (which win)."""
    rules: dict[str, str | None] = {}
    for tenant_id in reversed(machine.tenant.audience()):
        for rule in session.scalars(select(FaultCodeRule).where(FaultCodeRule.tenant_id == tenant_id)):
            rules[rule.key] = rule.severity
    return rules


def fault_code_conditions(machine: Machine, message: dict, rules: dict, describe: Callable[[int, int], str]
                          ) -> list[AlarmCondition]:
    """One condition per active code of a DM1 message that the lamp rule (and overrides) make an alarm."""
    conditions = []
    for code in message.get("active", []):
        spn, fmi = int(code["spn"]), int(code["fmi"])
        severity = fault_code_severity(spn, fmi, message.get("lamps", {}), rules)
        if severity is None:
            continue
        lamps = [k for k, v in (message.get("lamps") or {}).items() if int(v or 0) > 0]
        conditions.append(AlarmCondition(
            machine_id=machine.id, component="", source="dm1", cause=fault_code_cause(spn, fmi), severity=severity,
            title=describe(spn, fmi), observed_at=from_ns(message["time"]),
            detail={"spn": spn, "fmi": fmi, "occurrence_count": int(code.get("occurrence_count", 0)),
                    "lamps": lamps, "message_time_ns": int(message["time"])}))
    return conditions


def _describe_plain(spn: int, fmi: int) -> str:
    return f"Fault code SPN {spn} FMI {fmi}"


def evaluate_fault_codes(store, session_factory: sessionmaker, machine_uid: str, now: datetime | None = None,
                         describe: Callable[[int, int], str] = _describe_plain) -> list[Event]:
    """Bring the machine's fault-code alarms in line with its latest DM1 message: raise or update
    one per alarming code, clear those whose code is no longer active. Returns the events.

    ``describe(spn, fmi)`` names a code for people (the app passes ``app.j1939.describe_code``).
    """
    now = now or utcnow()
    history = store.fault_history(machine_uid, now - FAULT_LOOKBACK, now + timedelta(minutes=5))
    if not history:
        return []
    latest = history[-1]
    with transaction(session_factory) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == machine_uid)
                                 .options(selectinload(Machine.tenant)))
        if machine is None:
            return []
        conditions = fault_code_conditions(machine, latest, fault_code_rules(session, machine), describe)
        # the same message read again is not a repeat: only a newer DM1 message counts again
        fresh = [c for c in conditions if not _already_counted(session, c)]
        touched = alarm_service.record_conditions(session, machine, fresh, now)
        touched += alarm_service.clear_gone(session, machine, "dm1", [c.cause for c in conditions], now)
        if not touched:
            return []
        return alarm_service.take_events(touched) + alarm_service.status_events(session, machine, now)


def _already_counted(session, condition: AlarmCondition) -> bool:
    alarm = alarm_service.open_alarm(session, condition)
    return alarm is not None and (alarm.detail or {}).get("message_time_ns") == condition.detail["message_time_ns"]


def sweep_fault_codes(store, session_factory: sessionmaker, bus, clock: Callable[[], datetime] = utcnow,
                      describe: Callable[[int, int], str] = _describe_plain, machine_uids: Iterable[str] | None = None
                      ) -> int:
    """The ``fault_code_alarms`` job (and the writer's follow-up after a DM1 upload): evaluate each
    machine; returns the number of events handed to ``bus``."""
    if machine_uids is None:
        with session_factory() as session:
            machine_uids = list(session.scalars(select(Machine.uid)))
    count = 0
    for uid in machine_uids:
        try:
            events = evaluate_fault_codes(store, session_factory, uid, clock(), describe)
        except Exception:  # one machine's trouble must not stop the others
            log.exception("fault-code alarms of %s failed", uid)
            continue
        bus.handle(events)
        count += len(events)
    return count


# --- stale data -------------------------------------------------------------------------------------------

def check_reporting(session_factory: sessionmaker, bus, clock: Callable[[], datetime] = utcnow) -> int:
    """The ``reporting_check`` job: a "not reporting" alarm for each machine whose device has been
    silent longer than its policy allows (``fleet.alarms.ReportingPolicy``; a standby genset's
    schedule respected), cleared as soon as it is heard from again. ``Machine.last_seen_at`` is
    when it was last heard from: the writer's contact times (``fleet.contact``: any upload stored,
    a standby set's heartbeat included, however old its samples) and the newest sample's time (the
    operating sync, the diagnosis service). Returns the number of events handed to ``bus``."""
    now = clock()
    events: list[Event] = []
    with transaction(session_factory) as session:
        machines = session.scalars(select(Machine).options(selectinload(Machine.tenant),
                                                           selectinload(Machine.site))).all()
        for machine in machines:
            policy = ReportingPolicy.from_settings(machine.reporting, machine.site.timezone if machine.site else "UTC")
            if is_stale(machine.last_seen_at, now, policy):
                silence = silence_text(machine.last_seen_at, now)
                condition = AlarmCondition(
                    machine_id=machine.id, component="", source="stale", cause="not_reporting", severity="warning",
                    title=f"{machine.uid} is not reporting: {silence}", observed_at=now,
                    detail={"last_seen_at": machine.last_seen_at.isoformat(),
                            "allowed_silence_min": policy.allowed_silence(now).total_seconds() / 60})
                existing = alarm_service.open_alarm(session, condition)
                if existing is not None:
                    # still silent: keep the one alarm current without counting every check as a repeat
                    existing.title, existing.last_seen_at, existing.detail = condition.title, now, condition.detail
                    continue
                touched = alarm_service.record_conditions(session, machine, [condition], now)
            else:
                touched = alarm_service.clear_gone(session, machine, "stale", [], now)
            if touched:
                events += alarm_service.take_events(touched) + alarm_service.status_events(session, machine, now)
    bus.handle(events)
    return len(events)


# --- bearing degradation onset ------------------------------------------------------------------------------

#: The cause of every onset alarm: one per component (its open key dedups it).
ONSET_CAUSE = "degradation_onset"
ONSET_SEVERITY = "warning"


def onset_condition(machine_id: int, component_id: int | None, component: str, onset: dict) -> AlarmCondition:
    """The alarm condition of a component whose onset detector has fired (``onset["state"] ==
    "degrading"``: ``fleet.rul_scoring.onset_summary``). Observed at the detector's alarm time."""
    return AlarmCondition(
        machine_id=machine_id, component=component, component_id=component_id, source="onset", cause=ONSET_CAUSE,
        severity=ONSET_SEVERITY, title=f"Degradation onset on {component_words(component)}",
        observed_at=from_ns(int(onset["alarm_ns"])),
        detail={"alarm_ns": int(onset["alarm_ns"]), "onset_ns": onset.get("onset_ns"),
                "level_nepers": onset.get("level_nepers"), "bursts": onset.get("bursts"),
                "explanation": "vibration RMS at twice its own healthy baseline (+6 dB), the onset "
                               "detector measured on run-to-failure bearings"})


def evaluate_onset_alarms(session_factory: sessionmaker, results: Iterable, now: datetime | None = None
                          ) -> list[Event]:
    """Bring the onset alarms in line with the scoring job's results (``fleet.rul_scoring.RulResult``
    with an ``onset`` summary; others are ignored). Returns the events for the bus.

    * ``degrading``: raise "Degradation onset on <component>" once. The detector latches (its
      first alarm time stays the same over a growing history), so every later run sees the same
      ``alarm_ns`` and changes nothing: no repeat count, no second notification. A different
      ``alarm_ns`` while one is open (the history restarted without a repair being recorded)
      updates the open alarm.
    * ``healthy`` / ``baseline``: the history the detector judged restarted at a repair (it reads
      features from the latest repair on), so an open onset alarm is cleared (``condition_gone``).
      The repair itself clears it at once (:func:`clear_onset_after_repair`).
    """
    now = now or utcnow()
    by_machine: dict[int, list] = {}
    for result in results:
        if getattr(result, "onset", None) and result.onset.get("state") in ("degrading", "healthy", "baseline"):
            by_machine.setdefault(result.machine_id, []).append(result)
    events: list[Event] = []
    for machine_id, machine_results in by_machine.items():
        with transaction(session_factory) as session:
            machine = session.scalar(select(Machine).where(Machine.id == machine_id)
                                     .options(selectinload(Machine.tenant)))
            if machine is None:
                continue
            touched = []
            for result in machine_results:
                component = machine.component(result.component)
                if component is None:
                    continue
                if result.onset["state"] != "degrading":
                    touched += alarm_service.clear_gone(session, machine, "onset", [], now, component=component.name)
                    continue
                condition = onset_condition(machine.id, component.id, component.name, result.onset)
                existing = alarm_service.open_alarm(session, condition)
                if existing is not None and (existing.detail or {}).get("alarm_ns") == condition.detail["alarm_ns"]:
                    continue
                touched += alarm_service.record_conditions(session, machine, [condition], now)
            if touched:
                events += alarm_service.take_events(touched) + alarm_service.status_events(session, machine, now)
    return events


def clear_onset_after_repair(session, machine: Machine, component_name: str, now: datetime) -> list:
    """A completed repair resets the component's baseline: its open onset alarm clears
    (``condition_gone``; the detector starts again on the fresh bursts). Returns the alarms cleared."""
    return alarm_service.clear_gone(session, machine, "onset", [], now, component=component_name)
