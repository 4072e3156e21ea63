"""Wavelet views: wavelet-packet band energies (features) and a CWT scalogram (display only)."""
from __future__ import annotations

import numpy as np
import pywt

__all__ = ["packet_energies", "scalogram"]


def packet_energies(x: np.ndarray, level: int = 3, wavelet: str = "db4") -> np.ndarray:
    """Relative energy of each wavelet-packet node at ``level``, in frequency order.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (any units).
    level : int
        Decomposition depth: 2**level bands of width fs / 2**(level+1) Hz each.
    wavelet : str
        PyWavelets wavelet name.

    Returns
    -------
    np.ndarray, shape (2**level,)
        Energy fractions (dimensionless, sum 1), lowest band first.
    """
    # Split each node into approximation and detail level by level; a detail's spectrum is mirrored,
    # so its children swap places to keep frequency order (the Gray-code ordering of packets).
    nodes = [np.asarray(x, dtype=float)]
    for _ in range(level):
        nxt = []
        for i, node in enumerate(nodes):
            approx, detail = pywt.dwt(node, wavelet, mode="periodization")
            nxt.extend((approx, detail) if i % 2 == 0 else (detail, approx))
        nodes = nxt
    energies = np.array([float(np.dot(nd, nd)) for nd in nodes])
    total = energies.sum()
    return energies / total if total > 0 else energies


def scalogram(x: np.ndarray, fs: float, n_scales: int = 48, max_points: int = 400,
              f_min_hz: float | None = None, f_max_hz: float | None = None) -> dict:
    """Morlet CWT magnitude for display, downsampled in time.

    Parameters
    ----------
    x : np.ndarray, shape (n,)
        Signal (m/s^2).
    fs : float
        Sample rate (Hz).
    n_scales : int
        Number of frequencies, log-spaced.
    max_points : int
        Time samples kept (block maxima, so impacts are not averaged away).

    Returns
    -------
    dict with ``times_s`` (max_points,), ``freqs_hz`` (n_scales,), ``magnitude`` (n_scales, max_points)
    as nested lists, in the units of x.
    """
    x = np.asarray(x, dtype=float)
    # Analyse at most ~0.25 s at full rate: a scalogram is read by eye, and the CWT costs O(n * scales).
    x = x[: int(min(x.size, 0.25 * fs))]
    f_max = f_max_hz or 0.45 * fs
    f_min = f_min_hz or max(fs / x.size * 8, 20.0)
    freqs = np.geomspace(f_max, f_min, n_scales)
    wavelet = "cmor1.5-1.0"
    scales = pywt.frequency2scale(wavelet, freqs / fs)
    coef, _ = pywt.cwt(x - x.mean(), scales, wavelet, sampling_period=1.0 / fs, method="fft")
    mag = np.abs(coef)
    block = max(1, mag.shape[1] // max_points)
    usable = (mag.shape[1] // block) * block
    pooled = mag[:, :usable].reshape(mag.shape[0], -1, block).max(axis=2)
    times = (np.arange(pooled.shape[1]) * block + block / 2) / fs
    return {"times_s": times.tolist(), "freqs_hz": freqs.tolist(), "magnitude": pooled.tolist()}
