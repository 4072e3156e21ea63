"""Realistic synthetic vibration bursts with known faults (for the simulator, tests and evaluation).

The model follows the usual phenomenology (Randall, "Vibration-based Condition Monitoring", 2011):

* rotating machinery: shaft harmonics 1x, 2x, 3x of modest velocity amplitude;
* gears: mesh frequency and its harmonics with weak sidebands at both shaft speeds;
* piston pumps: piston-pass frequency and harmonic; alternators: line and 2 x line frequency;
* bearing defects: impulses repeating at the true defect frequency with 1 % random jitter (slip),
  each ringing a structural resonance (a decaying sine); inner-race impulses are amplitude-modulated
  at the shaft rate (the defect passes through the load zone), rolling-element impulses at the cage
  rate, outer-race impulses are not modulated (the defect sits still in the load zone);
* broadband Gaussian noise at the requested signal-to-noise ratio, defined as
  ``20 log10(rms(clean signal) / rms(noise))`` with the clean signal including the fault.

Severity 0..1 scales the fault's own part of the signal linearly; severity 0 gives a healthy burst.
The output is deterministic for a given seed.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .kinematics import ComponentKinematics, DefectFrequencies

__all__ = ["synthesize_burst", "FAULT_MODES", "BEARING_FAULTS", "GEAR_FAULTS"]

BEARING_FAULTS = ("bearing_outer_race", "bearing_inner_race", "bearing_rolling_element", "bearing_cage")
GEAR_FAULTS = ("gear_wear", "gear_broken_tooth")
FAULT_MODES = BEARING_FAULTS + GEAR_FAULTS + ("unbalance", "misalignment", "looseness", "electrical")

# Healthy running levels, velocity amplitude (mm/s, peak) of the shaft harmonics: about 1 mm/s RMS
# overall, zone A/B of a group 2 machine.
_HEALTHY_SHAFT_VELOCITY_MM_S = (1.2, 0.45, 0.2)
_GEAR_MESH_ACC = (0.6, 0.25, 0.1)          # m/s^2 peak at 1x, 2x, 3x mesh frequency
_WEAR_MESH_GROWTH = (1.2, 1.0, 0.6)         # m/s^2 peak added at 1x, 2x, 3x mesh at wear severity 1
_GEAR_SIDEBAND_ACC = 0.04                   # m/s^2 peak, each first-order sideband (healthy)
_PISTON_ACC = (0.4, 0.15)                   # m/s^2 peak at 1x, 2x piston pass
_LINE_ACC = (0.05, 0.12)                    # m/s^2 peak at 1x, 2x line frequency
_IMPULSE_PEAK_ACC = 25.0                    # m/s^2 peak of one bearing impact ring at severity 1
_RESONANCE_DAMPING = 0.04                   # damping ratio of the structural resonance


def _resonance_hz(fs: float) -> float:
    """Structural resonance excited by impacts (Hz): 3.4 kHz, kept well below Nyquist."""
    return min(3400.0, 0.28 * fs)


def _tone(t: np.ndarray, freq_hz: float, amp: float, rng: np.random.Generator) -> np.ndarray:
    if freq_hz <= 0 or freq_hz >= 0.5 / (t[1] - t[0]):
        return np.zeros_like(t)
    return amp * np.cos(2 * np.pi * freq_hz * t + rng.uniform(0, 2 * np.pi))


def _velocity_tone(t: np.ndarray, freq_hz: float, vel_mm_s: float, rng: np.random.Generator) -> np.ndarray:
    """Acceleration (m/s^2) of a sine whose velocity amplitude is vel_mm_s (mm/s peak)."""
    return _tone(t, freq_hz, vel_mm_s * 1e-3 * 2 * np.pi * freq_hz, rng)


def _impulse_train(n: int, fs: float, rate_hz: float, rng: np.random.Generator,
                   jitter: float = 0.01) -> np.ndarray:
    """Unit impulses at mean rate ``rate_hz`` with relative period jitter (slip), shape (n,)."""
    out = np.zeros(n)
    period = fs / rate_hz
    count = int(n / period) + 2
    periods = period * (1.0 + jitter * rng.standard_normal(count))
    positions = rng.uniform(0, period) + np.concatenate([[0.0], np.cumsum(periods[:-1])])
    idx = np.round(positions).astype(int)
    out[idx[idx < n]] = 1.0
    return out


def _ring(n: int, fs: float) -> np.ndarray:
    """Impulse response of the structural resonance, unit peak, shape (<= n,)."""
    fn = _resonance_hz(fs)
    decay = _RESONANCE_DAMPING * 2 * np.pi * fn
    length = min(n, int(fs * 6.0 / decay))
    t = np.arange(length) / fs
    return np.exp(-decay * t) * np.sin(2 * np.pi * fn * np.sqrt(1 - _RESONANCE_DAMPING ** 2) * t)


def _rings(impulses: np.ndarray, fs: float) -> np.ndarray:
    """Each impulse rings the structural resonance (linear convolution, FFT based)."""
    from scipy.signal import fftconvolve

    return fftconvolve(impulses, _ring(impulses.size, fs))[: impulses.size]


def _bearing_fault(fault: str, freqs: DefectFrequencies, location: str, t: np.ndarray, fs: float,
                   severity: float, rng: np.random.Generator) -> np.ndarray:
    bearing = freqs.bearings[location]
    fr = freqs.shaft_hz
    if fault == "bearing_outer_race":
        rate, modulation = bearing["bpfo"], np.ones_like(t)
    elif fault == "bearing_inner_race":
        # The defect rotates with the shaft through the load zone: impacts strongest once a turn.
        rate = bearing["bpfi"]
        modulation = 0.55 + 0.45 * np.cos(2 * np.pi * fr * t + rng.uniform(0, 2 * np.pi))
    elif fault == "bearing_rolling_element":
        # A spalled ball hits both races once per spin turn; it circles with the cage through the load zone.
        rate = 2.0 * bearing["bsf"]
        modulation = 0.5 + 0.5 * np.cos(2 * np.pi * bearing["ftf"] * t + rng.uniform(0, 2 * np.pi))
    else:  # bearing_cage: a damaged cage knocks once per cage turn, weakly
        rate, modulation = bearing["ftf"], 0.6 * np.ones_like(t)
    impulses = _impulse_train(t.size, fs, rate, rng) * modulation
    impulses *= 1.0 + 0.1 * rng.standard_normal(t.size)  # impact strength varies a little
    return severity * _IMPULSE_PEAK_ACC * _rings(impulses, fs)


def _broken_tooth(gear: dict[str, float], t: np.ndarray, fs: float, severity: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Broken tooth: once per turn of its gear the mesh jolts: an impact plus a dip of the mesh tone."""
    shaft, gmf = gear["shaft_hz"], gear["gmf"]
    cycle = (t * shaft + rng.uniform(0, 1)) % 1.0
    dip = np.exp(-0.5 * (np.minimum(cycle, 1 - cycle) / 0.02) ** 2)
    out = -severity * 0.8 * dip * _tone(t, gmf, _GEAR_MESH_ACC[0], rng)
    impulses = _impulse_train(t.size, fs, shaft, rng, jitter=0.002)
    return out + severity * 0.5 * _IMPULSE_PEAK_ACC * _rings(impulses, fs)


def _shaft_velocity_orders(fault: str | None, severity: float) -> dict[float, float]:
    """Velocity amplitude (mm/s peak) per shaft order, healthy plus rotor-fault growth.

    Faults grow the existing lines (same phase) rather than adding a second tone at the same
    frequency, which could cancel the first.
    """
    orders = {float(k): v for k, v in enumerate(_HEALTHY_SHAFT_VELOCITY_MM_S, start=1)}
    if fault == "unbalance":
        orders[1.0] += severity * 9.0
    elif fault == "misalignment":
        orders[1.0] += severity * 2.5
        orders[2.0] += severity * 7.0
        orders[3.0] += severity * 2.5
    elif fault == "looseness":
        # Mechanical looseness: a truncated, rattling response: many harmonics and half orders.
        for k in range(1, 11):
            orders[float(k)] = orders.get(float(k), 0.0) + severity * 3.0 / k ** 0.5
        for k in (0.5, 1.5, 2.5, 3.5):
            orders[k] = severity * 1.5
    return orders


def synthesize_burst(kinematics: ComponentKinematics | Mapping[str, Any], shaft_rpm: float,
                     fs: float = 25600.0, duration_s: float = 1.0, fault: str | None = None,
                     severity: float = 0.0, snr_db: float = 20.0, seed: int = 0,
                     fault_location: str | None = None) -> np.ndarray:
    """Synthesize one vibration burst of a component, healthy or with one fault.

    Parameters
    ----------
    kinematics : ComponentKinematics or dict
        The component (contract dict accepted).
    shaft_rpm : float
        Shaft speed recorded with the burst (rpm); the component turns at ``shaft_ratio`` times it.
    fs : float
        Sample rate (Hz).
    duration_s : float
        Burst length (s).
    fault : str or None
        One of :data:`FAULT_MODES`, or None for a healthy machine.
    severity : float
        0..1, scales the fault's contribution (0 = healthy).
    snr_db : float
        Signal-to-noise ratio (dB) of the whole clean signal to the added white noise.
    seed : int
        Random seed: same arguments, same burst.
    fault_location : str or None
        Bearing or gear name the fault sits on; default the first bearing / gear.

    Returns
    -------
    np.ndarray, float32, shape (round(fs * duration_s),)
        Acceleration in m/s^2.
    """
    kin = kinematics if isinstance(kinematics, ComponentKinematics) else ComponentKinematics.from_dict(kinematics)
    if fault is not None and fault not in FAULT_MODES:
        raise ValueError(f"fault must be one of {FAULT_MODES} or None, got {fault!r}")
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity}")
    if shaft_rpm <= 0 or fs <= 0 or duration_s <= 0:
        raise ValueError("shaft_rpm, fs and duration_s must be positive")
    rng = np.random.default_rng(seed)
    n = int(round(fs * duration_s))
    t = np.arange(n) / fs
    freqs = kin.frequencies(shaft_rpm)
    fr = freqs.shaft_hz

    active = fault if (fault is not None and severity > 0) else None
    signal = np.zeros(n)
    for order, vel in _shaft_velocity_orders(active, severity).items():
        signal += _velocity_tone(t, order * fr, vel, rng)
    for name, gear in freqs.gears.items():
        wear = severity if (active == "gear_wear" and name == (fault_location or next(iter(freqs.gears)))) else 0.0
        for k, amp in enumerate(_GEAR_MESH_ACC, start=1):
            signal += _tone(t, k * gear["gmf"], amp + wear * _WEAR_MESH_GROWTH[k - 1], rng)
        for shaft in (gear["shaft_hz"], gear["mating_shaft_hz"]):
            for sign in (-1, 1):
                for k in (1, 2) if wear else (1,):
                    level = _GEAR_SIDEBAND_ACC + wear * 0.25 * _WEAR_MESH_GROWTH[k - 1]
                    signal += _tone(t, k * gear["gmf"] + sign * shaft, level, rng)
    if freqs.piston_pass_hz:
        for k, amp in enumerate(_PISTON_ACC, start=1):
            signal += _tone(t, k * freqs.piston_pass_hz, amp, rng)
    if freqs.line_hz:
        # Electrical fault (e.g. eccentric air gap): the magnetic pull at 2 x line frequency grows.
        growth = (0.5, 3.0) if active == "electrical" else (0.0, 0.0)
        for k, amp in enumerate(_LINE_ACC, start=1):
            signal += _tone(t, k * freqs.line_hz, amp + severity * growth[k - 1], rng)

    if fault is not None and severity > 0:
        if fault in BEARING_FAULTS:
            if not freqs.bearings:
                raise ValueError(f"{fault} needs a bearing in the kinematics")
            location = fault_location or next(iter(freqs.bearings))
            if location not in freqs.bearings:
                raise ValueError(f"no bearing named {location!r}")
            signal += _bearing_fault(fault, freqs, location, t, fs, severity, rng)
        elif fault in GEAR_FAULTS:
            if not freqs.gears:
                raise ValueError(f"{fault} needs a gear in the kinematics")
            location = fault_location or next(iter(freqs.gears))
            if location not in freqs.gears:
                raise ValueError(f"no gear named {location!r}")
            if fault == "gear_broken_tooth":
                signal += _broken_tooth(freqs.gears[location], t, fs, severity, rng)
        elif fault == "electrical" and not freqs.line_hz:
            raise ValueError("electrical needs 'electrical' in the kinematics")

    noise_rms = np.sqrt(np.mean(signal ** 2)) / 10 ** (snr_db / 20.0)
    signal += noise_rms * rng.standard_normal(n)
    return signal.astype(np.float32)
