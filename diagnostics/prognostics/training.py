"""Training of the LightGBM point and quantile models, with conformal calibration of the interval.

The point model (squared error) gives the planner's best single number; three quantile models
(alpha 0.1, 0.5, 0.9) give P10/P50/P90. Raw quantile regression intervals are usually too narrow
or too wide; conformalised quantile regression (Romano et al., 2019) widens or narrows them by one
offset learned on held-out *units*, so the P10-P90 interval holds about 80 % of true values.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import lightgbm as lgb
import numpy as np

from .splits import truncation_rows, unit_folds, unit_split

Progress = Callable[[str], None]

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}

# How the interval is calibrated on the held-out calibration units:
# "all_rows"  - every row of every calibration unit (a live component scored over its whole life);
# "truncated" - ``calibration_draws`` test-like truncation points per unit, each uniform over the
#               unit's life from ``min_rows`` on (a test set that scores each unit once, at a
#               random point: C-MAPSS). Every unit then weighs the same, however long it lived.
CALIBRATION_PROTOCOLS = ("all_rows", "truncated")


@dataclass
class TrainConfig:
    """LightGBM settings and the calibration plan.

    ``monotone`` maps feature names to +1 (RUL non-decreasing in it) or -1 (non-increasing),
    for the features where physics says so (age, accumulated damage).
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

    def __post_init__(self) -> None:
        if self.calibration_protocol not in CALIBRATION_PROTOCOLS:
            raise ValueError(f"calibration_protocol must be one of {CALIBRATION_PROTOCOLS}, "
                             f"got {self.calibration_protocol!r}")

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
                       params={"verbosity": -1, "max_bin": 255})
    return lgb.train(
        lgb_params(config, feature_names, objective, alpha),
        data,
        num_boost_round=config.num_boost_round,
        callbacks=[_progress_callback(label, config.num_boost_round, progress)],
    )


def conformal_offset(p_low: np.ndarray, p_high: np.ndarray, y: np.ndarray, coverage: float) -> float:
    """CQR offset: widen [p_low, p_high] by this much (negative narrows) to reach ``coverage``.

    Parameters
    ----------
    p_low, p_high, y : shape (n,), raw quantile predictions and true targets of held-out units.
    coverage : wanted share of y inside the interval, e.g. 0.8 for P10-P90.
    """
    scores = np.maximum(p_low - y, y - p_high)
    n = scores.size
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))


def binned_offsets(p_mid: np.ndarray, p_low: np.ndarray, p_high: np.ndarray, y: np.ndarray, coverage: float,
                   n_bins: int = 4, min_rows: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Mondrian CQR: one conformal offset per band of the predicted median.

    A single offset is dominated by the many rows at the target's cap, where the interval is
    right almost by construction, and leaves the wear-out phase under-covered. Banding by the
    predicted P50 (quartiles of the calibration predictions) calibrates each stage of life on
    its own. Bands with fewer than ``min_rows`` rows use the global offset.

    Returns
    -------
    edges : shape (b - 1,), band edges on the P50 scale (increasing).
    offsets : shape (b,), widening per band (see ``conformal_offset``).
    """
    edges = np.unique(np.quantile(p_mid, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
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


def order_quantiles(p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, floor: float = 0.0):
    """Sort the three quantiles row-wise (quantile models are trained apart and may cross), floored."""
    stacked = np.sort(np.vstack([p10, p50, p90]), axis=0)
    stacked = np.maximum(stacked, floor)
    return stacked[0], stacked[1], stacked[2]


def calibration_split(groups: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(proper_mask, calibration_mask) by physical unit, as ``train_models`` draws them."""
    return unit_split(np.asarray(groups), config.calibration_share, seed=config.seed)


def calibration_points(units: np.ndarray, config: TrainConfig, min_rows: int = 1) -> np.ndarray:
    """Indices of the calibration rows the config's protocol uses (``CALIBRATION_PROTOCOLS``)."""
    if config.calibration_protocol == "truncated":
        return truncation_rows(units, config.calibration_draws, seed=config.seed, min_rows=min_rows)
    return np.arange(len(units))


def calibrate_interval(raw: dict[str, np.ndarray], y: np.ndarray, units: np.ndarray, config: TrainConfig,
                       min_rows: int = 1) -> tuple[np.ndarray, np.ndarray, dict]:
    """Conformal offsets per P50 band from the calibration units' raw predictions.

    Parameters
    ----------
    raw : ``predict_raw`` output on the calibration rows, each shape (n,).
    y : shape (n,), capped true RUL; units : shape (n,), history id per row (grouped, age-sorted).
    config : ``coverage``, ``calibration_protocol`` and ``calibration_draws`` are used.

    Returns
    -------
    edges (b - 1,), offsets (b,) as ``binned_offsets``; a dict with the protocol, the points
    used, and the raw and calibrated coverage on those points.
    """
    pick = calibration_points(units, config, min_rows)
    low, mid, high, truth = raw["p10"][pick], raw["p50"][pick], raw["p90"][pick], np.asarray(y)[pick]
    edges, offsets = binned_offsets(mid, low, high, truth, config.coverage)
    widen = row_offsets(mid, edges, offsets)
    info = {
        "protocol": config.calibration_protocol,
        "calibration_rows": int(len(y)),
        "calibration_points": int(pick.size),
        "raw_coverage": float(np.mean((truth >= low) & (truth <= high))),
        "calibrated_coverage": float(np.mean((truth >= low - widen) & (truth <= high + widen))),
        "band_edges": edges.tolist(),
        "band_offsets": offsets.tolist(),
    }
    return edges, offsets, info


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


def predict_raw(boosters: dict[str, lgb.Booster], X: np.ndarray, num_threads: int = 2) -> dict[str, np.ndarray]:
    """Raw predictions (n,) of every model; quantile models add their correction to ``base``."""
    base = boosters["base"].predict(X, num_threads=num_threads)
    out = {"point": boosters["point"].predict(X, num_threads=num_threads)}
    for name in QUANTILES:
        out[name] = base + boosters[name].predict(X, num_threads=num_threads)
    return out


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
) -> TrainedModels:
    """Point model on all units; quantile models on the proper training units; CQR on the rest.

    The quantile models boost from a squared-error ``base`` model of the proper units rather
    than from a constant: with a capped target most rows sit exactly at the cap, and a quantile
    booster started at the cap sees sign-only gradients that rarely move it (its P50 stayed
    flat at the cap on the simulated fleet). Started from the base estimate, it only has to
    learn how the spread around it varies. The starting values are out-of-fold (two folds by
    unit), so the quantile models learn the spread of honest errors, not of in-sample residuals.

    Parameters
    ----------
    X : shape (n, f) features; y : shape (n,) RUL target; units : shape (n,) unit id per row.
    groups : shape (n,), the physical unit behind each row when several histories come from one
        unit (e.g. late-start copies); the calibration split keeps a group on one side.

    Returns
    -------
    TrainedModels with boosters ``point``, ``base``, ``p10``, ``p50``, ``p90`` (see
    ``predict_raw``) and the interval offsets per P50 band; ``calibration`` records the raw and
    calibrated coverage on the calibration units.
    """
    prefix = f"[{label}] " if label else ""
    boosters = {"point": train_booster(X, y, feature_names, config, label=f"{prefix}point", progress=progress)}
    groups = units if groups is None else groups
    proper, calib = calibration_split(groups, config)
    boosters["base"] = train_booster(X[proper], y[proper], feature_names, config, label=f"{prefix}base",
                                     progress=progress)
    base = out_of_fold_base(X[proper], y[proper], groups[proper], feature_names, config, progress, prefix)
    for name, alpha in QUANTILES.items():
        boosters[name] = train_booster(
            X[proper], y[proper], feature_names, config, objective="quantile", alpha=alpha,
            label=f"{prefix}{name}", progress=progress, init_score=base,
        )
    raw_calib = predict_raw(boosters, X[calib], config.num_threads)
    edges, offsets, calibration = calibrate_interval(raw_calib, y[calib], np.asarray(units)[calib], config,
                                                     min_rows=min_rows)
    calibration["calibration_units"] = int(np.unique(groups[calib]).size)
    raw, calibrated = calibration["raw_coverage"], calibration["calibrated_coverage"]
    if progress:
        progress(f"{prefix}interval: raw P10-P90 coverage {raw:.1%} on held-out units; offsets "
                 f"{', '.join(f'{o:+.1f}' for o in offsets)} by P50 band -> {calibrated:.1%}")
    return TrainedModels(boosters=boosters, interval_edges=edges, interval_offsets=offsets, calibration=calibration)
