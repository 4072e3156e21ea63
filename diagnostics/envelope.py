"""Envelope analysis: squared envelope spectra of frequency bands, with cepstral pre-whitening.

Bearing defects show as impacts repeating at the defect frequency, each ringing a resonance far
above it. Demodulating a band around that resonance (the squared magnitude of its analytic signal)
and taking the spectrum of that envelope shows the repetition rate as a line. The band is taken
straight from the signal's rfft and moved to baseband, so the envelope is computed at a reduced
sample rate (twice the band width) at no loss: its spectrum keeps the full 1/duration resolution.

Cepstral pre-whitening (Sawalhi & Randall; Borghesani et al., MSSP 36, 2013) divides the spectrum by
its own magnitude. That flattens discrete lines (shaft and gear harmonics) and structural
resonances alike, so short impacts stand out wherever they are in the band.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

__all__ = ["EnvelopeSpectrum", "prewhiten", "band_envelope_spectrum", "envelope_signal"]


@dataclass(frozen=True)
class EnvelopeSpectrum:
    """Squared envelope spectrum of one band.

    Attributes
    ----------
    freqs_hz : np.ndarray, shape (m,)
        Frequencies (Hz) from 0 to the band width, spacing fs / n (1 / burst duration).
    amplitude : np.ndarray, shape (m,)
        Spectrum of the squared envelope, normalised by its mean (the DC term), dimensionless:
        a line of 0.1 means the squared envelope is modulated by 10 % at that frequency.
    band_hz : (float, float)
        The demodulated band (Hz).
    label : str
        Which view produced it, e.g. ``"whitened full band"``.
    """

    freqs_hz: np.ndarray
    amplitude: np.ndarray
    band_hz: tuple[float, float]
    label: str

    @property
    def resolution_hz(self) -> float:
        return float(self.freqs_hz[1] - self.freqs_hz[0]) if self.freqs_hz.size > 1 else 0.0


def prewhiten(spectrum: np.ndarray) -> np.ndarray:
    """Cepstral pre-whitening of an rfft: unit magnitude, phase kept, shape unchanged.

    Setting the real cepstrum to zero except at quefrency 0 is the same as dividing by |X|.
    """
    mag = np.abs(spectrum)
    floor = 1e-12 * (mag.max() if mag.size else 1.0)
    out = spectrum / np.maximum(mag, floor)
    out[0] = 0.0  # no DC: the envelope is of the vibration, not the offset
    return out


def _band_bins(n: int, fs: float, band_hz: tuple[float, float]) -> tuple[int, int]:
    nyq_bin = n // 2
    lo = int(np.clip(np.ceil(band_hz[0] * n / fs), 1, nyq_bin))
    hi = int(np.clip(np.floor(band_hz[1] * n / fs) + 1, lo + 1, nyq_bin + 1))
    return lo, hi


def envelope_signal(spectrum: np.ndarray, n: int, fs: float, band_hz: tuple[float, float]) -> tuple[np.ndarray, float]:
    """Complex envelope of a band at a reduced rate.

    Parameters
    ----------
    spectrum : np.ndarray, complex, shape (n//2 + 1,)
        rfft of the signal (units u, e.g. m/s^2).
    n : int
        Length of the signal in samples.
    fs : float
        Sample rate (Hz).
    band_hz : (float, float)
        Band to demodulate (Hz).

    Returns
    -------
    z : np.ndarray, complex, shape (m,)
        Analytic signal of the band shifted to baseband, amplitude in u (|z| is the envelope).
    rate_hz : float
        Sample rate of z (Hz), m / n * fs.
    """
    lo, hi = _band_bins(n, fs, band_hz)
    width = hi - lo
    m = sfft.next_fast_len(2 * width)
    shifted = np.zeros(m, dtype=complex)
    shifted[:width] = spectrum[lo:hi]
    # rfft holds half the energy of a real sine per positive bin; the analytic signal needs 2x.
    z = sfft.ifft(shifted) * (2.0 * m / n)
    return z, m / n * fs


def band_envelope_spectrum(spectrum: np.ndarray, n: int, fs: float, band_hz: tuple[float, float],
                           label: str = "") -> EnvelopeSpectrum:
    """Squared envelope spectrum of one band of a signal given by its rfft.

    Parameters
    ----------
    spectrum : np.ndarray, complex, shape (n//2 + 1,)
        rfft of the signal (raw or pre-whitened).
    n : int
        Signal length (samples).
    fs : float
        Sample rate (Hz).
    band_hz : (float, float)
        Band to demodulate (Hz).
    label : str
        Name of this view, carried into evidence.

    Returns
    -------
    EnvelopeSpectrum
        Normalised by the mean squared envelope; frequencies up to the band width.
    """
    z, _rate = envelope_signal(spectrum, n, fs, band_hz)
    sq = z.real ** 2 + z.imag ** 2
    m = sq.size
    ses = np.abs(sfft.rfft(sq)) / m
    mean = ses[0] if ses[0] > 0 else 1.0
    lo, hi = _band_bins(n, fs, band_hz)
    keep = min(ses.size, hi - lo)  # above the band width the squared envelope has no content
    amp = 2.0 * ses[:keep] / mean
    amp[0] = 0.0
    return EnvelopeSpectrum(np.arange(keep) * (fs / n), amp, (lo * fs / n, (hi - 1) * fs / n), label)
