"""Cross-fitted interval calibration: every unit calibrates once, never by a model that saw it,
pooled offsets reach the nominal coverage, and the estimator trains with it."""
import numpy as np
import pytest

from diagnostics.prognostics import RulEstimator, TrainConfig
from diagnostics.prognostics.calibration import cross_fitted_raw, offsets_from_scores, row_offsets
from diagnostics.prognostics.splits import truncation_rows
from diagnostics.prognostics.training import fold_model_config

from rul_helpers import CHANNELS, small_estimator, synthetic_fleet


def _histories(seed: int = 0):
    """31 physical units, each with a full history and a late-start copy (``<unit>@1``), grouped rows."""
    rng = np.random.default_rng(seed)
    units, groups = [], []
    for g in range(31):
        for history in (f"{g}", f"{g}@1"):
            n = int(rng.integers(5, 40))
            units += [history] * n
            groups += [g] * n
    return np.array(units), np.array(groups)


def test_every_unit_calibrates_in_exactly_one_fold_and_never_on_its_own_models():
    units, groups = _histories()
    rows = truncation_rows(units, 4, seed=1, min_rows=3)
    trained_on = []

    def fit_and_predict(fit, at, k):
        trained_on.append(set(groups[fit]))
        assert not set(groups[at]) & set(groups[fit])  # a fold model never scores a unit it saw
        return {name: np.full(at.size, 10.0 * k + i) for i, name in enumerate(("p10", "p50", "p90"))}

    raw, fold = cross_fitted_raw(groups, rows, 5, seed=3, fit_and_predict=fit_and_predict)
    assert len(trained_on) == 5 and (fold >= 0).all() and not np.isnan(raw["p50"]).any()
    for g in np.unique(groups[rows]):
        folds_of_group = set(fold[groups[rows] == g])
        assert len(folds_of_group) == 1  # both histories of a physical unit in the same fold
        assert g not in trained_on[folds_of_group.pop()]
    # each row carries the prediction of the fold that scored it
    np.testing.assert_array_equal(raw["p50"], 10.0 * fold + 1)
    # every unit appears in K - 1 training sets: calibrated once, trained on otherwise
    assert sorted(sum((sorted(s) for s in trained_on), [])) == sorted(list(range(31)) * 4)


def test_cross_fitting_needs_two_folds_and_the_config_checks_its_fields():
    units, groups = _histories()
    with pytest.raises(ValueError, match="at least 2 folds"):
        cross_fitted_raw(groups, np.arange(5), 1, 0, lambda fit, at, k: {})
    with pytest.raises(ValueError, match="calibration_folds"):
        TrainConfig(calibration_folds=0)
    with pytest.raises(ValueError, match="fold_rounds"):
        TrainConfig(fold_rounds=0)


def _exchangeable(n_units: int, rng: np.random.Generator, rows_per_unit: int = 20):
    """i.i.d. units: x uniform, y = 10 x + noise whose spread grows with x."""
    x = rng.uniform(0.0, 1.0, n_units * rows_per_unit)
    y = 10.0 * x + (0.5 + 2.0 * x) * rng.standard_normal(x.size)
    return np.repeat(np.arange(n_units), rows_per_unit), x, y


def _too_narrow_quantiles(x_fit, y_fit, x):
    """A deliberately mis-calibrated quantile 'model': least-squares line +- half a residual sd."""
    slope, intercept = np.polyfit(x_fit, y_fit, 1)
    spread = 0.5 * np.std(y_fit - (slope * x_fit + intercept))
    mid = slope * x + intercept
    return {"p10": mid - spread, "p50": mid, "p90": mid + spread}


def test_offsets_from_pooled_fold_scores_give_the_nominal_coverage_on_exchangeable_units():
    rng = np.random.default_rng(0)
    units, x, y = _exchangeable(300, rng)
    rows = truncation_rows(units, 20, seed=0)
    raw, _ = cross_fitted_raw(units, rows, 5, seed=0,
                              fit_and_predict=lambda fit, at, k: _too_narrow_quantiles(x[fit], y[fit], x[at]))
    edges, offsets, info = offsets_from_scores(raw, y[rows], 0.8)
    assert info["raw_coverage"] < 0.5 and offsets.size == 4 and (offsets > 0).all()

    # the final 'model' is fitted on every unit; fresh units from the same population
    _, x_new, y_new = _exchangeable(2000, rng)
    final = _too_narrow_quantiles(x, y, x_new)
    widen = row_offsets(final["p50"], edges, offsets)
    inside = (y_new >= final["p10"] - widen) & (y_new <= final["p90"] + widen)
    assert abs(inside.mean() - 0.8) < 0.02  # over 40 seeds: mean 79.9 %, sd 0.8 points
    # banded: each stage of the predicted median holds its own ~80 %, the noisy top one included
    band = np.searchsorted(edges, final["p50"], side="right")
    assert all(abs(inside[band == b].mean() - 0.8) < 0.04 for b in range(4))


def test_fold_models_with_fewer_rounds_keep_the_total_step():
    config = TrainConfig(num_boost_round=400, learning_rate=0.05, fold_rounds=100)
    fold = fold_model_config(config)
    assert fold.num_boost_round == 100 and fold.learning_rate == pytest.approx(0.2)
    assert fold_model_config(TrainConfig()) == TrainConfig()


def test_a_cross_fitted_estimator_trains_reproducibly_and_round_trips():
    est, again = small_estimator(calibration_folds=3), small_estimator(calibration_folds=3)
    assert {k: b.model_to_string() for k, b in est.boosters.items()} == \
           {k: b.model_to_string() for k, b in again.boosters.items()}
    np.testing.assert_array_equal(est.interval_offsets, again.interval_offsets)
    calibration = est.metadata["calibration"]
    assert calibration["calibration_folds"] == 3 and calibration["calibration_units"] == 24  # every unit
    assert calibration["calibration_points"] == len(synthetic_fleet()[0])  # all_rows protocol: every row
    # the final quantile models start from the point model: on all units it is the same booster
    assert est.boosters["base"].model_to_string() == est.boosters["point"].model_to_string()
    units, age, values, rul, settings = synthetic_fleet(n_units=6, seed=5)
    cols = values[:, [CHANNELS.index(c) for c in est.channels]]
    _, out = est.predict_last(units, age, cols, settings)
    assert (out.p10 <= out.p50).all() and (out.p50 <= out.p90).all() and (out.p10 >= 0).all()
    loaded = RulEstimator.from_bytes(est.to_bytes())
    np.testing.assert_array_equal(loaded.predict_last(units, age, cols, settings)[1].p90, out.p90)
