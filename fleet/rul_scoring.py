"""Scheduled RUL scoring: every component with enough feature history gets P10/P50/P90 hours.

``score_fleet`` reads each component's feature history from InfluxDB, bins it to the cadence its
kind's active model was trained on, scores the newest state, writes the estimate and the model
version to InfluxDB (``TelemetryStore.write_rul``), publishes a ``rul`` event and returns the
results so maintenance planning can set due dates. A component that cannot be scored (no active
model for its kind, too little history) gets a result without numbers and the reason.

Components with rolling bearings also get their onset state (``bearing_onset``): the bearing's
RMS against its own healthy baseline, alarmed at +6 dB (``diagnostics.prognostics.health_indicator``,
the detector measured on the FEMTO run-to-failure bearings, docs/prognostics.md). It is an alarm
source for the alarms service and travels with the result and the ``rul`` event.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

import numpy as np

from diagnostics.prognostics.health_indicator import OnsetState, onset_state
from diagnostics.prognostics.history import bin_history, history_matrix
from fleet.model_registry import ModelRegistry, RegistryError
from fleet.models import Component, Machine
from fleet import repairs
from fleet.notify import Notifier, safe_publish

log = logging.getLogger(__name__)

# The estimate is "at least this long" when the P50 is this close to the training cap.
AT_CAP_SHARE = 0.95
# The feature the bearing onset detector trends (every BurstAnalysis carries it).
ONSET_FEATURE = "acc_rms_m_s2"


@dataclass
class RulResult:
    """One component's RUL, in hours, or why there is none.

    ``p10_h``/``p50_h``/``p90_h``/``point_h`` are None exactly when ``reason`` is set.
    ``at_cap`` means the component looks healthy: its RUL is *at least* ``rul_cap_h`` and a
    planner should not schedule from P10. ``time_ns`` is the newest observation scored.
    ``onset`` (components with rolling bearings; None otherwise): ``{"state": "baseline" |
    "healthy" | "degrading", "level_nepers", "alarm_ns", "onset_ns", "bursts"}`` from
    :func:`bearing_onset`, set whether or not the RUL was scored.
    """

    machine: str
    component: str
    component_kind: str
    machine_id: int
    tenant_ids: list[int]
    p10_h: float | None = None
    p50_h: float | None = None
    p90_h: float | None = None
    point_h: float | None = None
    model_version: str | None = None
    time_ns: int | None = None
    at_cap: bool = False
    rul_cap_h: float | None = None
    history_h: float = 0.0
    observations: int = 0
    reason: str | None = None
    onset: dict | None = None

    @property
    def scored(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return asdict(self)


def _round(value: float) -> float:
    return round(float(value), 1)


def bearing_onset(history: dict) -> OnsetState:
    """Onset state of a bearing component from its feature history.

    Parameters
    ----------
    history : dict
        ``TelemetryStore.feature_history(machine, component)``: ``{"time": [ns], "acc_rms_m_s2":
        [float | None], ...}``. Points without the RMS, and bursts diagnosed as a sensor fault
        (``sensor_fault == 1``), are left out: they say nothing about the bearing.

    Returns
    -------
    diagnostics.prognostics.health_indicator.OnsetState
        Times in ns since the epoch.
    """
    times = history.get("time") or []
    rms = history.get(ONSET_FEATURE) or [None] * len(times)
    faults = history.get("sensor_fault") or [None] * len(times)
    values = np.array([np.nan if v is None or f == 1 else float(v) for v, f in zip(rms, faults)], dtype=float)
    return onset_state(np.asarray(times, dtype=np.int64), values)


def onset_summary(state: OnsetState) -> dict:
    """The JSON-friendly form of an onset state that results and events carry (times in int ns)."""
    return {"state": state.state, "level_nepers": round(state.level_nepers, 3), "alarm_ns": state.alarm_time,
            "onset_ns": state.onset_time, "bursts": state.points}


def score_component(history: dict, estimator, version: str, base: RulResult) -> RulResult:
    """Score one component's feature history with an estimator (pure: no I/O).

    ``base`` carries the identity fields; the returned result adds numbers or a reason.
    """
    cadence = float(estimator.metadata.get("cadence_hours") or 1.0)
    times, values = history_matrix(history, estimator.channels)
    binned = bin_history(times, values, cadence)
    base.history_h = round(binned.span_h, 2)
    base.observations = binned.observations
    if estimator.settings:
        # Feature histories carry no operating settings, so a regime-normalised model cannot be
        # fed correctly here; better no number than one from the wrong regime.
        base.reason = f"model {version} needs operating settings {estimator.settings} that feature histories lack"
        return base
    missing = [c for c in estimator.channels if c not in history]
    if history.get("time") and missing:
        base.reason = f"feature history lacks {', '.join(missing)} that model {version} needs"
        return base
    needed = estimator.min_history
    if binned.age_h.size < needed:
        base.reason = (f"too little history: {binned.age_h.size} of {needed} observations of "
                       f"{cadence:g} h needed ({binned.span_h:.1f} h of data, {binned.observations} bursts)")
        return base
    units = ["component"] * binned.age_h.size
    _, estimate = estimator.predict_last(units, binned.age_h, binned.values)
    base.p10_h, base.p50_h, base.p90_h = (_round(estimate.p10[0]), _round(estimate.p50[0]), _round(estimate.p90[0]))
    base.point_h = _round(estimate.point[0])
    base.model_version = version
    base.time_ns = binned.last_ns
    base.rul_cap_h = estimator.rul_cap
    base.at_cap = bool(estimator.rul_cap is not None and base.p50_h >= AT_CAP_SHARE * estimator.rul_cap)
    return base


def score_fleet(store, session_factory: sessionmaker[Session], registry: ModelRegistry,
                notifier: Notifier | None = None) -> list[RulResult]:
    """Score every component of every machine; write and publish the scored ones.

    Parameters
    ----------
    store : ``telemetry.store.TelemetryStore`` (reads ``feature_history``, writes ``write_rul``).
    session_factory : the fleet SQL sessions (components, machines, tenants).
    registry : where the active model of each component kind is loaded from.
    notifier : receives a ``rul`` event per scored component (audience: the machine's tenant and
        its OEM); None publishes nothing.

    Returns
    -------
    One RulResult per component, scored or with its reason, ordered by machine and component.
    """
    with session_factory() as session:
        components = session.scalars(
            select(Component).join(Machine).options(selectinload(Component.machine).selectinload(Machine.tenant))
            .order_by(Machine.uid, Component.name)
        ).all()
        # A repaired component is scored from its features after the repair only (fleet.repairs).
        since = repairs.baselines(session)
        targets = [(c.machine.uid, c.name, c.kind, c.machine.id, c.machine.tenant.audience(),
                    bool((c.kinematics or {}).get("bearings")), since.get(c.id)) for c in components]

    models: dict[str, tuple] = {}
    results = []
    for machine, component, kind, machine_id, audience, has_bearings, repaired_at in targets:
        base = RulResult(machine, component, kind, machine_id, list(audience))
        history = None
        if has_bearings:
            history = store.feature_history(machine, component, start=repaired_at)
            base.onset = onset_summary(bearing_onset(history))
        if kind not in models:
            try:
                record, estimator = registry.load(kind)
                models[kind] = (record.version, estimator)
            except RegistryError as exc:
                models[kind] = (None, str(exc))
        version, estimator = models[kind]
        if version is None:
            base.reason = f"no usable RUL model for component kind {kind}: {estimator}"
            results.append(base)
            continue
        if history is None:
            history = store.feature_history(machine, component, start=repaired_at)
        result = score_component(history, estimator, version, base)
        if result.scored:
            store.write_rul(machine, component, result.time_ns, result.p10_h, result.p50_h, result.p90_h, version)
            if notifier is not None:
                payload = {"machine": machine, "component": component, "p10_h": result.p10_h,
                           "p50_h": result.p50_h, "p90_h": result.p90_h, "model_version": version,
                           "time": result.time_ns, "at_cap": result.at_cap, "onset": result.onset}
                safe_publish(notifier, "rul", payload, audience)
        else:
            log.debug("RUL of %s/%s not scored: %s", machine, component, result.reason)
        results.append(result)
    return results


def score_history(store, session_factory: sessionmaker[Session], registry: ModelRegistry,
                  since_ns: int | None = None) -> int:
    """Write the RUL each component would have had at each of its past observations.

    For a history that arrived at once (a demo's fast backfill, a gateway's buffer after weeks
    offline), the scheduled job would only score "now". This scores the feature history as it
    stood after each observation since ``since_ns`` (truncated, so nothing from the future leaks
    in) and writes each estimate at that observation's time, so the fan chart shows how the
    estimate developed. Rewriting an existing point (same component and time) replaces it with
    the same numbers. Returns how many estimates were written.
    """
    with session_factory() as session:
        targets = session.execute(select(Machine.uid, Component.name, Component.kind).join(Component.machine)
                                  .order_by(Machine.uid, Component.name)).all()
    models: dict[str, tuple] = {}
    written = 0
    for machine, component, kind in targets:
        if kind not in models:
            try:
                record, estimator = registry.load(kind)
                models[kind] = (record.version, estimator)
            except RegistryError:
                models[kind] = (None, None)
        version, estimator = models[kind]
        if version is None:
            continue
        history = store.feature_history(machine, component)
        times = history.get("time") or []
        for end in range(1, len(times) + 1):
            if since_ns is not None and times[end - 1] < since_ns:
                continue
            truncated = {name: values[:end] for name, values in history.items()}
            result = score_component(truncated, estimator, version, RulResult(machine, component, kind, 0, []))
            if result.scored:
                store.write_rul(machine, component, result.time_ns, result.p10_h, result.p50_h, result.p90_h, version)
                written += 1
    return written
