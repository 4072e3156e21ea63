"""Spectral kurtosis and a fast STFT-based kurtogram for choosing a demodulation band.

Spectral kurtosis (Antoni, MSSP 20, 2006) of a short-time Fourier transform X(t, f)::

    SK(f) = <|X|^4> / <|X|^2>^2 - 2

is 0 for stationary Gaussian noise, -1 for a steady sine and large where short impacts dominate.
Computing it for several window lengths gives a coarse kurtogram (window length <-> band width);
the (window, frequency) cell with the largest SK is the band where impacts best stand out
(Antoni, "Fast computation of the kurtogram", MSSP 21, 2007, uses a filter bank instead; the STFT
version is the original definition and vectorises well).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Kurtogram", "spectral_kurtosis", "kurtogram", "DEFAULT_WINDOWS"]

DEFAULT_WINDOWS = (16, 32, 64, 128, 256)
_HANN: dict[int, np.ndarray] = {}


def _hann(n: int) -> np.ndarray:
    w = _HANN.get(n)
    if w is None:
        w = _HANN[n] = np.hanning(n + 1)[:-1]
    return w


def spectral_kurtosis(x: np.ndarray, fs: float, window: int, overlap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Spectral kurtosis from a Hann STFT with 50 % overlap (or none, at half the cost).

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (any units).
    fs : float
        Sample rate (Hz).
    window : int
        STFT window length (samples); the band width of each cell is about 2 fs / window Hz.
    overlap : bool
        50 % overlapping frames (True) or adjacent frames (False).

    Returns
    -------
    freqs_hz : np.ndarray, shape (window//2 + 1,)
    sk : np.ndarray, shape (window//2 + 1,), dimensionless
    """
    frames = sliding_window_view(np.asarray(x, dtype=float), window)[:: window // 2 if overlap else window]
    spec = sfft.rfft(frames * _hann(window), axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    m2 = power.mean(axis=0)
    m4 = (power * power).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sk = np.where(m2 > 0, m4 / (m2 * m2) - 2.0, 0.0)
    sk[0] = sk[-1] = 0.0  # DC and Nyquist cells are not complex Gaussian: their SK is biased
    return sfft.rfftfreq(window, 1.0 / fs), sk


@dataclass(frozen=True)
class Kurtogram:
    """Spectral kurtosis per window length, and the chosen band.

    Attributes
    ----------
    windows : tuple of int
        STFT window lengths (samples).
    freqs_hz : list of np.ndarray
        Cell centre frequencies (Hz) for each window.
    sk : list of np.ndarray
        Spectral kurtosis for each window (dimensionless).
    band_hz : (float, float)
        Chosen band (Hz).
    max_sk : float
        Spectral kurtosis of the chosen cell.
    """

    windows: tuple[int, ...]
    freqs_hz: list
    sk: list
    band_hz: tuple[float, float]
    max_sk: float


def kurtogram(x: np.ndarray, fs: float, windows: tuple[int, ...] = DEFAULT_WINDOWS,
              min_band_hz: float = 0.0, low_cut_hz: float = 0.0) -> Kurtogram:
    """Pick the band with the largest spectral kurtosis over several STFT window lengths.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (any units), typically pre-whitened.
    fs : float
        Sample rate (Hz).
    windows : tuple of int
        STFT window lengths to try (samples).
    min_band_hz : float
        The chosen band is widened (about its centre) to at least this width (Hz), so that the
        envelope spectrum reaches the defect harmonics and their sidebands.
    low_cut_hz : float
        Cells centred below this frequency (Hz) are not chosen: impacts ring resonances well above
        the running-speed harmonics.
    """
    nyquist = fs / 2.0
    best = (-np.inf, 0.0, 0)
    freqs_all, sk_all = [], []
    for window in windows:
        if window > len(x) // 4:
            continue
        freqs, sk = spectral_kurtosis(x, fs, window)
        freqs_all.append(freqs)
        sk_all.append(sk)
        candidates = np.where(freqs >= low_cut_hz, sk, -np.inf)
        k = int(np.argmax(candidates))
        if candidates[k] > best[0]:
            best = (float(candidates[k]), float(freqs[k]), window)
    max_sk, centre, window = best
    half = max(fs / window, min_band_hz / 2.0) if window else nyquist / 2
    lo, hi = centre - half, centre + half
    if lo < low_cut_hz:
        lo, hi = low_cut_hz, low_cut_hz + 2 * half
    if hi > nyquist:
        lo, hi = max(low_cut_hz, nyquist - 2 * half), nyquist
    return Kurtogram(tuple(w for w in windows if w <= len(x) // 4), freqs_all, sk_all, (lo, hi), max_sk)
