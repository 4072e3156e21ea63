"""Spectra, integration to velocity and time-domain statistics.

All functions take a 1-D acceleration signal in m/s^2 sampled at ``fs`` Hz, shape (n,).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

__all__ = [
    "Spectrum",
    "amplitude_spectrum",
    "velocity_rms_mm_s",
    "velocity_signal_mm_s",
    "time_statistics",
    "hann_window",
]

_WINDOWS: dict[int, np.ndarray] = {}


def hann_window(n: int) -> np.ndarray:
    """Periodic Hann window of length n (cached: the pipeline sees the same length all day)."""
    w = _WINDOWS.get(n)
    if w is None:
        w = np.hanning(n + 1)[:-1]
        if len(_WINDOWS) < 16:
            _WINDOWS[n] = w
    return w


@dataclass(frozen=True)
class Spectrum:
    """One-sided amplitude spectrum.

    Attributes
    ----------
    freqs_hz : np.ndarray, shape (n//2 + 1,)
    amplitude : np.ndarray, shape (n//2 + 1,)
        Peak amplitude of each sinusoid, in the units of the signal (m/s^2 for acceleration).
    resolution_hz : float
        Bin spacing fs / n (Hz).
    """

    freqs_hz: np.ndarray
    amplitude: np.ndarray
    resolution_hz: float


def amplitude_spectrum(x: np.ndarray, fs: float) -> Spectrum:
    """Amplitude-correct Hann-windowed spectrum.

    A sine of amplitude A (peak) at a bin-centred frequency reads A at its bin; the window's
    coherent gain (sum of the window) is divided out, so levels are comparable across lengths.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (e.g. acceleration, m/s^2).
    fs : float
        Sample rate (Hz).
    """
    x = np.asarray(x, dtype=float)
    w = hann_window(x.size)
    spec = sfft.rfft((x - x.mean()) * w)
    amp = np.abs(spec) * (2.0 / w.sum())
    amp[0] *= 0.5
    return Spectrum(sfft.rfftfreq(x.size, 1.0 / fs), amp, fs / x.size)


def _velocity_spectrum(acc_spectrum: np.ndarray, n: int, fs: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Velocity rfft (mm/s units) from an acceleration rfft (m/s^2): V = A / (j 2 pi f), band-limited."""
    freqs = np.arange(acc_spectrum.size) * (fs / n)
    keep = (freqs >= band_hz[0]) & (freqs <= band_hz[1]) & (freqs > 0)
    vel = np.zeros_like(acc_spectrum)
    vel[keep] = acc_spectrum[keep] / (2j * np.pi * freqs[keep]) * 1e3
    return vel


def velocity_rms_mm_s(x: np.ndarray, fs: float, band_hz: tuple[float, float] = (10.0, 1000.0),
                      acc_rfft: np.ndarray | None = None) -> float:
    """Broadband velocity RMS (mm/s) in ``band_hz`` from acceleration (m/s^2), by Parseval.

    Integration in the frequency domain (divide by j 2 pi f) with band limits: below the low limit
    the 1/f gain would blow up sensor drift, above the high limit ISO 20816 does not look.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Acceleration (m/s^2).
    fs : float
        Sample rate (Hz).
    band_hz : (float, float)
        Integration band (Hz); ISO 20816-3 uses 10-1000 Hz for machines above 600 rpm.
    acc_rfft : np.ndarray, optional
        ``scipy.fft.rfft`` of the mean-removed x if already computed (saves one FFT).
    """
    n = len(x)
    if acc_rfft is None:
        xx = np.asarray(x, dtype=float)
        acc_rfft = sfft.rfft(xx - xx.mean())
    # Only the bins inside the band are non-zero: integrate that slice (the full-length velocity
    # spectrum of _velocity_spectrum gives the same sum at several times the cost).
    lo, omega_sq = _band_omega_squared(n, float(fs), float(band_hz[0]), float(band_hz[1]), acc_rfft.size)
    if omega_sq.size == 0:
        return 0.0
    band = acc_rfft[lo:lo + omega_sq.size]
    power = (band.real ** 2 + band.imag ** 2) / omega_sq * 1e6
    # One-sided Parseval: interior bins count twice, the Nyquist bin once (DC is never in the band).
    at_nyquist = n % 2 == 0 and lo + omega_sq.size == acc_rfft.size
    total = 2.0 * power.sum() - (power[-1] if at_nyquist else 0.0)
    return float(np.sqrt(total) / n)


@lru_cache(maxsize=32)
def _band_omega_squared(n: int, fs: float, low_hz: float, high_hz: float, bins: int) -> tuple[int, np.ndarray]:
    """The rfft bins inside [low_hz, high_hz] (never DC) and their squared angular frequencies.

    Cached: a pipeline sees the same length, rate and band burst after burst.

    Parameters
    ----------
    n : int
        Signal length (samples).
    fs : float
        Sample rate (Hz).
    low_hz, high_hz : float
        Band limits (Hz).
    bins : int
        Length of the rfft (n // 2 + 1 for a full one).

    Returns
    -------
    lo : int
        First bin in the band.
    omega_sq : np.ndarray, shape (m,), read-only
        (2 pi f)^2 in (rad/s)^2 of bins lo .. lo + m - 1; empty when no bin is in the band.
    """
    res = fs / n
    lo = max(int(np.ceil(low_hz / res)), 1)
    hi = min(int(np.floor(high_hz / res)), bins - 1)
    omega_sq = (2.0 * np.pi * res * np.arange(lo, hi + 1)) ** 2
    omega_sq.flags.writeable = False  # shared by every later call
    return lo, omega_sq


def velocity_signal_mm_s(x: np.ndarray, fs: float, band_hz: tuple[float, float] = (10.0, 1000.0)) -> np.ndarray:
    """Velocity waveform (mm/s), shape (n,), by band-limited frequency-domain integration of m/s^2."""
    xx = np.asarray(x, dtype=float)
    vel = _velocity_spectrum(sfft.rfft(xx - xx.mean()), xx.size, fs, band_hz)
    return sfft.irfft(vel, xx.size)


def time_statistics(x: np.ndarray) -> dict[str, float]:
    """RMS, peak, crest factor and kurtosis of an acceleration signal.

    Returns
    -------
    dict with ``acc_rms_m_s2`` (m/s^2, mean removed), ``peak_m_s2`` (m/s^2, largest absolute value),
    ``crest_factor`` (peak / RMS), ``kurtosis`` (non-excess: 3 for Gaussian noise, 1.5 for a sine).
    """
    xx = np.asarray(x, dtype=float)
    n = xx.size
    # sum / n is what ndarray.mean computes, without its Python-level overhead (same bits).
    centred = xx - xx.sum() / n
    # Largest |x| from max and min: two reads, no |x| temporary.
    peak = float(max(centred.max(), -centred.min()))
    # Square in place, twice: the centred copy is ours and one buffer serves x^2 and then x^4.
    # Plain ufunc sums, not np.dot: BLAS threads on a shared, busy machine cost milliseconds here.
    powers = np.square(centred, out=centred)
    var = float(powers.sum() / n)
    rms = np.sqrt(var)
    np.square(powers, out=powers)
    kurt = float(powers.sum() / n / var ** 2) if var > 0 else 0.0
    return {"acc_rms_m_s2": float(rms), "peak_m_s2": peak,
            "crest_factor": peak / rms if rms > 0 else 0.0, "kurtosis": kurt}
