"""The evaluation and benchmark programs run end to end (small settings)."""
import math

from diagnostics import bench, evaluate


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
