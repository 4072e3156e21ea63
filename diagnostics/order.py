"""Order spectra for bursts taken while the speed changes (computed order tracking).

When the shaft speeds up or slows down during a burst, every speed-locked line smears over a range
of frequencies. Resampling the signal at equal increments of shaft angle instead of time makes
each such line a single order again (Fyfe & Munck, MSSP 11, 1997): the spectrum of the resampled
signal is an *order spectrum*, with the x axis in multiples of the shaft speed.

The shaft angle comes from a speed profile: either speeds at given times (e.g. from the operating
data stream, or start and end of the burst) or one value per sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from .spectrum import hann_window

__all__ = ["OrderSpectrum", "shaft_angle_rev", "angular_resample", "order_spectrum"]


@dataclass(frozen=True)
class OrderSpectrum:
    """Amplitude spectrum against shaft order.

    Attributes
    ----------
    orders : np.ndarray, shape (k,)
        Multiples of the shaft speed (dimensionless); spacing 1 / revolutions in the burst.
    amplitude : np.ndarray, shape (k,)
        Peak amplitude of each order component (units of the signal, e.g. m/s^2), Hann window.
    revolutions : float
        Shaft revolutions covered by the burst.
    """

    orders: np.ndarray
    amplitude: np.ndarray
    revolutions: float


def shaft_angle_rev(n: int, fs: float, rpm_times_s: np.ndarray, rpm_values: np.ndarray) -> np.ndarray:
    """Shaft angle (revolutions since the first sample) at each of n samples.

    Parameters
    ----------
    n : int
        Number of samples.
    fs : float
        Sample rate (Hz).
    rpm_times_s : np.ndarray, shape (p,)
        Times (s, from the first sample) at which the speed is known, ascending.
    rpm_values : np.ndarray, shape (p,)
        Shaft speed (rpm) at those times; linear in between, held outside.
    """
    t = np.arange(n) / fs
    rpm = np.interp(t, np.asarray(rpm_times_s, float), np.asarray(rpm_values, float))
    if np.any(rpm <= 0):
        raise ValueError("rpm_values: shaft speed must stay positive during the burst")
    rev_per_s = rpm / 60.0
    # Trapezoidal integration of speed over time.
    return np.concatenate([[0.0], np.cumsum(0.5 * (rev_per_s[1:] + rev_per_s[:-1]) / fs)])


def angular_resample(x: np.ndarray, angle_rev: np.ndarray, samples_per_rev: int) -> np.ndarray:
    """The signal at equal angle steps (1 / samples_per_rev revolution), by linear interpolation.

    Choose ``samples_per_rev`` so that samples_per_rev x max speed (rev/s) stays below the original
    sample rate: interpolation must not invent content above the original Nyquist frequency.
    """
    grid = np.arange(0.0, angle_rev[-1], 1.0 / samples_per_rev)
    return np.interp(grid, angle_rev, np.asarray(x, float))


def order_spectrum(x: np.ndarray, fs: float, rpm_times_s, rpm_values, max_order: float = 50.0) -> OrderSpectrum:
    """Order spectrum of a burst with a varying speed.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (e.g. acceleration, m/s^2).
    fs : float
        Sample rate (Hz).
    rpm_times_s, rpm_values : array-like
        Speed profile (see :func:`shaft_angle_rev`); a single speed gives a plain spectrum in orders.
    max_order : float
        Highest order of interest; sets the angular sample rate (4 x max_order per revolution,
        limited by the original Nyquist frequency at the highest speed).

    Returns
    -------
    OrderSpectrum
    """
    x = np.asarray(x, float)
    times = np.atleast_1d(np.asarray(rpm_times_s, float))
    values = np.atleast_1d(np.asarray(rpm_values, float))
    if times.size != values.size or times.size == 0:
        raise ValueError("rpm_times_s and rpm_values must be non-empty and of equal length")
    if np.any(values <= 0) or not np.all(np.isfinite(values)):
        raise ValueError("rpm_values: shaft speeds must be positive numbers")
    angle = shaft_angle_rev(x.size, fs, times, values)
    max_rev_per_s = float(values.max()) / 60.0
    per_rev = int(min(4.0 * max_order, 0.9 * fs / max_rev_per_s))
    if per_rev < 8:
        raise ValueError("max_order: too low a sample rate for this speed")
    y = angular_resample(x - x.mean(), angle, per_rev)
    w = hann_window(y.size)
    amp = np.abs(sfft.rfft(y * w)) * (2.0 / w.sum())
    orders = sfft.rfftfreq(y.size, 1.0 / per_rev)
    keep = orders <= max_order
    return OrderSpectrum(orders[keep], amp[keep], float(angle[-1]))
