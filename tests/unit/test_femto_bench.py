"""The FEMTO bench on the real learning set, only where ../shared/data/femto exists (skips otherwise).

Fast once the per-snapshot feature cache exists under var/femto_cache (the first run parses the
archive, about two minutes on one core); skipped when the cache is missing, so the suite never pays
that cost: run ``python -m diagnostics.benchmarks.rul femto --data ../shared/data/femto`` once.
"""
from pathlib import Path

import numpy as np
import pytest

from diagnostics.benchmarks import femto, femto_data

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "femto"
CACHE = ROOT / "var" / "femto_cache"


def _cached() -> bool:
    archive = DATA / femto_data.LEARNING_ARCHIVE
    if not archive.is_file():
        return False
    st = archive.stat()
    return femto_data._cache_path(CACHE, archive, f"{st.st_size}|{st.st_mtime_ns}").is_file()


@pytest.mark.skipif(not _cached(), reason="FEMTO data or its feature cache missing (run the femto bench once)")
def test_every_learning_bearing_alarms_before_failure_and_not_in_its_first_30_percent():
    histories = femto_data.load_learning_set(DATA, CACHE)
    assert [h.name for h in histories][:2] == ["Bearing1_1", "Bearing1_2"] and len(histories) == 6
    for h in histories:
        track = femto.track_bearing(h.times_s, femto.feature(h, femto.INDICATOR_FEATURE))
        assert track.onset.alarmed, h.name
        assert 0.3 * h.life_s <= track.alarm_s < h.life_s, h.name
    cuts = femto.leave_one_out(histories)
    assert len(cuts) == 18
    assert all(c.estimate.p10_s <= c.estimate.p50_s <= c.estimate.p90_s for c in cuts)


@pytest.mark.skipif(not _cached(), reason="FEMTO data or its feature cache missing (run the femto bench once)")
def test_predict_writes_one_row_per_truncated_history(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("Bearing1_9", 80), ("Bearing3_9", 40)):
        folder = tmp_path / "test" / name
        folder.mkdir(parents=True)
        for i in range(1, n + 1):
            acc = rng.normal(0, 0.3, (2560, 2))
            rows = [f"9,0,{i % 60},{k * 39},{a:.3f},{b:.3f}" for k, (a, b) in enumerate(acc)]
            (folder / f"acc_{i:05d}.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "estimates.csv"
    assert femto.run(DATA, out, tmp_path / "test", CACHE) == 0  # the learning set from its cache
    lines = out.read_text().splitlines()
    assert lines[0] == "bearing,p10_s,p50_s,p90_s,onset_s"
    rows = [line.split(",") for line in lines[1:]]
    assert [r[0] for r in rows] == ["Bearing1_9", "Bearing3_9"]
    for r in rows:
        assert float(r[1]) <= float(r[2]) <= float(r[3]) and r[4] == ""  # healthy noise: no onset


def test_predict_refuses_a_missing_folder(tmp_path, capsys):
    assert femto.run(tmp_path, tmp_path / "x.csv", tmp_path / "nope", tmp_path / "cache") == 2
    assert "--predict" in capsys.readouterr().err


def test_a_folder_without_the_learning_set_is_refused_cleanly(tmp_path, capsys):
    assert femto.run(tmp_path, None, None, tmp_path / "cache") == 2
    assert "no FEMTO learning set" in capsys.readouterr().err
