"""Training of the LightGBM point and quantile models, with conformal calibration of the interval.

The point model (squared error) gives the planner's best single number; three quantile models
(alpha 0.1, 0.5, 0.9) give P10/P50/P90. Raw quantile regression intervals are usually too narrow
or too wide; conformalised quantile regression (Romano et al., 2019) widens or narrows them by
offsets learned on held-out *units* (``calibration``), so the P10-P90 interval holds about 80 % of
true values. The held-out scores come from one split of the units or, cross-fitted, from every
unit once (``TrainConfig.calibration_folds``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import lightgbm as lgb
import numpy as np

from .calibration import (
    CALIBRATION_PROTOCOLS,
    FoldFitter,
    calibrate_interval,
    calibration_points,
    cross_fitted_raw,
    offsets_from_scores,
)
from .splits import unit_folds, unit_split

Progress = Callable[[str], None]

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


@dataclass
class TrainConfig:
    """LightGBM settings and the calibration plan.

    ``monotone`` maps feature names to +1 (RUL non-decreasing in it) or -1 (non-increasing),
    for the features where physics says so (age, accumulated damage).

    Calibration: ``calibration_folds`` = 1 fits the quantile models on the units left after
    holding out ``calibration_share`` of them, and calibrates on those held out. K >= 2
    cross-fits: the quantile models are fitted on all units, and the conformity scores come from
    K fold models, each fitted by the same recipe on K - 1 folds and scoring the held-out fold
    (``cross_fitted_calibration``). ``fold_rounds`` gives the fold models fewer boosting rounds
    (None: as many as the final models) at a learning rate raised in proportion.
    ``calibration_bands`` is the number of P50 bands with their own offset.

    ``max_bin`` is LightGBM's number of histogram bins per feature: the split search over bins
    dominates each round on a few thousand rows, so 63 bins train about twice as fast as 255.
    Predictions do not depend on ``num_threads`` (``deterministic``, row-wise histograms).
    """

    num_boost_round: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    num_threads: int = 2
    seed: int = 0
    calibration_share: float = 0.2
    coverage: float = 0.8
    monotone: dict[str, int] = field(default_factory=dict)
    calibration_protocol: str = "all_rows"
    calibration_draws: int = 20
    calibration_folds: int = 1
    fold_rounds: int | None = None
    calibration_bands: int = 4
    max_bin: int = 255

    def __post_init__(self) -> None:
        if self.calibration_protocol not in CALIBRATION_PROTOCOLS:
            raise ValueError(f"calibration_protocol must be one of {CALIBRATION_PROTOCOLS}, "
                             f"got {self.calibration_protocol!r}")
        if self.calibration_folds < 1 or self.calibration_bands < 1:
            raise ValueError(f"calibration_folds and calibration_bands must be at least 1, got "
                             f"{self.calibration_folds} and {self.calibration_bands}")
        if self.fold_rounds is not None and self.fold_rounds < 1:
            raise ValueError(f"fold_rounds must be None or at least 1, got {self.fold_rounds}")

    def to_dict(self) -> dict:
        return asdict(self)


def lgb_params(config: TrainConfig, feature_names: list[str], objective: str, alpha: float | None = None) -> dict:
    """LightGBM parameter dict for one model; deterministic for the config's seed."""
    params = {
        "objective": objective,
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "num_threads": config.num_threads,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if alpha is not None:
        params["alpha"] = alpha
    # LightGBM refuses monotone constraints with the quantile objective (its leaf values are
    # re-fitted to quantiles afterwards), so only the point model is constrained.
    if config.monotone and objective != "quantile":
        params["monotone_constraints"] = [int(config.monotone.get(n, 0)) for n in feature_names]
    return params


def _progress_callback(label: str, total: int, progress: Progress | None, every: int = 100):
    def callback(env: lgb.callback.CallbackEnv) -> None:
        done = env.iteration + 1
        if progress and (done % every == 0 or done == total):
            progress(f"{label}: {done}/{total} rounds")

    callback.order = 10
    return callback


def train_booster(
    X: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    config: TrainConfig,
    objective: str = "regression",
    alpha: float | None = None,
    label: str = "model",
    progress: Progress | None = None,
    init_score: np.ndarray | None = None,
) -> lgb.Booster:
    """One LightGBM booster on features X (n, f) and target y (n,).

    With ``init_score`` (n,) the booster learns the correction to that starting prediction, and
    its own ``predict`` returns only the correction.
    """
    data = lgb.Dataset(X, label=y, feature_name=feature_names, free_raw_data=True, init_score=init_score,
                       params={"verbosity": -1, "max_bin": config.max_bin})
    return lgb.train(
        lgb_params(config, feature_names, objective, alpha),
        data,
        num_boost_round=config.num_boost_round,
        callbacks=[_progress_callback(label, config.num_boost_round, progress)],
    )


def order_quantiles(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, floor: float = 0.0):
    """Sort the three quantiles row-wise (quantile models are trained apart and may cross), floored."""
    stacked = np.sort(np.vstack([p10, p50, p90]), axis=0)
    stacked = np.maximum(stacked, floor)
    return stacked[0], stacked[1], stacked[2]


def calibration_split(groups: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(proper_mask, calibration_mask) by physical unit, as the single-split ``train_models`` draws them."""
    return unit_split(np.asarray(groups), config.calibration_share, seed=config.seed)


@dataclass
class TrainedModels:
    boosters: dict[str, lgb.Booster]
    interval_edges: np.ndarray
    interval_offsets: np.ndarray
    calibration: dict


def out_of_fold_base(X: np.ndarray, y: np.ndarray, groups: np.ndarray, feature_names: list[str],
                     config: TrainConfig, progress: Progress | None = None, prefix: str = "",
                     n_folds: int = 2) -> np.ndarray:
    """Squared-error predictions (n,) of every row by a model that did not see its unit."""
    out = np.empty(len(y))
    for k, (fit, held) in enumerate(unit_folds(groups, n_folds, seed=config.seed), start=1):
        model = train_booster(X[fit], y[fit], feature_names, config, label=f"{prefix}base fold {k}/{n_folds}",
                              progress=progress)
        out[held] = model.predict(X[held], num_threads=config.num_threads)
    return out


def predict_quantiles(boosters: dict[str, lgb.Booster], X: np.ndarray, num_threads: int = 2) -> dict[str, np.ndarray]:
    """Raw P10/P50/P90 (n,) of a quantile set: each quantile model adds its correction to ``base``."""
    base = boosters["base"].predict(X, num_threads=num_threads)
    return {name: base + boosters[name].predict(X, num_threads=num_threads) for name in QUANTILES}


def predict_raw(boosters: dict[str, lgb.Booster], X: np.ndarray, num_threads: int = 2) -> dict[str, np.ndarray]:
    """Raw predictions (n,) of every model: ``point`` and the quantiles (``predict_quantiles``)."""
    return {"point": boosters["point"].predict(X, num_threads=num_threads),
            **predict_quantiles(boosters, X, num_threads)}


def train_quantile_set(X: np.ndarray, y: np.ndarray, groups: np.ndarray, feature_names: list[str],
                       config: TrainConfig, progress: Progress | None = None, prefix: str = "",
                       base: lgb.Booster | None = None) -> dict[str, lgb.Booster]:
    """``base`` and the ``p10``, ``p50``, ``p90`` models of one set of units (see ``train_models``).

    ``base`` is the squared-error model of these rows; pass it when it is already trained (on
    all units it is the point model), else it is trained here.
    """
    boosters = {"base": base or train_booster(X, y, feature_names, config, label=f"{prefix}base",
                                              progress=progress)}
    start = out_of_fold_base(X, y, groups, feature_names, config, progress, prefix)
    for name, alpha in QUANTILES.items():
        boosters[name] = train_booster(X, y, feature_names, config, objective="quantile", alpha=alpha,
                                       label=f"{prefix}{name}", progress=progress, init_score=start)
    return boosters


def fold_model_config(config: TrainConfig) -> TrainConfig:
    """The config of the calibration fold models: ``fold_rounds`` rounds at a proportionally higher rate.

    Fewer rounds at the same rate would leave the fold models under-fitted next to the final
    ones, and their conformity scores would describe a worse model; keeping rounds x rate (the
    total step) keeps them close.
    """
    if config.fold_rounds is None or config.fold_rounds == config.num_boost_round:
        return config
    return replace(config, num_boost_round=config.fold_rounds,
                   learning_rate=config.learning_rate * config.num_boost_round / config.fold_rounds)


def fold_fitter(X: np.ndarray, y: np.ndarray, groups: np.ndarray, feature_names: list[str], config: TrainConfig,
                progress: Progress | None = None, prefix: str = "",
                keep: list | None = None) -> FoldFitter:
    """``fit_and_predict`` for ``calibration.cross_fitted_raw``: a quantile set per fold, same recipe.

    ``keep``, when given, collects each fold's boosters (the CV compares averaging them).
    """
    fold_config = fold_model_config(config)

    def fit_and_predict(fit: np.ndarray, rows: np.ndarray, k: int) -> dict[str, np.ndarray]:
        fold_prefix = f"{prefix}calibration fold {k + 1}/{config.calibration_folds} "
        models = train_quantile_set(X[fit], y[fit], groups[fit], feature_names, fold_config, progress, fold_prefix)
        if keep is not None:
            keep.append(models)
        return predict_quantiles(models, X[rows], config.num_threads)

    return fit_and_predict


def cross_fitted_calibration(X: np.ndarray, y: np.ndarray, units: np.ndarray, groups: np.ndarray,
                             feature_names: list[str], config: TrainConfig, progress: Progress | None = None,
                             prefix: str = "", min_rows: int = 1,
                             keep: list | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Banded CQR offsets from the pooled out-of-fold scores of ``config.calibration_folds`` folds.

    The calibration points (``calibration.calibration_points``: test-like truncation points or
    every row) are drawn once over all training units; the fold of a unit decides only which
    fold models score its points. Returns edges (b - 1,), offsets (b,) and an info dict, as
    ``calibration.calibrate_interval``. ``keep`` collects the fold models (``fold_fitter``).
    """
    rows = calibration_points(units, config, min_rows)
    raw, _ = cross_fitted_raw(groups, rows, config.calibration_folds, config.seed,
                              fold_fitter(X, y, groups, feature_names, config, progress, prefix, keep))
    edges, offsets, scored = offsets_from_scores(raw, y[rows], config.coverage, config.calibration_bands)
    info = {"protocol": config.calibration_protocol, "calibration_rows": int(len(y)),
            "calibration_points": int(rows.size), "calibration_units": int(np.unique(groups).size),
            "calibration_folds": config.calibration_folds,
            "fold_rounds": fold_model_config(config).num_boost_round, **scored}
    return edges, offsets, info


def train_models(
    X: np.ndarray,
    y: np.ndarray,
    units: np.ndarray,
    feature_names: list[str],
    config: TrainConfig,
    progress: Progress | None = None,
    label: str = "",
    groups: np.ndarray | None = None,
    min_rows: int = 1,
    keep_fold_models: list | None = None,
) -> TrainedModels:
    """Point model on all units; quantile models and their CQR calibration as ``config`` says.

    The quantile models boost from a squared-error ``base`` model rather than from a constant:
    with a capped target most rows sit exactly at the cap, and a quantile booster started at the
    cap sees sign-only gradients that rarely move it (its P50 stayed flat at the cap on the
    simulated fleet). Started from the base estimate, it only has to learn how the spread around
    it varies. The starting values are out-of-fold (two folds by unit), so the quantile models
    learn the spread of honest errors, not of in-sample residuals.

    With ``config.calibration_folds`` = 1 the quantile models are fitted on the proper units and
    calibrated on the ``calibration_share`` held out; with K >= 2 they are fitted on all units
    (their ``base`` is then the point model) and calibrated cross-fitted
    (``cross_fitted_calibration``).

    Parameters
    ----------
    X : shape (n, f) features; y : shape (n,) RUL target; units : shape (n,) unit id per row.
    groups : shape (n,), the physical unit behind each row when several histories come from one
        unit (e.g. late-start copies); calibration splits keep a group on one side.
    keep_fold_models : a list that collects the cross-fitted fold models (for cross-validation).

    Returns
    -------
    TrainedModels with boosters ``point``, ``base``, ``p10``, ``p50``, ``p90`` (see
    ``predict_raw``) and the interval offsets per P50 band; ``calibration`` records the raw and
    calibrated coverage on the calibration points.
    """
    prefix = f"[{label}] " if label else ""
    units = np.asarray(units)
    groups = units if groups is None else np.asarray(groups)
    point = train_booster(X, y, feature_names, config, label=f"{prefix}point", progress=progress)
    if config.calibration_folds > 1:
        quantile = train_quantile_set(X, y, groups, feature_names, config, progress, prefix, base=point)
        edges, offsets, calibration = cross_fitted_calibration(X, y, units, groups, feature_names, config,
                                                               progress, prefix, min_rows, keep_fold_models)
        where = f"{config.calibration_folds} folds, every unit once"
    else:
        proper, calib = calibration_split(groups, config)
        quantile = train_quantile_set(X[proper], y[proper], groups[proper], feature_names, config, progress, prefix)
        raw_calib = predict_quantiles(quantile, X[calib], config.num_threads)
        edges, offsets, calibration = calibrate_interval(raw_calib, y[calib], units[calib], config, min_rows)
        calibration["calibration_units"] = int(np.unique(groups[calib]).size)
        where = "one split"
    if progress:
        progress(f"{prefix}interval: raw P10-P90 coverage {calibration['raw_coverage']:.1%} on held-out units "
                 f"({calibration['calibration_units']} units, {where}); offsets "
                 f"{', '.join(f'{o:+.1f}' for o in offsets)} by P50 band -> {calibration['calibrated_coverage']:.1%}")
    return TrainedModels(boosters={"point": point, **quantile}, interval_edges=edges, interval_offsets=offsets,
                         calibration=calibration)
