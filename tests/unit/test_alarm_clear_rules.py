"""When diagnosis and trend alarms clear themselves: the rules and the clean test (pure)."""
import pytest

from fleet.alarms import DEFAULT_CLEAR_BURSTS, ClearRules, clean_streak, trend_is_clean


def test_defaults_per_source_and_overrides_per_fault_mode_or_feature():
    rules = ClearRules()
    assert rules.bursts_for("diagnosis", "bearing_outer_race:DE") == DEFAULT_CLEAR_BURSTS["diagnosis"] == 3
    assert rules.bursts_for("trend", "velocity_rms_mm_s:step") == 6
    assert rules.bursts_for("onset", "degradation_onset") == 0  # only a repair clears an onset
    rules = ClearRules.parse(" diagnosis=5, trend:health_index=0 ,diagnosis:looseness=2")
    assert rules.bursts_for("diagnosis", "bearing_outer_race:DE") == 5
    assert rules.bursts_for("diagnosis", "looseness") == 2
    assert rules.bursts_for("trend", "health_index:rise") == 0 and rules.bursts_for("trend", "velocity_rms_mm_s:rise") == 6
    assert ClearRules.parse("") == ClearRules() == ClearRules.parse(None)


@pytest.mark.parametrize("text", ["diagnosis", "diagnosis=x", "rul=3", "trend=-1", "dm1:spn110=2"])
def test_a_bad_rule_is_refused_with_its_text(text):
    with pytest.raises(ValueError, match="alarm clear rule"):
        ClearRules.parse(text)


def test_a_trend_is_clean_again_below_three_sigmas_in_its_worse_direction():
    trend = {"baseline": 2.0, "sigma": 0.1, "feature": "velocity_rms_mm_s"}
    assert trend_is_clean(trend, 2.25, "up") is True
    assert trend_is_clean(trend, 2.35, "up") is False
    assert trend_is_clean(trend, 1.5, "up") is True  # lower than the baseline is not worse
    assert trend_is_clean({"baseline": 0.9, "sigma": 0.02}, 0.8, "down") is False
    assert trend_is_clean({"baseline": 0.9, "sigma": 0.02}, 0.89, "down") is True
    assert trend_is_clean(trend, None, "up") is None and trend_is_clean({}, 2.0, "up") is None


def test_the_streak_lives_in_the_alarm_detail():
    assert clean_streak(None) == 0 and clean_streak({"clean_bursts": 2}) == 2
