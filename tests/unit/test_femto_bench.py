"""The FEMTO bench on the real learning set, only where ../shared/data/femto exists (skips otherwise).

Fast once the per-snapshot feature cache exists under var/femto_cache (the first run parses the
archive, about two minutes on one core); skipped when the cache is missing, so the suite never pays
that cost: run ``python -m diagnostics.benchmarks.rul femto --data ../shared/data/femto`` once.
"""
from pathlib import Path

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
