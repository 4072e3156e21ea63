"""Test-like truncation points: unit-wise, reproducible, inside each unit's life, and what they score."""
import numpy as np
import pytest

from diagnostics.prognostics.splits import truncated_unit_folds, truncation_rows
from diagnostics.prognostics.calibration import calibrate_interval
from diagnostics.prognostics.training import TrainConfig

from rul_helpers import CHANNELS, small_estimator, synthetic_fleet


def _units(seed: int = 0) -> np.ndarray:
    """37 units of 1 to 59 rows, grouped (rows of a unit are contiguous)."""
    return np.repeat(np.arange(37), np.random.default_rng(seed).integers(1, 60, 37))


def test_truncated_folds_never_put_one_unit_on_both_sides():
    units = _units()
    sizes = np.bincount(units)
    tested = []
    for fit, rows in truncated_unit_folds(units, 4, draws=6, seed=2, min_rows=10):
        assert not set(units[fit]) & set(units[rows])
        held = sorted(set(units[rows]))
        tested += held
        # every held-out unit long enough to be scored gets exactly `draws` points, and a
        # held-out unit's rows are never in the training mask
        assert not fit[rows].any()
        assert all(np.sum(units[rows] == u) == 6 for u in held)
    assert sorted(tested) == sorted(np.flatnonzero(sizes >= 10).tolist())
    assert len(tested) == len(set(tested))  # each unit tested in one fold only


def test_truncation_sampler_is_reproducible_for_a_seed():
    units = _units(1)
    first = truncated_unit_folds(units, 3, draws=5, seed=7, min_rows=3)
    again = truncated_unit_folds(units, 3, draws=5, seed=7, min_rows=3)
    for (fit_a, rows_a), (fit_b, rows_b) in zip(first, again):
        np.testing.assert_array_equal(fit_a, fit_b)
        np.testing.assert_array_equal(rows_a, rows_b)
    np.testing.assert_array_equal(truncation_rows(units, 4, seed=3), truncation_rows(units, 4, seed=3))
    assert not np.array_equal(truncation_rows(units, 4, seed=3), truncation_rows(units, 4, seed=4))


def test_truncation_points_are_uniform_over_life_after_min_rows():
    units = np.repeat(np.arange(4), 101)  # 101 rows each: positions 0..100
    rows = truncation_rows(units, 2000, seed=0, min_rows=21)
    position = rows - np.searchsorted(units, units[rows])  # row index within its unit
    assert position.min() >= 20 and position.max() <= 100
    assert abs(position.mean() - 60.0) < 1.5  # uniform over 20..100
    with pytest.raises(ValueError):
        truncation_rows(units, 0)


def test_a_truncation_point_scores_what_the_truncated_history_shows_at_its_end():
    est = small_estimator()
    units, age, values, _, settings = synthetic_fleet(n_units=5, seed=3)
    cols = values[:, [CHANNELS.index(c) for c in est.channels]]
    rows = truncation_rows(units, 3, seed=1, min_rows=5)
    at_rows = est.predict_features(est.features(units, age, cols, settings)[rows])
    for i, row in enumerate(rows):
        keep = (units == units[row]) & (age <= age[row])
        _, last = est.predict_last(units[keep], age[keep], cols[keep], settings[keep])
        assert last.p50[0] == pytest.approx(at_rows.p50[i]) and last.p90[0] == pytest.approx(at_rows.p90[i])


def test_truncated_calibration_uses_draws_per_unit_and_unknown_protocols_are_refused():
    rng = np.random.default_rng(0)
    units = np.repeat(np.arange(30), 50)
    y = rng.uniform(0, 100, units.size)
    raw = {"p10": y - 5 + rng.normal(0, 10, y.size), "p50": y, "p90": y + 5 + rng.normal(0, 10, y.size)}
    config = TrainConfig(calibration_protocol="truncated", calibration_draws=8)
    _, offsets, info = calibrate_interval(raw, y, units, config, min_rows=10)
    assert info["calibration_points"] == 30 * 8 and info["protocol"] == "truncated"
    assert offsets.size == 4 and abs(info["calibrated_coverage"] - 0.8) < 0.05
    _, _, every = calibrate_interval(raw, y, units, TrainConfig(), min_rows=10)
    assert every["calibration_points"] == units.size
    with pytest.raises(ValueError, match="calibration_protocol"):
        TrainConfig(calibration_protocol="test_labels")
