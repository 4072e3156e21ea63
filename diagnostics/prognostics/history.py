"""Turn a component's stored feature history into the evenly spaced rows a model was trained on.

Live bursts arrive about hourly, sometimes more often (on-demand bursts) and sometimes with gaps
(machine parked). The fleet models were trained on one observation per ``cadence_h`` hours, and
their windows count rows, so a live history is first averaged into bins of the same length.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_HOUR = 3_600_000_000_000


@dataclass
class BinnedHistory:
    """Evenly binned history of one component.

    Attributes
    ----------
    age_h : shape (m,), hours from the first observation to each bin's start.
    values : shape (m, c), mean of each channel over the bin's observations.
    last_ns : time of the newest observation (UTC ns), or None when empty.
    observations : number of raw observations used.
    span_h : hours from the first to the last raw observation.
    """

    age_h: np.ndarray
    values: np.ndarray
    last_ns: int | None
    observations: int
    span_h: float


def history_matrix(history: dict[str, list], channels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Times (n,) int ns and values (n, c) from a ``feature_history`` dict of lists.

    Rows missing any of ``channels`` (None or non-finite) are left out, as are rows without a
    time; rows come back sorted by time.
    """
    times = history.get("time") or []
    if not times:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(channels)))
    columns = []
    for name in channels:
        column = history.get(name)
        if column is None:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(channels)))
        columns.append([np.nan if v is None else float(v) for v in column])
    values = np.array(columns, dtype=float).T.reshape(len(times), len(channels))
    t = np.array([-1 if v is None else int(v) for v in times], dtype=np.int64)
    ok = np.all(np.isfinite(values), axis=1) & (t >= 0)
    order = np.argsort(t[ok], kind="stable")
    return t[ok][order], values[ok][order]


def bin_history(times_ns: np.ndarray, values: np.ndarray, cadence_h: float) -> BinnedHistory:
    """Average observations into consecutive ``cadence_h``-hour bins from the first one.

    Empty bins (gaps) are dropped rather than invented: the rows then keep their true ages, and
    slopes are computed against age, so a gap stretches time instead of faking data.
    """
    if cadence_h <= 0:
        raise ValueError("cadence_h must be positive")
    if times_ns.size == 0:
        return BinnedHistory(np.zeros(0), np.zeros((0, values.shape[1])), None, 0, 0.0)
    hours = (times_ns - times_ns[0]) / NS_PER_HOUR
    index = np.floor(hours / cadence_h).astype(np.int64)
    bins, inverse = np.unique(index, return_inverse=True)
    sums = np.zeros((bins.size, values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=bins.size)[:, None]
    return BinnedHistory(
        age_h=bins * float(cadence_h),
        values=sums / counts,
        last_ns=int(times_ns[-1]),
        observations=int(times_ns.size),
        span_h=float(hours[-1]),
    )
