"""Trend alarms against a component's own baseline."""
import numpy as np
import pytest

from diagnostics.health import health_index, iso_health
from diagnostics.trend import trend_alarms

RNG = np.random.default_rng(0)


def test_stable_feature_rarely_raises_an_alarm():
    # A 30-point baseline misjudges the spread now and then: measured ~8 % of 300-point series.
    alarmed = sum(bool(trend_alarms(np.arange(300), 2.0 + 0.1 * np.random.default_rng(s).standard_normal(300)))
                  for s in range(40))
    assert alarmed <= 7


def test_step_is_found_where_it_happens():
    found = 0
    for seed in range(10):
        v = 2.0 + 0.1 * np.random.default_rng(100 + seed).standard_normal(100)
        v[60:] += 0.5
        steps = [a for a in trend_alarms(np.arange(100), v, "velocity_rms_mm_s") if a.kind == "step"]
        if steps and 57 <= steps[0].start_time <= 62 and steps[0].detected_time <= 64:
            found += 1
            assert steps[0].current == pytest.approx(2.5, abs=0.2)  # mean of the few points seen so far
            assert "stepped" in steps[0].to_dict()["summary"]
    assert found >= 8


def test_slow_drift_gives_a_rise_alarm_and_down_direction_works():
    n = 120
    v = 1.0 - np.concatenate([np.zeros(40), np.linspace(0, 0.3, n - 40)]) + 0.02 * RNG.standard_normal(n)
    alarms = trend_alarms(np.arange(n) * 3600, v, "health_index", direction="down")
    rise = [a for a in alarms if a.kind == "rise"]
    assert rise and rise[0].detected_time > 40 * 3600
    assert rise[0].evidence["slope_per_time_unit"] < 0  # health falls
    assert trend_alarms(np.arange(n), v, "health_index", direction="up") == []


def test_too_short_history_and_bad_direction():
    assert trend_alarms([1, 2, 3], [1.0, 2.0, 3.0]) == []
    with pytest.raises(ValueError, match="direction"):
        trend_alarms(np.arange(30), np.ones(30), direction="sideways")


def test_health_index_follows_zone_limits():
    limits = (2.3, 4.5, 7.1)
    assert iso_health(0.5, limits) == 1.0
    assert iso_health(2.3, limits) == pytest.approx(0.85)
    assert iso_health(7.1, limits) == pytest.approx(0.3)
    assert health_index(1.0, limits, []) == 1.0
