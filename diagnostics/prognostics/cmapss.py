"""Reader for the NASA C-MAPSS turbofan run-to-failure data (FD001-FD004).

Format (README of the data folder): 26 whitespace-separated columns per row, one row per cycle:
unit, cycle, three operational settings, 21 sensors. ``RUL_FD00x.txt`` holds one true RUL per
test unit, in unit order.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SETTING_NAMES = ["setting1", "setting2", "setting3"]
SENSOR_NAMES = [f"s{i}" for i in range(1, 22)]
SUBSETS = ("FD001", "FD002", "FD003", "FD004")


@dataclass
class CmapssTable:
    """One C-MAPSS file: rows grouped by unit, sorted by cycle.

    Attributes
    ----------
    units : (n,) int unit number.
    cycles : (n,) float cycle count since the start of the record.
    settings : (n, 3) operational settings.
    sensors : (n, 21) sensor values, columns named ``SENSOR_NAMES``.
    """

    units: np.ndarray
    cycles: np.ndarray
    settings: np.ndarray
    sensors: np.ndarray

    def columns(self, names: list[str]) -> np.ndarray:
        """Sensor columns by name, shape (n, len(names))."""
        return self.sensors[:, [SENSOR_NAMES.index(n) for n in names]]

    def rul_to_failure(self) -> np.ndarray:
        """Training files run to failure: RUL at a row = last cycle of its unit - its cycle."""
        last = {u: c for u, c in zip(self.units, self.cycles)}  # rows sorted: last wins
        return np.array([last[u] for u in self.units]) - self.cycles


def read_table(path: Path) -> CmapssTable:
    raw = np.loadtxt(path)
    if raw.ndim != 2 or raw.shape[1] != 26:
        raise ValueError(f"{path}: expected 26 columns, got shape {raw.shape}")
    order = np.lexsort((raw[:, 1], raw[:, 0]))
    raw = raw[order]
    return CmapssTable(units=raw[:, 0].astype(int), cycles=raw[:, 1], settings=raw[:, 2:5], sensors=raw[:, 5:])


def load_subset(data_dir: Path, subset: str) -> tuple[CmapssTable, CmapssTable, np.ndarray]:
    """(train table, test table, true RUL per test unit in unit order) for one subset."""
    if subset not in SUBSETS:
        raise ValueError(f"unknown C-MAPSS subset {subset!r}; expected one of {', '.join(SUBSETS)}")
    data_dir = Path(data_dir)
    missing = [p for p in (f"train_{subset}.txt", f"test_{subset}.txt", f"RUL_{subset}.txt")
               if not (data_dir / p).is_file()]
    if missing:
        raise FileNotFoundError(f"{data_dir}: missing {', '.join(missing)}")
    train = read_table(data_dir / f"train_{subset}.txt")
    test = read_table(data_dir / f"test_{subset}.txt")
    truth = np.loadtxt(data_dir / f"RUL_{subset}.txt").reshape(-1)
    if truth.size != np.unique(test.units).size:
        raise ValueError(f"{subset}: {truth.size} RUL values for {np.unique(test.units).size} test units")
    return train, test, truth
