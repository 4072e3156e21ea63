"""Label-free check of the C-MAPSS test sets: do their inputs differ from the training units'?

    python -m diagnostics.benchmarks.rul cmapss-shift --data ../shared/data/cmapss

Adversarial validation. A small LightGBM classifier learns to tell the feature rows the bench
scores on a test set (each test unit's last cycle) from the points the interval is calibrated on
(test-like truncation points of the training units, ``splits.truncation_rows``), and is scored
out of fold, unit-wise. Its AUC is near 0.5 when the test inputs look like the calibration points.
Importance-weighted conformal calibration (Tibshirani, Foygel Barber, Candes and Ramdas 2019)
can only correct a coverage gap that comes from such an input shift; with an AUC at the level of
the null, a gap between test and CV coverage is chance or a change in how RUL follows from the
inputs, which no label-free method can see. No RUL of a test set is read.

The null is measured, not assumed: the same classifier separates a random half of the training
units (one truncation point each, like a test set) from the other half's calibration points,
``null_repeats`` times.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
from scipy.stats import rankdata

from diagnostics.prognostics.cmapss import SENSOR_NAMES, SETTING_NAMES, load_subset
from diagnostics.prognostics.estimator import FeatureMap
from diagnostics.prognostics.features import WindowSpec, last_rows
from diagnostics.prognostics.splits import truncation_rows, unit_folds
from diagnostics.prognostics.training import TrainConfig

# Features that only say how long the history is; the test files' histories are known to be
# longer than the calibration's uniform truncation (docs/prognostics.md, "Test history lengths").
HISTORY_LENGTH_FEATURES = ("age", "rows_seen")


def rank_auc(is_target: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (n,) for the boolean labels ``is_target`` (n,),
    as the Mann-Whitney statistic (ties count one half)."""
    is_target = np.asarray(is_target, dtype=bool)
    n1, n0 = int(is_target.sum()), int((~is_target).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("the AUC needs rows of both kinds")
    ranks = rankdata(scores)
    return float((ranks[is_target].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def stratified_unit_folds(groups: np.ndarray, is_target: np.ndarray, n_folds: int,
                          seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds by group, ``[(fit_mask, held_mask), ...]``, with the groups of each kind spread evenly.

    Without the stratification a fold that holds out many target rows leaves a model trained on
    few, whose scores run low exactly where the targets are: pooled over folds, such an AUC
    lands below 0.5 on data with no shift at all (0.01-0.4 in a test of pure noise).
    """
    groups, is_target = np.asarray(groups), np.asarray(is_target, dtype=bool)
    held = [np.zeros(groups.size, dtype=bool) for _ in range(n_folds)]
    for kind in (False, True):
        rows = np.flatnonzero(is_target == kind)
        for k, (_, held_here) in enumerate(unit_folds(groups[rows], n_folds, seed=seed)):
            held[k][rows[held_here]] = True
    return [(~h, h) for h in held]


def domain_scores(X: np.ndarray, is_target: np.ndarray, groups: np.ndarray, n_folds: int = 5,
                  seed: int = 0, rounds: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probability (n,) that each row of X (n, f) is a target row, and the
    classifier's split gain per feature (f,), summed over folds.

    Folds never split a group (a training unit's truncation points stay together) and hold the
    same share of each kind (``stratified_unit_folds``). Each fold's model sees both kinds at
    equal total weight, so it does not learn their ratio.
    """
    is_target = np.asarray(is_target, dtype=bool)
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.05, "min_data_in_leaf": 20,
              "feature_fraction": 0.7, "bagging_fraction": 0.8, "bagging_freq": 1, "seed": seed,
              "deterministic": True, "force_row_wise": True, "verbosity": -1, "num_threads": 2}
    scores = np.empty(len(X))
    gain = np.zeros(X.shape[1])
    for fit, held in stratified_unit_folds(groups, is_target, n_folds, seed):
        kind = is_target[fit]
        weight = np.where(kind, (~kind).sum() / kind.sum(), 1.0)
        model = lgb.train(params, lgb.Dataset(X[fit], kind.astype(float), weight=weight), rounds)
        scores[held] = model.predict(X[held])
        gain += model.feature_importance("gain")
    return scores, gain


@dataclass
class ShiftResult:
    subset: str
    test_units: int
    calibration_points: int
    auc: float
    auc_without_length: float
    null_auc: np.ndarray  # (null_repeats,), all features
    top_features: list[tuple[str, float]]  # (name, share of the gain), all features


def null_aucs(X: np.ndarray, units: np.ndarray, points: np.ndarray, repeats: int, seed: int) -> np.ndarray:
    """AUCs (repeats,) of the classifier on training units alone: a random half of the units gives
    one truncation point each (the pseudo test set), the other half its calibration ``points``."""
    rng = np.random.default_rng(seed)
    ids = np.unique(units)
    out = np.empty(repeats)
    point_units = units[points]
    for r in range(repeats):
        pseudo = rng.permutation(ids)[: ids.size // 2]
        source = points[~np.isin(point_units, pseudo)]
        target = np.array([rng.choice(points[point_units == u]) for u in pseudo])
        rows = np.concatenate([source, target])
        is_target = np.r_[np.zeros(source.size, bool), np.ones(target.size, bool)]
        scores, _ = domain_scores(X[rows], is_target, units[rows], seed=seed + r)
        out[r] = rank_auc(is_target, scores)
    return out


def subset_shift(data_dir: Path, subset: str, seed: int = 0, min_history: int = 10, rul_cap: float = 125.0,
                 null_repeats: int = 10) -> ShiftResult:
    """Adversarial validation of one subset: test last cycles against training calibration points.

    The features are the bench's (``FeatureMap`` fitted on the training set as ``fit_estimator``
    fits it); the calibration points are drawn as the bench draws them (``TrainConfig`` defaults).
    """
    train, test, _ = load_subset(data_dir, subset)  # the test RUL file is loaded but never used
    feature_map, X_train = FeatureMap.fit(
        train.units, train.cycles, train.sensors, np.minimum(train.rul_to_failure(), rul_cap), SENSOR_NAMES,
        train.settings, WindowSpec(), rul_cap, seed=seed)
    X_test = feature_map.features(test.units, test.cycles, test.columns(feature_map.channels), test.settings)
    last = last_rows(test.units)
    points = truncation_rows(train.units, TrainConfig().calibration_draws, seed=seed, min_rows=min_history)

    X = np.vstack([X_train[points], X_test[last]])
    is_target = np.r_[np.zeros(points.size, bool), np.ones(last.size, bool)]
    groups = np.r_[train.units[points], train.units.max() + 1 + test.units[last]]
    scores, gain = domain_scores(X, is_target, groups, seed=seed)
    names = feature_map.feature_names
    length_free = [i for i, n in enumerate(names) if n not in HISTORY_LENGTH_FEATURES]
    scores_free, _ = domain_scores(X[:, length_free], is_target, groups, seed=seed)
    top = np.argsort(-gain)[:3]
    return ShiftResult(
        subset=subset, test_units=last.size, calibration_points=points.size,
        auc=rank_auc(is_target, scores), auc_without_length=rank_auc(is_target, scores_free),
        null_auc=null_aucs(X_train, train.units, points, null_repeats, seed),
        top_features=[(names[i], float(gain[i] / gain.sum())) for i in top],
    )


def format_shift(results: list[ShiftResult]) -> str:
    lines = [
        "adversarial validation: test units' last cycles against the training units' calibration points "
        "(out-of-fold AUC; 0.5 = indistinguishable)",
        "| subset | test units | calibration points | AUC | AUC without history length | "
        "null AUC, mean ± sd | (AUC - null mean) / null sd | top features (share of gain) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        top = ", ".join(f"{name} {share:.0%}" for name, share in r.top_features)
        lines.append(f"| {r.subset} | {r.test_units} | {r.calibration_points} | {r.auc:.3f} | "
                     f"{r.auc_without_length:.3f} | {r.null_auc.mean():.3f} ± {r.null_auc.std(ddof=1):.3f} | "
                     f"{(r.auc - r.null_auc.mean()) / r.null_auc.std(ddof=1):+.1f} | {top} |")
    return "\n".join(lines)
