"""Windowed features: correct statistics, strictly causal, per unit."""
import numpy as np
import pytest

from diagnostics.prognostics.features import (
    WindowSpec, build_features, ewm_level, rolling_mean, rolling_slope, rolling_std, sort_by_unit,
)


def naive_window(x, i, w):
    return x[max(0, i - w + 1): i + 1]


def test_rolling_statistics_match_a_direct_computation():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 2))
    t = np.cumsum(rng.uniform(0.5, 2.0, 30))
    for w in (1, 4, 10):
        mean, std, slope = rolling_mean(x, w), rolling_std(x, w), rolling_slope(x, t, max(w, 2))
        for i in range(30):
            win = naive_window(x, i, w)
            np.testing.assert_allclose(mean[i], win.mean(axis=0), atol=1e-9)
            np.testing.assert_allclose(std[i], win.std(axis=0), atol=1e-6)
            tw, xw = naive_window(t, i, max(w, 2)), naive_window(x, i, max(w, 2))
            expected = np.polyfit(tw, xw, 1)[0] if len(tw) > 1 else np.zeros(2)
            np.testing.assert_allclose(slope[i], expected, atol=1e-6)


def test_ewm_follows_its_recursion():
    x = np.array([[1.0], [3.0], [2.0], [8.0]])
    y = ewm_level(x, 0.5)
    assert y[:, 0].tolist() == [1.0, 2.0, 2.0, 5.0]


def test_features_never_look_ahead_and_never_cross_units():
    rng = np.random.default_rng(2)
    units = np.repeat([1, 2], 25)
    age = np.tile(np.arange(25.0), 2)
    values = rng.standard_normal((50, 3))
    full, names = build_features(units, age, values, ["a", "b", "c"], WindowSpec())
    # Truncating unit 1 at row 12 must not change rows 0..12 of unit 1 (no future leaks in).
    keep = np.r_[0:13, 25:50]
    part, _ = build_features(units[keep], age[keep], values[keep], ["a", "b", "c"], WindowSpec())
    np.testing.assert_allclose(part[:13], full[:13])
    # Unit 2's features are the same whether or not unit 1 precedes it.
    alone, _ = build_features(units[25:], age[25:], values[25:], ["a", "b", "c"], WindowSpec())
    np.testing.assert_allclose(alone, full[25:])
    assert names[-2:] == ["age", "rows_seen"] and len(names) == full.shape[1]


def test_unsorted_rows_are_refused():
    units = np.array([1, 1, 1])
    with pytest.raises(ValueError, match="not sorted"):
        build_features(units, np.array([0.0, 2.0, 1.0]), np.zeros((3, 1)), ["a"])
    order = sort_by_unit(np.array([2, 1, 1]), np.array([0.0, 5.0, 1.0]))
    assert order.tolist() == [2, 1, 0]
