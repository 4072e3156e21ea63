"""Matching spectral lines against expected fault frequencies, with significance against decoys.

A vibration analyst looks for a line at the defect frequency, its harmonics and sidebands, clearly
above the local noise floor. This module does that numerically:

1. ``normalise``: divide a spectrum by its local noise floor (block medians, interpolated), so every
   bin reads as a peak-to-local-noise ratio.
2. ``comb_scores``: for each candidate fundamental, search a small grid around it (speed error and
   bearing slip) and average the normalised level at its first harmonics (log domain). A real
   defect lights up several harmonics of one fundamental; a noise peak lights up one.
3. ``significance``: the same comb evaluated at decoy fundamentals (frequencies where no fault of this
   machine can be) gives the spectrum's own null distribution; a candidate's score is expressed as
   a robust z-score against it. That adapts to how busy each spectrum is, so one fixed threshold
   holds across bands, machines and sample rates.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats
from scipy.ndimage import maximum_filter1d

__all__ = ["normalise", "comb_scores", "decoy_fundamentals", "significance", "LineMatch", "match_line",
           "line_threshold_db", "family_evidence", "FamilyEvidence"]


def normalise(amplitude: np.ndarray, resolution_hz: float, block_hz: float = 8.0) -> np.ndarray:
    """Spectrum divided by its local noise floor (dimensionless), shape unchanged.

    The floor is the median of blocks of ``block_hz`` (Hz), linearly interpolated between block
    centres; medians ignore the few lines in a block.
    """
    n = amplitude.size
    block = max(8, int(round(block_hz / resolution_hz)))
    nblocks = max(1, n // block)
    medians = np.median(amplitude[: nblocks * block].reshape(nblocks, block), axis=1)
    medians = np.maximum(medians, np.max(medians) * 1e-9 + 1e-30)
    centres = (np.arange(nblocks) + 0.5) * block
    floor = np.interp(np.arange(n), centres, medians)
    return amplitude / floor


def comb_scores(norm: np.ndarray, resolution_hz: float, fundamentals_hz: np.ndarray, n_harmonics: int = 3,
                tolerance: float = 0.015, line_width: float = 0.002,
                sideband_hz: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Best comb score per candidate fundamental.

    Parameters
    ----------
    norm : np.ndarray, shape (m,)
        Normalised spectrum (see :func:`normalise`).
    resolution_hz : float
        Bin spacing (Hz).
    fundamentals_hz : np.ndarray, shape (c,)
        Expected fundamentals (Hz).
    n_harmonics : int
        Harmonics 1..n_harmonics are averaged.
    tolerance : float
        Relative search range around each fundamental (speed error plus slip).
    line_width : float
        Relative half-width of a line (jitter of the defect rate smears it); at least +-1 bin.
    sideband_hz : float, optional
        Modulation frequency (Hz): each harmonic also contributes the stronger of its two sidebands
        at +-sideband_hz (inner-race defects are modulated at the shaft rate, balls at the cage rate).

    Returns
    -------
    scores : np.ndarray, shape (c,)
        Mean over harmonics of 10 log10(normalised level), dB, at the best trial fundamental.
    best_hz : np.ndarray, shape (c,)
        That trial fundamental (Hz).
    """
    fundamentals_hz = np.asarray(fundamentals_hz, dtype=float)
    log_norm = 10.0 * np.log10(np.maximum(norm, 1e-12))
    # Each harmonic is read as the max over its line width (at least +-1 bin); the trial grid steps
    # by about one line width so no line falls between trials.
    half_bins = max(1, int(round(line_width * float(np.median(fundamentals_hz)) / resolution_hz)))
    peak = maximum_filter1d(log_norm, size=2 * half_bins + 1, mode="nearest")
    span_bins = 2.0 * tolerance * float(np.max(fundamentals_hz)) / resolution_hz
    grid = int(np.clip(np.ceil(span_bins / max(half_bins, 1)) + 1, 3, 401))
    trials = fundamentals_hz[:, None] * (1.0 + np.linspace(-tolerance, tolerance, grid))[None, :]
    harmonics = np.arange(1, n_harmonics + 1)[None, None, :]
    bins = np.rint(trials[..., None] * harmonics / resolution_hz).astype(int)
    valid = bins < peak.size
    levels = np.where(valid, peak[np.minimum(bins, peak.size - 1)], 0.0)
    if sideband_hz:
        centre_hz = trials[..., None] * harmonics
        side = []
        for sign in (-1.0, 1.0):
            sb_bins = np.rint((centre_hz + sign * sideband_hz) / resolution_hz).astype(int)
            side.append(peak[np.clip(sb_bins, 0, peak.size - 1)])
        levels = np.concatenate([levels, np.where(valid, np.maximum(*side), 0.0)], axis=2)
        valid = np.concatenate([valid, valid], axis=2)
    score = levels.sum(axis=2) / np.maximum(valid.sum(axis=2), 1)
    best = np.argmax(score, axis=1)
    rows = np.arange(trials.shape[0])
    return score[rows, best], trials[rows, best]


def decoy_fundamentals(lo_hz: float, hi_hz: float, avoid_hz: np.ndarray, shaft_hz: float,
                       count: int = 24, margin: float = 0.04) -> np.ndarray:
    """Decoy fundamentals (Hz) in [lo, hi] away from every expected line and shaft order.

    Geometric spacing; a decoy is dropped when within ``margin`` (relative) of an expected
    fundamental, or of an integer or half shaft order (lines that are really there in most machines).
    """
    cands = np.geomspace(lo_hz, hi_hz, count * 3)
    avoid = np.asarray(avoid_hz, dtype=float).ravel()
    keep = np.all(np.abs(cands[:, None] / avoid[None, :] - 1.0) > margin, axis=1) if avoid.size else np.ones(cands.size, bool)
    orders = cands / shaft_hz * 2.0
    keep &= np.abs(orders - np.rint(orders)) * shaft_hz / 2.0 > margin * cands
    chosen = cands[keep]
    if chosen.size > count:
        chosen = chosen[np.linspace(0, chosen.size - 1, count).astype(int)]
    return chosen


def significance(candidate_scores: np.ndarray, decoy_scores: np.ndarray) -> np.ndarray:
    """Robust z-score of candidate comb scores against decoy comb scores (dimensionless).

    Median and 1.4826 x MAD of the decoys; the spread is floored at 0.5 dB so a very clean
    spectrum does not turn a tiny line into a large z.
    """
    med = np.median(decoy_scores)
    spread = max(1.4826 * np.median(np.abs(decoy_scores - med)), 0.5)
    return (np.asarray(candidate_scores) - med) / spread


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
    spectrum (its units), ``snr_db`` = 10 log10 of the normalised level (peak to local floor).
    """
    lo = int(np.floor((expected_hz - tolerance_hz) / resolution_hz))
    hi = int(np.ceil((expected_hz + tolerance_hz) / resolution_hz)) + 1
    lo, hi = max(lo, 1), min(hi, norm.size)
    if hi <= lo:
        return None
    k = lo + int(np.argmax(norm[lo:hi]))
    return LineMatch(float(expected_hz), k * resolution_hz, float(amplitude[k]),
                     float(10.0 * np.log10(max(norm[k], 1e-12))))


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


def _gather_max(level_db: np.ndarray, centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max of level_db within centres +- half (per row), and its bin; out-of-range bins read -inf."""
    wmax = int(half.max()) if half.size else 0
    offsets = np.arange(-wmax, wmax + 1)
    idx = centres[..., None] + offsets
    valid = (np.abs(offsets) <= half[..., None]) & (idx >= 0) & (idx < level_db.size)
    vals = np.where(valid, level_db[np.clip(idx, 0, level_db.size - 1)], -np.inf)
    j = np.argmax(vals, axis=-1)
    best = np.take_along_axis(vals, j[..., None], axis=-1)[..., 0]
    return best, np.take_along_axis(idx, j[..., None], axis=-1)[..., 0]


@dataclass(frozen=True)
class FamilyEvidence:
    """Evidence for line families at several fundamentals (arrays of shape (c,), or (c, lines)).

    ``excess_db`` sums, over the fundamental, its harmonics and (half-weighted) sidebands, how far
    each line rises above the noise level it would reach by chance (:func:`line_threshold_db`).
    """

    fundamental_hz: np.ndarray
    excess_db: np.ndarray
    line_hz: np.ndarray
    line_level_db: np.ndarray
    line_excess_db: np.ndarray
    labels: tuple[str, ...]


def family_evidence(level_db: np.ndarray, resolution_hz: float, averages: float, fundamentals_hz: np.ndarray,
                    n_harmonics: int = 4, tolerance: float = 0.01, line_width: float = 0.002,
                    sideband_hz: float | None = None, p_false: float = 1e-3) -> FamilyEvidence:
    """Score harmonic families (with optional sidebands) in a normalised spectrum, vectorised.

    Parameters
    ----------
    level_db : np.ndarray, shape (m,)
        Spectrum as power over the local median, in dB (``20 log10(normalise(...))``).
    resolution_hz : float
        Bin spacing (Hz).
    averages : float
        Effective number of averaged segments behind the spectrum (sets the chance level).
    fundamentals_hz : np.ndarray, shape (c,)
        Expected fundamentals (Hz).
    n_harmonics : int
        Harmonics 1..n scored.
    tolerance : float
        Relative search range for the fundamental (speed error, slip).
    line_width : float
        Relative half-width of each harmonic around h x the found fundamental (at least 1 bin).
    sideband_hz : float, optional
        Modulation frequency (Hz): sidebands at h f1 +- sideband for h = 1, 2 count half.
    p_false : float
        Chance of a noise bin passing its line's threshold.
    """
    f0 = np.asarray(fundamentals_hz, dtype=float)
    res = resolution_hz
    half0 = np.maximum(np.ceil(tolerance * f0 / res), 1).astype(int)
    level1, bin1 = _gather_max(level_db, np.rint(f0 / res).astype(int), half0)
    f1 = bin1 * res
    thr = np.vectorize(lambda w: line_threshold_db(averages, int(w), p_false))
    levels, bins, thresholds, weights, labels = [level1], [bin1], [thr(2 * half0 + 1)], [1.0], ["x1"]
    for h in range(2, n_harmonics + 1):
        half = np.maximum(np.rint(line_width * h * f1 / res), 1).astype(int)
        lv, bn = _gather_max(level_db, np.rint(h * f1 / res).astype(int), half)
        levels.append(lv)
        bins.append(bn)
        thresholds.append(thr(2 * half + 1))
        weights.append(1.0)
        labels.append(f"x{h}")
    if sideband_hz:
        for h in (1, 2):
            for sign, name in ((-1, "-"), (1, "+")):
                lv, bn = _gather_max(level_db, np.rint((h * f1 + sign * sideband_hz) / res).astype(int),
                                     np.ones(f1.size, dtype=int))
                levels.append(lv)
                bins.append(bn)
                thresholds.append(np.full(f1.size, line_threshold_db(averages, 3, p_false)))
                weights.append(0.5)
                labels.append(f"x{h} {name}sb")
    lv = np.stack(levels, axis=1)
    excess = np.maximum(lv - np.stack(thresholds, axis=1), 0.0) * np.array(weights)
    excess = np.where(np.isfinite(excess), excess, 0.0)
    return FamilyEvidence(f1, excess.sum(axis=1), np.stack(bins, axis=1) * res, lv, excess, tuple(labels))


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


def stack_family_evidence(level_db: np.ndarray, resolution_hz: float, averages: float,
                          fundamentals_hz: np.ndarray, sidebands_hz: np.ndarray, n_harmonics: int = 4,
                          tolerance: float = 0.01, line_width: float = 0.002,
                          p_false: float = 1e-3) -> dict[str, np.ndarray]:
    """:func:`family_evidence` for many views and many families at once.

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
    v, m = level_db.shape
    flat = level_db.ravel()
    f0 = np.asarray(fundamentals_hz, dtype=float)
    sb = np.asarray(sidebands_hz, dtype=float)
    c = f0.size

    def gather(centres: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # centres, half: (v, c, L); the best level and bin within centre +- half, (v, c, L)
        wmax = int(half.max()) if half.size else 0
        offsets = np.arange(-wmax, wmax + 1)
        idx = centres[..., None] + offsets
        ok = (np.abs(offsets) <= half[..., None]) & (idx >= 1) & (idx < m)
        rows = (np.arange(v) * m)[:, None, None, None]
        vals = np.where(ok, flat[rows + np.clip(idx, 0, m - 1)], -np.inf)
        j = np.argmax(vals, axis=-1)[..., None]
        return np.take_along_axis(vals, j, -1)[..., 0], np.take_along_axis(idx, j, -1)[..., 0]

    # 1. The fundamental, searched within the tolerance.
    half0 = np.maximum(np.ceil(tolerance * f0 / resolution_hz), 1).astype(int)
    centre0 = np.broadcast_to(np.rint(f0 / resolution_hz).astype(int)[None, :, None], (v, c, 1))
    lv1, bin1 = gather(centre0, np.broadcast_to(half0[None, :, None], (v, c, 1)))
    f1 = bin1[..., 0] * resolution_hz
    # 2. Harmonics at exact multiples of it, and sidebands, all in one gather.
    mult = np.arange(2, n_harmonics + 1, dtype=float)
    sb_h = np.array([1.0, 1.0, 2.0, 2.0])
    sb_sign = np.array([-1.0, 1.0, -1.0, 1.0])
    targets = np.concatenate([f1[..., None] * mult, f1[..., None] * sb_h + sb_sign * sb[None, :, None]], axis=2)
    halves = np.concatenate([np.maximum(np.rint(line_width * f1[..., None] * mult / resolution_hz), 1),
                             np.ones((v, c, 4))], axis=2).astype(int)
    lv_rest, bin_rest = gather(np.rint(targets / resolution_hz).astype(int), halves)
    has_sb = sb > 0
    lv_rest[..., n_harmonics - 1:] = np.where(has_sb[None, :, None], lv_rest[..., n_harmonics - 1:], -np.inf)
    levels = np.concatenate([lv1, lv_rest], axis=2)
    bins = np.concatenate([bin1, bin_rest], axis=2)
    windows = np.concatenate([np.broadcast_to(2 * half0[None, :, None] + 1, (v, c, 1)), 2 * halves + 1], axis=2)
    thr = _thresholds_db(averages, windows, p_false)
    weights = np.concatenate([np.ones(n_harmonics), np.full(4, 0.5)])
    excess = np.maximum(levels - thr, 0.0) * weights
    excess = np.where(np.isfinite(excess), excess, 0.0)
    return {"fundamental_hz": f1, "excess_db": excess.sum(axis=2), "line_hz": bins * resolution_hz,
            "line_level_db": levels, "line_excess_db": excess}
