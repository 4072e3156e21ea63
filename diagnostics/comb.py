"""Spectral-comb evidence of an outer-race defect in the acceleration spectrum itself.

A defect on a stationary outer race sits in the load zone: every rolling element strikes it in turn
at an almost constant rate, so the impact train is nearly periodic. Its acceleration spectrum is
then a comb of steady lines at multiples of BPFO reaching far up into the band where the impacts
ring, not a modulated resonance. Envelope analysis after cepstral pre-whitening flattens exactly
such a comb; this view looks for it directly.

1. The Hann amplitude spectrum is taken over its local floor (block medians) as a level in dB.
2. The comb strength S(f) is the mean level at the harmonics k f lying between ``LOW_HZ`` and
   0.45 fs or ``MAX_HARMONICS`` x BPFO. f is searched within the speed/slip tolerance of BPFO,
   coarse to fine, down to a grid on which the highest harmonic moves half a bin per step. At a
   high order k two combs whose spacing differs by 0.3 % are k x 0.3 % apart, so a rig line series
   near BPFO and a genuine defect comb are told apart even in a 1 s burst.
3. *Chance*: the same search at up to six spacings 3-20 % away from BPFO, clear of shaft orders;
   the comb must rise :data:`COMB_EXCESS_DB` over the strongest of those.
4. *Machine series*: a family of lines at multiples of f is also produced by any finer series of
   machine lines (a comb at f/m has lines at multiples of f too). The lines of each finer comb
   f/m (m = 2..10) that are not on the f grid, nor on the cage-rate grid below, are read: if they
   reach :data:`MACHINE_SERIES_RATIO` of the comb's own height (both over the band's mean level)
   the family is a machine line series, not a bearing defect.
5. *Shaft-locked series*: a defect rate is not locked to the shaft (the elements slip), while
   lines driven by the shaft train (couplings, belts, sub-synchronous components) are. A spacing
   within :data:`LOCKED_TOLERANCE` of a simple fraction p/q of the shaft rate (q <= 5) is taken as
   machinery. This needs the recorded speed to be that accurate; the test rig of the CWRU data has
   such a series at 3.6 x shaft (= 18/5) right beside BPFO (3.585 x).
6. *Cage-rate structure*: BPFO = Z x FTF for Z rolling elements, and the elements are never
   identical, so the impact pattern repeats once per cage turn: a true outer-race comb comes with
   weaker lines at the multiples of FTF between its harmonics. They must reach
   :data:`CAGE_COMB_RATIO` of the comb's strength.

An accepted comb earns, like an envelope family, the dB by which each of its lines rises above the
level noise reaches by chance in one bin (``matching.line_threshold_db``), summed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .matching import line_threshold_db, spread_indices
from .views import floor_normalise

__all__ = ["CombEvidence", "comb_level_db", "comb_top_hz", "floor_block_bins", "level_db_from_ratio", "comb_strength",
           "comb_strengths", "null_spacings_hz", "outer_race_comb", "shaft_locked", "COMB_EXCESS_DB",
           "MACHINE_SERIES_RATIO", "CAGE_COMB_RATIO", "LOCKED_TOLERANCE", "LOW_HZ", "MAX_HARMONICS"]

COMB_EXCESS_DB = 3.0        # comb strength over the strongest off-BPFO spacing (dB)
MACHINE_SERIES_RATIO = 0.15  # a finer comb this strong (relative) explains the family
CAGE_COMB_RATIO = 0.15       # cage-rate lines at least this strong (relative) are required
LOCKED_TOLERANCE = 0.0015    # relative distance to p/q x shaft (q <= LOCKED_MAX_DENOMINATOR) taken as locked
LOCKED_MAX_DENOMINATOR = 5
LOW_HZ = 300.0               # below: shaft, mesh and line harmonics dominate
MAX_HARMONICS = 48
_TOP_FRACTION = 0.45         # of fs: below the anti-alias roll-off
_FLOOR_BLOCK_HZ = 8.0        # as the pipeline's spectrum rules: one floor serves both
# candidate off-BPFO comb spacings (relative): 0.80-1.20 in steps of 0.02, at least 3 % off BPFO
_NULL_OFFSETS = np.array([o for o in np.arange(0.80, 1.201, 0.02) if abs(o - 1.0) >= 0.03])
_NULL_COUNT = 6
_COARSE_ORDERS = 16   # orders ranking the spacings on the coarse grid
_REFINED = 4          # coarse candidates refined with all orders
_FINEST = 10          # finer combs f/m tested for m = 2.._FINEST


@dataclass(frozen=True)
class CombEvidence:
    """Result of :func:`outer_race_comb` for one bearing.

    Attributes
    ----------
    spacing_hz : float
        The best comb spacing found within the tolerance of BPFO (Hz).
    strength_db : float
        Mean level of its lines over the local floor (dB).
    excess_db : float
        ``strength_db`` minus the strongest of the same search at off-BPFO spacings (dB).
    machine_ratio : float
        Strongest finer comb (f/m, off-grid lines) relative to the comb, both over the band mean
        (0 when not computed: the excess already failed or the spacing is shaft-locked).
    cage_ratio : float
        Cage-rate lines (f/Z, off-grid) relative to the comb, both over the band mean (0 likewise).
    accepted : bool
        All tests passed.
    evidence_db : float
        Sum over the comb's lines of their dB over the one-bin chance level; 0 when not accepted.
    lines : list of (harmonic, hz, level_db)
        The comb's lines above the chance level, strongest first (at most 8).
    shaft_locked : bool
        The spacing is a simple fraction of the shaft rate (:func:`shaft_locked`).
    """

    spacing_hz: float
    strength_db: float
    excess_db: float
    machine_ratio: float
    cage_ratio: float
    accepted: bool
    evidence_db: float
    lines: list
    shaft_locked: bool = False


def comb_top_hz(bpfo_hz: float, fs: float, tolerance: float = 0.01) -> float:
    """Highest frequency (Hz) :func:`outer_race_comb` reads for this BPFO."""
    return min(_TOP_FRACTION * fs, MAX_HARMONICS * bpfo_hz) * (1.0 + tolerance)


def comb_level_db(raw: np.ndarray, n: int, fs: float, top_hz: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Hann amplitude spectrum over its local floor (dB) up to ``top_hz`` (default 0.45 fs), from a plain rfft.

    Parameters
    ----------
    raw : np.ndarray, complex, shape (n//2 + 1,)
        rfft of the mean-removed acceleration (m/s^2).
    n : int
        Burst length (samples).
    fs : float
        Sample rate (Hz).
    top_hz : float, optional
        Highest frequency needed (Hz), e.g. :func:`comb_top_hz`; at most 0.45 fs.

    Returns
    -------
    level_db : np.ndarray, float32, shape (m,)
        Level of each bin over the block-median floor (dB); bin k is at k fs / n Hz.
    amplitude : np.ndarray, shape (m,)
        Amplitude-correct Hann spectrum (units of the signal, peak, e.g. m/s^2).
    resolution_hz : float
    """
    res = fs / n
    top = _TOP_FRACTION * fs if top_hz is None else min(top_hz, _TOP_FRACTION * fs)
    k = min(int(top / res) + 2, raw.size - 2)
    # Periodic Hann = 0.5 - 0.5 cos: its spectrum is a 3-tap convolution of the rfft (no second FFT).
    amp = np.empty(k + 1)
    amp[0] = 0.0
    amp[1:] = np.abs(0.5 * raw[1:k + 1] - 0.25 * (raw[0:k] + raw[2:k + 2]))
    amp *= 4.0 / n  # coherent gain of the periodic Hann window is n / 2, one-sided x 2
    norm = floor_normalise(amp[None, :], floor_block_bins(res))[0]
    return level_db_from_ratio(norm), amp, res


def floor_block_bins(resolution_hz: float) -> int:
    """Block length (bins) of the spectrum's floor medians: 8 Hz, at least 32 bins (as the spectrum rules)."""
    return max(32, int(round(_FLOOR_BLOCK_HZ / resolution_hz)))


def level_db_from_ratio(ratio: np.ndarray) -> np.ndarray:
    """Amplitude over floor (``views.floor_normalise``) as dB, float32.

    Single precision: levels need ~0.01 dB, and the comb search gathers them many times.
    """
    return np.float32(20.0) * np.log10(np.maximum(ratio, 1e-6).astype(np.float32))


def _band(fs: float, spacing_hz: float) -> tuple[float, float]:
    return LOW_HZ, min(_TOP_FRACTION * fs, MAX_HARMONICS * spacing_hz)


def comb_strength(level_db: np.ndarray, resolution_hz: float, centre_hz: float, tolerance: float,
                  fs: float) -> tuple[float, float]:
    """Best comb within ``centre_hz`` x (1 +- tolerance): (spacing in Hz, mean line level in dB).

    The final grid step moves the highest harmonic used by half a bin (see :func:`comb_strengths`).
    """
    spacing, strength = comb_strengths(level_db, resolution_hz, np.array([centre_hz]), tolerance, fs)
    return float(spacing[0]), float(strength[0])


def _strengths(level32: np.ndarray, resolution_hz: float, centres: np.ndarray, rel: np.ndarray,
               k: np.ndarray) -> np.ndarray:
    """Mean level (dB) at the orders k of the spacings centres x rel; rel (g,) or (c, g); returns (c, g)."""
    grid = centres[:, None] * rel if rel.ndim == 2 else centres[:, None] * rel[None, :]
    # Single precision index arithmetic (exact to ~1e-3 bin here): the gather is this view's cost.
    pos = grid.astype(np.float32)[..., None] * (k / resolution_hz).astype(np.float32) + np.float32(0.5)
    idx = np.minimum(pos.astype(np.int32), level32.size - 1)                  # nearest bins
    return level32[idx].mean(axis=-1, dtype=np.float64)


def comb_strengths(level_db: np.ndarray, resolution_hz: float, centres_hz: np.ndarray, tolerance: float,
                   fs: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`comb_strength` for several centres (Hz); shapes (c,).

    All centres share the harmonic orders (those inside the band of the first for every centre)
    and the relative grid, so their strengths are the same statistic (same number of lines, same
    search) and comparable as a null. Coarse to fine: the grid of the first :data:`_COARSE_ORDERS`
    orders (step: their top line moves half a bin) ranks the spacings; the best
    :data:`_REFINED` of them are refined with all orders on the fine grid (the top line moves half
    a bin) within one coarse step.
    """
    centres = np.asarray(centres_hz, float)
    lo, hi = _band(fs, float(centres[0]))
    # Orders whose lines stay inside the band for every centre.
    k = np.arange(max(1, int(np.ceil(lo / centres.min()))), int(hi / centres.max()) + 1)
    if k.size == 0:
        return centres, np.full(centres.size, -np.inf)
    level32 = level_db if level_db.dtype == np.float32 else level_db.astype(np.float32)
    k1 = k[:_COARSE_ORDERS]
    coarse = 0.5 * resolution_hz / (k1[-1] * centres.max())  # relative steps
    fine = 0.5 * resolution_hz / (k[-1] * centres.max())
    half = int(np.floor(tolerance / coarse))
    rel1 = 1.0 + np.arange(-half, half + 1) * coarse
    s1 = _strengths(level32, resolution_hz, centres, rel1, k1)                # (c, g1)
    refined = min(_REFINED, s1.shape[1])
    top = np.argpartition(-s1, refined - 1, axis=1)[:, :refined]               # (c, r), any order
    r = int(np.ceil(coarse / fine))
    rel2 = (rel1[top][..., None] + np.arange(-r, r + 1) * fine).reshape(centres.size, -1)
    rel2 = np.minimum(np.maximum(rel2, 1.0 - tolerance), 1.0 + tolerance)  # np.clip: same, at twice the overhead
    s2 = _strengths(level32, resolution_hz, centres, rel2, k)                 # (c, r (2r+1))
    best = np.argmax(s2, axis=1)
    rows = np.arange(centres.size)
    return centres * rel2[rows, best], s2[rows, best]


@lru_cache(maxsize=256)
def _finer_orders(max_order: int, avoid: int, finest: int) -> tuple[np.ndarray, np.ndarray]:
    """Orders j/m (in units of the comb spacing) up to ``max_order`` for m = 2..finest, skipping those
    on the spacing grid (m | j) or on the grid of spacing/avoid (m | j avoid); and each one's m."""
    orders, groups = [], []
    for m in range(2, finest + 1):
        j = np.arange(1, max_order * m + 1)
        j = j[(j % m != 0) & ((j * avoid) % m != 0)]
        orders.append(j / m)
        groups.append(np.full(j.size, m))
    return np.concatenate(orders), np.concatenate(groups)


def _finer_means(level_db: np.ndarray, resolution_hz: float, spacing_hz: float, finest: int, avoid: int,
                 lo: float, hi: float) -> np.ndarray:
    """Mean level (dB) per m = 2..finest at multiples of spacing/m between lo and hi (Hz), skipping the
    spacing grid and the grid of spacing/avoid; shape (finest - 1,), NaN where there is no line."""
    orders, groups = _finer_orders(int(np.ceil(hi / spacing_hz)), avoid, finest)
    hz = orders * spacing_hz
    use = (hz >= lo) & (hz <= hi)
    idx = np.minimum((hz[use] / resolution_hz + 0.5).astype(np.intp), level_db.size - 1)
    count = np.bincount(groups[use], minlength=finest + 1)[2:]
    total = np.bincount(groups[use], weights=level_db[idx], minlength=finest + 1)[2:]
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def shaft_locked(spacing_hz: float, shaft_hz: float) -> bool:
    """True when ``spacing_hz`` is within :data:`LOCKED_TOLERANCE` of p/q x ``shaft_hz`` with q <= 5."""
    order = spacing_hz / shaft_hz
    # Plain floats: five denominators cost less than one NumPy call (round() also rounds half to even).
    distance = min(abs(order - round(order * q) / q) for q in range(1, LOCKED_MAX_DENOMINATOR + 1))
    return distance <= LOCKED_TOLERANCE * order


def null_spacings_hz(bpfo_hz: float, shaft_hz: float, tolerance: float = 0.01) -> np.ndarray:
    """Up to ``_NULL_COUNT`` comb spacings (Hz) 3-20 % off BPFO whose search window holds no integer or
    half shaft order (shaft harmonics are a comb in every machine: they would inflate the null)."""
    cands = bpfo_hz * _NULL_OFFSETS
    half_orders = 2.0 * cands / shaft_hz
    clear = np.abs(half_orders - np.rint(half_orders)) * shaft_hz / 2.0 > (tolerance + 0.005) * cands
    chosen = cands[clear]
    if chosen.size > _NULL_COUNT:
        chosen = chosen[spread_indices(chosen.size, _NULL_COUNT)]
    return chosen


def outer_race_comb(level_db: np.ndarray, resolution_hz: float, fs: float, bpfo_hz: float, ftf_hz: float,
                    shaft_hz: float, tolerance: float = 0.01) -> CombEvidence:
    """Outer-race comb evidence of one bearing from :func:`comb_level_db` levels.

    Parameters
    ----------
    level_db : np.ndarray, shape (m,)
        Spectrum level over its local floor (dB).
    resolution_hz : float
        Bin spacing (Hz).
    fs : float
        Sample rate (Hz).
    bpfo_hz, ftf_hz : float
        The bearing's outer-race and cage rates at this speed (Hz).
    shaft_hz : float
        Shaft rate (Hz): the chance level is measured at spacings clear of its orders.
    tolerance : float
        Relative search range of the spacing (speed error and slip).
    """
    nothing = CombEvidence(bpfo_hz, 0.0, 0.0, 0.0, 0.0, False, 0.0, [])
    lo, hi = _band(fs, bpfo_hz)
    spacings = null_spacings_hz(bpfo_hz, shaft_hz, tolerance)
    if hi < lo + 4 * bpfo_hz or bpfo_hz < 4 * resolution_hz or spacings.size < 4:
        return nothing  # too few harmonics in the band, or lines not resolved
    found, strengths = comb_strengths(level_db, resolution_hz, np.concatenate([[bpfo_hz], spacings]), tolerance, fs)
    spacing, strength = float(found[0]), float(strengths[0])
    excess = strength - float(strengths[1:].max())
    if not np.isfinite(excess):  # no order inside the band for some spacing: nothing to judge
        return nothing
    locked = shaft_locked(spacing, shaft_hz)
    if excess < COMB_EXCESS_DB or locked:
        # Chance or machinery already: the finer-structure tests cannot change the verdict.
        return CombEvidence(spacing, strength, float(excess), 0.0, 0.0, False, 0.0, [], locked)
    lo, hi = _band(fs, spacing)
    mean = float(level_db[int(lo / resolution_hz):int(hi / resolution_hz)].mean())
    height = strength - mean
    z = max(1, int(round(bpfo_hz / ftf_hz))) if ftf_hz > 0 else 1  # rolling elements: BPFO = Z x FTF
    means = _finer_means(level_db, resolution_hz, spacing, _FINEST, z, lo, hi)
    finer = means[np.isfinite(means)] - mean
    machine = float(finer.max()) / height if height > 0 and finer.size else (np.inf if height <= 0 else 0.0)
    cage = 0.0
    if z > 1 and height > 0:
        # The cage grid: multiples j of spacing / z that are not multiples of the spacing.
        j = np.arange(max(1, int(np.ceil(lo * z / spacing))), int(hi * z / spacing) + 1)
        j = j[j % z != 0]
        if j.size:
            idx = np.minimum((j * (spacing / z / resolution_hz) + 0.5).astype(np.intp), level_db.size - 1)
            cage = (float(level_db[idx].mean()) - mean) / height
    accepted = bool(machine < MACHINE_SERIES_RATIO and cage >= CAGE_COMB_RATIO)
    lines, evidence = [], 0.0
    if accepted:
        k = np.arange(max(1, int(np.ceil(lo / spacing))), int(hi / spacing) + 1)
        levels = level_db[np.minimum(np.rint(k * spacing / resolution_hz).astype(np.intp), level_db.size - 1)]
        over = levels - line_threshold_db(1.0, 1)
        evidence = float(np.maximum(over, 0.0).sum())
        order = np.argsort(-levels)[:8]
        lines = [(int(k[i]), float(k[i] * spacing), float(levels[i])) for i in order if over[i] > 0]
    return CombEvidence(spacing, strength, float(excess), float(machine), float(cage), accepted, evidence, lines,
                        locked)
