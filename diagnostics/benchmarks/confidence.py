"""Calibrate the confidence levels on labelled bursts.

    python -m diagnostics.benchmarks.confidence --data ../shared/data/cwru [--write] [--folds 5]

Runs the diagnosis (``diagnostics.pipeline.analyze_burst``, unchanged) on labelled bursts and
collects every finding's confidence score with whether the finding was right:

* **CWRU**: every record of ``--data`` (``manifest.csv``, read and labelled as
  ``diagnostics.benchmarks.evaluate`` does) cut into 1 s bursts, the length the product sees;
* **simulated**: bursts of ``diagnostics.synthesis`` with every fault mode (and none) across
  severities, signal-to-noise ratios and speeds, on the evaluation's gearbox-bearing-alternator
  machine (``evaluate.SIM_KINEMATICS``) — the same synthesis the fleet simulator's seeded faults use.

A finding is right when it names the fault that is there: its fault mode (and, on CWRU, the faulted
bearing). Every other finding is wrong, including a finding on a healthy burst and one no label
can confirm (e.g. looseness on the CWRU rig): the precision is a lower bound.

The cut-offs are fitted (:func:`fit_thresholds`) so that findings at or above ``high`` were right
at least 95 % of the time and those in ``[medium, high)`` at least 80 %: once on all findings, and
once per kind of finding (bearing, gear, shaft, electrical) with enough findings of its own, since
the scores of different rules are not equally reliable (:func:`fit_table`). The precision stated
for each level is measured out of sample: the bursts are grouped (one CWRU record; one simulated
fault at one speed and signal-to-noise ratio) and the groups split into ``--folds`` folds; each
fold's findings are levelled with the cut-offs fitted on the other folds. The committed table (``diagnostics/confidence_calibration.json``)
holds the cut-offs fitted on all bursts and those held-out counts; ``--write`` rewrites it.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..confidence import CALIBRATION_PATH, LEVELS
from ..kinematics import ComponentKinematics
from ..pipeline import analyze_burst
from ..synthesis import FAULT_MODES, synthesize_burst
from .evaluate import CWRU_BEARINGS, SIM_KINEMATICS, load_cwru_record, record_info

__all__ = ["Scored", "TARGETS", "fit_thresholds", "assign_levels", "level_counts", "cwru_scores",
           "simulated_scores", "cross_validate", "fit_table", "levels_of", "calibrate", "comparable", "main"]

#: Lowest precision per level (the "low" level is whatever is left).
TARGETS = {"high": 0.95, "medium": 0.80}
#: A level's cut-off is only placed where at least this many training findings lie at or above it.
MIN_FINDINGS = 10
#: A kind of finding (bearing, gear, shaft, electrical) gets cut-offs of its own from this many
#: findings on; fewer, and it uses the cut-offs fitted on all findings.
MIN_KIND_FINDINGS = 30
#: Simulated conditions: severities span "just detectable" to a developed fault.
SIM_SEVERITIES = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
SIM_SNRS_DB = (20.0, 10.0, 0.0, -5.0, -10.0)
SIM_SPEEDS_RPM = (1200.0, 1500.0, 1800.0)
SIM_FS = 25600.0
KINDS = {"bearing": ("bearing_outer_race", "bearing_inner_race", "bearing_rolling_element", "bearing_cage"),
         "gear": ("gear_wear", "gear_broken_tooth"), "shaft": ("unbalance", "misalignment", "looseness"),
         "electrical": ("electrical",)}


@dataclass(frozen=True)
class Scored:
    """One finding of a labelled burst: its confidence score and whether it named the truth.

    ``group`` keeps bursts of one source together in cross-validation (one CWRU record, one
    simulated fault at one speed and one signal-to-noise ratio).
    """

    score: float
    correct: bool
    fault_mode: str
    source: str
    group: str


def kind_of(fault_mode: str) -> str:
    """``"bearing"``, ``"gear"``, ``"shaft"``, ``"electrical"`` or the mode itself."""
    return next((k for k, modes in KINDS.items() if fault_mode in modes), fault_mode)


def _precision(correct: np.ndarray) -> float:
    return float(correct.mean()) if correct.size else float("nan")


def fit_thresholds(scores: Sequence[float], correct: Sequence[bool], targets: dict[str, float] = TARGETS,
                   min_findings: int = MIN_FINDINGS) -> dict[str, float]:
    """Cut-offs ``{"high": t_h, "medium": t_m}`` on the confidence score (0 <= t_m <= t_h <= 1).

    ``t_h`` is the lowest observed score such that the findings scoring at least ``t_h`` (at
    least ``min_findings`` of them) were right at least ``targets["high"]`` of the time; ``t_m``
    the lowest score such that those in ``[t_m, t_h)`` (at least ``min_findings``) were right at
    least ``targets["medium"]`` of the time. With no score that qualifies, the cut-off is 1.0 for
    high (nothing is high) and ``t_h`` for medium (no medium band).

    Parameters
    ----------
    scores : sequence of float
        Findings' confidence scores.
    correct : sequence of bool
        Whether each finding was right.
    targets : dict
        Lowest precision per level.
    min_findings : int
        Fewest findings a level must hold on the data fitted.

    Returns
    -------
    dict
        ``{"high": float, "medium": float}``.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(correct, dtype=bool)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    high = 1.0
    # Upper sets: the first i findings (scores descending); a cut-off sits at a distinct score.
    right = np.cumsum(y)
    for i in range(s.size):
        if i + 1 < s.size and s[i + 1] == s[i]:
            continue  # every finding of a tied score is in or out together
        n = i + 1
        if n >= min_findings and right[i] / n >= targets["high"]:
            high = float(s[i])
    above = s >= high
    rest_s, rest_y = s[~above], y[~above]
    medium = high
    right = np.cumsum(rest_y)
    for i in range(rest_s.size):
        if i + 1 < rest_s.size and rest_s[i + 1] == rest_s[i]:
            continue
        n = i + 1
        if n >= min_findings and right[i] / n >= targets["medium"]:
            medium = float(rest_s[i])
    return {"high": round(high, 4), "medium": round(min(medium, high), 4)}


def assign_levels(scores: Sequence[float], thresholds: dict[str, float]) -> list[str]:
    """The level of each score under ``thresholds`` (the same rule as ``diagnostics.confidence.level_for``)."""
    out = []
    for v in scores:
        out.append("high" if v >= thresholds["high"] else "medium" if v >= thresholds["medium"] else "low")
    return out


def level_counts(levels: Sequence[str], correct: Sequence[bool]) -> dict[str, dict[str, Any]]:
    """``{level: {"findings", "correct", "precision"}}`` for every level (precision None when empty)."""
    lv = np.asarray(levels)
    y = np.asarray(correct, dtype=bool)
    out = {}
    for level in LEVELS:
        mask = lv == level
        n, k = int(mask.sum()), int(y[mask].sum())
        out[level] = {"findings": n, "correct": k, "precision": round(k / n, 4) if n else None}
    return out


def _findings_of(analysis, label: Callable[[Any], bool], source: str, group: str) -> list[Scored]:
    return [Scored(float(f.confidence), bool(label(f)), f.fault_mode, source, group)
            for f in analysis.findings if f.fault_mode != "sensor_fault"]


def cwru_scores(data_dir: Path, progress: Callable[[str], None] = print,
                limit_records: int | None = None) -> tuple[list[Scored], dict[str, Any]]:
    """Findings of every 1 s burst of every CWRU record of ``data_dir``, with their labels.

    Returns the findings and a summary (records, bursts, and the files' names and sizes, which say
    which data the table was fitted on).
    """
    rows = list(csv.DictReader((data_dir / "manifest.csv").open()))
    if limit_records is not None:
        rows = rows[:limit_records]
    found: list[Scored] = []
    bursts = 0
    files = []
    for row in rows:
        info = record_info(row)
        end, fs, truth = info["end"], info["fs"], info["truth"]
        x, rpm_file = load_cwru_record(data_dir / row["file"], end)
        rpm = float(row.get("rpm") or rpm_file or 0.0)
        kin = ComponentKinematics.from_dict({"shaft_ratio": 1.0, "bearings": [CWRU_BEARINGS[end]]})
        n = int(fs)
        t0 = time.perf_counter()
        for start in range(0, x.size - n + 1, n):
            analysis = analyze_burst(x[start:start + n], fs, rpm, kin, component=f"{end} bearing")
            found += _findings_of(analysis, lambda f: f.fault_mode == truth and f.location == end,
                                  "cwru", f"cwru-{info['id']}")
            bursts += 1
        files.append({"file": row["file"], "bytes": (data_dir / row["file"]).stat().st_size})
        progress(f"  cwru {info['id']:>4} {truth:<24} {x.size // n} bursts ({time.perf_counter() - t0:.1f} s)")
    return found, {"records": len(rows), "bursts": bursts, "files": files}


def simulated_scores(seeds: int = 1, severities: Iterable[float] = SIM_SEVERITIES,
                     snrs: Iterable[float] = SIM_SNRS_DB, speeds: Iterable[float] = SIM_SPEEDS_RPM,
                     progress: Callable[[str], None] = print) -> tuple[list[Scored], dict[str, Any]]:
    """Findings of synthesized bursts of every fault mode (and healthy ones), with their labels."""
    found: list[Scored] = []
    bursts = 0
    severities, snrs, speeds = tuple(severities), tuple(snrs), tuple(speeds)
    for fault in ("none",) + FAULT_MODES:
        t0 = time.perf_counter()
        for rpm in speeds:
            for snr in snrs:
                group = f"sim-{fault}-{rpm:.0f}rpm-{snr:.0f}dB"
                for sev in severities:
                    for seed in range(seeds):
                        x = synthesize_burst(SIM_KINEMATICS, rpm, fault=None if fault == "none" else fault,
                                             severity=sev, snr_db=snr,
                                             seed=7919 * seed + int(sev * 100) + 31 * int(snr + 10) + int(rpm))
                        analysis = analyze_burst(x, SIM_FS, rpm, SIM_KINEMATICS)
                        found += _findings_of(analysis, lambda f: f.fault_mode == fault, "simulated", group)
                        bursts += 1
        progress(f"  simulated {fault:<24} done ({time.perf_counter() - t0:.1f} s)")
    return found, {"bursts": bursts, "severities": list(severities), "snr_db": list(snrs),
                   "rpm": list(speeds), "seeds": seeds, "fs_hz": SIM_FS}


def fit_table(found: Sequence[Scored]) -> dict[str, Any]:
    """Cut-offs on all findings (``"all"``) and per kind with enough findings (``"by_kind"``)."""
    table = {"all": fit_thresholds([f.score for f in found], [f.correct for f in found]), "by_kind": {}}
    for kind in sorted({kind_of(f.fault_mode) for f in found}):
        mine = [f for f in found if kind_of(f.fault_mode) == kind]
        if len(mine) >= MIN_KIND_FINDINGS:
            table["by_kind"][kind] = fit_thresholds([f.score for f in mine], [f.correct for f in mine])
    return table


def levels_of(found: Sequence[Scored], fitted: dict[str, Any]) -> list[str]:
    """Each finding's level under a :func:`fit_table` result (its kind's cut-offs, else all)."""
    return [assign_levels([f.score], fitted["by_kind"].get(kind_of(f.fault_mode), fitted["all"]))[0]
            for f in found]


def cross_validate(found: Sequence[Scored], folds: int = 5) -> tuple[list[str], list[dict[str, Any]]]:
    """Held-out level of every finding: groups split into ``folds`` folds, each levelled with the
    cut-offs fitted on the others. Returns the levels (in ``found``'s order) and each fold's cut-offs."""
    groups = sorted({f.group for f in found})
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    levels: list[str] = [""] * len(found)
    fitted = []
    for k in range(folds):
        train = [f for f in found if fold_of[f.group] != k]
        test = [i for i, f in enumerate(found) if fold_of[f.group] == k]
        table = fit_table(train)
        fitted.append(table)
        for i, level in zip(test, levels_of([found[i] for i in test], table)):
            levels[i] = level
    return levels, fitted


def calibrate(data_dir: Path | None, folds: int = 5, seeds: int = 1,
              progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The calibration table: cut-offs fitted on all findings, held-out precision per level.

    ``data_dir`` None calibrates on the simulated bursts only (the table says so).
    """
    t0 = time.perf_counter()
    found: list[Scored] = []
    sources: dict[str, Any] = {}
    if data_dir is not None:
        cw, sources["cwru"] = cwru_scores(data_dir, progress)
        found += cw
    sim, sources["simulated"] = simulated_scores(seeds, progress=progress)
    found += sim
    correct = [f.correct for f in found]
    fitted = fit_table(found)
    held, fold_thresholds = cross_validate(found, folds)
    by_source = {}
    for source in sorted({f.source for f in found}):
        idx = [i for i, f in enumerate(found) if f.source == source]
        by_source[source] = level_counts([held[i] for i in idx], [correct[i] for i in idx])
    by_kind = {}
    for kind in sorted({kind_of(f.fault_mode) for f in found}):
        idx = [i for i, f in enumerate(found) if kind_of(f.fault_mode) == kind]
        by_kind[kind] = level_counts([held[i] for i in idx], [correct[i] for i in idx])
    for name in sources:
        sources[name]["findings"] = sum(f.source == name for f in found)
        sources[name]["correct"] = sum(f.correct for f in found if f.source == name)
    return {
        "about": "Cut-offs of the confidence levels on Finding.confidence, fitted by "
                 "python -m diagnostics.benchmarks.confidence; docs/diagnostics.md, 'Confidence levels'.",
        "score": "Finding.confidence: the detection score's margin over its threshold squashed to 0..1 "
                 "(bearing and tooth envelope evidence: 0.5 at the threshold, 0.75 at twice it; spectrum rules: "
                 "their ratio to their threshold, capped at 0.95)",
        "targets": TARGETS,
        "min_findings": MIN_FINDINGS,
        "min_kind_findings": MIN_KIND_FINDINGS,
        "kinds": {kind: list(modes) for kind, modes in KINDS.items()},
        "thresholds": fitted["all"],
        "thresholds_by_kind": fitted["by_kind"],
        "fitted_on": {"findings": len(found), "correct": int(sum(correct)),
                      "levels": level_counts(levels_of(found, fitted), correct)},
        "held_out": level_counts(held, correct),
        "held_out_by_source": by_source,
        "held_out_by_kind": by_kind,
        "cross_validation": {"folds": folds, "grouping": "one CWRU record; one simulated fault mode at one speed",
                             "fold_thresholds": fold_thresholds},
        "sources": sources,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def comparable(table: dict[str, Any]) -> dict[str, Any]:
    """The parts of a table that must not change when the same data is calibrated again (not the
    run time)."""
    return {k: v for k, v in table.items() if k != "seconds"}


def print_table(table: dict[str, Any], out=print) -> None:
    th = table["thresholds"]
    out(f"cut-offs on the confidence score: high >= {th['high']:.4f}, medium >= {th['medium']:.4f}, low below")
    for kind, t in table["thresholds_by_kind"].items():
        out(f"  {kind:<11} high >= {t['high']:.4f}, medium >= {t['medium']:.4f}")
    out(f"findings: {table['fitted_on']['findings']} ({table['fitted_on']['correct']} right); "
        f"held out in {table['cross_validation']['folds']} grouped folds:")
    out(f"{'':<14}" + "".join(f"{level:>22}" for level in LEVELS))

    def row(name: str, counts: dict) -> None:
        cells = []
        for level in LEVELS:
            c = counts[level]
            cells.append(f"{c['correct']:>5}/{c['findings']:<5} " + (f"{100 * c['precision']:5.1f} %" if c["findings"] else "    -  "))
        out(f"{name:<14}" + "".join(f"{cell:>22}" for cell in cells))

    row("all", table["held_out"])
    for name, counts in table["held_out_by_source"].items():
        row(name, counts)
    for name, counts in table["held_out_by_kind"].items():
        row(f"  {name}", counts)
    out("fold cut-offs (all, high/medium): " + ", ".join(
        f"{t['all']['high']:.3f}/{t['all']['medium']:.3f}" for t in table["cross_validation"]["fold_thresholds"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnostics.benchmarks.confidence",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="CWRU directory (manifest.csv and the .mat files); without it, simulated bursts only")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=1, help="simulated bursts per condition")
    parser.add_argument("--write", action="store_true", help=f"write the table to {CALIBRATION_PATH.name}")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH, help="where --write writes the table")
    args = parser.parse_args(argv)
    if args.data is not None and not (args.data / "manifest.csv").is_file():
        parser.error(f"--data {args.data}: no manifest.csv there")
    if args.folds < 2:
        parser.error("--folds: at least 2")
    table = calibrate(args.data, args.folds, args.seeds, progress=lambda s: print(s, file=sys.stderr))
    print_table(table)
    if args.write:
        args.out.write_text(json.dumps(table, indent=1) + "\n")
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
