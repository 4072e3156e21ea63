"""Evaluate the diagnosis on real and simulated data.

    python -m diagnostics.benchmarks.evaluate cwru --data ../shared/data/cwru [--out var/evaluation] [--segments]
    python -m diagnostics.benchmarks.evaluate simulated [--seeds 4] [--out var/evaluation]

``cwru`` diagnoses every record listed in the directory's ``manifest.csv`` with the geometry of the
bearing at the record's faulted end (drive end SKF 6205, fan end SKF 6203; normal records: drive end)
and the shaft speed from the manifest. Nothing is trained or tuned per record. It prints a table
(truth, verdict, evidence) and the accuracy per fault class, and plots the significance of each
defect family per record (PNG). ``--segments`` also diagnoses every 1 s segment of each record, the
burst length the product sees.

``simulated`` diagnoses labelled bursts from ``diagnostics.synthesis`` across fault modes, severities
and signal-to-noise ratios and prints (and plots) the confusion matrix.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..kinematics import ComponentKinematics
from ..pipeline import analyze_burst
from ..synthesis import FAULT_MODES, synthesize_burst

__all__ = ["CWRU_BEARINGS", "load_cwru_record", "evaluate_cwru", "evaluate_simulated", "main"]

G = 9.80665  # m/s^2 per g: CWRU accelerometer signals are in g

# CWRU "Bearing Information" page (geometry in inches, converted to mm): drive end SKF 6205-2RS JEM,
# fan end SKF 6203-2RS JEM. These give BPFO 3.5848 / 3.0530, BPFI 5.4152 / 4.9469 x shaft.
CWRU_BEARINGS = {
    "DE": {"name": "DE", "n_rolling": 9, "ball_diameter_mm": 0.3126 * 25.4, "pitch_diameter_mm": 1.537 * 25.4},
    "FE": {"name": "FE", "n_rolling": 8, "ball_diameter_mm": 0.2656 * 25.4, "pitch_diameter_mm": 1.122 * 25.4},
}
TRUTH = {"ball": "bearing_rolling_element", "inner": "bearing_inner_race", "outer": "bearing_outer_race",
         "normal": "none"}
_SHORT = {"bearing_rolling_element": "ball", "bearing_inner_race": "inner", "bearing_outer_race": "outer",
          "bearing_cage": "cage", "none": "none", "gear_wear": "gear wear", "gear_broken_tooth": "broken tooth",
          "unbalance": "unbalance", "misalignment": "misalign", "looseness": "looseness", "electrical": "electrical"}


def load_cwru_record(path: Path, end: str) -> tuple[np.ndarray, float | None]:
    """Accelerometer signal (m/s^2) of one end (``DE`` or ``FE``) and the rpm stored in the file."""
    from scipy.io import loadmat

    mat = loadmat(path)
    keys = [k for k in mat if k.endswith(f"_{end}_time")]
    if not keys:
        raise KeyError(f"{path.name}: no {end} accelerometer variable")
    rpm_keys = [k for k in mat if k.endswith("RPM")]
    rpm = float(np.ravel(mat[rpm_keys[0]])[0]) if rpm_keys else None
    return np.ravel(mat[keys[0]]).astype(float) * G, rpm


_FILE_FAULT = re.compile(r"_(IR|B|OR)\d{3}")


def record_info(row: dict[str, str]) -> dict[str, Any]:
    """Truth, accelerometer end, sample rate and id of a manifest row, from its columns or file name.

    The subset's manifest has ``fault_type``, ``location``, ``sample_rate_hz`` and ``cwru_id``; other
    CWRU lists often have only the file name in the ``<rate>_<end>_<fault><size>[@pos]_<load>_<number>``
    scheme (e.g. ``48k_Drive_End_IR007_1_110.mat``, ``12k_Fan_End_B014_2_288.mat``), so each value
    falls back on the name.
    """
    name = row["file"]
    fault = row.get("fault_type") or ""
    if not fault:
        m = _FILE_FAULT.search(name)
        fault = {"IR": "inner", "B": "ball", "OR": "outer"}[m.group(1)] if m else "normal"
    end = row.get("location") or ""
    if end not in CWRU_BEARINGS:
        end = "FE" if "Fan_End" in name else "DE"
    # The normal baselines (97-100) are sampled at 48 kHz whatever their name says (Smith & Randall
    # 2015, Table A1): the 1x line sits at the shaft speed only at that rate.
    fs = row.get("sample_rate_hz") or ("48000" if name.startswith(("48k", "normal")) else "12000")
    number = row.get("cwru_id") or Path(name).stem.rsplit("_", 1)[-1]
    return {"truth": TRUTH.get(fault, fault), "end": end, "fs": float(fs), "id": number}


def _verdict(findings: list, bearing: str) -> Any:
    """Top bearing finding on the bearing under test, else None."""
    for f in findings:
        if f.fault_mode.startswith("bearing_") and f.location == bearing:
            return f
    return None


def _evidence_text(finding: Any, limit: int = 3) -> str:
    if finding is None:
        return "-"
    parts = [f"{e.label} {e.matched_hz:.1f} Hz ({e.snr_db:.0f} dB)" for e in finding.evidence[:limit]]
    return (f"{finding.detail.get('evidence_db', finding.score):.0f} dB, {finding.detail.get('views_agreeing', '?')} bands, "
            f"best {finding.detail.get('view', '?')}: " + ", ".join(parts))


def evaluate_cwru(data_dir: Path, out_dir: Path | None = None, segments: bool = False,
                  progress=print, channel: str | None = None) -> dict[str, Any]:
    """Diagnose every CWRU record of ``data_dir``; return the rows and accuracies.

    The records are those listed in ``data_dir/manifest.csv``, or else every ``*.mat`` file (truth,
    end and rate then come from the file names, the speed from the file's RPM variable).
    ``channel`` (``DE``, ``FE`` or ``BA``) reads another accelerometer than the faulted end's, with
    the faulted bearing's geometry still (the fault is seen through the housing); records without
    that channel are skipped.
    """
    manifest = data_dir / "manifest.csv"
    if manifest.exists():
        rows = list(csv.DictReader(manifest.open()))
    else:
        rows = [{"file": p.name} for p in sorted(data_dir.glob("*.mat"))]
    if not rows:
        raise FileNotFoundError(f"{data_dir}: neither manifest.csv nor .mat files")
    results = []
    for i, row in enumerate(rows, start=1):
        info = record_info(row)
        truth, end, fs = info["truth"], info["end"], info["fs"]
        try:
            x, rpm_file = load_cwru_record(data_dir / row["file"], channel or end)
        except KeyError as exc:
            progress(f"  [{i}/{len(rows)}] {info['id']:>4} skipped: {exc}")
            continue
        rpm = float(row.get("rpm") or rpm_file or 0.0)
        if rpm <= 0:
            raise ValueError(f"{row['file']}: no shaft speed in the manifest or the file")
        kin = ComponentKinematics.from_dict({"shaft_ratio": 1.0, "bearings": [CWRU_BEARINGS[end]]})
        t0 = time.perf_counter()
        analysis = analyze_burst(x, fs, rpm, kin, component=f"{end} bearing")
        seconds = time.perf_counter() - t0
        top = _verdict(analysis.findings, end)
        verdict = top.fault_mode if top else "none"
        z = {k[len(f"bearing_{end}_"):-len("_evidence_db")]: v for k, v in analysis.features.items()
             if k.startswith(f"bearing_{end}_") and k.endswith("_evidence_db")}
        result = {"id": info["id"], "file": row["file"], "end": end, "fs": fs, "rpm": rpm, "truth": truth,
                  "verdict": verdict, "correct": verdict == truth, "finding": top, "z": z,
                  "other_findings": [f.fault_mode for f in analysis.findings if f is not top],
                  "seconds": seconds}
        if segments:
            seg_len = int(fs)
            verdicts = []
            for start in range(0, x.size - seg_len + 1, seg_len):
                seg = analyze_burst(x[start:start + seg_len], fs, rpm, kin)
                f = _verdict(seg.findings, end)
                verdicts.append(f.fault_mode if f else "none")
            result["segment_accuracy"] = float(np.mean([v == truth for v in verdicts])) if verdicts else float("nan")
            result["segment_count"] = len(verdicts)
            # A false finding names a fault that is not there (a miss, "none", is not counted here).
            result["segment_false"] = sum(v not in ("none", truth) for v in verdicts)
        results.append(result)
        progress(f"  [{i}/{len(rows)}] {info['id']:>4} {truth:<24} -> {verdict:<24} ({seconds:.2f} s)")
    per_class: dict[str, list[bool]] = {}
    for r in results:
        per_class.setdefault(r["truth"], []).append(r["correct"])
    summary = {"rows": results,
               "accuracy_per_class": {k: (sum(v), len(v)) for k, v in per_class.items()},
               "accuracy": (sum(r["correct"] for r in results), len(results)),
               "false_findings": sum(r["verdict"] not in ("none", r["truth"]) for r in results)}
    if any("segment_count" in r for r in results):
        summary["segments"] = {"correct": sum(round(r["segment_accuracy"] * r["segment_count"]) for r in results),
                               "false": sum(r["segment_false"] for r in results),
                               "total": sum(r["segment_count"] for r in results)}
    if out_dir is not None:
        summary["plot"] = str(_plot_cwru(results, out_dir, channel or ""))
    return summary


def _plot_cwru(results: list[dict], out_dir: Path, channel: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..bearing import DETECTION_DB

    out_dir.mkdir(parents=True, exist_ok=True)
    modes = ["outer_race", "inner_race", "rolling_element", "cage"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.2
    xs = np.arange(len(results))
    for j, mode in enumerate(modes):
        ax.bar(xs + (j - 1.5) * width, [r["z"].get(mode, 0.0) for r in results], width, label=mode.replace("_", " "))
    ax.axhline(DETECTION_DB, color="k", ls="--", lw=1, label=f"threshold {DETECTION_DB:g} dB")
    ax.set_xticks(xs, [f"{r['id']}\n{_SHORT[r['truth']]}{'' if r['correct'] else ' ✗'}" for r in results])
    ax.set_ylabel("evidence (dB above chance, summed over bands)")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_title("CWRU: evidence per defect family and record (✗ = wrong verdict)")
    top = max([max(r["z"].values(), default=0.0) for r in results] + [DETECTION_DB])
    ax.set_ylim(0, top * 8)  # head room for the legend on the log part of the axis
    ax.legend(ncol=5, fontsize=8, loc="upper left")
    fig.tight_layout()
    path = out_dir / (f"cwru_significance_{channel}.png" if channel else "cwru_significance.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_cwru(summary: dict[str, Any], out=print) -> None:
    out(f"{'id':>4} {'fs':>6} {'rpm':>5}  {'truth':<8} {'verdict':<8} {'ok':<3} {'conf':>4}  evidence")
    for r in summary["rows"]:
        f = r["finding"]
        seg = (f"  [1 s segments: {r['segment_accuracy']:.0%} of {r['segment_count']} right, {r['segment_false']} false]"
               if "segment_accuracy" in r else "")
        out(f"{r['id']:>4} {r['fs']:>6.0f} {r['rpm']:>5.0f}  {_SHORT[r['truth']]:<8} {_SHORT.get(r['verdict'], r['verdict']):<8} "
            f"{'yes' if r['correct'] else 'NO':<3} {(f.confidence if f else 0):>4.2f}  {_evidence_text(f)}{seg}")
        if r["other_findings"]:
            out(f"{'':>38}also: {', '.join(r['other_findings'])}")
    out("")
    out("accuracy per class:")
    for k, (right, total) in summary["accuracy_per_class"].items():
        out(f"  {_SHORT.get(k, k):<8} {right}/{total}")
    right, total = summary["accuracy"]
    out(f"  overall  {right}/{total}")
    out(f"false findings (a fault named that is not there): {summary['false_findings']} of {total} records")
    if "segments" in summary:
        sg = summary["segments"]
        out(f"1 s segments: {sg['correct']}/{sg['total']} right, {sg['false']} false findings")
    if "plot" in summary:
        out(f"plot: {summary['plot']}")


# Simulated machine: a gearbox input shaft with a deep-groove bearing, one gear stage, and (as on an
# alternator) a 4-pole winding, so every fault mode has something to act on.
SIM_KINEMATICS = {"shaft_ratio": 1.0,
                  "bearings": [{"name": "DE", "n_rolling": 9, "ball_diameter_mm": 7.94, "pitch_diameter_mm": 39.04}],
                  "gears": [{"name": "stage1", "teeth": 17, "mating_teeth": 61}],
                  "electrical": {"line_hz": 50.0, "poles": 4}}


def evaluate_simulated(seeds: int = 4, snrs: tuple[float, ...] = (20.0, 10.0, 0.0, -5.0),
                       severities: tuple[float, ...] = (0.1, 0.3, 0.8), out_dir: Path | None = None,
                       progress=print) -> dict[str, Any]:
    """Confusion matrix of the top finding against the synthesized fault."""
    labels = ["none"] + list(FAULT_MODES)
    index = {k: i for i, k in enumerate(labels)}
    matrix = {snr: np.zeros((len(labels), len(labels)), dtype=int) for snr in snrs}
    extra = {snr: 0 for snr in snrs}  # bursts with a further finding of a fault that is not there
    by_severity: dict[float, list[bool]] = {sev: [] for sev in severities}
    total = len(labels) * len(snrs) * seeds * len(severities)
    done = 0
    for snr in snrs:
        for fault in labels:
            for sev in severities:
                for seed in range(seeds):
                    rpm = 1200.0 + 150.0 * seed  # speeds vary between bursts, as in service
                    x = synthesize_burst(SIM_KINEMATICS, rpm, fault=None if fault == "none" else fault,
                                         severity=sev, snr_db=snr, seed=1000 * seed + int(sev * 10))
                    analysis = analyze_burst(x, 25600.0, rpm, SIM_KINEMATICS)
                    verdict = analysis.findings[0].fault_mode if analysis.findings else "none"
                    matrix[snr][index[fault], index[verdict]] += 1
                    extra[snr] += any(f.fault_mode != fault for f in analysis.findings[1:])
                    if fault != "none":
                        by_severity[sev].append(verdict == fault)
                    done += 1
            progress(f"  snr {snr:>4.0f} dB  {fault:<24} done ({done}/{total})")
    summary = {"labels": labels, "matrix": matrix, "extra_findings": extra,
               "faulty_accuracy_by_severity": {k: float(np.mean(v)) for k, v in by_severity.items()},
               "bursts_per_snr": len(labels) * seeds * len(severities), "severities": severities,
               "accuracy": {snr: float(np.trace(m) / m.sum()) for snr, m in matrix.items()}}
    if out_dir is not None:
        summary["plot"] = str(_plot_confusion(summary, out_dir))
    return summary


def _plot_confusion(summary: dict[str, Any], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [_SHORT[k] for k in summary["labels"]]
    snrs = list(summary["matrix"])
    fig, axes = plt.subplots(1, len(snrs), figsize=(5.2 * len(snrs), 5))
    for ax, snr in zip(np.atleast_1d(axes), snrs):
        m = summary["matrix"][snr]
        ax.imshow(m, cmap="Blues")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("verdict")
        ax.set_ylabel("truth")
        ax.set_title(f"SNR {snr:g} dB: accuracy {summary['accuracy'][snr]:.0%}")
    fig.tight_layout(rect=(0, 0, 1, 0.94))  # room for the panel titles
    path = out_dir / "simulated_confusion.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_confusion(summary: dict[str, Any], out=print) -> None:
    labels = summary["labels"]
    short = [_SHORT[k][:9] for k in labels]
    out(f"severities {', '.join(f'{v:g}' for v in summary['severities'])}; {summary['bursts_per_snr']} bursts per SNR; "
        f"rpm 1200-1800")
    for snr, m in summary["matrix"].items():
        out(f"SNR {snr:g} dB (rows truth, columns top finding), accuracy {summary['accuracy'][snr]:.1%}; "
            f"bursts with an extra wrong finding: {summary['extra_findings'][snr]}")
        out(" " * 13 + " ".join(f"{s:>9}" for s in short))
        for i, lab in enumerate(short):
            out(f"{lab:>12} " + " ".join(f"{v:>9d}" if v else f"{'.':>9}" for v in m[i]))
        out("")
    out("faulty bursts named right, by severity (all SNRs): " + ", ".join(
        f"{sev:g}: {acc:.0%}" for sev, acc in summary["faulty_accuracy_by_severity"].items()))
    if "plot" in summary:
        out(f"plot: {summary['plot']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnostics.benchmarks.evaluate", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="which", required=True)
    p_cwru = sub.add_parser("cwru", help="diagnose the CWRU bearing records")
    p_cwru.add_argument("--data", required=True, type=Path, help="directory holding manifest.csv and the .mat files")
    p_cwru.add_argument("--segments", action="store_true", help="also diagnose every 1 s segment")
    p_cwru.add_argument("--channel", choices=["DE", "FE", "BA"], default=None,
                        help="accelerometer to read (default: the faulted end's); geometry stays the faulted bearing's")
    p_cwru.add_argument("--out", type=Path, default=Path("var/evaluation"), help="where the PNG goes")
    p_sim = sub.add_parser("simulated", help="confusion matrix on synthesized bursts")
    p_sim.add_argument("--seeds", type=int, default=4)
    p_sim.add_argument("--out", type=Path, default=Path("var/evaluation"))
    args = parser.parse_args(argv)
    if args.which == "cwru":
        if not args.data.is_dir():
            parser.error(f"--data {args.data}: not a directory")
        print(f"CWRU evaluation on {args.data} (no training, one method, fixed thresholds)"
              + (f", {args.channel} accelerometer" if args.channel else ""))
        summary = evaluate_cwru(args.data, args.out, args.segments, progress=lambda s: print(s, file=sys.stderr),
                                channel=args.channel)
        print_cwru(summary)
    else:
        print("Simulated bursts: top finding vs synthesized fault")
        summary = evaluate_simulated(args.seeds, out_dir=args.out, progress=lambda s: print(s, file=sys.stderr))
        print_confusion(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
