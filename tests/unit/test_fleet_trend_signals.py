"""Which trend alarms reach the work-order rules: only those first detected at the current burst."""
from __future__ import annotations

from fleet.diagnosis_service import trend_findings

NS = 1_000_000_000


def history(values, health=None):
    times = [i * 3600 * NS for i in range(len(values))]
    return {"time": times, "velocity_rms_mm_s": list(values),
            "health_index": list(health) if health is not None else [1.0] * len(values)}


def test_a_step_at_the_latest_burst_is_reported_once():
    steady = [1.0 + 0.01 * (i % 3) for i in range(40)]
    h = history(steady + [3.0])
    latest = h["time"][-1]
    found = trend_findings(h, latest)
    assert [(a["kind"], a["feature"]) for a in found] == [("step", "velocity_rms_mm_s")]
    assert found[0]["baseline"] < 1.05 and "stepped" in found[0]["summary"]
    # One burst later the same step is still the first detection, but it is no longer new.
    h2 = history(steady + [3.0, 3.1])
    assert trend_findings(h2, h2["time"][-1]) == []


def test_falling_health_index_is_a_trend_too():
    health = [1.0] * 40 + [0.5]
    h = history([1.0 + 0.01 * (i % 3) for i in range(41)], health)
    found = trend_findings(h, h["time"][-1])
    assert ("step", "health_index") in [(a["kind"], a["feature"]) for a in found]


def test_short_or_steady_histories_raise_nothing():
    assert trend_findings(history([1.0] * 10 + [5.0]), 10 * 3600 * NS) == []
    steady = history([1.0 + 0.01 * (i % 3) for i in range(60)])
    assert trend_findings(steady, steady["time"][-1]) == []
    assert trend_findings({"time": []}, 0) == []


def test_points_after_the_burst_are_ignored():
    # Diagnosing an old burst while newer features exist (sweep catching up): judge it on its past.
    steady = [1.0 + 0.01 * (i % 3) for i in range(40)]
    h = history(steady + [3.0] + [3.0] * 5)
    burst_time = h["time"][40]
    assert [a["kind"] for a in trend_findings(h, burst_time)] == ["step"]
