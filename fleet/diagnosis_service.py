"""From a stored vibration burst to a diagnosis, work orders and live events.

``DiagnosisService.process_burst(burst_id)`` reads the burst back from InfluxDB (the source of
truth), looks up the component's kinematics in SQL, runs ``diagnostics.pipeline.analyze_burst``,
writes the features and findings back to InfluxDB, records the burst as diagnosed in SQL together
with the work orders it opened or updated and the machine's new status (one transaction), then
publishes ``diagnosis``, ``work_order`` and ``machine_status`` events to the machine's customer and
OEM tenants.

Idempotent per burst: the ``burst_diagnosis`` row (unique burst id) is written in the same
transaction as the work-order changes, so a re-run finds it and does nothing; two concurrent runs
cannot both commit. The InfluxDB writes happen first and are idempotent themselves (same series,
same timestamp → the point is overwritten), so a crash between the two stores heals on re-run.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload, sessionmaker

from diagnostics.pipeline import analyze_burst
from diagnostics.trend import trend_alarms

from . import alarm_service, repairs
from .alarms import OPEN_STATES, AlarmCondition, ClearRules, clean_streak, trend_is_clean
from .db import transaction
from .events import LiveUpdate
from .fleet_admin import group_limits_in
from .bearing_verdicts import BearingVerdict, bearing_location, verdicts
from .maintenance import TREND_FAULT_MODE, MaintenanceSignal, is_bearing_fault, title_for, worst_severity
from .models import Alarm, BurstDiagnosis, Component, Machine, from_ns, utcnow
from .notify import NullNotifier, Notifier
from .queries import active_order_counts, diagnosis_view
from .work_order_service import apply_signals, change_events, publish, refresh_machine_status

log = logging.getLogger(__name__)


#: ``fault_mode`` of the final verdict on a burst the pipeline cannot analyse.
NOT_DIAGNOSABLE = "not_diagnosable"


class DiagnosisError(Exception):
    """A burst that cannot be diagnosed (unknown machine or component, unusable samples)."""


@dataclass
class DiagnosisOutcome:
    """What :meth:`DiagnosisService.process_burst` did."""

    burst_id: str
    machine: str
    component: str
    already_processed: bool
    iso_zone: str | None = None
    findings: list[dict] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    trends: list[dict] = field(default_factory=list)


def signals_from_findings(machine: Machine, component: Component, findings: list, observed_at: datetime,
                          burst_id: str) -> list[MaintenanceSignal]:
    """The maintenance signals of a burst's findings (``diagnostics.findings.Finding``): one per
    bearing (its leading fault mode, the worst severity of its modes, the other modes as
    ``alternatives``: ``fleet.bearing_verdicts``), one per other finding."""
    dicts = [f.to_dict() for f in findings]
    by_bearing = {v.location: v for v in verdicts(dicts)}
    signals = []
    for finding in dicts:
        verdict = by_bearing.get(finding["location"]) if is_bearing_fault(finding["fault_mode"]) else None
        if verdict is not None and verdict.leading is not finding:
            continue  # an alternative: it travels with its bearing's leading finding
        signals.append(MaintenanceSignal(
            machine_id=machine.id, component_id=component.id, component_name=component.name,
            component_kind=component.kind, fault_mode=finding["fault_mode"], location=finding["location"] or "",
            severity=verdict.severity if verdict else finding["severity"], confidence=float(finding["confidence"]),
            source="diagnosis", summary=finding["summary"], observed_at=observed_at, finding=finding,
            burst_id=burst_id, alternatives=verdict.alternatives if verdict else ()))
    return signals


#: Features watched for trends: (name, direction in which it gets worse).
TREND_FEATURES = (("velocity_rms_mm_s", "up"), ("health_index", "down"))
#: A step is a sudden change (something broke or came loose): more urgent than a slow rise.
TREND_SEVERITY = {"step": "warning", "rise": "watch"}
TREND_CONFIDENCE = 0.6
TREND_WINDOW = timedelta(days=30)


def trend_findings(history: dict[str, list], burst_start_ns: int) -> list[dict]:
    """Trend alarms (``TrendAlarm.to_dict()``) first detected at this burst.

    ``diagnostics.trend.trend_alarms`` reports the first detection in a history; an alarm whose
    detection time is this burst's is new now, an earlier one was acted on when it was new. So
    each alarm reaches the work-order rules once.
    """
    found = []
    times = history.get("time", [])
    for feature, direction in TREND_FEATURES:
        values = history.get(feature)
        if not values:
            continue
        pairs = [(t, float(v)) for t, v in zip(times, values) if v is not None and t <= burst_start_ns]
        if not pairs:
            continue
        for alarm in trend_alarms([t for t, _ in pairs], [v for _, v in pairs], feature=feature, direction=direction):
            if int(alarm.detected_time) == int(burst_start_ns):
                found.append(alarm.to_dict())
    return found


def signals_from_trends(machine: Machine, component: Component, alarms: list[dict], observed_at: datetime,
                        burst_id: str) -> list[MaintenanceSignal]:
    """One maintenance signal per new trend alarm of the component."""
    return [MaintenanceSignal(
        machine_id=machine.id, component_id=component.id, component_name=component.name,
        component_kind=component.kind, fault_mode=TREND_FAULT_MODE, location="",
        severity=TREND_SEVERITY.get(a["kind"], "watch"), confidence=TREND_CONFIDENCE, source="trend",
        summary=a["summary"], observed_at=observed_at, burst_id=burst_id, trend=a) for a in alarms]


def alarm_conditions(machine: Machine, component: Component, signals: list[MaintenanceSignal],
                     sensor: str = "") -> list[AlarmCondition]:
    """One alarm condition per finding or trend signal of a burst. The cause is the bearing
    (``bearing:<location>``: its leading fault mode in the title, the other modes of the same burst
    stated as alternatives, :func:`signals_from_findings`), the fault mode and location of any
    other finding, or the feature and kind of change of a trend, so repeats of the same defect
    update one alarm. ``sensor`` (the burst's) is kept so only that sensor's clean bursts clear it
    (:func:`auto_clear`)."""
    conditions = []
    for signal in signals:
        if signal.source == "trend":
            cause = f"{signal.trend.get('feature', '')}:{signal.trend.get('kind', '')}"
            conditions.append(_condition(machine, component, signal, cause, signal.summary, sensor,
                                         {"trend": signal.trend} if signal.trend else {}))
        elif is_bearing_fault(signal.fault_mode) and signal.location and signal.finding:
            verdict = BearingVerdict(signal.location, signal.finding, tuple(signal.alternatives))
            conditions.append(_condition(machine, component, signal, verdict.cause, title_for(signal), sensor,
                                         verdict.detail()))
        else:
            cause = f"{signal.fault_mode}:{signal.location}" if signal.location else signal.fault_mode
            conditions.append(_condition(machine, component, signal, cause, title_for(signal), sensor,
                                         {"finding": signal.finding} if signal.finding else {}))
    return conditions


def _condition(machine: Machine, component: Component, signal: MaintenanceSignal, cause: str, title: str,
               sensor: str, detail: dict) -> AlarmCondition:
    # A finding's alarm is named like its work order (fault, component, part: one line in a list
    # or a phone's notification); its full summary stays in the detail and the e-mail.
    return AlarmCondition(
        machine_id=machine.id, component=component.name, component_id=component.id, source=signal.source,
        cause=cause[:120], severity=signal.severity, title=title, observed_at=signal.observed_at,
        detail={"burst_id": signal.burst_id, "confidence": round(signal.confidence, 3), "sensor": sensor, **detail})


#: Direction in which each trend feature gets worse (for the clean test of its alarms).
TREND_DIRECTIONS = dict(TREND_FEATURES)


def auto_clear(session, machine: Machine, component: Component, sensor: str, burst_at: datetime,
               features: dict, present: list[AlarmCondition], rules: ClearRules, now: datetime) -> list[Alarm]:
    """Count this burst against the component's open diagnosis and trend alarms it did not raise
    again, and clear those with ``rules.bursts_for`` clean bursts in a row (``condition_gone``).

    Clean means: for a diagnosis alarm, the burst's analysis did not find that fault again; for a
    trend alarm, the feature is back within ``TREND_CLEAN_SIGMAS`` of the alarm's baseline (a
    trend is reported once, when first detected, so "not reported again" says nothing). A burst
    from another sensor, or captured no later than the alarm was last seen (the sweep catching up
    out of order), does not count; a burst that is not clean starts the count again. Returns the
    alarms touched (cleared, or with their count changed).
    """
    raised = {(c.source, c.cause) for c in present}
    touched = []
    alarms = session.scalars(select(Alarm).where(Alarm.machine_id == machine.id, Alarm.component == component.name,
                                                 Alarm.source.in_(("diagnosis", "trend")),
                                                 Alarm.state.in_(OPEN_STATES)))
    for alarm in alarms:
        needed = rules.bursts_for(alarm.source, _rule_cause(alarm))
        detail = dict(alarm.detail or {})
        if needed <= 0 or (alarm.source, alarm.cause) in raised:
            continue
        if detail.get("sensor") and detail["sensor"] != sensor:
            continue
        if alarm.last_seen_at is not None and burst_at <= _aware(alarm.last_seen_at):
            continue
        if alarm.source == "trend":
            trend = detail.get("trend") or {}
            feature = trend.get("feature", "")
            clean = trend_is_clean(trend, features.get(feature), TREND_DIRECTIONS.get(feature, "up"))
            if clean is None:
                continue
        else:
            clean = True
        streak = clean_streak(detail) + 1 if clean else 0
        if clean and streak >= needed:
            alarm.clear(None, when=now, reason="condition_gone",
                        comment=f"{streak} clean bursts in a row of {sensor or 'its sensor'}")
        else:
            alarm.detail = {**detail, "clean_bursts": streak}
        touched.append(alarm)
    session.flush()
    return touched


def _rule_cause(alarm: Alarm) -> str:
    """The cause the clear rules read: a bearing alarm's by its leading fault mode
    (``diagnosis:bearing_outer_race=2`` still applies to the bearing alarm that names it)."""
    location = bearing_location(alarm.cause)
    fault_mode = (alarm.detail or {}).get("fault_mode")
    return f"{fault_mode}:{location}" if location is not None and fault_mode else alarm.cause


def _aware(when: datetime) -> datetime:
    from datetime import timezone

    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


class DiagnosisService:
    """Diagnose stored bursts and turn the findings into work orders.

    Parameters
    ----------
    store : telemetry.store.TelemetryStore
        Reads bursts, writes features and diagnoses (InfluxDB).
    session_factory : sessionmaker
        The SQL store.
    notifier : fleet.notify.Notifier, optional
        Where events go (default: nowhere).
    clock : callable, optional
        Returns the current aware UTC datetime (due dates are computed from it).
    clear_rules : fleet.alarms.ClearRules, optional
        When diagnosis and trend alarms clear themselves; default from
        ``IRONWATCH_ALARM_CLEAR_BURSTS`` (``ClearRules.parse``).
    """

    def __init__(self, store, session_factory: sessionmaker, notifier: Notifier | None = None,
                 clock: Callable[[], datetime] = utcnow, clear_rules: ClearRules | None = None):
        import os

        self.clear_rules = clear_rules or ClearRules.parse(os.environ.get("IRONWATCH_ALARM_CLEAR_BURSTS"))
        self.store = store
        self.sessions = session_factory
        self.notifier = notifier or NullNotifier()
        self.clock = clock
        # Serialises the read-decide-write of work orders inside this process, so two bursts of
        # the same component diagnosed at once cannot both open an order.
        self._lock = threading.Lock()

    def is_processed(self, burst_id: str) -> bool:
        """True when the burst already has a diagnosis record."""
        with self.sessions() as session:
            return session.scalar(select(BurstDiagnosis.id).where(BurstDiagnosis.burst_id == burst_id)) is not None

    def _previous(self, burst_id: str) -> DiagnosisOutcome | None:
        with self.sessions() as session:
            record = session.scalar(select(BurstDiagnosis).where(BurstDiagnosis.burst_id == burst_id)
                                    .options(selectinload(BurstDiagnosis.machine),
                                             selectinload(BurstDiagnosis.component)))
            if record is None:
                return None
            return DiagnosisOutcome(burst_id, record.machine.uid, record.component.name if record.component else "",
                                    True, record.iso_zone, list(record.findings or []))

    def _kinematics(self, machine_uid: str, component_name: str) -> dict:
        with self.sessions() as session:
            component = session.scalar(select(Component).join(Machine).where(Machine.uid == machine_uid,
                                                                             Component.name == component_name))
            if component is None:
                raise DiagnosisError(f"burst of unknown component {component_name!r} on machine {machine_uid!r}")
            kinematics = dict(component.kinematics or {})
            # Limits an admin set for the machine's group (its model) win over the component's own.
            group_limits = group_limits_in(session, machine_uid, component_name)
            if group_limits is not None:
                kinematics["zone_limits_mm_s"] = list(group_limits)
            return kinematics

    def process_burst(self, burst_id: str) -> DiagnosisOutcome:
        """Diagnose one stored burst (idempotent: a second call returns the first result).

        Raises
        ------
        telemetry.store.BurstNotFound
            The burst is not (yet, or no longer) in InfluxDB.
        DiagnosisError
            Unknown machine/component.

        A burst the pipeline refuses (``ValueError``: too short for its analysis, say; ingest
        accepts what the contract allows) gets a final "not diagnosable" record instead, saying
        why, so that the sweep does not submit it again and again.
        """
        previous = self._previous(burst_id)
        if previous is not None:
            return previous
        burst = self.store.read_burst(burst_id)
        meta = burst.meta
        kinematics = self._kinematics(meta.machine, meta.component)
        try:
            analysis = analyze_burst(burst.samples_m_s2(), meta.sample_rate_hz, meta.shaft_rpm, kinematics,
                                     component=meta.component)
        except ValueError as exc:
            return self._record_not_diagnosable(meta, str(exc))
        findings = [f.to_dict() for f in analysis.findings]
        self.store.write_features(meta, {**analysis.features, "iso_zone": analysis.iso_zone})
        for finding in findings:
            self.store.write_diagnosis(meta, finding)
        history = self.store.feature_history(meta.machine, meta.component,
                                             start=self.trend_window_start(meta.machine, meta.component, meta.start_ns))
        trends = trend_findings(history, meta.start_ns)
        with self._lock:
            try:
                return self._record(meta, analysis, findings, trends)
            except IntegrityError:
                # Another worker committed this burst between our check and our commit.
                log.info("burst %s was diagnosed concurrently; keeping the first result", burst_id)
                return self._previous(burst_id)

    def trend_window_start(self, machine_uid: str, component_name: str, burst_start_ns: int) -> int:
        """The trend window's start (ns): ``TREND_WINDOW`` back, or the component's latest repair
        when later, so a repaired component's trend baseline is formed from fresh data only."""
        start = burst_start_ns - int(TREND_WINDOW.total_seconds() * 1e9)
        with self.sessions() as session:
            component_id = session.scalar(select(Component.id).join(Machine).where(
                Machine.uid == machine_uid, Component.name == component_name))
            repaired_at = repairs.baseline_since(session, component_id) if component_id is not None else None
        if repaired_at is not None:
            start = max(start, int(repaired_at.timestamp() * 1e9) + 1)
        return start

    def _record_not_diagnosable(self, meta, reason: str) -> DiagnosisOutcome:
        """The final verdict on a burst the pipeline cannot analyse: one ``not_diagnosable``
        finding naming the reason (shown with the burst's diagnoses), no work order, no status."""
        finding = {"component": meta.component, "fault_mode": NOT_DIAGNOSABLE, "location": "", "severity": "watch",
                   "confidence": 1.0, "evidence": [], "score": 0.0,
                   "summary": f"Not diagnosed: {reason}. Check the gateway's burst settings.",
                   "detail": {"reason": reason, "n_samples": meta.n_samples, "sample_rate_hz": meta.sample_rate_hz}}
        log.warning("burst %s is not diagnosable: %s", meta.burst_id, reason)
        with self._lock:
            try:
                with transaction(self.sessions) as session:
                    if session.scalar(select(BurstDiagnosis.id).where(BurstDiagnosis.burst_id == meta.burst_id)):
                        return self._previous(meta.burst_id)
                    machine = session.scalar(select(Machine).where(Machine.uid == meta.machine))
                    component = machine.component(meta.component)
                    session.add(BurstDiagnosis(
                        burst_id=meta.burst_id, machine_id=machine.id, component_id=component.id,
                        sensor=meta.sensor, burst_at=from_ns(meta.start_ns), processed_at=self.clock(),
                        iso_zone=None, worst_severity="", features={}, findings=[finding], work_order_ids=[]))
            except IntegrityError:
                return self._previous(meta.burst_id)
        return DiagnosisOutcome(meta.burst_id, meta.machine, meta.component, False, None, [finding])

    def _record(self, meta, analysis, findings: list[dict], trends: list[dict]) -> DiagnosisOutcome:
        now = self.clock()
        burst_at = from_ns(meta.start_ns)
        with transaction(self.sessions) as session:
            if session.scalar(select(BurstDiagnosis.id).where(BurstDiagnosis.burst_id == meta.burst_id)):
                return self._previous(meta.burst_id)
            machine = session.scalar(select(Machine).where(Machine.uid == meta.machine)
                                     .options(selectinload(Machine.tenant), selectinload(Machine.site)))
            component = machine.component(meta.component)
            features = {k: float(v) for k, v in analysis.features.items()}
            record = BurstDiagnosis(
                burst_id=meta.burst_id, machine_id=machine.id, component_id=component.id, sensor=meta.sensor,
                burst_at=burst_at, processed_at=now, iso_zone=analysis.iso_zone,
                velocity_rms_mm_s=features.get("velocity_rms_mm_s"), health_index=features.get("health_index"),
                worst_severity=worst_severity(*(f["severity"] for f in findings)), features=features,
                findings=findings, work_order_ids=[])
            session.add(record)
            signals = signals_from_findings(machine, component, analysis.findings, burst_at, meta.burst_id)
            signals += signals_from_trends(machine, component, trends, burst_at, meta.burst_id)
            changes = apply_signals(session, machine, signals, now)
            record.work_order_ids = [c.order.id for c in changes]
            conditions = alarm_conditions(machine, component, signals, meta.sensor)
            alarms = alarm_service.record_conditions(session, machine, conditions, now)
            _link_work_orders(alarms, changes)
            alarms += auto_clear(session, machine, component, meta.sensor, burst_at, features, conditions,
                                 self.clear_rules, now)
            # Bursts may be diagnosed out of order (sweep catching up): only newer ones set "latest",
            # and none captured before the component's repair (its summary restarts from fresh data).
            repaired_at = repairs.baseline_since(session, component.id)
            if (component.last_burst_at is None or burst_at >= component.last_burst_at) and (
                    repaired_at is None or burst_at > repaired_at):
                component.iso_zone, component.last_burst_at = analysis.iso_zone, burst_at
                component.velocity_rms_mm_s = record.velocity_rms_mm_s
                component.health_index = record.health_index
            if machine.last_seen_at is None or burst_at > machine.last_seen_at:
                machine.last_seen_at = burst_at
            session.flush()
            refresh_machine_status(session, machine, now)
            open_count = active_order_counts(session, [machine.id]).get(machine.id, 0)
            events = [LiveUpdate(tenant_ids=tuple(machine.tenant.audience()), name="diagnosis",
                                 payload=diagnosis_view(record))]
            events += change_events(machine, changes, open_count)
            events += alarm_service.take_events(alarms)
        publish(self.notifier, events)
        return DiagnosisOutcome(
            meta.burst_id, meta.machine, meta.component, False, analysis.iso_zone, findings,
            opened=[c.order.id for c in changes if c.change == "opened"],
            updated=[c.order.id for c in changes if c.change == "updated"], trends=trends)


def _link_work_orders(alarms: list, changes: list) -> None:
    """Remember on each alarm the work order opened or updated for the same component and fault
    (for a bearing's alarm, the order of any fault of that bearing: ``maintenance.matching_order``
    keeps one order per bearing)."""
    for alarm in alarms:
        for change in changes:
            if alarm.work_order_id is None and _same_fault(alarm, change.order):
                alarm.work_order_id = change.order.id


def _same_fault(alarm: Alarm, order) -> bool:
    if order.component_id != alarm.component_id:
        return False
    if alarm.source == order.source == "trend":
        return True
    location = bearing_location(alarm.cause)
    if location is not None:
        return is_bearing_fault(order.fault_mode) and (order.location or "") == location
    return alarm.cause.split(":")[0] == order.fault_mode
