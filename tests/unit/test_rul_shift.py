"""The label-free shift check of the RUL bench: its AUC and its classifier, on synthetic rows."""
import numpy as np
import pytest

from diagnostics.benchmarks.rul_shift import domain_scores, null_aucs, rank_auc


def test_rank_auc_orders_and_ties():
    is_target = np.array([0, 0, 1, 1], bool)
    assert rank_auc(is_target, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert rank_auc(is_target, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert rank_auc(is_target, np.full(4, 0.5)) == 0.5
    assert rank_auc(is_target, np.array([0.1, 0.8, 0.2, 0.9])) == 0.75


def test_rank_auc_needs_both_kinds():
    with pytest.raises(ValueError, match="both kinds"):
        rank_auc(np.ones(3, bool), np.arange(3.0))


def synthetic_rows(shift: float, seed: int = 0):
    """60 source units x 10 rows and 60 target units x 1 row, 5 features; feature 2 of the
    target rows moved by ``shift`` standard deviations."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(600, 5))
    target = rng.normal(size=(60, 5))
    target[:, 2] += shift
    X = np.vstack([source, target])
    is_target = np.r_[np.zeros(600, bool), np.ones(60, bool)]
    groups = np.r_[np.repeat(np.arange(60), 10), 100 + np.arange(60)]
    return X, is_target, groups


def test_domain_classifier_finds_a_shift_and_the_feature_behind_it():
    X, is_target, groups = synthetic_rows(shift=1.5)
    scores, gain = domain_scores(X, is_target, groups)
    assert rank_auc(is_target, scores) > 0.8
    assert np.argmax(gain) == 2


def test_domain_classifier_sees_nothing_without_a_shift():
    X, is_target, groups = synthetic_rows(shift=0.0)
    scores, _ = domain_scores(X, is_target, groups)
    assert abs(rank_auc(is_target, scores) - 0.5) < 0.12


def test_null_draws_target_rows_from_units_left_out_of_the_source():
    rng = np.random.default_rng(1)
    units = np.repeat(np.arange(120), 20)
    X = rng.normal(size=(units.size, 4))
    points = np.sort(rng.choice(units.size, 1200, replace=False))
    aucs = null_aucs(X, units, points, repeats=4, seed=0)
    assert aucs.shape == (4,)
    # pure noise: near 0.5 in every repeat (folds without stratification gave 0.35 in one here)
    assert abs(aucs.mean() - 0.5) < 0.06
    assert np.all(np.abs(aucs - 0.5) < 0.1)


def test_stratified_folds_hold_each_group_once_and_spread_both_kinds():
    from diagnostics.benchmarks.rul_shift import stratified_unit_folds

    X, is_target, groups = synthetic_rows(shift=0.0)
    folds = stratified_unit_folds(groups, is_target, 5, seed=3)
    held_count = np.sum([held for _, held in folds], axis=0)
    assert np.all(held_count == 1)
    for fit, held in folds:
        assert not set(groups[fit]) & set(groups[held])
        assert is_target[held].sum() == 12  # 60 target units over 5 folds
