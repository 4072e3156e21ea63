"""Windowed features over per-unit histories, computed causally (trailing windows only).

A *unit* is one component (or one C-MAPSS engine) observed at successive times. Every feature
at row ``i`` uses rows of the same unit up to and including ``i`` only, so training on every
row of a run-to-failure history and scoring the last row of a live history see the same thing.

Rows must be grouped by unit and sorted by time within each unit (see ``sort_by_unit``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter


@dataclass(frozen=True)
class WindowSpec:
    """Which windowed statistics to build for every channel.

    Attributes
    ----------
    mean_windows : rolling-mean lengths, in rows (observations).
    std_windows : rolling standard-deviation lengths, in rows.
    slope_windows : least-squares slope lengths, in rows; slope is per unit of ``age``.
    ewm_alphas : smoothing factors of exponentially weighted levels, in (0, 1].
    baseline_rows : the first rows of each unit whose mean is its healthy baseline.
    """

    mean_windows: tuple[int, ...] = (5, 10, 20, 30)
    std_windows: tuple[int, ...] = (10, 30)
    slope_windows: tuple[int, ...] = (10, 20, 40)
    ewm_alphas: tuple[float, ...] = (0.1, 0.3)
    baseline_rows: int = 10

    def to_dict(self) -> dict:
        return {
            "mean_windows": list(self.mean_windows),
            "std_windows": list(self.std_windows),
            "slope_windows": list(self.slope_windows),
            "ewm_alphas": list(self.ewm_alphas),
            "baseline_rows": self.baseline_rows,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "WindowSpec":
        return cls(
            mean_windows=tuple(d["mean_windows"]),
            std_windows=tuple(d["std_windows"]),
            slope_windows=tuple(d["slope_windows"]),
            ewm_alphas=tuple(float(a) for a in d["ewm_alphas"]),
            baseline_rows=int(d["baseline_rows"]),
        )


def sort_by_unit(units: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Row order that groups rows by unit and sorts each unit by age.

    Parameters
    ----------
    units : shape (n,), unit identifiers (any sortable dtype).
    age : shape (n,), time since the unit was new (cycles, hours, ...).

    Returns
    -------
    np.ndarray, shape (n,), int: indices such that ``units[idx]`` is grouped and ``age[idx]``
    is increasing within each group.
    """
    return np.lexsort((np.asarray(age), np.asarray(units)))


def unit_boundaries(units: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` row slices of consecutive equal unit ids, in order."""
    units = np.asarray(units)
    if units.size == 0:
        return []
    change = np.flatnonzero(units[1:] != units[:-1]) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [units.size]))
    return list(zip(starts.tolist(), stops.tolist()))


def last_rows(units: np.ndarray) -> np.ndarray:
    """Index (u,) of each unit's last row, in unit order (rows grouped by unit)."""
    return np.array([stop - 1 for _, stop in unit_boundaries(units)], dtype=int)


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` rows (fewer at the start), per column.

    Parameters
    ----------
    x : shape (n, c), one unit's history.
    window : rows, >= 1.

    Returns
    -------
    shape (n, c)
    """
    csum = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    idx = np.arange(1, x.shape[0] + 1)
    lo = np.maximum(idx - window, 0)
    count = (idx - lo)[:, None]
    return (csum[idx] - csum[lo]) / count


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing population standard deviation over up to ``window`` rows, per column, shape (n, c)."""
    mean = rolling_mean(x, window)
    mean_sq = rolling_mean(x * x, window)
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))


def rolling_slope(x: np.ndarray, t: np.ndarray, window: int) -> np.ndarray:
    """Trailing least-squares slope d x / d t over up to ``window`` rows, per column.

    Parameters
    ----------
    x : shape (n, c), one unit's history.
    t : shape (n,), its ages (the slope's time unit).
    window : rows, >= 2. Rows with a single point in their window get slope 0.

    Returns
    -------
    shape (n, c), units of x per unit of t.
    """
    t = np.asarray(t, dtype=float)
    # Centre time on the unit's start so the cumulative sums stay well conditioned.
    t = t - t[0]
    n = x.shape[0]
    zero = np.zeros((1, x.shape[1]))
    cs_x = np.cumsum(np.vstack([zero, x]), axis=0)
    cs_tx = np.cumsum(np.vstack([zero, x * t[:, None]]), axis=0)
    cs_t = np.concatenate(([0.0], np.cumsum(t)))
    cs_tt = np.concatenate(([0.0], np.cumsum(t * t)))
    idx = np.arange(1, n + 1)
    lo = np.maximum(idx - window, 0)
    k = (idx - lo).astype(float)
    s_t = cs_t[idx] - cs_t[lo]
    s_tt = cs_tt[idx] - cs_tt[lo]
    s_x = cs_x[idx] - cs_x[lo]
    s_tx = cs_tx[idx] - cs_tx[lo]
    denom = k * s_tt - s_t * s_t
    safe = denom > 1e-12
    slope = np.zeros_like(x, dtype=float)
    slope[safe] = (k[safe, None] * s_tx[safe] - s_t[safe, None] * s_x[safe]) / denom[safe, None]
    return slope


def ewm_level(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted level y[i] = alpha x[i] + (1 - alpha) y[i-1], y[0] = x[0]; shape (n, c)."""
    b = [alpha]
    a = [1.0, -(1.0 - alpha)]
    zi = (1.0 - alpha) * x[0:1, :]
    y, _ = lfilter(b, a, x, axis=0, zi=zi)
    return y


def unit_features(x: np.ndarray, age: np.ndarray, spec: WindowSpec) -> list[np.ndarray]:
    """All windowed blocks for one unit, each shape (n, c), in ``feature_names`` order."""
    blocks = [x]
    blocks += [rolling_mean(x, w) for w in spec.mean_windows]
    blocks += [rolling_std(x, w) for w in spec.std_windows]
    blocks += [rolling_slope(x, age, w) for w in spec.slope_windows]
    blocks += [ewm_level(x, a) for a in spec.ewm_alphas]
    baseline = x[: spec.baseline_rows].mean(axis=0, keepdims=True)
    # Compare the recent level (not the single noisy row) with the unit's own healthy start.
    recent = rolling_mean(x, spec.mean_windows[-1] if spec.mean_windows else 1)
    blocks.append(recent - baseline)
    return blocks


def feature_names(channels: list[str], spec: WindowSpec) -> list[str]:
    """Column names of ``build_features`` output, matching its order."""
    groups = ["level"]
    groups += [f"mean{w}" for w in spec.mean_windows]
    groups += [f"std{w}" for w in spec.std_windows]
    groups += [f"slope{w}" for w in spec.slope_windows]
    groups += [f"ewm{a:g}" for a in spec.ewm_alphas]
    groups.append("delta_baseline")
    names = [f"{ch}__{g}" for g in groups for ch in channels]
    return names + ["age", "rows_seen"]


def build_features(
    units: np.ndarray,
    age: np.ndarray,
    values: np.ndarray,
    channels: list[str],
    spec: WindowSpec | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Windowed features for every row of every unit.

    Parameters
    ----------
    units : shape (n,), unit id per row; rows grouped by unit, sorted by age within a unit.
    age : shape (n,), time since the unit was new or since its baseline (cycles or hours).
    values : shape (n, c), channel values (already regime-normalised where regimes vary).
    channels : c channel names.
    spec : which windows to build; default ``WindowSpec()``.

    Returns
    -------
    features : shape (n, f), float64.
    names : f feature names (``<channel>__<statistic>``, then ``age`` and ``rows_seen``).
    """
    spec = spec or WindowSpec()
    values = np.asarray(values, dtype=float)
    age = np.asarray(age, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(channels):
        raise ValueError(f"values must be (n, {len(channels)}), got {values.shape}")
    if values.shape[0] != age.shape[0] or values.shape[0] != len(units):
        raise ValueError("units, age and values must have the same number of rows")
    names = feature_names(channels, spec)
    out = np.empty((values.shape[0], len(names)), dtype=float)
    for start, stop in unit_boundaries(units):
        x = values[start:stop]
        a = age[start:stop]
        if np.any(np.diff(a) < 0):
            raise ValueError(f"rows of unit {units[start]!r} are not sorted by age")
        blocks = unit_features(x, a, spec)
        out[start:stop, :-2] = np.hstack(blocks)
        out[start:stop, -2] = a
        out[start:stop, -1] = np.arange(1, stop - start + 1)
    return out, names
