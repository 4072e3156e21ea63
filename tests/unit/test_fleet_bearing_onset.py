"""The bearing onset state the fleet's scoring attaches to bearing components (pure: feature dicts).

The first three tests run the FEMTO configuration (snapshots); the fleet's own (bursts) follows."""
import json

import numpy as np

from diagnostics.prognostics.bearing_fleet import FLEET_INDICATOR
from diagnostics.prognostics.health_indicator import IndicatorConfig
from fleet.rul_scoring import bearing_onset, onset_summary

FEMTO = IndicatorConfig()

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
    state = bearing_onset(history(rms), FEMTO)
    assert state.state == "degrading"
    summary = onset_summary(state)
    assert isinstance(summary["alarm_ns"], int) and (summary["alarm_ns"] - T0) % MINUTE_NS == 0
    assert T0 + 230 * MINUTE_NS <= summary["alarm_ns"] <= T0 + 245 * MINUTE_NS
    assert summary["onset_ns"] < summary["alarm_ns"]
    json.dumps(summary)  # travels in the rul event


def test_gaps_and_sensor_faults_do_not_raise_the_alarm():
    rms = [0.3] * 120 + [None] * 5 + [5000.0] * 3 + [0.3] * 10
    faults = [None] * 125 + [1.0] * 3 + [None] * 10
    state = bearing_onset(history(rms, faults), FEMTO)
    assert state.state == "healthy" and state.points == 130


def test_short_or_empty_histories_are_still_building_their_baseline():
    assert bearing_onset({"time": []}).state == "baseline"
    assert bearing_onset(history([0.3] * 10), FEMTO).state == "baseline"
    assert bearing_onset(history([0.3] * 2)).state == "baseline"  # the fleet's: 3 bursts of baseline


def test_fleet_config_counts_bursts_and_alarms_once_two_of_three_bursts_are_twice_the_baseline():
    assert FLEET_INDICATOR.ready_snapshots == 3
    healthy = bearing_onset(history([0.20, 0.21, 0.19, 0.22, 0.30]))  # +3.6 dB: not yet
    assert healthy.state == "healthy"
    one_shock = bearing_onset(history([0.20, 0.21, 0.19, 0.20, 0.9, 0.21]))  # one odd burst: median of 3
    assert one_shock.state == "healthy"
    rising = bearing_onset(history([0.20, 0.21, 0.19, 0.30, 0.45, 0.60, 0.80]))
    assert rising.state == "degrading"
    # median of 3 in nepers over 0.20: (0.41, 0.81, 1.10) -> 0.81 >= ln 2 at the sixth burst; onset where it was 0.05
    assert rising.alarm_time == T0 + 5 * MINUTE_NS and rising.onset_time == T0 + 3 * MINUTE_NS
