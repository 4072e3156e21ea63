"""TelemetryStore against the real InfluxDB: bursts read back bit-exact, trends, latest, faults,
features, diagnoses and RUL."""
import time

import numpy as np
import pytest

from telemetry import schema
from telemetry.operating_lines import operating_lines
from telemetry.store import (
    Burst,
    BurstMeta,
    BurstNotFound,
    TelemetryStore,
    burst_meta_line,
    fault_lines,
)

pytestmark = pytest.mark.integration

# a whole minute two hours ago: inside the raw retention, buckets aligned
T0 = (int(time.time()) // 3600 * 3600 - 7200) * 1_000_000_000
# operating data three days back: outside the continuous queries' RESAMPLE FOR windows, so only
# what a test does itself lands in the downsampled measurements
T_OP = T0 - 3 * 86400 * 1_000_000_000


def _write_burst(influx, samples, start_ns=T0, fs=25600.0):
    meta = BurstMeta(
        burst_id=schema.burst_id_for("EX-1", "engine.acc", "radial", start_ns), machine="EX-1", component="engine",
        sensor="engine.acc", axis="radial", sample_rate_hz=fs, start_ns=start_ns, n_samples=len(samples),
        units="m/s2", shaft_rpm=1800.0, upload_id="u-1",
    )
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, start_ns, fs)), rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    return meta


def test_read_burst_returns_exactly_what_was_written(influx):
    samples = (np.random.default_rng(3).standard_normal(25600) * 9.81).astype(np.float32)
    meta = _write_burst(influx, samples)
    store = TelemetryStore(influx)
    burst = store.read_burst(meta.burst_id)
    assert isinstance(burst, Burst)
    assert burst.meta == meta
    assert burst.samples.dtype == np.float32
    assert np.array_equal(burst.samples.view(np.uint32), samples.view(np.uint32))
    assert [m.burst_id for m in store.bursts_since(T0 - 1)] == [meta.burst_id]
    assert store.bursts_since(T0 + 1) == []


def test_read_burst_unknown_or_incomplete(influx):
    store = TelemetryStore(influx)
    with pytest.raises(BurstNotFound):
        store.read_burst("EX-1:engine.acc:radial:123")
    with pytest.raises(BurstNotFound):
        store.read_burst("garbage")
    meta = _write_burst(influx, np.ones(100, dtype=np.float32))
    influx.query(f"DELETE FROM vibration WHERE time > {T0 + 1_000_000}")
    with pytest.raises(BurstNotFound, match="samples"):
        store.read_burst(meta.burst_id)


def test_trend_latest_and_faults(influx):
    samples = [(T_OP + i * 1_000_000_000, {"engine_speed_rpm": 1000.0 + i, "coolant_temp_c": 80.0}) for i in range(120)]
    samples.append((T_OP + 120 * 1_000_000_000, {"engine_speed_rpm": 5.0}))
    influx.write("".join(operating_lines("GS-1", samples)))
    store = TelemetryStore(influx)
    fine = store.trend("GS-1", "engine_speed_rpm", T_OP, T_OP + 20 * 10**9, 10)
    assert fine == {"time": [T_OP, T_OP + 10 * 10**9], "value": [pytest.approx(1004.5), pytest.approx(1014.5)]}
    # no downsampled data yet: minute buckets fall back to the 1 Hz data
    assert store.trend("GS-1", "engine_speed_rpm", T_OP, T_OP + 120 * 10**9, "1m")["value"] == [
        pytest.approx(1029.5), pytest.approx(1089.5)]
    # run the 1-minute continuous query's statement over this range, then drop the 1 Hz data:
    # the minute trend now comes from operating_1m alone
    cq = schema.continuous_queries(influx.database)[0].statement
    select = cq[cq.index("SELECT"):cq.index(" GROUP BY")]
    influx.query(f"{select} WHERE time >= {T_OP} AND time < {T_OP + 180 * 10**9} GROUP BY time(1m), *")
    latest = store.latest("GS-1")
    influx.query(f"DELETE FROM operating WHERE time < {T_OP + 120 * 10**9}")
    trend = store.trend("GS-1", "engine_speed_rpm", T_OP, T_OP + 120 * 10**9, "1m")
    assert trend == {"time": [T_OP, T_OP + 60 * 10**9], "value": [pytest.approx(1029.5), pytest.approx(1089.5)]}
    assert latest["time"] == T_OP + 120 * 10**9
    assert latest["fields"] == {"engine_speed_rpm": 5.0, "coolant_temp_c": 80.0}
    assert store.latest("nobody") == {"time": None, "fields": {}}
    with pytest.raises(ValueError):
        store.trend("GS-1", "no_such_field", T_OP, T_OP + 1, 60)

    lamps = {"mil": 1, "red_stop": 0, "amber_warning": 1, "protect": 0}
    influx.write("".join(fault_lines("GS-1", T0, "f-1", lamps, [{"spn": 110, "fmi": 0, "occurrence_count": 3},
                                                               {"spn": 100, "fmi": 1, "occurrence_count": 1}])))
    influx.write("".join(fault_lines("GS-1", T0 + 10**9, "f-2", {}, [])))
    history = store.fault_history("GS-1", T0, T0 + 10 * 10**9)
    assert [h["upload_id"] for h in history] == ["f-1", "f-2"]
    assert history[0]["lamps"] == lamps
    assert history[0]["active"] == [{"spn": 110, "fmi": 0, "occurrence_count": 3}, {"spn": 100, "fmi": 1, "occurrence_count": 1}]
    assert history[1]["active"] == []
    per_code = influx.query("SELECT fmi FROM fault_codes WHERE spn = '110'")
    assert per_code[0]["values"] == [[T0, 0]]


def test_features_diagnoses_and_rul(influx):
    store = TelemetryStore(influx)
    meta = _write_burst(influx, np.zeros(16, dtype=np.float32))
    later = BurstMeta(**{**meta.to_dict(), "start_ns": T0 + 3600 * 10**9, "burst_id": "x:y:z:1"})
    store.write_features(meta, {"velocity_rms_mm_s": 2.5, "kurtosis": float("nan"), "iso_zone": "A"})
    store.write_features(later, {"velocity_rms_mm_s": 4.0, "health_index": 0.7})
    history = store.feature_history("EX-1", "engine")
    assert history["time"] == [T0, T0 + 3600 * 10**9]
    assert history["velocity_rms_mm_s"] == [2.5, 4.0]
    assert history["health_index"] == [None, 0.7]
    assert "kurtosis" not in history  # NaN is not written
    assert store.feature_history("EX-1", "engine", start=T0 + 1)["velocity_rms_mm_s"] == [4.0]

    finding = {"component": "engine", "fault_mode": "bearing_outer_race", "location": "DE", "severity": "warning",
               "confidence": 0.8, "summary": "Outer race defect on DE bearing",
               "evidence": [{"label": "BPFO x1", "expected_hz": 107.3, "matched_hz": 107.5}], "score": 4.2,
               "detail": {"band_hz": [2000, 4000]}}
    store.write_diagnosis(meta, finding)
    rows = influx.query("SELECT * FROM diagnoses")
    record = dict(zip(rows[0]["columns"], rows[0]["values"][0]))
    assert record["fault_mode"] == "bearing_outer_race" and record["location"] == "DE"
    assert record["burst_id"] == meta.burst_id and '"BPFO x1"' in record["evidence"]
    assert record["score"] == 4.2 and record["detail"] == '{"band_hz":[2000,4000]}'

    store.write_rul("EX-1", "engine", T0, 100.0, 250.0, 400.0, "engine-v3")
    assert store.rul_history("EX-1", "engine") == {"time": [T0], "p10_h": [100.0], "p50_h": [250.0],
                                                   "p90_h": [400.0], "model_version": ["engine-v3"]}
