"""Test-like unit-wise cross-validation on the C-MAPSS *training* sets: where the interval is decided.

    python -m diagnostics.benchmarks.rul cmapss-cv --data ../shared/data/cmapss --folds 3 \\
        --variants single,cf5,cf5r100,cf5b8,cf5avg,cf3

Only ``train_FD00x.txt`` is read for training and scoring, so no test label can steer a choice.
Each training set is split into outer folds by unit; every held-out unit is scored the way the
official test set scores its units (at ``draws`` truncation points uniform over its life, once
each at the truncated history's last cycle) and also at every cycle. The every-cycle scores are
also re-weighted to the history lengths of the official test units (``test_FD00x.txt``, its
inputs: how many cycles each test unit shows, never its RUL), which predicts the test coverage
where test histories are cut differently from uniform (:func:`length_matched_weights`).
Interval calibration variants are compared on the same outer folds; a variant is named

* ``single`` - one 20 % calibration split of the fit units (the method before cross-fitting);
* ``cf<K>`` - cross-fitted over K folds by unit, fold models trained like the final ones;
* ``cf<K>r<R>`` - the same with R boosting rounds per fold model (learning rate raised in
  proportion, ``training.fold_model_config``);
* suffix ``b<B>`` - B bands of the predicted P50 with their own offset instead of 4;
* suffix ``t`` - two one-sided offsets per band (P10 lowered until 10 % of the calibration points
  fall below it, P90 raised until 10 % fall above it) instead of one symmetric offset for 20 %
  misses in all; tried here only, the estimator has no such option;
* suffix ``s`` - scaled conformity scores: each calibration point's miss is measured in units of
  its raw P10-P90 width, so each band's offset widens an interval in proportion to its raw width
  (locally adaptive CQR); tried here only, the estimator has no such option;
* suffix ``avg`` - the average of the K fold models as the predictor instead of the final models
  fitted on all units, with the same pooled offsets.

All cross-fitted variants share the final models of an outer fold (they are fitted on all its
units whatever K is), so they differ only in their offsets (and ``avg`` in its predictor).

With ``calibration_bootstrap`` = B > 0, the first cross-fitted variant's offsets are also
recomputed on B resamples of its calibration units (with replacement, each unit with all its
points) and applied to the same final models: how far the held-out coverage of one trained
model moves with the draw of units it was calibrated on (``format_bootstrap``).
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from diagnostics.prognostics.calibration import (
    QUANTILE_NAMES,
    binned_offsets,
    calibration_points,
    conformal_quantile,
    cross_fitted_raw,
    offsets_from_scores,
    p50_band_edges,
    row_offsets,
)
from diagnostics.prognostics.cmapss import SENSOR_NAMES, CmapssTable, read_table
from diagnostics.prognostics.estimator import RulEstimate, RulEstimator, fit_estimator
from diagnostics.prognostics.metrics import interval_coverage, mean_interval_width, rmse
from diagnostics.prognostics.splits import truncated_unit_folds
from diagnostics.prognostics.training import TrainConfig, fold_fitter, order_quantiles, predict_quantiles, predict_raw

TARGET_COVERAGE = 0.8
BOOTSTRAP_MARK = "~boot"  # estimate names of calibration-bootstrap replicates: <variant>~boot<b>


@dataclass(frozen=True)
class Variant:
    """One way to calibrate the interval (see the module docstring for the names)."""

    name: str
    folds: int = 1
    fold_rounds: int | None = None
    bands: int = 4
    separate_tails: bool = False
    scaled: bool = False
    average_folds: bool = False

    @property
    def plain(self) -> bool:
        """Cross-fitted with symmetric offsets on the final models (the estimator's own method)."""
        return self.folds > 1 and not (self.separate_tails or self.scaled or self.average_folds)

    @property
    def fold_models_key(self) -> tuple[int, int | None]:
        """Variants with the same key share their fold models."""
        return self.folds, self.fold_rounds


def parse_variant(text: str) -> Variant:
    """``single`` or ``cf<K>[r<R>][b<B>][t|s|avg]`` as a Variant; ValueError otherwise."""
    text = text.strip()
    if text == "single":
        return Variant(text)
    match = re.fullmatch(r"cf(\d+)(?:r(\d+))?(?:b(\d+))?(t|s|avg)?", text)
    if not match or int(match[1]) < 2:
        raise ValueError(f"unknown calibration variant {text!r}: use single or cf<K>[r<R>][b<B>][t|s|avg], K >= 2")
    return Variant(text, folds=int(match[1]), fold_rounds=int(match[2]) if match[2] else None,
                   bands=int(match[3]) if match[3] else 4, separate_tails=match[4] == "t",
                   scaled=match[4] == "s", average_folds=match[4] == "avg")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def variant_config(config: TrainConfig, variant: Variant) -> TrainConfig:
    return replace(config, calibration_folds=variant.folds, fold_rounds=variant.fold_rounds,
                   calibration_bands=variant.bands)


def widened_estimate(raw: dict[str, np.ndarray], point: np.ndarray, lower_by: np.ndarray,
                     raise_by: np.ndarray) -> RulEstimate:
    """Raw quantiles (n,) with P10 lowered by ``lower_by`` and P90 raised by ``raise_by`` (n,),
    ordered and floored as the estimator's own; the given point estimate."""
    p10, p50, p90 = order_quantiles(raw["p10"] - lower_by, raw["p50"], raw["p90"] + raise_by)
    return RulEstimate(point=point, p10=p10, p50=p50, p90=p90)


def averaged_estimate(fold_models: list[dict], point: np.ndarray, X: np.ndarray, edges: np.ndarray,
                      offsets: np.ndarray, num_threads: int) -> RulEstimate:
    """P10/P50/P90 of the fold models' average, widened by the pooled offsets; the given point."""
    parts = [predict_quantiles(models, X, num_threads) for models in fold_models]
    raw = {name: np.mean([p[name] for p in parts], axis=0) for name in parts[0]}
    widen = row_offsets(raw["p50"], edges, offsets)
    return widened_estimate(raw, point, widen, widen)


def separate_tail_offsets(raw: dict[str, np.ndarray], truth: np.ndarray, coverage: float,
                          n_bins: int, min_rows: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per band of the predicted P50, how far to lower P10 and raise P90 so that each misses
    ``(1 - coverage) / 2`` of the calibration points: ``(edges (b - 1,), lower (b,), upper (b,))``.
    Bands with fewer than ``min_rows`` points use the offsets of all points (as ``binned_offsets``)."""
    edges = p50_band_edges(raw["p50"], n_bins)
    band = np.searchsorted(edges, raw["p50"], side="right")
    tail = 1.0 - (1.0 - coverage) / 2.0
    offsets = []
    for b in range(edges.size + 1):
        at = band == b if np.sum(band == b) >= min_rows else np.ones(band.size, dtype=bool)
        offsets.append((conformal_quantile(raw["p10"][at] - truth[at], tail),
                        conformal_quantile(truth[at] - raw["p90"][at], tail)))
    lower, upper = np.array(offsets).T
    return edges, lower, upper


def separate_tail_estimate(raw: dict[str, np.ndarray], point: np.ndarray, edges: np.ndarray, lower: np.ndarray,
                           upper: np.ndarray) -> RulEstimate:
    return widened_estimate(raw, point, row_offsets(raw["p50"], edges, lower), row_offsets(raw["p50"], edges, upper))


def raw_width(raw: dict[str, np.ndarray], floor: float) -> np.ndarray:
    """Raw P10-P90 width (n,), at least ``floor`` (quantile models trained apart may cross)."""
    return np.maximum(raw["p90"] - raw["p10"], floor)


def scaled_offsets(raw: dict[str, np.ndarray], truth: np.ndarray, coverage: float,
                   n_bins: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Banded CQR offsets in units of each point's raw P10-P90 width: ``(edges, offsets, floor)``.

    A miss of 5 cycles counts as 0.5 where the raw interval is 10 cycles wide and as 0.1 where it
    is 50 wide, so one band's offset widens confident (narrow) intervals little and uncertain
    (wide) ones much. ``floor`` (a tenth of the median raw width) keeps crossed or collapsed raw
    intervals from dividing by zero; the estimate must use the same floor.
    """
    floor = 0.1 * float(np.median(raw_width(raw, 0.0)))
    width = raw_width(raw, floor)
    edges, offsets = binned_offsets(raw["p50"], raw["p10"] / width, raw["p90"] / width, truth / width, coverage,
                                    n_bins=n_bins)
    return edges, offsets, floor


def scaled_estimate(raw: dict[str, np.ndarray], point: np.ndarray, edges: np.ndarray, offsets: np.ndarray,
                    floor: float) -> RulEstimate:
    widen = row_offsets(raw["p50"], edges, offsets) * raw_width(raw, floor)
    return widened_estimate(raw, point, widen, widen)


def bootstrap_offsets(raw: dict[str, np.ndarray], truth: np.ndarray, units: np.ndarray, coverage: float,
                      n_bins: int, repeats: int, seed: int):
    """Banded offsets ``(edges, offsets)`` recomputed on ``repeats`` resamples of the calibration
    units: drawn with replacement, each drawn unit with all its points (raw and truth (m,), units
    (m,) of the calibration points), so the resample keeps the points' grouping by unit."""
    rng = np.random.default_rng(seed)
    _, index = np.unique(units, return_inverse=True)
    points_of = [np.flatnonzero(index == i) for i in range(index.max() + 1)]
    for _ in range(repeats):
        pick = np.concatenate([points_of[i] for i in rng.integers(0, len(points_of), len(points_of))])
        edges, offsets, _ = offsets_from_scores({name: raw[name][pick] for name in QUANTILE_NAMES}, truth[pick],
                                                coverage, n_bins)
        yield edges, offsets


def cross_fitted_estimates(est: RulEstimator, kept: list[dict], X_fit: np.ndarray, y_fit: np.ndarray,
                           fit_units: np.ndarray, X_held: np.ndarray, config: TrainConfig,
                           variants: list[Variant], calibration_bootstrap: int = 0) -> dict[str, RulEstimate]:
    """Held-out estimates of every cross-fitted variant on the final models of one outer fold.

    ``kept`` holds the fold models ``fit_estimator`` trained for the first variant's key; other
    keys get their own fold models here. Pooled raw scores are computed once per key. With
    ``calibration_bootstrap`` = B, B more estimates of the first variant, named
    ``<variant>~boot<b>``, use offsets from resampled calibration units (``bootstrap_offsets``).
    """
    out = {}
    # The final models' raw predictions serve every variant; they differ only in their offsets.
    held_raw = predict_raw(est.boosters, X_held, config.num_threads)
    point = np.maximum(held_raw["point"], 0.0)  # as RulEstimator.predict_features
    fold_models = {variants[0].fold_models_key: kept}
    for key in dict.fromkeys(v.fold_models_key for v in variants):
        cfg = variant_config(config, next(v for v in variants if v.fold_models_key == key))
        rows = calibration_points(fit_units, cfg, est.min_history)
        if key in fold_models:  # already trained: predict each fold's points with its own models
            models = fold_models[key]
            raw, _ = cross_fitted_raw(fit_units, rows, cfg.calibration_folds, cfg.seed,
                                      lambda fit, at, k: predict_quantiles(models[k], X_fit[at], cfg.num_threads))
        else:
            started = time.perf_counter()
            models = fold_models[key] = []
            raw, _ = cross_fitted_raw(fit_units, rows, cfg.calibration_folds, cfg.seed,
                                      fold_fitter(X_fit, y_fit, fit_units, est.feature_names, cfg, keep=models))
            log(f"    fold models {key}: {time.perf_counter() - started:.0f} s")
        for variant in (v for v in variants if v.fold_models_key == key):
            if variant.separate_tails:
                edges, lower, upper = separate_tail_offsets(raw, y_fit[rows], cfg.coverage, variant.bands)
                out[variant.name] = separate_tail_estimate(held_raw, point, edges, lower, upper)
                continue
            if variant.scaled:
                edges, offsets, floor = scaled_offsets(raw, y_fit[rows], cfg.coverage, variant.bands)
                out[variant.name] = scaled_estimate(held_raw, point, edges, offsets, floor)
                continue
            edges, offsets, _ = offsets_from_scores(raw, y_fit[rows], cfg.coverage, variant.bands)
            if variant == variants[0] and not np.allclose(offsets, est.interval_offsets):
                raise AssertionError("recomputed pooled offsets differ from the estimator's own")
            if variant == variants[0] and variant.plain and calibration_bootstrap:
                resampled = bootstrap_offsets(raw, y_fit[rows], fit_units[rows], cfg.coverage, variant.bands,
                                              calibration_bootstrap, cfg.seed)
                for b, (edges_b, offsets_b) in enumerate(resampled):
                    widen = row_offsets(held_raw["p50"], edges_b, offsets_b)
                    out[f"{variant.name}{BOOTSTRAP_MARK}{b}"] = widened_estimate(held_raw, point, widen, widen)
            if variant.average_folds:
                out[variant.name] = averaged_estimate(models, point, X_held, edges, offsets, config.num_threads)
            else:  # the estimator's own method: RulEstimator.predict_features with these offsets
                widen = row_offsets(held_raw["p50"], edges, offsets)
                out[variant.name] = widened_estimate(held_raw, point, widen, widen)
    return out


def fold_estimates(train: CmapssTable, fit_mask: np.ndarray, config: TrainConfig, variants: list[Variant],
                   rul_cap: float, monotone_age: bool, calibration_bootstrap: int = 0) -> dict[str, RulEstimate]:
    """Estimates at every held-out row (``~fit_mask``) of every variant, trained on ``fit_mask`` rows."""
    units, cycles, settings = train.units[fit_mask], train.cycles[fit_mask], train.settings[fit_mask]
    rul = train.rul_to_failure()[fit_mask]
    held = ~fit_mask

    def fit(variant: Variant, keep: list | None = None) -> tuple[RulEstimator, np.ndarray]:
        started = time.perf_counter()
        est = fit_estimator(units, cycles, train.sensors[fit_mask], rul, SENSOR_NAMES, settings=settings,
                            rul_cap=rul_cap, config=variant_config(config, variant), monotone_age=monotone_age,
                            keep_fold_models=keep)
        log(f"    {variant.name}: fitted in {time.perf_counter() - started:.0f} s")
        columns = train.columns(est.channels)
        return est, est.features(train.units[held], train.cycles[held], columns[held], train.settings[held])

    out = {}
    for variant in (v for v in variants if v.folds == 1):
        est, X_held = fit(variant)
        out[variant.name] = est.predict_features(X_held, config.num_threads)
    crossed = [v for v in variants if v.folds > 1]
    if crossed:
        kept: list[dict] = []
        est, X_held = fit(crossed[0], kept)
        X_fit = est.features(units, cycles, train.columns(est.channels)[fit_mask], settings)
        out.update(cross_fitted_estimates(est, kept, X_fit, np.minimum(rul, rul_cap), units, X_held,
                                          variant_config(config, crossed[0]), crossed, calibration_bootstrap))
    return out


RUL_BANDS = (0.0, 25.0, 50.0, 100.0, 125.0)  # true RUL bands of the conditional coverage; the last is [125, cap]


def unit_even_weights(units: np.ndarray) -> np.ndarray:
    """Row weights, shape (n,), under which each unit weighs 1 in all, spread evenly over its rows."""
    _, unit_index, unit_rows = np.unique(units, return_inverse=True, return_counts=True)
    return 1.0 / unit_rows[unit_index]


def length_matched_weights(units: np.ndarray, cycles: np.ndarray, target_lengths: np.ndarray,
                           bin_cycles: int = 20) -> tuple[np.ndarray, float]:
    """Row weights that give scored rows the history-length distribution of ``target_lengths``.

    A row at cycle ``c`` of a full history is what a history cut after ``c`` cycles shows at its
    end, so its history length is ``c``. Each unit first weighs 1 in all, spread evenly over its
    rows (what truncation points uniform over its life give in expectation); every row is then
    multiplied by the target's share of its length bin (``bin_cycles`` wide) over the rows' own
    share: importance weighting for a shift in one observed covariate (Tibshirani, Foygel Barber,
    Candes and Ramdas 2019, *Conformal prediction under covariate shift*).

    Parameters
    ----------
    units, cycles : shape (n,), unit and cycle of each scored row.
    target_lengths : shape (m,), cycles observed per target unit (a test file's inputs).

    Returns
    -------
    ``(weights (n,), unmatched)``: ``unmatched`` is the target's share in length bins no scored
    row reaches (those targets cannot be represented).
    """
    even = unit_even_weights(units)
    edges = np.arange(0, max(cycles.max(), target_lengths.max()) + 2 * bin_cycles, bin_cycles)
    target = np.histogram(target_lengths, edges)[0] / target_lengths.size
    scored = np.histogram(cycles, edges, weights=even)[0] / even.sum()
    ratio = np.divide(target, scored, out=np.zeros_like(target), where=scored > 0)
    weights = even * ratio[np.clip(np.digitize(cycles, edges) - 1, 0, len(ratio) - 1)]
    return weights, float(target[scored == 0].sum())


def _scores(parts: list[tuple[RulEstimate, np.ndarray]]) -> dict:
    fields = ("point", "p10", "p50", "p90")
    est = RulEstimate(*(np.concatenate([getattr(e, f) for e, _ in parts]) for f in fields))
    true = np.concatenate([t for _, t in parts])
    return {"rmse": rmse(est.point, true), "rmse_p50": rmse(est.p50, true),
            "coverage": interval_coverage(est.p10, est.p90, true), "width": mean_interval_width(est.p10, est.p90),
            "points": int(true.size),
            "fold_coverage": [interval_coverage(e.p10, e.p90, t) for e, t in parts]}


def cross_validate(data_dir: Path, subset: str, config: TrainConfig, variants: list[Variant], n_folds: int = 3,
                   min_cycles: int = 31, draws: int = 10, rul_cap: float = 125.0,
                   monotone_age: bool = False, calibration_bootstrap: int = 0) -> dict:
    """Unit-wise k-fold CV of one training set, every variant scored on the same outer folds.

    ``test_like``: each held-out unit at ``draws`` truncation points drawn uniformly over its life
    (at least ``min_cycles`` observed), as the official test set scores its units
    (``splits.truncated_unit_folds``). ``every_cycle``: every held-out cycle from ``min_cycles`` on.

    Returns
    -------
    ``{"subset", "seconds", (evaluation, variant name): {"rmse", "rmse_p50", "coverage", "width",
    "points", "fold_coverage"}, ("test_lengths", variant name): {"coverage", "coverage_unit_even",
    "unmatched", "by_true_rul"}}``: ``test_lengths`` is the every-cycle coverage with each unit
    weighing the same, re-weighted to the official test histories' lengths
    (:func:`length_matched_weights`) and not (``coverage_unit_even``); ``by_true_rul`` the
    every-cycle coverage per band of true RUL (``RUL_BANDS``).
    """
    started = time.perf_counter()
    train = read_table(Path(data_dir) / f"train_{subset}.txt")
    true_all = np.minimum(train.rul_to_failure(), rul_cap)
    collected: dict[tuple[str, str], list] = {}
    every_cycle_rows: list[np.ndarray] = []
    fit_units: list[int] = []
    folds = truncated_unit_folds(train.units, n_folds, draws, seed=config.seed, min_rows=min_cycles)
    for k, (fit_mask, test_rows) in enumerate(folds, start=1):
        log(f"[{subset} CV] outer fold {k}/{n_folds}: {np.unique(train.units[test_rows]).size} held-out units, "
            f"{test_rows.size} test-like points")
        fit_units.append(int(np.unique(train.units[fit_mask]).size))
        estimates = fold_estimates(train, fit_mask, config, variants, rul_cap, monotone_age, calibration_bootstrap)
        held = np.flatnonzero(~fit_mask)
        position = np.full(len(train.units), -1)
        position[held] = np.arange(held.size)
        rows = {"test_like": position[test_rows], "every_cycle": np.flatnonzero(train.cycles[held] >= min_cycles)}
        every_cycle_rows.append(held[rows["every_cycle"]])
        for name, est in estimates.items():
            for evaluation, at in rows.items():
                if evaluation == "every_cycle" and BOOTSTRAP_MARK in name:
                    continue  # format_bootstrap reads the replicates' test-like coverage only
                picked = RulEstimate(est.point[at], est.p10[at], est.p50[at], est.p90[at])
                collected.setdefault((evaluation, name), []).append((picked, true_all[held][at]))
    result = {"subset": subset, "seconds": time.perf_counter() - started, "fit_units": fit_units,
              "units": int(np.unique(train.units).size)}
    result.update({key: _scores(parts) for key, parts in collected.items()})
    # every-cycle rows of all outer folds, re-weighted to the official test histories' lengths
    scored = np.concatenate(every_cycle_rows)
    even = unit_even_weights(train.units[scored])
    weights, unmatched = length_matched_weights(train.units[scored], train.cycles[scored],
                                                history_lengths(read_table(Path(data_dir) / f"test_{subset}.txt")))
    for name in (n for n in estimates if BOOTSTRAP_MARK not in n):
        parts = collected[("every_cycle", name)]
        true = np.concatenate([t for _, t in parts])
        inside = (true >= np.concatenate([e.p10 for e, _ in parts])) & (true <= np.concatenate([e.p90 for e, _ in parts]))
        band = np.digitize(true, RUL_BANDS) - 1
        result[("test_lengths", name)] = {
            "coverage": float(np.sum(weights * inside) / np.sum(weights)), "unmatched": unmatched,
            "coverage_unit_even": float(np.sum(even * inside) / np.sum(even)),
            "by_true_rul": [float(inside[band == b].mean()) if np.any(band == b) else float("nan")
                            for b in range(len(RUL_BANDS))]}
    return result


def history_lengths(table: CmapssTable) -> np.ndarray:
    """Cycles observed per unit, shape (units,): for a test file, its inputs only (no RUL)."""
    return np.unique(table.units, return_counts=True)[1]


def format_cv(results: list[dict], variants: list[Variant], n_folds: int, draws: int) -> str:
    """Markdown table per subset and variant, then the mean distance from the 80 % target."""
    lines = [f"unit-wise CV on the training sets ({n_folds} outer folds by unit; test-like = {draws} truncation "
             "points per held-out unit, uniform over its life, scored at the last cycle)",
             "| subset | variant | test-like points | RMSE | coverage | by outer fold | width | RMSE of P50 | "
             "every-cycle coverage | every-cycle width | units even | units even, at the test set's history lengths |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for v in variants:
            t, e, n = r[("test_like", v.name)], r[("every_cycle", v.name)], r[("test_lengths", v.name)]
            by_fold = " / ".join(f"{c:.1%}" for c in t["fold_coverage"])
            lines.append(f"| {r['subset']} | {v.name} | {t['points']} | {t['rmse']:.2f} | {t['coverage']:.1%} | "
                         f"{by_fold} | {t['width']:.1f} | {t['rmse_p50']:.2f} | {e['coverage']:.1%} | "
                         f"{e['width']:.1f} | {n['coverage_unit_even']:.1%} | {n['coverage']:.1%} |")
    bands = [f"[{lo:.0f}, {hi:.0f})" for lo, hi in zip(RUL_BANDS, RUL_BANDS[1:])] + [f"{RUL_BANDS[-1]:.0f} (cap)"]
    lines += ["", "every-cycle coverage by true RUL (cycles)",
              "| subset | variant | " + " | ".join(bands) + " | mean abs(coverage - 80 %) over the bands |",
              "|---|---|" + "---|" * (len(bands) + 1)]
    for r in results:
        for v in variants:
            by_band = r[("test_lengths", v.name)]["by_true_rul"]
            spread = np.nanmean([abs(c - TARGET_COVERAGE) for c in by_band])
            lines.append(f"| {r['subset']} | {v.name} | " + " | ".join(f"{c:.1%}" for c in by_band)
                         + f" | {spread:.1%} |")
    lines += ["", "| variant | mean abs(coverage - 80 %), subsets | mean abs(coverage - 80 %), outer folds | "
              "mean width |", "|---|---|---|---|"]
    for v in variants:
        scores = [r[("test_like", v.name)] for r in results]
        by_subset = np.mean([abs(s["coverage"] - TARGET_COVERAGE) for s in scores])
        by_fold = np.mean([abs(c - TARGET_COVERAGE) for s in scores for c in s["fold_coverage"]])
        lines.append(f"| {v.name} | {by_subset:.1%} | {by_fold:.1%} | {np.mean([s['width'] for s in scores]):.1f} |")
    lines.append("")
    lines.append("seconds per subset: " + ", ".join(f"{r['subset']} {r['seconds']:.0f}" for r in results))
    return "\n".join(lines)


def format_bootstrap(results: list[dict], variant: Variant, repeats: int) -> str:
    """How far one trained model's held-out test-like coverage moves with its calibration units.

    Per outer fold, the spread over the bootstrap replicates of the coverage of that fold's held-out
    points (models and points fixed, only the calibration units resampled); the last column scales
    it to calibration on all of the subset's units, as the bench calibrates (spread ~ 1 / sqrt(units)).
    """
    lines = [f"calibration bootstrap of {variant.name}: {repeats} resamples of the calibration units per outer fold, "
             "same final models, same held-out test-like points",
             "| subset | calibration units per outer fold | test-like coverage by outer fold | "
             "replicates, 5-95 % by outer fold | sd, mean over outer folds | sd at all of the subset's units |",
             "|---|---|---|---|---|---|"]
    for r in results:
        own = r[("test_like", variant.name)]["fold_coverage"]
        reps = np.array([r[("test_like", f"{variant.name}{BOOTSTRAP_MARK}{b}")]["fold_coverage"]
                         for b in range(repeats)])  # (repeats, folds)
        ranges = " / ".join(f"{lo:.1%}-{hi:.1%}" for lo, hi in np.percentile(reps, [5, 95], axis=0).T)
        sd = float(np.mean(np.std(reps, axis=0, ddof=1)))
        at_all = sd * np.sqrt(np.mean(r["fit_units"]) / r["units"])
        lines.append(f"| {r['subset']} | {' / '.join(map(str, r['fit_units']))} | "
                     f"{' / '.join(f'{c:.1%}' for c in own)} | {ranges} | {sd:.1%} | {at_all:.1%} |")
    return "\n".join(lines)
