"""The bearing onset state the fleet's scoring attaches to bearing components (pure: feature dicts)."""
import json

import numpy as np

from fleet.rul_scoring import bearing_onset, onset_summary

T0 = 1_764_000_000 * 1_000_000_000
MINUTE_NS = 60_000_000_000


def history(rms, sensor_fault=None):
    h = {"time": [T0 + i * MINUTE_NS for i in range(len(rms))], "acc_rms_m_s2": list(rms)}
    if sensor_fault is not None:
        h["sensor_fault"] = sensor_fault
    return h


def test_a_bearing_that_doubles_its_vibration_is_degrading_with_exact_alarm_time():
    rng = np.random.default_rng(0)
    rms = 0.3 * np.exp(rng.normal(0, 0.03, 300))
    rms[200:] *= np.exp(0.02 * np.arange(100))  # +6 dB after 35 more bursts
    state = bearing_onset(history(rms))
    assert state.state == "degrading"
    summary = onset_summary(state)
    assert isinstance(summary["alarm_ns"], int) and (summary["alarm_ns"] - T0) % MINUTE_NS == 0
    assert T0 + 230 * MINUTE_NS <= summary["alarm_ns"] <= T0 + 245 * MINUTE_NS
    assert summary["onset_ns"] < summary["alarm_ns"]
    json.dumps(summary)  # travels in the rul event


def test_gaps_and_sensor_faults_do_not_raise_the_alarm():
    rms = [0.3] * 120 + [None] * 5 + [5000.0] * 3 + [0.3] * 10
    faults = [None] * 125 + [1.0] * 3 + [None] * 10
    state = bearing_onset(history(rms, faults))
    assert state.state == "healthy" and state.points == 130


def test_short_or_empty_histories_are_still_building_their_baseline():
    assert bearing_onset({"time": []}).state == "baseline"
    assert bearing_onset(history([0.3] * 10)).state == "baseline"
