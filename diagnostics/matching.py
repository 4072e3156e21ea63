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

import numpy as np
from scipy.ndimage import maximum_filter1d

__all__ = ["normalise", "comb_scores", "decoy_fundamentals", "significance", "LineMatch", "match_line"]


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
    keep = np.ones(cands.size, dtype=bool)
    for f in np.asarray(avoid_hz, dtype=float):
        keep &= np.abs(cands / f - 1.0) > margin
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
