"""The C-MAPSS bench: its subset pool and its table."""
from pathlib import Path

import numpy as np
import pytest

from diagnostics.benchmarks.rul import SubsetResult, format_table, main, map_subsets

from process_helpers import process_running


def test_subsets_come_back_in_the_asked_order_from_parallel_jobs(tmp_path: Path):
    # sizes make FD001 the largest, so it starts first in the pool but is asked for last
    for subset, size in {"FD001": 300, "FD002": 100, "FD003": 200}.items():
        (tmp_path / f"train_{subset}.txt").write_text("x" * size)
    asked = ["FD002", "FD003", "FD001"]
    assert map_subsets(str.lower, asked, tmp_path, jobs=2) == ["fd002", "fd003", "fd001"]
    assert map_subsets(str.lower, asked, tmp_path, jobs=1) == ["fd002", "fd003", "fd001"]


def _result(name: str, inside: int, units: int) -> SubsetResult:
    """A subset whose first ``inside`` units have true RUL 50 inside [40, 70], the rest outside."""
    p10 = np.r_[np.full(inside, 40.0), np.full(units - inside, 60.0)]
    return SubsetResult(name, units, 10.0, 100.0, inside / units, 20.0, 11.0, 1.0,
                        true=np.full(units, 50.0), point=np.full(units, 50.0), p10=p10, p90=np.full(units, 70.0))


def test_table_pools_the_coverage_over_every_test_unit():
    table = format_table([_result("FD001", 74, 100), _result("FD002", 212, 259)])
    # each share with its 95 % Wilson interval: 74 of 100 is 64.6-81.6 %
    assert "| FD001 | 100 |" in table and "| 74.0% (65%-82%) |" in table and "| 81.9% (77%-86%) |" in table
    # (74 + 212) / 359 units: inside the goal band, although FD001 alone is not
    assert ("all subsets: 359 test units, P10-P90 coverage 79.7% (95 % interval 75%-84%; inside 75%-85%); "
            "subsets inside: 1 of 2") in table
    assert "all subsets" not in format_table([_result("FD001", 74, 100)])


@pytest.mark.parametrize("command", ["cmapss", "cmapss-cv", "cmapss-shift"])
def test_every_command_refuses_an_unknown_subset_or_a_missing_folder(command, tmp_path, capsys):
    assert main([command, "--data", str(tmp_path), "--subsets", "FD009"]) == 2
    assert "unknown subset(s) FD009" in capsys.readouterr().err
    assert main([command, "--data", str(tmp_path / "nowhere"), "--subsets", "FD001"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_length_matched_weights_give_scored_rows_the_target_length_distribution():
    from diagnostics.benchmarks.rul_cv import length_matched_weights

    # two units of 100 and 300 rows (cycles 1..n); target histories: half 50 cycles long, half 250
    units = np.repeat([1, 2], [100, 300])
    cycles = np.concatenate([np.arange(1, 101), np.arange(1, 301)]).astype(float)
    target = np.array([50, 50, 250, 250])
    weights, unmatched = length_matched_weights(units, cycles, target, bin_cycles=20)
    share = lambda lo, hi: weights[(cycles >= lo) & (cycles < hi)].sum() / weights.sum()  # noqa: E731
    assert share(40, 60) == pytest.approx(0.5) and share(240, 260) == pytest.approx(0.5)
    assert share(0, 40) == 0 and unmatched == 0
    # within a bin, rows keep the unit-even weights: unit 1 (100 rows) weighs 3x unit 2 (300 rows) per row
    assert weights[(units == 1) & (cycles == 50)][0] == pytest.approx(3 * weights[(units == 2) & (cycles == 50)][0])
    _, unmatched = length_matched_weights(units, cycles, np.array([50, 400]), bin_cycles=20)
    assert unmatched == pytest.approx(0.5), "no scored row is 400 cycles long"


def test_separate_tail_offsets_put_a_tenth_of_the_points_beyond_each_end():
    from diagnostics.benchmarks.rul_cv import parse_variant, separate_tail_offsets

    rng = np.random.default_rng(0)
    truth = rng.normal(0.0, 1.0, 4000) - 0.5  # errors lean low: a symmetric offset would miss mostly below
    raw = {"p10": np.full(4000, -1.0), "p50": np.linspace(0, 1, 4000), "p90": np.full(4000, 1.0)}
    edges, lower, upper = separate_tail_offsets(raw, truth, 0.8, n_bins=4)
    assert edges.size == 3 and lower.size == upper.size == 4
    for b in range(4):
        at = np.searchsorted(edges, raw["p50"], side="right") == b
        below = np.mean(truth[at] < -1.0 - lower[b])
        above = np.mean(truth[at] > 1.0 + upper[b])
        assert below == pytest.approx(0.1, abs=0.01) and above == pytest.approx(0.1, abs=0.01)
    assert np.all(lower > upper), "the low tail needs the wider offset"
    assert parse_variant("cf5t").separate_tails and not parse_variant("cf5").separate_tails
    with pytest.raises(ValueError):
        parse_variant("cf5tavg")


def test_scaled_offsets_widen_each_interval_in_proportion_to_its_raw_width():
    from diagnostics.benchmarks.rul_cv import parse_variant, raw_width, scaled_offsets

    rng = np.random.default_rng(1)
    n = 8000
    spread = np.where(np.arange(n) % 2 == 0, 1.0, 5.0)  # half the points five times as uncertain
    truth = rng.normal(0.0, 1.0, n) * spread
    # raw intervals know the spread but are too narrow by a third
    raw = {"p10": -0.85 * spread, "p50": rng.uniform(0, 1, n), "p90": 0.85 * spread}
    edges, offsets, floor = scaled_offsets(raw, truth, 0.8, n_bins=4)
    widen = offsets[np.searchsorted(edges, raw["p50"], side="right")] * raw_width(raw, floor)
    inside = (truth >= raw["p10"] - widen) & (truth <= raw["p90"] + widen)
    # an absolute offset would over-cover the narrow half and under-cover the wide one
    for half in (spread == 1.0, spread == 5.0):
        assert np.mean(inside[half]) == pytest.approx(0.8, abs=0.025)
    assert floor == pytest.approx(0.1 * (1.7 + 8.5) / 2), "a tenth of the median raw width"
    assert parse_variant("cf5s").scaled and not parse_variant("cf5t").scaled
    with pytest.raises(ValueError):
        parse_variant("cf5ts")


def test_calibration_bootstrap_resamples_whole_units_and_spreads_like_their_count():
    from diagnostics.benchmarks.rul_cv import bootstrap_offsets

    rng = np.random.default_rng(2)

    def offsets_spread(n_units: int) -> float:
        units = np.repeat(np.arange(n_units), 20)
        # each unit's errors share a unit-level part: points of one unit are not independent
        truth = np.repeat(rng.normal(0, 1, n_units), 20) + rng.normal(0, 0.5, units.size)
        raw = {"p10": np.full(units.size, -0.5), "p50": np.zeros(units.size), "p90": np.full(units.size, 0.5)}
        resampled = list(bootstrap_offsets(raw, truth, units, 0.8, n_bins=1, repeats=200, seed=0))
        assert len(resampled) == 200 and all(edges.size == 0 for edges, _ in resampled)
        return float(np.std([offsets[0] for _, offsets in resampled]))

    small, large = offsets_spread(50), offsets_spread(800)
    assert small > 2.5 * large  # 1 / sqrt(units): 4x at 16x the units


def test_calibration_bootstrap_needs_identical_units_to_give_identical_offsets():
    from diagnostics.benchmarks.rul_cv import bootstrap_offsets

    units = np.repeat(np.arange(30), 10)
    truth = np.tile(np.linspace(-1, 1, 10), 30)  # every unit the same
    raw = {"p10": np.full(300, -0.2), "p50": np.zeros(300), "p90": np.full(300, 0.2)}
    offsets = [o[0] for _, o in bootstrap_offsets(raw, truth, units, 0.8, n_bins=1, repeats=20, seed=1)]
    assert np.ptp(offsets) == 0.0


def test_bootstrap_table_reports_the_spread_per_outer_fold_and_scales_it_to_all_units():
    from diagnostics.benchmarks.rul_cv import BOOTSTRAP_MARK, format_bootstrap, parse_variant

    cf5 = parse_variant("cf5")
    result = {"subset": "FD001", "fit_units": [66, 67, 67], "units": 100,
              ("test_like", "cf5"): {"fold_coverage": [0.80, 0.82, 0.84]}}
    for b, shift in enumerate([-0.02, 0.0, 0.02, 0.0]):
        result[("test_like", f"cf5{BOOTSTRAP_MARK}{b}")] = {"fold_coverage": [0.80 + shift, 0.82 + shift, 0.84 + shift]}
    table = format_bootstrap([result], cf5, repeats=4)
    sd = np.std([-0.02, 0.0, 0.02, 0.0], ddof=1)
    assert f"| FD001 | 66 / 67 / 67 | 80.0% / 82.0% / 84.0% |" in table
    assert f"| {sd:.1%} | {sd * np.sqrt(200 / 3 / 100):.1%} |" in table
    assert parse_variant("cf5").plain and not parse_variant("cf5avg").plain and not parse_variant("single").plain


def test_subset_workers_die_with_the_bench(tmp_path):
    """A bench stopped with SIGKILL must not leave its LightGBM workers running."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "bench_parent.py"
    script.write_text(
        "import os, time\n"
        "from diagnostics.benchmarks.rul import subset_pool\n"
        "if __name__ == '__main__':\n"
        "    pool = subset_pool(1)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 120)\n"
        "    time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # running
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while process_running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_running(worker):
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived the killed bench by 10 s")
    finally:
        parent.kill()
