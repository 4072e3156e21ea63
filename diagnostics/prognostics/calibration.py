"""Conformal calibration of the P10-P90 interval (conformalised quantile regression, banded).

Raw quantile-regression intervals are usually too narrow or too wide; CQR (Romano et al., 2019)
widens or narrows both ends by one offset learned from conformity scores of units the quantile
models never saw, so the interval holds about the wanted share of true values. Two ways to get
those scores:

* one split (``calibrate_interval``): the quantile models are fitted on 80 % of the units and
  scored on the other 20 %;
* cross-fitted (``cross_fitted_raw``): the units are split into K folds; models fitted on K - 1
  folds score the held-out fold, and the scores of all folds are pooled, so every training unit
  calibrates exactly once (about 5x more calibration units than one 20 % split at K = 5).

Either way the offsets are computed per band of the predicted P50 (``binned_offsets``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from .splits import truncation_rows, unit_folds

if TYPE_CHECKING:
    from .training import TrainConfig

QUANTILE_NAMES = ("p10", "p50", "p90")

# How the interval is calibrated on the held-out calibration units:
# "all_rows"  - every row of every calibration unit (a live component scored over its whole life);
# "truncated" - ``calibration_draws`` test-like truncation points per unit, each uniform over the
#               unit's life from ``min_rows`` on (a test set that scores each unit once, at a
#               random point: C-MAPSS). Every unit then weighs the same, however long it lived.
CALIBRATION_PROTOCOLS = ("all_rows", "truncated")

# fit_and_predict(train_mask (n,), predict_rows (m,), fold index) -> {"p10", "p50", "p90"}: raw
# quantile predictions (m,) at ``predict_rows`` by models fitted on the rows of ``train_mask`` only.
FoldFitter = Callable[[np.ndarray, np.ndarray, int], dict[str, np.ndarray]]


def conformal_offset(p_low: np.ndarray, p_high: np.ndarray, y: np.ndarray, coverage: float) -> float:
    """CQR offset: widen [p_low, p_high] by this much (negative narrows) to reach ``coverage``.

    Parameters
    ----------
    p_low, p_high, y : shape (n,), raw quantile predictions and true targets of held-out units.
    coverage : wanted share of y inside the interval, e.g. 0.8 for P10-P90.
    """
    return conformal_quantile(np.maximum(p_low - y, y - p_high), coverage)


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The split-conformal quantile of conformity ``scores`` (n,): the ``ceil((n + 1) coverage)``-th
    smallest, so that a new exchangeable score is at most it with probability >= ``coverage``."""
    n = scores.size
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))


def p50_band_edges(p_mid: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges (b - 1,) of ``n_bins`` bands of equal count of the predicted median (fewer when tied)."""
    return np.unique(np.quantile(p_mid, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))


def binned_offsets(p_mid: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, y: np.ndarray, coverage: float,
                   n_bins: int = 4, min_rows: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Mondrian CQR: one conformal offset per band of the predicted median.

    A single offset is dominated by the many rows at the target's cap, where the interval is
    right almost by construction, and leaves the wear-out phase under-covered. Banding by the
    predicted P50 (quantiles of the calibration predictions) calibrates each stage of life on
    its own. Bands with fewer than ``min_rows`` rows use the global offset.

    Returns
    -------
    edges : shape (b - 1,), band edges on the P50 scale (increasing).
    offsets : shape (b,), widening per band (see ``conformal_offset``).
    """
    edges = p50_band_edges(p_mid, n_bins)
    band = np.searchsorted(edges, p_mid, side="right")
    overall = conformal_offset(p_low, p_high, y, coverage)
    offsets = np.array([
        conformal_offset(p_low[band == b], p_high[band == b], y[band == b], coverage)
        if np.sum(band == b) >= min_rows else overall
        for b in range(edges.size + 1)
    ])
    return edges, offsets


def row_offsets(p_mid: np.ndarray, edges: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The offset (n,) of each row's band of the predicted median."""
    return np.asarray(offsets)[np.searchsorted(np.asarray(edges), p_mid, side="right")]


def calibration_points(units: np.ndarray, config: "TrainConfig", min_rows: int = 1) -> np.ndarray:
    """Indices of the calibration rows the config's protocol uses (``CALIBRATION_PROTOCOLS``)."""
    if config.calibration_protocol == "truncated":
        return truncation_rows(units, config.calibration_draws, seed=config.seed, min_rows=min_rows)
    return np.arange(len(units))


def offsets_from_scores(raw: dict[str, np.ndarray], truth: np.ndarray, coverage: float,
                        n_bins: int = 4) -> tuple[np.ndarray, np.ndarray, dict]:
    """Banded CQR offsets from raw quantiles at held-out calibration points.

    Parameters
    ----------
    raw : ``"p10"``, ``"p50"``, ``"p90"`` of shape (m,), raw predictions at the calibration
        points by models that never saw the points' units.
    truth : shape (m,), capped true RUL at those points.
    coverage : wanted share inside P10-P90; n_bins : bands of the predicted P50.

    Returns
    -------
    edges (b - 1,), offsets (b,) as ``binned_offsets``; a dict with the raw and calibrated
    coverage on the points, the band edges and the offsets.
    """
    low, mid, high, truth = raw["p10"], raw["p50"], raw["p90"], np.asarray(truth)
    edges, offsets = binned_offsets(mid, low, high, truth, coverage, n_bins=n_bins)
    widen = row_offsets(mid, edges, offsets)
    info = {
        "raw_coverage": float(np.mean((truth >= low) & (truth <= high))),
        "calibrated_coverage": float(np.mean((truth >= low - widen) & (truth <= high + widen))),
        "band_edges": edges.tolist(),
        "band_offsets": offsets.tolist(),
    }
    return edges, offsets, info


def calibrate_interval(raw: dict[str, np.ndarray], y: np.ndarray, units: np.ndarray, config: "TrainConfig",
                       min_rows: int = 1) -> tuple[np.ndarray, np.ndarray, dict]:
    """Conformal offsets per P50 band from one split's calibration units.

    Parameters
    ----------
    raw : ``predict_raw`` output on every row of the calibration units, each shape (n,).
    y : shape (n,), capped true RUL; units : shape (n,), history id per row (grouped, age-sorted).
    config : ``coverage``, ``calibration_protocol``, ``calibration_draws`` and
        ``calibration_bands`` are used.

    Returns
    -------
    edges (b - 1,), offsets (b,) as ``binned_offsets``; a dict with the protocol, the points
    used, and the raw and calibrated coverage on those points.
    """
    pick = calibration_points(units, config, min_rows)
    edges, offsets, scored = offsets_from_scores({name: raw[name][pick] for name in QUANTILE_NAMES},
                                                 np.asarray(y)[pick], config.coverage, config.calibration_bands)
    info = {"protocol": config.calibration_protocol, "calibration_rows": int(len(y)),
            "calibration_points": int(pick.size), **scored}
    return edges, offsets, info


def cross_fitted_raw(groups: np.ndarray, rows: np.ndarray, n_folds: int, seed: int,
                     fit_and_predict: FoldFitter) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Raw quantiles at calibration rows, each predicted by models that never saw its unit.

    The groups (physical units) are split into ``n_folds`` folds (``splits.unit_folds``); for
    each fold, ``fit_and_predict`` fits on every row of the other folds and predicts the
    calibration rows of this one. Every group's calibration rows are scored in exactly one fold,
    so pooled over the folds every training unit calibrates once.

    Parameters
    ----------
    groups : shape (n,), physical unit per training row; folds never split a group.
    rows : shape (m,), indices of the calibration points (``calibration_points``).
    n_folds, seed : fold count (>= 2) and the seed of the unit shuffle.
    fit_and_predict : see ``FoldFitter``.

    Returns
    -------
    raw : ``"p10"``, ``"p50"``, ``"p90"``, each shape (m,), in the order of ``rows``.
    fold : shape (m,), the fold (0 .. n_folds - 1) whose models scored each row.
    """
    if n_folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {n_folds}")
    rows = np.asarray(rows)
    raw = {name: np.full(rows.size, np.nan) for name in QUANTILE_NAMES}
    fold = np.full(rows.size, -1)
    for k, (fit, held) in enumerate(unit_folds(np.asarray(groups), n_folds, seed=seed)):
        here = held[rows]
        predicted = fit_and_predict(fit, rows[here], k)
        for name in QUANTILE_NAMES:
            raw[name][here] = predicted[name]
        fold[here] = k
    return raw, fold
