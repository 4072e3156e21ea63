"""Training: unit-wise splits, ordered quantiles, reproducibility, calibration, serialisation."""
import numpy as np
import pytest

from diagnostics.prognostics import RegimeNormalizer, RulEstimator, unit_folds, unit_split
from diagnostics.prognostics.metrics import coverage_interval, phm08_score, rmse
from diagnostics.prognostics.regimes import choose_regime_count
from diagnostics.prognostics.calibration import binned_offsets, conformal_offset
from diagnostics.prognostics.training import order_quantiles

from rul_helpers import CHANNELS, small_estimator, synthetic_fleet


def test_unit_split_never_puts_one_unit_on_both_sides():
    units = np.repeat(np.arange(37), np.random.default_rng(0).integers(1, 9, 37))
    train, held = unit_split(units, 0.25, seed=3)
    assert not set(units[train]) & set(units[held])
    assert (train ^ held).all()
    assert len(set(units[held])) == round(0.25 * 37)
    tested = []
    for fit, test in unit_folds(units, 5, seed=1):
        assert not set(units[fit]) & set(units[test])
        tested += sorted(set(units[test]))
    assert sorted(tested) == list(range(37))


def test_unit_split_is_reproducible_for_a_seed_and_refuses_one_unit():
    units = np.repeat(np.arange(10), 3)
    assert (unit_split(units, 0.3, seed=5)[1] == unit_split(units, 0.3, seed=5)[1]).all()
    with pytest.raises(ValueError, match="two units"):
        unit_split(np.zeros(5), 0.5)


def test_quantiles_are_ordered_and_not_negative():
    est = small_estimator()
    units, age, values, rul, settings = synthetic_fleet(n_units=8, seed=9)
    X = est.features(units, age, values[:, [CHANNELS.index(c) for c in est.channels]], settings)
    out = est.predict_features(X)
    assert (out.p10 <= out.p50).all() and (out.p50 <= out.p90).all()
    assert (out.p10 >= 0).all() and (out.point >= 0).all()
    # and they carry information: the estimate follows the true (capped) RUL
    assert rmse(out.point, np.minimum(rul, 50.0)) < 0.5 * np.std(np.minimum(rul, 50.0)) + 5


def test_order_quantiles_sorts_crossed_predictions():
    lo, mid, hi = order_quantiles(np.array([5.0, -1.0]), np.array([3.0, 2.0]), np.array([4.0, 1.0]))
    assert lo.tolist() == [3.0, 0.0] and mid.tolist() == [4.0, 1.0] and hi.tolist() == [5.0, 2.0]


def test_training_is_reproducible_for_a_seed():
    a, b = small_estimator(seed=4), small_estimator(seed=4)
    assert {k: v.model_to_string() for k, v in a.boosters.items()} == \
           {k: v.model_to_string() for k, v in b.boosters.items()}
    assert a.metadata["data_hash"] == b.metadata["data_hash"]


def test_predictions_do_not_depend_on_the_thread_count():
    # rul_bench runs subsets in parallel single-threaded processes and claims the same table
    one, two = small_estimator(seed=2, num_threads=1), small_estimator(seed=2, num_threads=2)
    units, age, values, _, settings = synthetic_fleet(seed=9)
    X = one.features(units, age, values, settings)
    a, b = one.predict_features(X, num_threads=1), two.predict_features(X, num_threads=1)
    for name in ("point", "p10", "p50", "p90"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_estimator_round_trips_through_bytes():
    est = small_estimator()
    blob = est.to_bytes()
    again = RulEstimator.from_bytes(blob)
    assert again.to_bytes() == blob
    units, age, values, _, settings = synthetic_fleet(n_units=3, seed=2)
    cols = values[:, [CHANNELS.index(c) for c in est.channels]]
    _, first = est.predict_last(units, age, cols, settings)
    _, second = again.predict_last(units, age, cols, settings)
    np.testing.assert_array_equal(first.p50, second.p50)
    with pytest.raises(ValueError, match="not an Ironwatch"):
        RulEstimator.from_bytes(b'{"format": "other"}')


def test_conformal_offset_reaches_the_wanted_coverage():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(2000)
    low, high = np.full(2000, -0.5), np.full(2000, 0.5)  # covers ~38 %: must widen
    q = conformal_offset(low, high, y, 0.8)
    assert q > 0
    assert abs(np.mean((y >= low - q) & (y <= high + q)) - 0.8) < 0.01
    edges, offsets = binned_offsets(np.linspace(0, 1, 2000), low, high, y, 0.8)
    assert edges.size == 3 and offsets.size == 4


def test_regimes_are_found_and_normalised_away():
    rng = np.random.default_rng(0)
    points = np.array([[0.0, 0.0], [10.0, 0.25], [20.0, 0.7]])
    labels = rng.integers(0, 3, 3000)
    settings = points[labels] + 0.001 * rng.standard_normal((3000, 2))
    values = np.column_stack([100.0 * labels + rng.standard_normal(3000), rng.standard_normal(3000)])
    assert choose_regime_count(settings) == 3
    assert choose_regime_count(0.001 * rng.standard_normal((3000, 2))) == 1
    norm = RegimeNormalizer.fit(settings, values)
    z = norm.transform(settings, values)
    assert abs(z[:, 0].mean()) < 0.05 and abs(z[:, 0].std() - 1.0) < 0.05  # the offset is gone
    again = RegimeNormalizer.from_dict(norm.to_dict())
    np.testing.assert_array_equal(again.transform(settings, values), z)


def test_constant_channels_are_dropped():
    units, age, values, rul, settings = synthetic_fleet(n_units=10)
    values = np.column_stack([values, np.full(len(values), 7.0)])
    norm = RegimeNormalizer.fit(settings, values, n_regimes=2)
    assert norm.informative_channels().tolist() == [True, True, True, False]


def test_phm08_score_penalises_late_more_than_early():
    assert phm08_score(np.array([10.0]), np.array([10.0])) == 0.0
    late = phm08_score(np.array([20.0]), np.array([10.0]))
    early = phm08_score(np.array([0.0]), np.array([10.0]))
    assert late == pytest.approx(np.e - 1) and early == pytest.approx(np.exp(10 / 13) - 1)
    assert late > early


def test_coverage_interval_narrows_with_more_units():
    low, high = coverage_interval(80, 100)
    assert low < 0.8 < high and high - low == pytest.approx(0.16, abs=0.01)  # Wilson, 95 %
    wide, narrow = coverage_interval(8, 10), coverage_interval(800, 1000)
    assert wide[1] - wide[0] > 4 * (narrow[1] - narrow[0])
    assert coverage_interval(0, 10)[0] == 0.0 and coverage_interval(10, 10)[1] == 1.0


def test_fused_indicator_recovers_the_linear_wear_signal_below_the_cap():
    from diagnostics.prognostics.fusion import apply_fusion, fit_fusion

    rng = np.random.default_rng(0)
    rul = rng.uniform(0, 200, 5000)
    z = np.column_stack([-0.02 * rul + 0.3 * rng.standard_normal(5000),   # wear sensor, noisy
                         -0.02 * rul + 0.3 * rng.standard_normal(5000),   # a second one
                         rng.standard_normal(5000)])                      # unrelated
    target = np.minimum(rul, 125.0)
    w = fit_fusion(z, target, 125.0)
    fused = apply_fusion(z, w)
    assert fused.shape == (5000, 4)
    below = rul < 125
    # the fused channel beats either sensor alone at tracking RUL in the wear-out phase
    single = np.corrcoef(z[below, 0], rul[below])[0, 1] ** 2
    assert np.corrcoef(fused[below, 3], rul[below])[0, 1] ** 2 > single + 0.05
    assert abs(w[2]) < 0.1 * abs(w[0])
