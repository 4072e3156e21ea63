"""The FEMTO bearing path as the fleet uses it: fitting on run-to-failure units, the document the
registry stores, and scoring a component's feature history (pure: no stores)."""
import json

import numpy as np
import pytest

from diagnostics.prognostics.bearing_fleet import FLEET_INDICATOR, fit_fleet_bearings, is_bearing_component
from diagnostics.prognostics.bearing_life import BearingLifeModel
from fleet.alarm_sources import onset_condition
from fleet.rul_scoring import RulResult, bearing_life_model, score_bearing

HOUR_NS = 3_600_000_000_000
T0 = 1_764_000_000 * 1_000_000_000


def simulated_units(n=12, seed=0):
    """Run-to-failure units every 12 h: flat RMS 0.2, then exponential growth to failure."""
    rng = np.random.default_rng(seed)
    units, ages, rms = [], [], []
    for u in range(n):
        life = float(rng.uniform(300, 600))
        onset = life * float(rng.uniform(0.5, 0.8))
        age = np.arange(0.0, life, 12.0)
        level = 0.2 * np.exp(np.maximum(age - onset, 0.0) * 3.0 / (life - onset)) * np.exp(rng.normal(0, 0.03, age.size))
        units += [f"u{u}"] * age.size
        ages.append(age)
        rms.append(level)
    return np.array(units), np.concatenate(ages), np.concatenate(rms)


@pytest.fixture(scope="module")
def model():
    return fit_fleet_bearings(*simulated_units())


def test_only_components_with_bearings_and_no_gears_take_the_bearing_path():
    assert is_bearing_component({"bearings": [{"name": "DE"}]})
    assert is_bearing_component({"bearings": [{"name": "drive_shaft"}], "pistons": 9})
    assert not is_bearing_component({"bearings": [{"name": "input"}], "gears": [{"name": "stage1"}]})
    assert not is_bearing_component({"gears": [{"name": "timing"}]}) and not is_bearing_component(None)


def test_the_fitted_model_round_trips_through_its_json_document_exactly(model):
    doc = json.loads(json.dumps(model.to_dict()))
    again = BearingLifeModel.from_dict(doc)
    assert again == model and again.config == FLEET_INDICATOR and again.post_alarm == "trajectory"
    times, rms = np.arange(20) * 12 * 3600.0, np.r_[np.full(15, 0.2), 0.2 * np.exp(np.arange(1, 6) * 0.4)]
    assert again.predict(times, rms) == model.predict(times, rms)
    with pytest.raises(ValueError):
        BearingLifeModel.from_dict({"population": {}})
    # lives 300-600 h in seconds; the cap is the longest training life
    assert 300 * 3600 < model.cap_s <= 600 * 3600


def history(rms, hours_apart=12.0):
    return {"time": [T0 + int(i * hours_apart * HOUR_NS) for i in range(len(rms))], "acc_rms_m_s2": list(rms)}


def base():
    return RulResult("GS-2009", "alternator_de", "alternator_bearing", 1, [1, 2])


def test_a_healthy_bearing_gets_the_population_life_flagged_as_not_a_forecast(model):
    result = score_bearing(history([0.2, 0.21, 0.19, 0.2, 0.2, 0.21]), model, "alternator_bearing-v2", base())
    assert result.scored and result.method == "bearing_life" and result.state == "healthy"
    assert result.at_cap and "no degradation onset yet" in result.note and "60 h (wall clock" in result.note
    assert result.p10_h < result.p50_h < result.p90_h <= result.rul_cap_h
    assert result.model_version == "alternator_bearing-v2/bearing-life" and result.onset["state"] == "healthy"


def test_after_the_onset_the_degradation_model_gives_a_falling_rul_to_plan_on(model):
    rms = [0.2, 0.21, 0.19, 0.2, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3]
    results = [score_bearing(history(rms[:end]), model, "v", base()) for end in range(8, len(rms) + 1)]
    assert all(r.state == "degrading" and not r.at_cap for r in results)
    p50 = [r.p50_h for r in results]
    assert all(b < a for a, b in zip(p50, p50[1:])), p50
    assert results[-1].p10_h < 120.0 and results[-1].onset["alarm_ns"] == T0 + int(7 * 12 * HOUR_NS)


def test_a_bearing_still_forming_its_baseline_has_no_number_and_says_why(model):
    result = score_bearing(history([0.2, 0.2, 0.2]), model, "v", base())
    assert not result.scored and "3 of 4 bursts" in result.reason and result.onset["state"] == "healthy"
    empty = score_bearing({"time": []}, model, "v", base())
    assert not empty.scored and empty.onset["state"] == "baseline"


def test_a_model_without_a_bearing_life_document_keeps_lightgbm():
    class Estimator:
        metadata = {"cadence_hours": 12.0}

    assert bearing_life_model(Estimator()) is None
    Estimator.metadata = {"bearing_life": {"broken": True}}
    assert bearing_life_model(Estimator()) is None


def test_the_onset_alarm_names_the_component_in_words():
    condition = onset_condition(3, 7, "alternator_de", {"state": "degrading", "alarm_ns": T0, "onset_ns": T0 - 1,
                                                       "level_nepers": 0.9, "bursts": 6})
    assert condition.title == "Degradation onset on alternator drive end"
    assert condition.source == "onset" and condition.cause == "degradation_onset" and condition.key[2] == \
        "onset:degradation_onset"
    assert condition.observed_at.timestamp() * 1e9 == pytest.approx(T0)
