"""Public RUL benchmark on NASA C-MAPSS.

    python -m diagnostics.rul_bench cmapss --data ../shared/data/cmapss [--subsets FD001,FD002]
                                           [--out var/rul_bench] [--rounds 400] [--seed 0]
    python -m diagnostics.rul_bench cmapss-cv --data ../shared/data/cmapss [--folds 5]

``cmapss`` trains on each training set and scores the official test set at the last cycle of
every test unit (true RUL capped at 125, as the models' piecewise-linear target), printing RMSE,
the PHM08 score and the share of true RUL inside the P10-P90 interval, and writes a PNG of
predicted against true RUL with the intervals. ``cmapss-cv`` is the tuning ground: unit-wise
cross-validation on the *training* set only, scored at every cycle after the shortest test
history, so no test label ever steers a choice.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diagnostics.prognostics.cmapss import SENSOR_NAMES, SETTING_NAMES, SUBSETS, load_subset
from diagnostics.prognostics.estimator import fit_estimator
from diagnostics.prognostics.metrics import interval_coverage, mean_interval_width, phm08_score, rmse
from diagnostics.prognostics.splits import unit_folds
from diagnostics.prognostics.training import TrainConfig

RUL_CAP = 125.0
GOALS_RMSE = {"FD001": 12.0, "FD002": 13.0, "FD003": 12.0, "FD004": 14.0}
COVERAGE_GOAL = (0.75, 0.85)


@dataclass
class SubsetResult:
    subset: str
    units: int
    rmse: float
    phm08: float
    coverage: float
    width: float
    rmse_p50: float
    seconds: float
    true: np.ndarray
    point: np.ndarray
    p10: np.ndarray
    p90: np.ndarray


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_subset(data_dir: Path, subset: str, config: TrainConfig, monotone_age: bool = False) -> SubsetResult:
    """Train on ``train_<subset>``, score the last cycle of each unit of ``test_<subset>``."""
    started = time.perf_counter()
    train, test, truth = load_subset(data_dir, subset)
    log(f"[{subset}] {len(train.units)} training rows from {np.unique(train.units).size} units")
    estimator = fit_estimator(
        train.units, train.cycles, train.sensors, train.rul_to_failure(), SENSOR_NAMES,
        settings=train.settings, setting_names=SETTING_NAMES, rul_cap=RUL_CAP, config=config,
        progress=log, label=subset, monotone_age=monotone_age,
    )
    _, est = estimator.predict_last(test.units, test.cycles, test.columns(estimator.channels), test.settings)
    true = np.minimum(truth, RUL_CAP)
    return SubsetResult(
        subset=subset, units=true.size,
        rmse=rmse(est.point, true), phm08=phm08_score(est.point, true),
        coverage=interval_coverage(est.p10, est.p90, true), width=mean_interval_width(est.p10, est.p90),
        rmse_p50=rmse(est.p50, true), seconds=time.perf_counter() - started,
        true=true, point=est.point, p10=est.p10, p90=est.p90,
    )


def cross_validate(data_dir: Path, subset: str, config: TrainConfig, n_folds: int = 5, min_cycles: int = 31,
                   monotone_age: bool = False) -> dict:
    """Unit-wise k-fold CV on the training set only; scored at every cycle >= ``min_cycles``."""
    train, _, _ = load_subset(data_dir, subset)
    rul = train.rul_to_failure()
    preds, trues, lows, highs = [], [], [], []
    for k, (fit_mask, held_mask) in enumerate(unit_folds(train.units, n_folds, seed=config.seed), start=1):
        log(f"[{subset} CV] fold {k}/{n_folds}")
        est = fit_estimator(
            train.units[fit_mask], train.cycles[fit_mask], train.sensors[fit_mask], rul[fit_mask],
            SENSOR_NAMES, settings=train.settings[fit_mask], rul_cap=RUL_CAP, config=config,
            progress=None, label=f"{subset} fold {k}", monotone_age=monotone_age,
        )
        X = est.features(train.units[held_mask], train.cycles[held_mask],
                         train.columns(est.channels)[held_mask], train.settings[held_mask])
        scored = train.cycles[held_mask] >= min_cycles
        out = est.predict_features(X[scored])
        preds.append(out.point)
        lows.append(out.p10)
        highs.append(out.p90)
        trues.append(np.minimum(rul[held_mask][scored], RUL_CAP))
    p, t, lo, hi = (np.concatenate(a) for a in (preds, trues, lows, highs))
    return {"subset": subset, "rows": int(t.size), "rmse": rmse(p, t),
            "coverage": interval_coverage(lo, hi, t), "width": mean_interval_width(lo, hi)}


def format_table(results: list[SubsetResult]) -> str:
    lines = [
        "| subset | test units | RMSE | goal | PHM08 score | P10-P90 coverage | mean width | RMSE of P50 | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ok = "met" if r.rmse <= GOALS_RMSE[r.subset] else "MISSED"
        lines.append(
            f"| {r.subset} | {r.units} | {r.rmse:.2f} | <= {GOALS_RMSE[r.subset]:.1f} ({ok}) | {r.phm08:.0f} | "
            f"{r.coverage:.1%} | {r.width:.1f} | {r.rmse_p50:.2f} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def plot_results(results: list[SubsetResult], path: Path) -> Path:
    """Predicted against true RUL with P10-P90 bars, one panel per subset; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.2), squeeze=False)
    for ax, r in zip(axes[0], results):
        inside = (r.true >= r.p10) & (r.true <= r.p90)
        # The point model and the quantile models are trained apart: the point need not sit
        # inside its interval, so draw the interval as its own bar rather than as error bars.
        ax.vlines(r.true[inside], r.p10[inside], r.p90[inside], colors="tab:blue", lw=0.6, alpha=0.45,
                  label="P10-P90 holds true RUL")
        ax.vlines(r.true[~inside], r.p10[~inside], r.p90[~inside], colors="tab:red", lw=0.6, alpha=0.6,
                  label="P10-P90 misses")
        ax.plot(r.true, r.point, "o", ms=3, color="black", alpha=0.75, label="point estimate")
        ax.plot([0, RUL_CAP], [0, RUL_CAP], "k--", lw=1, label="perfect")
        ax.set_title(f"{r.subset}: RMSE {r.rmse:.1f}, coverage {r.coverage:.0%}")
        ax.set_xlabel("true RUL (cycles, capped at 125)")
        ax.set_ylabel("predicted RUL (cycles)")
        ax.set_xlim(0, RUL_CAP + 10)
        ax.set_ylim(0, max(RUL_CAP + 10, float(np.max(r.p90)) + 5))
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.suptitle("C-MAPSS test sets: LightGBM RUL at each unit's last cycle")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m diagnostics.rul_bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("cmapss", "cmapss-cv"):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True, type=Path, help="folder with train_/test_/RUL_FD00x.txt")
        p.add_argument("--subsets", default=",".join(SUBSETS), help="comma-separated, e.g. FD001,FD003")
        p.add_argument("--rounds", type=int, default=TrainConfig.num_boost_round, help="boosting rounds per model")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--monotone-age", action="store_true",
                       help="constrain RUL non-increasing in cycle count (costs accuracy, see docs/prognostics.md)")
    sub.choices["cmapss"].add_argument("--out", type=Path, default=Path("var/rul_bench"), help="folder for the PNG")
    sub.choices["cmapss-cv"].add_argument("--folds", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    subsets = [s.strip().upper() for s in args.subsets.split(",") if s.strip()]
    unknown = [s for s in subsets if s not in SUBSETS]
    if unknown:
        print(f"unknown subset(s) {', '.join(unknown)}; choose from {', '.join(SUBSETS)}", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"--data {args.data}: not a folder", file=sys.stderr)
        return 2
    config = TrainConfig(num_boost_round=args.rounds, seed=args.seed, num_threads=args.threads)
    if args.command == "cmapss-cv":
        for s in subsets:
            r = cross_validate(args.data, s, config, n_folds=args.folds, monotone_age=args.monotone_age)
            print(f"{s} CV ({args.folds} folds by unit, {r['rows']} scored rows): RMSE {r['rmse']:.2f}, "
                  f"P10-P90 coverage {r['coverage']:.1%}, mean width {r['width']:.1f}")
        return 0
    results = [run_subset(args.data, s, config, args.monotone_age) for s in subsets]
    print(format_table(results))
    png = plot_results(results, args.out / "cmapss_pred_vs_true.png")
    print(f"\nplot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
