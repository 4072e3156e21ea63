"""RUL scoring against the real InfluxDB and a real SQL database (the seeded demo fleet)."""
import numpy as np
import pytest

from diagnostics.degradation import HISTORY_CHANNELS
from diagnostics.prognostics import TrainConfig, WindowSpec, fit_estimator
from fleet import seed
from fleet.model_registry import ModelRegistry
from fleet.rul_scoring import score_fleet
from telemetry.store import BurstMeta, TelemetryStore

from fleet_helpers import EventLog

pytestmark = pytest.mark.integration

HOUR_NS = 3_600_000_000_000
T0 = 1_764_000_000 * 1_000_000_000  # 2025-11-24T16:00Z, whole hour


def wear_features(health: float, rng) -> dict:
    """Feature values of a bearing at health 1 (new) .. 0 (failed), roughly as analyze_burst gives them."""
    damage = 1.0 - health
    return {"velocity_rms_mm_s": 1.0 + 2.0 * damage + 0.05 * rng.standard_normal(),
            "acc_rms_m_s2": 0.3 + 3.5 * damage + 0.05 * rng.standard_normal(),
            "peak_m_s2": 1.0 + 28.0 * damage + 0.3 * rng.standard_normal(),
            "crest_factor": 3.0 + 5.0 * damage, "kurtosis": 3.0 + 14.0 * damage,
            "health_index": max(0.0, health - 0.02 * abs(rng.standard_normal()))}


def fleet_model() -> "RulEstimator":
    """A small model on synthetic 6-hourly run-to-failure histories of the contract's features."""
    rng = np.random.default_rng(0)
    units, ages, rows, ruls = [], [], [], []
    for u in range(16):
        life = float(rng.uniform(150, 300))
        age = np.arange(0.0, life, 6.0)
        for a in age:
            rows.append([wear_features(1.0 - (a / life) ** 2, rng)[c] for c in HISTORY_CHANNELS])
        units += [u] * age.size
        ages.append(age)
        ruls.append(life - age)
    est = fit_estimator(np.array(units), np.concatenate(ages), np.array(rows), np.concatenate(ruls),
                        list(HISTORY_CHANNELS), rul_cap=120.0, min_history=4,
                        spec=WindowSpec(mean_windows=(2, 4), std_windows=(4,), slope_windows=(3,), ewm_alphas=(0.3,),
                                        baseline_rows=2),
                        config=TrainConfig(num_boost_round=40, num_leaves=7, min_data_in_leaf=10, num_threads=1))
    est.metadata["cadence_hours"] = 6.0
    return est


def write_history(store, machine, component, hours, health_at):
    rng = np.random.default_rng(1)
    for h in range(hours):
        t = T0 + h * HOUR_NS
        meta = BurstMeta(f"{machine}.{component}.acc.radial.{t}", machine, component, f"{component}.acc",
                         "radial", 25600.0, t, 25600, "m/s2", 1500.0)
        store.write_features(meta, wear_features(health_at(h), rng))


def test_scoring_writes_ranges_for_components_with_history_and_says_why_for_the_rest(
        influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    registry = ModelRegistry(session_factory, var_dir=tmp_path)
    record = registry.register("alternator_bearing", fleet_model())
    registry.promote("alternator_bearing", record.version)
    store = TelemetryStore(influx)
    # GS-2001's drive-end bearing is far gone after 60 h of hourly bursts; GS-2002's has 5 h only.
    write_history(store, "GS-2001", "alternator_de", 60, lambda h: 0.6 - 0.005 * h)
    write_history(store, "GS-2002", "alternator_de", 5, lambda h: 1.0)
    events = EventLog()

    results = score_fleet(store, session_factory, registry, notifier=events)

    by_key = {(r.machine, r.component): r for r in results}
    worn = by_key[("GS-2001", "alternator_de")]
    assert worn.scored, worn.reason
    assert worn.p10_h <= worn.p50_h <= worn.p90_h and worn.p50_h < 100.0 and not worn.at_cap
    assert worn.model_version == record.version == "alternator_bearing-v1"
    assert worn.time_ns == T0 + 59 * HOUR_NS and worn.observations == 60
    written = store.rul_history("GS-2001", "alternator_de")
    assert written["p50_h"] == [worn.p50_h] and written["model_version"] == [record.version]
    assert written["time"] == [worn.time_ns]

    young = by_key[("GS-2002", "alternator_de")]
    assert not young.scored and young.p50_h is None
    assert "too little history" in young.reason and "1 of 4 observations" in young.reason
    assert store.rul_history("GS-2002", "alternator_de")["p50_h"] == []

    engine = by_key[("GS-2001", "engine")]
    assert not engine.scored and "no usable RUL model for component kind diesel_engine" in engine.reason
    silent = by_key[("GS-2001", "alternator_nde")]
    assert "too little history: 0 of 4" in silent.reason

    rul_events = events.named("rul")
    assert len(rul_events) == 1
    event, payload, audience = rul_events[0]
    assert payload["machine"] == "GS-2001" and payload["model_version"] == record.version
    assert sorted(audience) == sorted(worn.tenant_ids) and len(audience) == 2  # customer and its OEM
