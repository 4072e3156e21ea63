"""Scheduled RUL scoring: every component with enough feature history gets P10/P50/P90 hours.

``score_fleet`` reads each component's feature history from InfluxDB, bins it to the cadence its
kind's active model was trained on, scores the newest state, writes the estimate and the model
version to InfluxDB (``TelemetryStore.write_rul``), publishes a ``rul`` event and returns the
results so maintenance planning can set due dates. A component that cannot be scored (no active
model for its kind, too little history) gets a result without numbers and the reason.

Bearing components (kinematics with rolling bearings and no gears:
``diagnostics.prognostics.bearing_fleet.is_bearing_component``) are scored by the path measured on
the FEMTO run-to-failure bearings (docs/prognostics.md), not by LightGBM: the bearing's RMS against
its own healthy baseline (the first bursts after installation or repair), an onset alarm at +6 dB,
then the degradation model's RUL; before the onset the population's life given survival, flagged
(``RulResult.state = "healthy"``, ``at_cap``: not planned on). The bearing life model travels in
the kind's registered model (``estimator.metadata["bearing_life"]``, written by
``fleet.rul_training``); a model trained before it existed scores bearings with LightGBM as before
and says so in ``method``. The onset state (``bearing_onset``) travels with the result and the
``rul`` event and is an alarm source (``fleet.alarm_sources.evaluate_onset_alarms``).
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

import numpy as np

from diagnostics.prognostics.bearing_fleet import FLEET_INDICATOR, METADATA_KEY, estimate_hours, is_bearing_component
from diagnostics.prognostics.bearing_life import BearingLifeModel
from diagnostics.prognostics.health_indicator import IndicatorConfig, OnsetState, onset_state
from diagnostics.prognostics.history import (OPERATING_HOURS, WALL_CLOCK, bin_history, history_matrix,
                                             hour_meter_column, operating_run_start)
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
    ``method`` is ``"lightgbm"`` or ``"bearing_life"`` (the FEMTO path); with the latter ``state`` is
    ``"healthy"`` (before onset: the population's life given survival, ``at_cap`` so nobody plans
    on it) or ``"degrading"`` (after the onset alarm: the degradation model), and ``note`` says
    which in words.
    ``age_axis`` says what ``history_h`` and the model's ages are: ``"operating_hours"`` (the
    engine hour meter the bursts carry, what the models were trained on) or ``"wall_clock"`` (the
    bursts carry none); the LightGBM path's ``note`` says it in words.
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
    method: str = "lightgbm"
    state: str | None = None
    note: str | None = None
    age_axis: str | None = None

    @property
    def scored(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return asdict(self)


def _round(value: float) -> float:
    return round(float(value), 1)


def bearing_rms(history: dict) -> tuple[np.ndarray, np.ndarray]:
    """(times ns, RMS) of a feature history, NaN where the RMS is missing or the burst was a sensor fault."""
    times = history.get("time") or []
    rms = history.get(ONSET_FEATURE) or [None] * len(times)
    faults = history.get("sensor_fault") or [None] * len(times)
    values = np.array([np.nan if v is None or f == 1 else float(v) for v, f in zip(rms, faults)], dtype=float)
    return np.asarray(times, dtype=np.int64), values


def bearing_onset(history: dict, config: IndicatorConfig = FLEET_INDICATOR) -> OnsetState:
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
    config : IndicatorConfig
        Counted in bursts; the fleet's (``FLEET_INDICATOR``) unless the kind's model carries its own.
    """
    times, values = bearing_rms(history)
    return onset_state(times, values, config)


def bearing_life_model(estimator) -> BearingLifeModel | None:
    """The bearing life model a registered estimator carries, None when it was trained without one."""
    doc = (getattr(estimator, "metadata", None) or {}).get(METADATA_KEY)
    if not doc:
        return None
    try:
        return BearingLifeModel.from_dict(doc)
    except ValueError:
        log.warning("model metadata has an unreadable bearing life model: scoring bearings with LightGBM")
        return None


def score_bearing(history: dict, model: BearingLifeModel, version: str, base: RulResult) -> RulResult:
    """Score one bearing component by the FEMTO path (pure: no I/O).

    Before the baseline exists there is no number (``reason``); before the onset alarm the number
    is the population's life given survival since the baseline began (``state = "healthy"``,
    ``at_cap`` true: it is no evidence about this bearing, so nobody plans on it); after the alarm
    the degradation model's (``state = "degrading"``).
    """
    times, values = bearing_rms(history)
    meter = hour_meter_column(history, times)
    keep = np.isfinite(values)
    times, values = times[keep], values[keep]
    age_s = bearing_age_s(times, None if meter is None else meter[keep])
    base.age_axis = WALL_CLOCK if age_s is None else OPERATING_HOURS
    base.method, base.observations = "bearing_life", int(times.size)
    if times.size:
        span_s = float(age_s[-1] - age_s[0]) if age_s is not None else float(times[-1] - times[0]) / 1e9
        base.history_h = round(span_s / 3600.0, 2)
    base.onset = onset_summary(onset_state(times, values, model.config))
    needed = model.config.ready_snapshots + 1
    if times.size < needed:
        base.reason = (f"building its healthy baseline: {times.size} of {needed} bursts needed before the "
                       f"onset detector may judge this bearing")
        return base
    estimate, hours = estimate_hours(model, times, values, age_s)
    base.p10_h, base.p50_h, base.p90_h = _round(hours["p10_h"]), _round(hours["p50_h"]), _round(hours["p90_h"])
    base.point_h = _round(hours["point_h"])
    base.model_version = f"{version}/{BEARING_VERSION_SUFFIX}"
    base.time_ns = int(times[-1])
    base.rul_cap_h = _round(hours["cap_h"])
    base.state = estimate.state
    base.at_cap = estimate.state != "degrading"
    if base.at_cap:
        survived = (f"{base.history_h:.0f} operating hours" if age_s is not None
                    else f"{base.history_h:.0f} h (wall clock: no hour meter with the bursts)")
        base.note = (f"no degradation onset yet (vibration within twice its own baseline): the kind's life "
                     f"distribution given {survived} survived since the baseline, not a "
                     f"forecast for this bearing")
    else:
        base.note = ("degrading since the onset alarm: remaining life from the vibration's own growth per "
                     + ("operating hour" if age_s is not None else "hour of wall clock (no hour meter with the bursts)"))
    return base


def bearing_age_s(times_ns: np.ndarray, meter_h: np.ndarray | None) -> np.ndarray | None:
    """Operating seconds of each burst from its hour meter, None when the bearing path must use
    the clock. Its healthy baseline is the first bursts since installation or repair, so unlike the
    binned path no older rows can be left out: the operating axis needs a reading on every burst."""
    if meter_h is None or times_ns.size == 0 or operating_run_start(meter_h) != 0:
        return None
    return (meter_h - meter_h[0]) * 3600.0


#: Appended to the kind's model version where the bearing path made the estimate.
BEARING_VERSION_SUFFIX = "bearing-life"


def _bearing_target(kinematics: dict | None) -> bool:
    return is_bearing_component(kinematics)


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
    binned = bin_history(times, values, cadence, hour_meter_column(history, times))
    needed = estimator.min_history
    if binned.left_out and binned.age_h.size < needed:
        # The history began before its gateway sent the hour meter, and the metered part alone is
        # too short: the clock over every row is the only axis that holds them all (and says so).
        wall = bin_history(times, values, cadence)
        if wall.age_h.size >= needed:
            binned = wall
    base.history_h = round(binned.span_h, 2)
    base.observations = binned.observations
    base.age_axis = binned.axis
    if estimator.settings:
        # Feature histories carry no operating settings, so a regime-normalised model cannot be
        # fed correctly here; better no number than one from the wrong regime.
        base.reason = f"model {version} needs operating settings {estimator.settings} that feature histories lack"
        return base
    missing = [c for c in estimator.channels if c not in history]
    if history.get("time") and missing:
        base.reason = f"feature history lacks {', '.join(missing)} that model {version} needs"
        return base
    unit = "operating hours" if binned.axis == OPERATING_HOURS else "h"
    if binned.age_h.size < needed:
        base.reason = (f"too little history: {binned.age_h.size} of {needed} observations of "
                       f"{cadence:g} {unit} needed ({binned.describe()})")
        return base
    units = ["component"] * binned.age_h.size
    _, estimate = estimator.predict_last(units, binned.age_h, binned.values)
    base.p10_h, base.p50_h, base.p90_h = (_round(estimate.p10[0]), _round(estimate.p50[0]), _round(estimate.p90[0]))
    base.point_h = _round(estimate.point[0])
    base.model_version = version
    base.time_ns = binned.last_ns
    base.rul_cap_h = estimator.rul_cap
    base.at_cap = bool(estimator.rul_cap is not None and base.p50_h >= AT_CAP_SHARE * estimator.rul_cap)
    base.note = f"from {binned.describe()}"
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
                    bool((c.kinematics or {}).get("bearings")), _bearing_target(c.kinematics), since.get(c.id))
                   for c in components]

    models: dict[str, tuple] = {}
    results = []
    for machine, component, kind, machine_id, audience, has_bearings, bearing, repaired_at in targets:
        base = RulResult(machine, component, kind, machine_id, list(audience))
        history = None
        if kind not in models:
            try:
                record, estimator = registry.load(kind)
                models[kind] = (record.version, estimator, bearing_life_model(estimator))
            except RegistryError as exc:
                models[kind] = (None, str(exc), None)
        version, estimator, life = models[kind]
        if has_bearings:
            history = store.feature_history(machine, component, start=repaired_at)
            base.onset = onset_summary(bearing_onset(history, life.config if life else FLEET_INDICATOR))
        if version is None:
            base.reason = f"no usable RUL model for component kind {kind}: {estimator}"
            results.append(base)
            continue
        if history is None:
            history = store.feature_history(machine, component, start=repaired_at)
        if bearing and life is not None:
            result = score_bearing(history, life, version, base)
        else:
            result = score_component(history, estimator, version, base)
        if result.scored:
            store.write_rul(machine, component, result.time_ns, result.p10_h, result.p50_h, result.p90_h,
                            result.model_version)
            if notifier is not None:
                payload = {"machine": machine, "component": component, "p10_h": result.p10_h,
                           "p50_h": result.p50_h, "p90_h": result.p90_h, "model_version": result.model_version,
                           "time": result.time_ns, "at_cap": result.at_cap, "onset": result.onset,
                           "method": result.method, "state": result.state, "note": result.note,
                           "age_axis": result.age_axis}
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
        targets = [(uid, name, kind, _bearing_target(kinematics)) for uid, name, kind, kinematics in session.execute(
            select(Machine.uid, Component.name, Component.kind, Component.kinematics).join(Component.machine)
            .order_by(Machine.uid, Component.name)).all()]
    models: dict[str, tuple] = {}
    written = 0
    for machine, component, kind, bearing in targets:
        if kind not in models:
            try:
                record, estimator = registry.load(kind)
                models[kind] = (record.version, estimator, bearing_life_model(estimator))
            except RegistryError:
                models[kind] = (None, None, None)
        version, estimator, life = models[kind]
        if version is None:
            continue
        history = store.feature_history(machine, component)
        times = history.get("time") or []
        for end in range(1, len(times) + 1):
            if since_ns is not None and times[end - 1] < since_ns:
                continue
            truncated = {name: values[:end] for name, values in history.items()}
            base = RulResult(machine, component, kind, 0, [])
            if bearing and life is not None:
                result = score_bearing(truncated, life, version, base)
            else:
                result = score_component(truncated, estimator, version, base)
            if result.scored:
                store.write_rul(machine, component, result.time_ns, result.p10_h, result.p50_h, result.p90_h,
                                result.model_version)
                written += 1
    return written
