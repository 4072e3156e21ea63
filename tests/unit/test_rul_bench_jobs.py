"""The C-MAPSS bench's subset pool: results in the asked order whatever finishes first."""
from pathlib import Path

from diagnostics.rul_bench import map_subsets


def test_subsets_come_back_in_the_asked_order_from_parallel_jobs(tmp_path: Path):
    # sizes make FD001 the largest, so it starts first in the pool but is asked for last
    for subset, size in {"FD001": 300, "FD002": 100, "FD003": 200}.items():
        (tmp_path / f"train_{subset}.txt").write_text("x" * size)
    asked = ["FD002", "FD003", "FD001"]
    assert map_subsets(str.lower, asked, tmp_path, jobs=2) == ["fd002", "fd003", "fd001"]
    assert map_subsets(str.lower, asked, tmp_path, jobs=1) == ["fd002", "fd003", "fd001"]
