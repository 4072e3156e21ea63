"""The evaluation and benchmark programs run end to end (small settings)."""
import math

import numpy as np

from diagnostics.benchmarks import evaluate, pipeline_speed as bench


def test_simulated_confusion_matrix_small(tmp_path):
    summary = evaluate.evaluate_simulated(seeds=1, snrs=(20.0,), severities=(0.8,), out_dir=tmp_path,
                                          progress=lambda _msg: None)
    labels, matrix = summary["labels"], summary["matrix"][20.0]
    assert matrix.sum() == len(labels)
    for mode in ("none", "bearing_outer_race", "bearing_inner_race", "bearing_rolling_element", "unbalance"):
        i = labels.index(mode)
        assert matrix[i, i] == 1, mode
    assert (tmp_path / "simulated_confusion.png").stat().st_size > 0
    lines = []
    evaluate.print_confusion(summary, out=lines.append)
    assert any("accuracy" in line for line in lines)


def test_bench_measures_every_stage(tmp_path):
    result = bench.measure(repeats=1, bursts=1)
    assert {"pipeline", "rfft"} <= set(result)
    assert all(math.isfinite(v) and v > 0 for v in result.values())
    assert bench._plot(result, tmp_path).exists()


def test_cli_refuses_a_missing_data_directory(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        evaluate.main(["cwru", "--data", str(tmp_path / "nope")])
    assert "not a directory" in capsys.readouterr().err


def test_record_info_from_columns_or_file_name():
    info = evaluate.record_info({"file": "12k_Fan_End_B014_2_288.mat"})
    assert info == {"truth": "bearing_rolling_element", "end": "FE", "fs": 12000.0, "id": "288"}
    info = evaluate.record_info({"file": "48k_Drive_End_OR021@3_1_247.mat"})
    assert (info["truth"], info["end"], info["fs"]) == ("bearing_outer_race", "DE", 48000.0)
    info = evaluate.record_info({"file": "normal_0_97.mat", "fault_type": "normal", "location": "none",
                                 "sample_rate_hz": "48000", "cwru_id": "97"})
    assert (info["truth"], info["end"], info["fs"], info["id"]) == ("none", "DE", 48000.0, "97")


def _outer_race_impacts(fs: float, seconds: float, bpfo_hz: float) -> np.ndarray:
    """Periodic impacts at BPFO ringing a 3 kHz resonance in unit white noise (g)."""
    rng = np.random.default_rng(1)
    n = int(fs * seconds)
    t = np.arange(n) / fs
    x = np.zeros(n)
    x[(np.arange(0.0, seconds, 1.0 / bpfo_hz) * fs).astype(int)] = 1.0
    ring = np.exp(-t[:128] * 1200.0) * np.sin(2 * np.pi * 3000.0 * t[:128])
    return np.convolve(x, ring)[:n] * 12.0 + rng.normal(0.0, 1.0, n)


def test_cwru_channel_option_reads_that_accelerometer(tmp_path):
    from scipy.io import savemat

    fs, rpm = 12000.0, 1796.0
    fault = _outer_race_impacts(fs, 2.0, 3.5848 * rpm / 60.0)
    quiet = np.random.default_rng(2).normal(0.0, 1.0, fault.size)
    # The fault is seen only by the fan-end accelerometer of this (synthetic) record; no BA channel.
    savemat(tmp_path / "12k_Drive_End_OR007@6_0_130.mat",
            {"X130_DE_time": quiet[:, None], "X130_FE_time": fault[:, None], "X130RPM": np.array([[rpm]])})
    silent = lambda _msg: None  # noqa: E731
    de = evaluate.evaluate_cwru(tmp_path, segments=True, progress=silent)
    fe = evaluate.evaluate_cwru(tmp_path, segments=True, progress=silent, channel="FE")
    ba = evaluate.evaluate_cwru(tmp_path, progress=silent, channel="BA")
    assert [r["verdict"] for r in de["rows"]] == ["none"] and de["false_findings"] == 0
    row = fe["rows"][0]
    assert (row["end"], row["truth"], row["verdict"]) == ("DE", "bearing_outer_race", "bearing_outer_race")
    assert fe["segments"] == {"correct": 2, "false": 0, "total": 2}
    assert ba["rows"] == [] and ba["accuracy"] == (0, 0)
    lines = []
    evaluate.print_cwru(fe, out=lines.append)
    assert any("false findings" in line for line in lines)
