"""Time the whole diagnosis of one burst against a bare FFT of the same burst.

    python -m diagnostics.benchmarks.pipeline_speed [--repeats 40] [--bursts 5] [--out var/bench]

The burst is the reference cadence (ARCHITECTURE.md): 1 s at 25.6 kHz, one axis, from
``diagnostics.synthesis`` (a gearbox bearing with an outer-race defect, so the bearing, gear and
shaft rules all run). The baseline is ``scipy.fft.rfft`` of the same 25,600 samples, measured in
the same run and interleaved with the pipeline so machine load affects both alike. Each figure is
the best of ``--repeats`` rounds (the least disturbed); the per-stage split is printed too, and a
PNG bar chart of the stages is written. Goal: pipeline <= 40 x rfft.

Diagnoses run in the app's worker process, which keeps freed large buffers for reuse
(``process_settings.keep_large_buffers``); the bench does the same unless ``--glibc-defaults``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.fft as sfft

from ..bearing import bearing_findings, envelope_max_hz, tooth_findings
from ..envelope import prewhiten
from .evaluate import SIM_KINEMATICS
from ..kinematics import ComponentKinematics
from ..comb import comb_top_hz, floor_block_bins
from ..pipeline import _hann_amplitude, _low_cut_hz, _outer_race_combs, analyze_burst
from ..process_settings import keep_large_buffers
from ..rules import spectrum_max_hz
from ..spectrum import time_statistics, velocity_rms_mm_s
from ..synthesis import synthesize_burst
from ..views import envelope_stack, floor_normalise
from ..wavelets import packet_energies

GOAL_RATIO = 40.0


def _per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(repeats: int = 40, bursts: int = 5, fs: float = 25600.0, rpm: float = 1500.0) -> dict[str, float]:
    """Best-of-``repeats`` seconds per call for the pipeline, the bare rfft and each stage.

    Rounds are short (``bursts`` pipeline calls, about as long a stretch of rfft calls) and many:
    on a shared machine the minimum over many short rounds finds the undisturbed cost of each.
    """
    kin = ComponentKinematics.from_dict(SIM_KINEMATICS)
    x = synthesize_burst(kin, rpm, fs=fs, fault="bearing_outer_race", severity=0.5, seed=1)
    xd = x.astype(float) - float(x.mean())
    freqs = kin.frequencies(rpm)
    raw = sfft.rfft(xd)
    white = prewhiten(raw)
    stack = envelope_stack(raw, white, xd.size, fs, _low_cut_hz(freqs, fs), envelope_max_hz(freqs), xd)
    res = fs / xd.size
    comb_bins = int(max(comb_top_hz(b["bpfo"], fs) for b in freqs.bearings.values()) / res) + 2
    stages: dict[str, Callable[[], object]] = {
        "time statistics": lambda: time_statistics(xd),
        "rfft + velocity RMS": lambda: velocity_rms_mm_s(xd, fs, (10.0, 1000.0), acc_rfft=sfft.rfft(xd)),
        "Hann spectrum (3-tap)": lambda: _hann_amplitude(raw, xd.size, int(spectrum_max_hz(freqs))),
        # The comb reads the Hann spectrum up to 48 x BPFO over its floor, then searches it.
        "outer-race comb": lambda: _outer_race_combs(
            floor_normalise(_hann_amplitude(raw, xd.size, comb_bins)[None, :], floor_block_bins(res))[0], res, fs, freqs),
        "pre-whitening": lambda: prewhiten(raw),
        "kurtogram + envelope views": lambda: envelope_stack(raw, white, xd.size, fs, _low_cut_hz(freqs, fs),
                                                             envelope_max_hz(freqs), xd),
        "bearing + tooth scoring": lambda: (bearing_findings(stack, freqs, ""), tooth_findings(stack, freqs, "")),
        "wavelet packets": lambda: packet_energies(xd),
    }
    pipeline = lambda: analyze_burst(x, fs, rpm, kin, "bench")  # noqa: E731
    baseline = lambda: sfft.rfft(x)  # noqa: E731
    for fn in (pipeline, baseline, *stages.values()):
        fn()  # warm caches (windows, thresholds) before timing
    best = {"pipeline": np.inf, "rfft": np.inf, **{k: np.inf for k in stages}}
    for _ in range(repeats):
        best["rfft"] = min(best["rfft"], _per_call(baseline, bursts * 20))
        best["pipeline"] = min(best["pipeline"], _per_call(pipeline, bursts))
        for name, fn in stages.items():
            best[name] = min(best[name], _per_call(fn, bursts))
    return best


def _plot(result: dict[str, float], out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    names = [k for k in result if k not in ("pipeline", "rfft")]
    values = [result[k] / result["rfft"] for k in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(names + ["whole pipeline"], values + [result["pipeline"] / result["rfft"]],
            color=["#8aa"] * len(names) + ["#357"])
    ax.axvline(GOAL_RATIO, color="r", ls="--", label=f"goal {GOAL_RATIO:g} x rfft")
    ax.set_xlabel("time / bare rfft of the same burst")
    ax.set_title(f"Diagnosis of a 1 s, 25.6 kHz burst: {result['pipeline'] * 1e3:.2f} ms "
                 f"({result['pipeline'] / result['rfft']:.1f} x rfft)")
    ax.legend()
    fig.tight_layout()
    path = out_dir / "bench_stages.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diagnostics.benchmarks.pipeline_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=40, help="rounds; the best is kept")
    parser.add_argument("--bursts", type=int, default=5, help="pipeline calls per round")
    parser.add_argument("--out", type=Path, default=Path("var/bench"), help="where the PNG goes")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="keep glibc's default allocator settings instead of the serving worker's")
    args = parser.parse_args(argv)
    if not args.glibc_defaults:
        keep_large_buffers()  # as the app's worker, where diagnoses run (app/server.py)
    print(f"burst: 1 s at 25.6 kHz, single axis; best of {args.repeats} rounds of {args.bursts} bursts; "
          f"allocator: {'glibc defaults' if args.glibc_defaults else 'large buffers kept, as in the serving worker'}")
    result = measure(args.repeats, args.bursts)
    base = result["rfft"]
    print(f"{'stage':<30} {'ms/burst':>9} {'x rfft':>8}")
    for name, seconds in result.items():
        if name in ("pipeline", "rfft"):
            continue
        print(f"{name:<30} {seconds * 1e3:>9.3f} {seconds / base:>8.1f}")
    print(f"{'bare scipy.fft.rfft (baseline)':<30} {base * 1e3:>9.3f} {1.0:>8.1f}")
    ratio = result["pipeline"] / base
    print(f"{'whole pipeline (analyze_burst)':<30} {result['pipeline'] * 1e3:>9.3f} {ratio:>8.1f}")
    print(f"goal <= {GOAL_RATIO:g} x rfft: {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    print(f"plot: {_plot(result, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
