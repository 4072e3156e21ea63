"""Turn a component's stored feature history into the evenly spaced rows a model was trained on.

Live bursts arrive about hourly, sometimes more often (on-demand bursts) and sometimes with gaps
(machine parked). The fleet models were trained on one observation per ``cadence_h`` hours, and
their windows count rows, so a live history is first averaged into bins of the same length.

**Which hours.** A component wears while its machine runs, and the models were trained on
continuous run-to-failure histories, where clock hours are operating hours. An excavator working a
day shift runs about 9 of 24 hours: binned on the clock, its nights and weekends would stretch
the age axis (slopes per hour a third of the trained ones). So a history is binned on the
**operating-hour axis** (the engine hour meter each burst carries, ``hour_meter_h``) when it has
one, and on wall-clock time only when it has not (older data, gateways that do not send it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NS_PER_HOUR = 3_600_000_000_000
#: The feature-history column with each burst's engine hour meter reading (h).
HOUR_METER = "hour_meter_h"
#: ``BinnedHistory.axis``: ages are engine hours from the hour meter ...
OPERATING_HOURS = "operating_hours"
#: ... or clock hours since the first observation (no usable hour meter).
WALL_CLOCK = "wall_clock"


@dataclass
class BinnedHistory:
    """Evenly binned history of one component.

    Attributes
    ----------
    age_h : shape (m,), hours from the first observation to each bin's start.
    values : shape (m, c), mean of each channel over the bin's observations.
    last_ns : time of the newest observation (UTC ns), or None when empty.
    observations : number of raw observations used.
    span_h : hours from the first to the last raw observation (on ``axis``).
    axis : ``OPERATING_HOURS`` or ``WALL_CLOCK``: what the hours are.
    end_h : shape (m,), hours from the first observation to each bin's last one (on ``axis``).
    left_out : raw observations not used: on the operating axis, those older than the newest
        unbroken run of hour-meter readings (a reading missing or going backwards breaks it).
    """

    age_h: np.ndarray
    values: np.ndarray
    last_ns: int | None
    observations: int
    span_h: float
    axis: str = WALL_CLOCK
    end_h: np.ndarray | None = None
    left_out: int = 0

    def describe(self) -> str:
        """The history's length in words, naming its axis (shown where the console shows the estimate)."""
        if self.axis == OPERATING_HOURS:
            text = f"{self.span_h:.1f} operating hours (hour meter) of data, {self.observations} bursts"
            if self.left_out:
                text += f"; {self.left_out} older bursts without a usable hour meter left out"
            return text
        return f"{self.span_h:.1f} h of wall-clock data (no hour meter with the bursts), {self.observations} bursts"


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


def hour_meter_column(history: dict[str, list], times_ns: np.ndarray) -> np.ndarray | None:
    """Each kept row's hour meter reading (h, NaN where absent), aligned with ``times_ns`` as
    :func:`history_matrix` returned it; None when the history has no hour meter at all."""
    column = history.get(HOUR_METER)
    if not column or all(v is None for v in column):
        return None
    by_time = {}
    for t, v in zip(history.get("time") or [], column):
        if t is not None:
            by_time[int(t)] = np.nan if v is None else float(v)
    return np.array([by_time.get(int(t), np.nan) for t in times_ns], dtype=float)


def operating_run_start(hour_meter_h: np.ndarray) -> int | None:
    """Index where the newest unbroken run of hour-meter readings begins, None when the newest row
    has none. A missing reading, or one below its predecessor (meter replaced or reset), breaks
    the run: rows before the break cannot be placed on the same operating-hour axis."""
    meter = np.asarray(hour_meter_h, dtype=float)
    if meter.size == 0 or not np.isfinite(meter[-1]):
        return None
    broken = ~np.isfinite(meter)
    broken[1:] |= np.diff(meter) < 0
    breaks = np.flatnonzero(broken)
    if breaks.size == 0:
        return 0
    last = int(breaks[-1])
    # a missing reading is excluded itself; a reading that went back starts the new run
    return last + 1 if not np.isfinite(meter[last]) else last


def bin_history(times_ns: np.ndarray, values: np.ndarray, cadence_h: float,
                hour_meter_h: np.ndarray | None = None) -> BinnedHistory:
    """Average observations into consecutive ``cadence_h``-hour bins from the first one.

    Parameters
    ----------
    times_ns : shape (n,), int ns, increasing.
    values : shape (n, c).
    cadence_h : bin length in hours (operating hours on the operating axis).
    hour_meter_h : shape (n,), the engine hour meter at each observation (h, NaN where absent), or
        None. Given, the bins are laid on operating hours over the newest unbroken run of readings
        (:func:`operating_run_start`); older rows are left out (``left_out``). Without a reading
        on the newest row the bins fall back to wall-clock time over every row.

    Empty bins (gaps) are dropped rather than invented: the rows then keep their true ages, and
    slopes are computed against age, so a gap stretches time instead of faking data.
    """
    if cadence_h <= 0:
        raise ValueError("cadence_h must be positive")
    start = operating_run_start(hour_meter_h) if hour_meter_h is not None and times_ns.size else None
    if start is None:
        return _bins(times_ns, values, cadence_h, (times_ns - times_ns[0]) / NS_PER_HOUR if times_ns.size else
                     np.zeros(0), WALL_CLOCK, 0)
    meter = np.asarray(hour_meter_h, dtype=float)[start:]
    return _bins(times_ns[start:], values[start:], cadence_h, meter - meter[0], OPERATING_HOURS, start)


def _bins(times_ns: np.ndarray, values: np.ndarray, cadence_h: float, hours: np.ndarray, axis: str,
          left_out: int) -> BinnedHistory:
    """The binning itself, on ``hours`` (h from the first row, non-decreasing) of either axis."""
    if times_ns.size == 0:
        return BinnedHistory(np.zeros(0), np.zeros((0, values.shape[1])), None, 0, 0.0, axis, np.zeros(0), left_out)
    index = np.floor(hours / cadence_h).astype(np.int64)
    bins, inverse = np.unique(index, return_inverse=True)
    sums = np.zeros((bins.size, values.shape[1]))
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=bins.size)[:, None]
    end_h = np.zeros(bins.size)
    np.maximum.at(end_h, inverse, hours)
    return BinnedHistory(
        age_h=bins * float(cadence_h),
        values=sums / counts,
        last_ns=int(times_ns[-1]),
        observations=int(times_ns.size),
        span_h=float(hours[-1]),
        axis=axis,
        end_h=end_h,
        left_out=left_out,
    )
