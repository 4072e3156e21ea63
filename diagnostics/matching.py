"""Matching spectral lines against expected fault frequencies.

A vibration analyst looks for a line at the defect frequency, its harmonics and sidebands, clearly
above the local noise floor. This module does that numerically and for many views at once:

* ``line_threshold_db``: the level (dB over the local median power) that noise reaches by chance
  in a window of bins, for a spectrum averaged over K segments (Gamma statistics);
* ``stack_family_evidence``: for every view and every family (fundamental searched within a
  tolerance, harmonics at exact multiples of it, optional sidebands), the dB by which each line
  exceeds its chance level, summed;
* ``decoy_fundamentals``: frequencies where no fault of the machine can be, to score the same way
  and learn how busy each spectrum is;
* ``match_line``: the strongest bin near one expected frequency (spectrum rules).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

__all__ = ["decoy_fundamentals", "LineMatch", "match_line", "line_threshold_db", "spread_indices",
           "stack_family_evidence"]


def _geometric_grid(lo: float, hi: float, num: int) -> np.ndarray:
    """``np.geomspace(lo, hi, num)`` for 0 < lo < hi and num >= 2, bit for bit, without its argument
    handling (which costs several times the arithmetic here)."""
    log_lo, log_hi = np.log10(lo), np.log10(hi)
    grid = 10.0 ** (np.arange(num) * ((log_hi - log_lo) / (num - 1)) + log_lo)
    grid[0], grid[-1] = lo, hi
    return grid


def spread_indices(size: int, count: int) -> np.ndarray:
    """``count`` indices spread evenly over 0..size-1, both ends included: ``np.linspace(0, size - 1,
    count).astype(int)`` bit for bit, at a third of its cost."""
    idx = (np.arange(count) * ((size - 1) / max(count - 1, 1))).astype(int)
    if count > 1:
        idx[-1] = size - 1  # as linspace: the product can fall an ulp short of the last index
    return idx


def decoy_fundamentals(lo_hz: float, hi_hz: float, avoid_hz: np.ndarray, shaft_hz: float,
                       count: int = 24, margin: float = 0.04) -> np.ndarray:
    """Decoy fundamentals (Hz) in [lo, hi] away from every expected line and shaft order.

    Geometric spacing; a decoy is dropped when within ``margin`` (relative) of an expected
    fundamental, or of an integer or half shaft order (lines that are really there in most machines).
    """
    cands = _geometric_grid(lo_hz, hi_hz, count * 3)
    avoid = np.asarray(avoid_hz, dtype=float).ravel()
    keep = np.all(np.abs(cands[:, None] / avoid[None, :] - 1.0) > margin, axis=1) if avoid.size else np.ones(cands.size, bool)
    orders = cands / shaft_hz * 2.0
    keep &= np.abs(orders - np.rint(orders)) * shaft_hz / 2.0 > margin * cands
    chosen = cands[keep]
    if chosen.size > count:
        chosen = chosen[spread_indices(chosen.size, count)]
    return chosen


@dataclass(frozen=True)
class LineMatch:
    """One spectral line found near an expected frequency."""

    expected_hz: float
    matched_hz: float
    amplitude: float
    snr_db: float


def match_line(amplitude: np.ndarray, norm: np.ndarray, resolution_hz: float, expected_hz: float,
               tolerance_hz: float) -> LineMatch | None:
    """The strongest bin within +-tolerance of an expected frequency.

    Returns None when the window falls outside the spectrum. ``amplitude`` is read from the raw
    spectrum (its units), ``snr_db`` = 20 log10 of the normalised amplitude (peak to local floor).
    """
    lo = int(np.floor((expected_hz - tolerance_hz) / resolution_hz))
    hi = int(np.ceil((expected_hz + tolerance_hz) / resolution_hz)) + 1
    lo, hi = max(lo, 1), min(hi, norm.size)
    if hi <= lo:
        return None
    k = lo + int(np.argmax(norm[lo:hi]))
    return LineMatch(float(expected_hz), k * resolution_hz, float(amplitude[k]),
                     float(20.0 * np.log10(max(norm[k], 1e-12))))


@lru_cache(maxsize=4096)
def line_threshold_db(averages: float, window_bins: int, p_false: float = 1e-3) -> float:
    """Level (dB over the local median power) that noise exceeds with probability ``p_false``.

    A bin of a spectrum power-averaged over K segments is, for Gaussian noise, Gamma(K, 1/K)
    distributed; the largest of ``window_bins`` such bins passes the returned level with
    probability about ``p_false``. One segment (K = 1) is the exponential case; averaging tightens it.
    """
    k = max(1.0, float(averages))
    median = stats.gamma.median(k, scale=1.0 / k)
    return float(10.0 * np.log10(stats.gamma.isf(p_false / max(window_bins, 1), k, scale=1.0 / k) / median))


@lru_cache(maxsize=64)
def _threshold_table(averages: float, p_false: float, size: int = 256) -> np.ndarray:
    """line_threshold_db for window sizes 0..size-1 (entry 0 unused), as a lookup array."""
    k = max(1.0, float(averages))
    windows = np.maximum(np.arange(size), 1)
    median = stats.gamma.median(k, scale=1.0 / k)
    return 10.0 * np.log10(stats.gamma.isf(p_false / windows, k, scale=1.0 / k) / median)


def _thresholds_db(averages: float, windows: np.ndarray, p_false: float) -> np.ndarray:
    """:func:`line_threshold_db` for an array of window sizes (bins), by table lookup."""
    table = _threshold_table(round(float(averages), 3), p_false)
    return table[np.minimum(windows, table.size - 1)]


def _window_peaks(level_db: np.ndarray, centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The highest level within centre +- half bins of each view's spectrum, and its bin.

    Parameters
    ----------
    level_db : np.ndarray, shape (v, m)
        Each view's spectrum (dB); bin 0 (DC) is never a line.
    centres, half : np.ndarray of int, shape (v, ...) or (1, ...)
        Centre bin and half-width (bins, >= 1) of each window.

    Returns
    -------
    peak_db : np.ndarray, shape (v, ...)
        Highest level among the window's bins 1..m-1; -inf when it holds none.
    peak_bin : np.ndarray of int, shape (v, ...)
        Its bin, the lowest on ties (centre - half for a window outside the spectrum).
    """
    v, m = level_db.shape
    wmax = int(half.max()) if half.size else 0
    # -inf margins (and DC) wide enough for every clipped window: no bounds test per bin.
    pad = 2 * wmax
    width = m + 2 * pad + 1
    padded = np.full((v, width), -np.inf, dtype=level_db.dtype)
    padded[:, pad + 1:pad + m] = level_db[:, 1:]
    lowest = centres - half
    # Position of each window's first bin in the flat padded spectra; a window far outside the
    # spectrum moves to just outside it, so it stays empty.
    rows = (np.arange(v) * width + pad).reshape((v,) + (1,) * (centres.ndim - 1))
    first = np.minimum(np.maximum(lowest, -pad), m) + rows
    # Every window is read as 2 wmax + 1 bins; a narrower one repeats its last bin, which moves
    # neither its maximum nor where that first occurs. The steps come from a table per half-width:
    # broadcasting against the short last axis would cost several times more.
    steps = np.minimum(np.arange(2 * wmax + 1), 2 * np.arange(wmax + 1)[:, None])
    j = np.argmax(padded.ravel()[first[..., None] + np.take(steps, half, axis=0)], axis=-1)
    return padded.ravel()[first + j], lowest + j


def stack_family_evidence(level_db: np.ndarray, resolution_hz: float, averages: float,
                          fundamentals_hz: np.ndarray, sidebands_hz: np.ndarray, n_harmonics: int = 4,
                          tolerance: float = 0.01, line_width: float = 0.002,
                          p_false: float = 1e-3) -> dict[str, np.ndarray]:
    """Evidence of harmonic families (with optional sidebands) for many views and families at once.

    Parameters
    ----------
    level_db : np.ndarray, shape (v, m)
        Each view's spectrum as power over its local floor (dB).
    resolution_hz, averages : float
        Shared by all views.
    fundamentals_hz, sidebands_hz : np.ndarray, shape (c,)
        Family fundamentals (Hz) and their modulation frequency (Hz; 0 = no sidebands).

    Returns
    -------
    dict of arrays: ``fundamental_hz`` (v, c), ``excess_db`` (v, c), ``line_hz``, ``line_level_db``,
    ``line_excess_db`` (v, c, lines) with lines = n_harmonics harmonics then 4 sidebands
    (x1 -, x1 +, x2 -, x2 +).
    """
    v = level_db.shape[0]
    f0 = np.asarray(fundamentals_hz, dtype=float)
    sb = np.asarray(sidebands_hz, dtype=float)
    c = f0.size

    # 1. The fundamental, searched within the tolerance.
    half0 = np.maximum(np.ceil(tolerance * f0 / resolution_hz), 1).astype(int)
    lv1, bin1 = _window_peaks(level_db, np.rint(f0 / resolution_hz).astype(int)[None, :], half0[None, :])
    f1 = bin1 * resolution_hz
    # 2. Harmonics at exact multiples of it, and sidebands, all in one gather: line k of a family
    #    lies at order[k] x f1 + sign[k] x its sideband spacing.
    order = np.concatenate([np.arange(2, n_harmonics + 1), [1, 1, 2, 2]]).astype(float)
    sign = np.concatenate([np.zeros(n_harmonics - 1), [-1.0, 1.0, -1.0, 1.0]])
    targets = f1[..., None] * order + sign * sb[:, None]
    halves = np.maximum(np.rint(line_width * f1[..., None] * order / resolution_hz), 1).astype(int)
    halves[..., n_harmonics - 1:] = 1  # a sideband is read within +-1 bin
    lv_rest, bin_rest = _window_peaks(level_db, np.rint(targets / resolution_hz).astype(int), halves)
    lv_rest[..., n_harmonics - 1:] = np.where(sb[None, :, None] > 0, lv_rest[..., n_harmonics - 1:], -np.inf)
    levels = np.concatenate([lv1[..., None], lv_rest], axis=2)
    bins = np.concatenate([bin1[..., None], bin_rest], axis=2)
    windows = np.concatenate([np.broadcast_to(2 * half0[None, :, None] + 1, (v, c, 1)), 2 * halves + 1], axis=2)
    thr = _thresholds_db(averages, windows, p_false)
    excess = np.maximum(levels - thr, 0.0)
    excess[..., n_harmonics:] *= 0.5  # sidebands count half
    excess = np.where(np.isfinite(excess), excess, 0.0)
    return {"fundamental_hz": f1, "excess_db": excess.sum(axis=2), "line_hz": bins * resolution_hz,
            "line_level_db": levels, "line_excess_db": excess}
