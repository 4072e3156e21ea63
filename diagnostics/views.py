"""Envelope views of a burst, computed together: the shared front end of the bearing diagnosis.

A view is the squared envelope spectrum of one demodulation band of either the raw or the
cepstrally pre-whitened signal (``diagnostics.envelope``). The views are:

* the pre-whitened full band (``low_cut`` to 0.95 x Nyquist);
* ``BAND_COUNT`` adjacent bands of equal width over the same range, raw and pre-whitened;
* the band of that width centred on the largest spectral kurtosis of the signal
  (``diagnostics.kurtogram``), demodulated from the pre-whitened and from the raw spectrum.

The equal-width bands are demodulated in one batched inverse FFT; only the envelope spectrum up to
``max_hz`` (the highest line any candidate family needs) is kept. The result is one 2-D array of
levels (dB over the local noise floor) that the scoring in ``diagnostics.bearing`` reads with
vectorised gathers, which is what keeps the whole pipeline within a few milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from .kurtogram import spectral_kurtosis
from .spectrum import hann_window

__all__ = ["EnvelopeStack", "envelope_stack", "BAND_COUNT", "floor_normalise", "kurtogram_window"]

BAND_COUNT = 4
_SEGMENT_S = 1.0
@dataclass(frozen=True)
class EnvelopeStack:
    """Squared envelope spectra of all views, cut to a common length.

    Attributes
    ----------
    amplitude : np.ndarray, shape (views, bins)
        Squared-envelope spectrum normalised by the mean squared envelope (dimensionless).
    level_db : np.ndarray, shape (views, bins)
        Power over the local noise floor, dB.
    resolution_hz : float
        Bin spacing (Hz).
    averages : float
        Effective number of averaged segments (1 for a single burst).
    labels : list of str
    bands_hz : list of (float, float)
    sources : list of str
        ``"raw"`` or ``"whitened"`` per view.
    kurtogram_band_hz : (float, float)
    kurtogram_max_sk : float
    """

    amplitude: np.ndarray
    level_db: np.ndarray
    resolution_hz: float
    averages: float
    labels: list
    bands_hz: list
    sources: list
    kurtogram_band_hz: tuple
    kurtogram_max_sk: float

    @property
    def freqs_hz(self) -> np.ndarray:
        return np.arange(self.amplitude.shape[1]) * self.resolution_hz


def floor_normalise(amplitude: np.ndarray, block: int) -> np.ndarray:
    """Rows of ``amplitude`` divided by their local floor (block medians, linearly interpolated).

    Parameters
    ----------
    amplitude : np.ndarray, shape (rows, m)
    block : int
        Block length (bins) of each median.
    """
    rows, m = amplitude.shape
    block = max(1, min(block, m))  # short spectra (slow shafts, short bursts): one block
    nblocks = max(1, m // block)
    blocks = amplitude[:, : nblocks * block].reshape(rows, nblocks, block)
    med = np.partition(blocks, block // 2, axis=2)[:, :, block // 2]  # the blocks' medians
    med = np.maximum(med, med.max(axis=1, keepdims=True) * 1e-9 + 1e-30)
    i0, i1, t = _interpolation(m, block)
    floor = med[:, i0] * (1.0 - t) + med[:, i1] * t
    return amplitude / floor


@lru_cache(maxsize=64)
def _interpolation(m: int, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left and right block of each of m bins and the weight of the right one (block centres)."""
    nblocks = max(1, m // block)
    pos = (np.arange(m) + 0.5) / block - 0.5
    i0 = np.clip(np.floor(pos).astype(int), 0, nblocks - 1)
    i1 = np.minimum(i0 + 1, nblocks - 1)
    t = np.clip(pos - i0, 0.0, 1.0)
    for a in (i0, i1, t):
        a.flags.writeable = False  # shared between calls
    return i0, i1, t


def squared_magnitude(z: np.ndarray) -> np.ndarray:
    """``|z|**2`` of a complex array (any shape), in its real precision, with one temporary.

    ``z.real ** 2 + z.imag ** 2`` makes three full-size temporaries; squaring the interleaved
    real and imaginary parts in place and adding the pairs makes one.
    """
    parts = z.view(z.real.dtype).reshape(*z.shape, 2)
    np.square(parts, out=parts)
    return parts[..., 0] + parts[..., 1]


def kurtogram_window(fs: float, width_hz: float) -> int:
    """STFT length (samples, a power of two) whose cells are about half of ``width_hz`` (Hz) wide.

    One STFT at this resolution chooses the demodulation band: finer cells would cost another STFT,
    and the band is widened to ``width_hz`` anyway.
    """
    return int(2 ** np.round(np.log2(max(32.0, 2.0 * fs / width_hz))))


def _sk_band(x: np.ndarray, fs: float, lo_hz: float, hi_hz: float, width_hz: float) -> tuple[tuple[float, float], float]:
    """Band of ``width_hz`` centred on the largest spectral kurtosis between lo and hi (Hz)."""
    best_sk, best_f = -np.inf, 0.5 * (lo_hz + hi_hz)
    base = kurtogram_window(fs, width_hz)
    for window in (base,):
        if window > x.size // 8:
            continue
        freqs, sk = spectral_kurtosis(x, fs, window, overlap=False)
        ok = (freqs >= lo_hz + width_hz / 2) & (freqs <= hi_hz - width_hz / 2)
        if ok.any():
            k = int(np.argmax(np.where(ok, sk, -np.inf)))
            if sk[k] > best_sk:
                best_sk, best_f = float(sk[k]), float(freqs[k])
    return (best_f - width_hz / 2, best_f + width_hz / 2), best_sk


def envelope_stack(raw: np.ndarray, white: np.ndarray, n: int, fs: float, low_cut_hz: float, max_hz: float,
                   x: np.ndarray) -> EnvelopeStack:
    """All envelope views of one burst.

    Parameters
    ----------
    raw, white : np.ndarray, complex, shape (n//2 + 1,)
        rfft of the acceleration (m/s^2) and its pre-whitened version.
    n : int
        Burst length (samples).
    fs : float
        Sample rate (Hz).
    low_cut_hz : float
        Lowest demodulated frequency (Hz).
    max_hz : float
        Highest envelope frequency needed (Hz); the bands are made at least this wide.
    x : np.ndarray, shape (n,)
        The acceleration (for the kurtogram).
    """
    nyq = 0.95 * fs / 2.0
    low_cut_hz = min(low_cut_hz, 0.5 * nyq)
    width = max((nyq - low_cut_hz) / BAND_COUNT, min(1.2 * max_hz, nyq - low_cut_hz))
    edges = np.arange(BAND_COUNT + 1) * width + low_cut_hz
    fixed = [(float(edges[i]), float(edges[i + 1])) for i in range(BAND_COUNT) if edges[i + 1] <= nyq + 1e-6]
    # One kurtogram, of the raw signal (no inverse FFT needed); its band is demodulated from both
    # the pre-whitened and the raw spectrum.
    kg_band, kg_sk = _sk_band(x, fs, low_cut_hz, nyq, width)

    bands = [(low_cut_hz, nyq)] + fixed + fixed + [kg_band, kg_band]
    sources = ["whitened"] + ["whitened"] * len(fixed) + ["raw"] * len(fixed) + ["whitened", "raw"]
    labels = ["whitened full band"] + [f"{s} {b[0]:.0f}-{b[1]:.0f} Hz" for s, b in
                                       zip(sources[1:1 + 2 * len(fixed)], fixed + fixed)]
    labels += ["whitened kurtogram band", "raw kurtogram band"]

    res_full = fs / n
    duration = n / fs
    segments = int(duration // _SEGMENT_S) if duration >= 2 * _SEGMENT_S else 1
    keep_hz = max_hz
    # Full band on its own (wide), the equal-width bands batched.
    groups = [([0], nyq - low_cut_hz), (list(range(1, len(bands))), width)]
    out_amp = [None] * len(bands)
    resolution = res_full if segments == 1 else segments / duration
    keep = int(keep_hz / resolution) + 2
    for idx, band_width in groups:
        width_bins = int(np.ceil(band_width / res_full)) + 1
        # |z|^2 spans +-width; keeping only [0, keep_hz] lets the rate be width + keep_hz without aliasing.
        # A single burst's length has factors 2, 3 and 5 only: pocketfft's radix-7 and -11 passes
        # made the complex transforms 1.5x slower (11,616 = 2^5 3 11^2 against 11,664 = 2^4 3^6).
        # Averaged records keep the old lengths: their segment length, and so their spectra,
        # follow m.
        m = sfft.next_fast_len(width_bins + int(np.ceil(keep_hz / res_full)) + 2, real=segments == 1)
        # Single precision: envelopes need ~1e-4 relative accuracy, and it halves the memory traffic.
        shifted = np.zeros((len(idx), m), dtype=np.complex64)
        for r, i in enumerate(idx):
            # Plain int arithmetic: np.clip on scalars costs more than the copy itself.
            lo = min(max(int(np.ceil(bands[i][0] / res_full)), 1), n // 2)
            hi = min(max(lo + width_bins, lo + 1), n // 2 + 1)
            src = white if sources[i] == "whitened" else raw
            shifted[r, : hi - lo] = src[lo:hi]
        sq = squared_magnitude(sfft.ifft(shifted, axis=1))
        if segments == 1:
            spec = sfft.rfft(sq, axis=1)[:, :keep]
            # Normalised by the mean squared envelope: the DC bin is m times it, so divide the
            # kept bins instead of the whole envelope.
            total = spec[:, :1].real.copy()
            total[total <= 0] = m
            amp = np.abs(spec) * (2.0 / total)
        else:
            mean = sq.mean(axis=1, keepdims=True)
            mean[mean == 0] = 1.0
            sq /= mean
            seg = int(round(m / segments))
            frames = np.lib.stride_tricks.sliding_window_view(sq, seg, axis=1)[:, :: seg // 2]
            w = hann_window(seg)
            spec = sfft.rfft((frames - frames.mean(axis=2, keepdims=True)) * w, axis=2)[:, :, :keep]
            amp = np.sqrt((spec.real ** 2 + spec.imag ** 2).mean(axis=1)) * (2.0 / w.sum())
        amp[:, 0] = 0.0
        for r, i in enumerate(idx):
            out_amp[i] = amp[r]
    amplitude = np.vstack([out_amp[i] for i in range(len(bands))])
    averages = 1.0 if segments == 1 else max(1.0, 0.9 * (2 * segments - 1))
    block = max(32, int(round(8.0 / resolution)))
    level_db = 20.0 * np.log10(np.maximum(floor_normalise(amplitude, block), 1e-12))
    return EnvelopeStack(amplitude, level_db, resolution, averages, labels, bands, sources, kg_band, kg_sk)
