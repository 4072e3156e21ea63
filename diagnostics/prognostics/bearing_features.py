"""Per-snapshot condition features of run-to-failure bearings, vectorised over snapshots.

A bearing's history is a stack of short vibration snapshots (FEMTO / PRONOSTIA: 2560 samples at
25.6 kHz every 10 s, two axes). Every feature here is computed for all snapshots at once from one
rfft of the stack, so a 2,800-snapshot history takes a second, not a minute.
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from scipy.signal import hilbert

__all__ = ["BAND_EDGES_HZ", "snapshot_features", "FEATURE_NAMES"]

# Octave-like bands: a spall first rings the structure's resonances (kHz), then broadband wear raises
# everything; the bands let the health-indicator comparison see which range rises first.
BAND_EDGES_HZ = (0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 12800.0)
_AXIS_FEATURES = ("rms", "peak", "kurtosis", "crest") + tuple(
    f"band{i}_rms" for i in range(len(BAND_EDGES_HZ) - 1)) + ("envelope_kurtosis",)


def feature_names(n_axes: int) -> list[str]:
    """Names :func:`snapshot_features` returns for ``n_axes`` axes (``<feature>_<axis>``)."""
    return [f"{name}_{axis}" for axis in range(n_axes) for name in _AXIS_FEATURES]


FEATURE_NAMES = feature_names(2)


def snapshot_features(acc: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """Condition features of every snapshot in a stack.

    Parameters
    ----------
    acc : np.ndarray, shape (n_snapshots, n_samples, n_axes)
        Acceleration (any consistent unit, e.g. g), one snapshot per row.
    fs : float
        Sample rate (Hz).

    Returns
    -------
    dict of name -> np.ndarray, shape (n_snapshots,)
        Per axis ``a``: ``rms_a``, ``peak_a`` (max abs), ``kurtosis_a`` (non-excess), ``crest_a``,
        ``band<i>_rms_a`` (RMS within ``BAND_EDGES_HZ[i]..[i+1]``, Parseval on the rfft) and
        ``envelope_kurtosis_a`` (kurtosis of the Hilbert envelope of the 2 kHz+ band: impulsive
        impacts give a spiky envelope).
    """
    acc = np.asarray(acc, dtype=np.float64)
    if acc.ndim != 3:
        raise ValueError(f"acc: expected shape (n_snapshots, n_samples, n_axes), got {acc.shape}")
    n = acc.shape[1]
    x = acc - acc.mean(axis=1, keepdims=True)
    power = x * x
    ms = power.mean(axis=1)
    rms = np.sqrt(ms)
    peak = np.abs(x).max(axis=1)
    safe_ms = np.where(ms > 0, ms, 1.0)
    kurt = np.where(ms > 0, (power * power).mean(axis=1) / safe_ms ** 2, 0.0)
    crest = np.where(rms > 0, peak / np.where(rms > 0, rms, 1.0), 0.0)
    spec = sfft.rfft(x, axis=1)
    freqs = np.arange(spec.shape[1]) * fs / n
    # Parseval: sum |X_k|^2 over the one-sided spectrum, doubled except DC and Nyquist, / n^2 = mean x^2.
    weight = np.full(spec.shape[1], 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    psd = (np.abs(spec) ** 2) * weight[None, :, None] / n ** 2
    out: dict[str, np.ndarray] = {}
    bands = []
    for lo, hi in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]):
        sel = (freqs >= lo) & (freqs < hi) if hi < BAND_EDGES_HZ[-1] else (freqs >= lo)
        bands.append(np.sqrt(psd[:, sel, :].sum(axis=1)))
    high = spec.copy()
    high[:, freqs < 2000.0, :] = 0.0
    envelope = np.abs(hilbert(sfft.irfft(high, n, axis=1), axis=1))
    env = envelope - envelope.mean(axis=1, keepdims=True)
    env_ms = (env * env).mean(axis=1)
    env_kurt = np.where(env_ms > 0, (env ** 4).mean(axis=1) / np.where(env_ms > 0, env_ms, 1.0) ** 2, 0.0)
    for axis in range(acc.shape[2]):
        out[f"rms_{axis}"] = rms[:, axis]
        out[f"peak_{axis}"] = peak[:, axis]
        out[f"kurtosis_{axis}"] = kurt[:, axis]
        out[f"crest_{axis}"] = crest[:, axis]
        for i, band in enumerate(bands):
            out[f"band{i}_rms_{axis}"] = band[:, axis]
        out[f"envelope_kurtosis_{axis}"] = env_kurt[:, axis]
    return out
