"""A bearing's health indicator against its own healthy baseline, its onset detector, and the
measures used to choose the indicator (monotonicity, trendability, prognosability).

The indicator is the vibration level in nepers over the bearing's own baseline:
``z(t) = ln(median of the last w RMS values / baseline RMS)``, so 0 is "as when new", ln 2 = 0.69 is
twice the healthy level (6 dB) and the value grows linearly in time while the vibration grows
exponentially (spall growth). Why RMS of the horizontal axis and why 6 dB: docs/prognostics.md,
"FEMTO / PRONOSTIA"; the figures come from ``python -m diagnostics.benchmarks.rul femto``.

All functions are causal (the value at a snapshot uses only that snapshot and earlier ones), so the
detector run over a whole history raises its alarm exactly where it would have been raised live.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import spearmanr

__all__ = ["IndicatorConfig", "Onset", "OnsetState", "causal_median", "health_indicator", "detect_onset", "onset_state",
           "monotonicity", "trendability", "prognosability"]


@dataclass(frozen=True)
class IndicatorConfig:
    """Parameters of the indicator and its onset detector (fixed a priori, docs/prognostics.md).

    Attributes
    ----------
    smooth_snapshots : int
        Causal median window (snapshots); 6 x 10 s = 1 min: drops the isolated shocks a rig records
        (a median of 6 ignores up to 2 outliers) and still follows a bearing whose whole rise lasts
        a few minutes (Bearing3_1 rises over its last 3 %, about 150 s).
    settle_snapshots : int
        Snapshots skipped before the baseline (run-in, sensor warm-up).
    baseline_snapshots : int
        Snapshots whose median RMS is the healthy baseline (60 x 10 s = 10 min).
    alarm_nepers : float
        Alarm when the indicator passes this level: ln 2, i.e. twice the baseline RMS (+6 dB), the
        common "alert at 2x baseline" practice of vibration monitoring.
    onset_nepers : float
        Onset (the start of the rise that led to the alarm) is the last time before the alarm the
        indicator was at or below this level.
    """

    smooth_snapshots: int = 6
    settle_snapshots: int = 6
    baseline_snapshots: int = 60
    alarm_nepers: float = float(np.log(2.0))
    onset_nepers: float = float(np.log(2.0)) / 3.0

    @property
    def ready_snapshots(self) -> int:
        """Snapshots needed before the baseline exists and an alarm may be raised."""
        return self.settle_snapshots + self.baseline_snapshots


@dataclass(frozen=True)
class Onset:
    """Result of :func:`detect_onset` (indices into the history; None when not reached).

    Attributes
    ----------
    alarm_index : int or None
        First snapshot at which the indicator passed the alarm level.
    onset_index : int or None
        Start of the rise that led to the alarm.
    baseline_rms : float
        The healthy baseline (units of the input RMS).
    ready : bool
        False while the history is shorter than the baseline needs (no alarm possible yet).
    """

    alarm_index: int | None
    onset_index: int | None
    baseline_rms: float
    ready: bool

    @property
    def alarmed(self) -> bool:
        return self.alarm_index is not None


def causal_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of each value and the ``window - 1`` before it (fewer at the start), shape (n,)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return x.copy()
    w = max(1, min(int(window), x.size))
    padded = np.concatenate([np.full(w - 1, np.nan), x])
    return np.nanmedian(sliding_window_view(padded, w), axis=1)


def baseline_rms(rms: np.ndarray, config: IndicatorConfig = IndicatorConfig()) -> float:
    """Healthy baseline: median RMS of the baseline window (or of what exists of it)."""
    rms = np.asarray(rms, dtype=float)
    start = min(config.settle_snapshots, max(rms.size - 1, 0))
    window = rms[start:config.ready_snapshots]
    positive = window[window > 0]
    return float(np.median(positive)) if positive.size else float("nan")


def health_indicator(rms: np.ndarray, config: IndicatorConfig = IndicatorConfig()) -> np.ndarray:
    """The indicator z (nepers over the own baseline) of every snapshot, shape (n,).

    Parameters
    ----------
    rms : np.ndarray, shape (n,)
        RMS acceleration of each snapshot in time order (any unit; only ratios matter).
    """
    rms = np.asarray(rms, dtype=float)
    base = baseline_rms(rms, config)
    if not np.isfinite(base) or base <= 0:
        return np.zeros(rms.size)
    level = np.log(np.maximum(rms, base * 1e-3) / base)
    return causal_median(level, config.smooth_snapshots)


def detect_onset(indicator: np.ndarray, config: IndicatorConfig = IndicatorConfig(),
                 baseline: float = float("nan")) -> Onset:
    """Alarm where the indicator first passes ``alarm_nepers`` after the baseline window; onset is
    the last snapshot before that with the indicator at or below ``onset_nepers``.

    Parameters
    ----------
    indicator : np.ndarray, shape (n,)
        Output of :func:`health_indicator`.
    """
    z = np.asarray(indicator, dtype=float)
    ready = z.size >= config.ready_snapshots
    if not ready:
        return Onset(None, None, baseline, False)
    above = np.flatnonzero(z[config.ready_snapshots:] >= config.alarm_nepers)
    if above.size == 0:
        return Onset(None, None, baseline, True)
    alarm = int(above[0]) + config.ready_snapshots
    quiet = np.flatnonzero(z[:alarm] <= config.onset_nepers)
    onset = int(quiet[-1]) if quiet.size else config.ready_snapshots
    return Onset(alarm, max(onset, config.settle_snapshots), baseline, True)


def monotonicity(values: np.ndarray) -> float:
    """|#increases - #decreases| / (n - 1) of a sequence, in [0, 1]; 1 is strictly monotone."""
    d = np.diff(np.asarray(values, dtype=float))
    return float(abs(np.sum(d > 0) - np.sum(d < 0)) / max(d.size, 1))


def trendability(values: np.ndarray, times: np.ndarray) -> float:
    """Spearman rank correlation of the values with time, in [-1, 1]."""
    if np.ptp(values) == 0:
        return 0.0
    return float(spearmanr(times, values)[0])


def prognosability(start_values: np.ndarray, failure_values: np.ndarray) -> float:
    """Coble's prognosability over a population: exp(-std(failure values) / mean |failure - start|),
    in (0, 1]; 1 means every unit fails at the same indicator level."""
    start = np.asarray(start_values, dtype=float)
    fail = np.asarray(failure_values, dtype=float)
    span = np.mean(np.abs(fail - start))
    return float(np.exp(-np.std(fail) / span)) if span > 0 else 0.0


@dataclass(frozen=True)
class OnsetState:
    """Where a component stands against its own healthy baseline (:func:`onset_state`).

    Attributes
    ----------
    state : str
        ``"baseline"`` (too little history for a baseline: no alarm possible yet), ``"healthy"``
        (below the alarm level since the baseline) or ``"degrading"`` (the onset alarm has fired).
    level_nepers : float
        The indicator at the newest point (nepers over the baseline; ln 2 = twice the baseline RMS).
    baseline_rms : float
        The healthy baseline (unit of the input RMS); NaN before one exists.
    alarm_time, onset_time : int, float or None
        Times of the alarm and of the start of the rise, the input's own values (int ns stay
        exact); None unless ``state == "degrading"``.
    points : int
        Points in the history.
    """

    state: str
    level_nepers: float
    baseline_rms: float
    alarm_time: int | float | None
    onset_time: int | float | None
    points: int

    def to_dict(self) -> dict:
        return {"state": self.state, "level_nepers": self.level_nepers, "baseline_rms": self.baseline_rms,
                "alarm_time": self.alarm_time, "onset_time": self.onset_time, "points": self.points}


def onset_state(times: np.ndarray, rms: np.ndarray, config: IndicatorConfig = IndicatorConfig()) -> OnsetState:
    """The onset alarm of one component's RMS history, as an alarm source reads it.

    Parameters
    ----------
    times : np.ndarray, shape (n,)
        Time of each point, increasing (any unit, e.g. ns or s; returned times are in it).
    rms : np.ndarray, shape (n,)
        RMS acceleration of each burst (any unit). NaN points are dropped.
    config : IndicatorConfig
        Baseline, smoothing and alarm level (counted in points, not in time).

    Returns
    -------
    OnsetState
    """
    times = np.asarray(times)  # its own dtype: int64 ns come back exact
    rms = np.asarray(rms, dtype=float)
    if times.shape != rms.shape:
        raise ValueError(f"times and rms: shapes differ ({times.shape} against {rms.shape})")
    keep = np.isfinite(rms) & np.isfinite(times.astype(float))
    times, rms = times[keep], rms[keep]
    base = baseline_rms(rms, config) if rms.size else float("nan")
    z = health_indicator(rms, config)
    onset = detect_onset(z, config, base)
    level = float(z[-1]) if z.size else 0.0
    if not onset.ready:
        return OnsetState("baseline", level, base, None, None, int(rms.size))
    if not onset.alarmed:
        return OnsetState("healthy", level, base, None, None, int(rms.size))
    return OnsetState("degrading", level, base, times[onset.alarm_index].item(), times[onset.onset_index].item(),
                      int(rms.size))
