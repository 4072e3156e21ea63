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
    averages : float
        Effective number of averaged segments (1 for one burst; sets the chance level of lines).
    """

    freqs_hz: np.ndarray
    amplitude: np.ndarray
    band_hz: tuple[float, float]
    label: str
    averages: float = 1.0

    @property
    def resolution_hz(self) -> float:
        return float(self.freqs_hz[1] - self.freqs_hz[0]) if self.freqs_hz.size > 1 else 0.0


def prewhiten(spectrum: np.ndarray) -> np.ndarray:
    """Cepstral pre-whitening of an rfft: unit magnitude, phase kept, shape unchanged.

    Setting the real cepstrum to zero except at quefrency 0 is the same as dividing by |X|.
    """
    mag = np.abs(spectrum)
    floor = 1e-12 * (mag.max() if mag.size else 1.0)
    # NumPy divides a complex by a real by promoting the real to complex and multiplying by its
    # reciprocal; multiplying by the reciprocal directly gives the same bits in under half the time.
    out = spectrum * (1.0 / np.maximum(mag, floor))
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
                           label: str = "", segment_s: float = 1.0) -> EnvelopeSpectrum:
    """Squared envelope spectrum of one band of a signal given by its rfft.

    Signals longer than two segments are averaged Welch-style: the squared envelope is cut into
    ``segment_s`` segments (50 % overlap, Hann), their spectra are power-averaged. Averaging K
    segments divides the variance of the noise floor by about K, so defect lines stand out more
    than in one long spectrum whose extra resolution a jittering defect rate cannot use anyway.

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
    segment_s : float
        Segment length (s) for averaging long signals; resolution is then 1 / segment_s Hz.

    Returns
    -------
    EnvelopeSpectrum
        Normalised by the mean squared envelope; frequencies up to the band width.
    """
    z, rate = envelope_signal(spectrum, n, fs, band_hz)
    sq = z.real ** 2 + z.imag ** 2
    m = sq.size
    mean = float(sq.mean()) or 1.0
    lo, hi = _band_bins(n, fs, band_hz)
    band = (lo * fs / n, (hi - 1) * fs / n)
    seg = int(round(segment_s * rate))
    if m >= 2 * seg and seg >= 16:
        frames = np.lib.stride_tricks.sliding_window_view(sq, seg)[:: seg // 2]
        window = np.hanning(seg + 1)[:-1]
        spec = sfft.rfft((frames - frames.mean(axis=1, keepdims=True)) * window, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).mean(axis=0)
        amp = np.sqrt(power) * (2.0 / window.sum()) / mean
        resolution = rate / seg
        # Hann segments at 50 % overlap are not independent: ~0.9 equivalent averages per segment.
        averages = max(1.0, 0.9 * frames.shape[0])
    else:
        amp = 2.0 * np.abs(sfft.rfft(sq)) / m / mean
        resolution = fs / n
        averages = 1.0
    keep = min(amp.size, int((band[1] - band[0]) / resolution) + 1)  # above the band width: no content
    amp = amp[:keep]
    amp[0] = 0.0
    return EnvelopeSpectrum(np.arange(keep) * resolution, amp, band, label, averages)
