"""Run-to-failure degradation paths for simulated components, and their labelled feature histories.

A component wears from new to failure. Wear accumulates with load like rolling-bearing fatigue
(damage rate proportional to load cubed, the exponent of the ISO 281 basic rating life), a fault
appears once damage passes an onset level, and from there its severity grows faster and faster
(the exponent above 1 models crack and spall growth, which accelerate as they progress). The
component has failed when severity reaches 1, the scale of ``synthesize_burst``.

Units differ in wear rate (log-normal around the kind's median life), in duty (mean load and
day-to-day load swings), in where the fault sits and how it grows, and in measurement noise
(signal-to-noise ratio per unit). Every observation synthesises a vibration burst at the path's
severity and shaft speed and runs the real diagnostics pipeline on it, so the histories hold the
same features that live bursts produce; the label is the true remaining life in hours.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from diagnostics.synthesis import synthesize_burst

# Features every BurstAnalysis carries (docs/contracts.md), so live histories always have them.
HISTORY_CHANNELS = ["velocity_rms_mm_s", "acc_rms_m_s2", "peak_m_s2", "crest_factor", "kurtosis", "health_index"]

Progress = Callable[[str], None]

# Mean load (share of rated) at which a unit with the median wear rate lives the median life.
REFERENCE_LOAD = 0.75


@dataclass(frozen=True)
class ComponentVariant:
    """One build of a component kind: its kinematics and the shaft speed range it runs at (rpm)."""

    kinematics: Mapping
    rpm_min: float
    rpm_max: float


@dataclass(frozen=True)
class DegradationProfile:
    """How a component kind wears out.

    Attributes
    ----------
    kind : component kind (``Component.kind``), e.g. ``alternator_bearing``.
    variants : the builds of this kind in the fleet (e.g. excavator and genset engines).
    median_life_h : median hours from new to failure at ``REFERENCE_LOAD``.
    life_sigma : log-normal spread of the wear rate between units.
    cadence_h : hours between observations (one analysed burst each).
    """

    kind: str
    variants: tuple[ComponentVariant, ...]
    median_life_h: float = 480.0
    life_sigma: float = 0.35
    cadence_h: float = 8.0


@dataclass
class RunToFailurePath:
    """One unit's life at the observation times; arrays shape (m,)."""

    unit: str
    variant: int
    fault: str
    location: str
    snr_db: float
    life_h: float
    time_h: np.ndarray
    load: np.ndarray
    rpm: np.ndarray
    severity: np.ndarray

    @property
    def rul_h(self) -> np.ndarray:
        return self.life_h - self.time_h


def fault_modes(kinematics: Mapping) -> list[tuple[str, str]]:
    """(fault mode, location) pairs a component can develop, from what its kinematics holds."""
    modes = []
    for bearing in kinematics.get("bearings", []):
        modes += [("bearing_outer_race", bearing["name"]), ("bearing_inner_race", bearing["name"])]
    for gear in kinematics.get("gears", []):
        modes += [("gear_wear", gear["name"]), ("gear_broken_tooth", gear["name"])]
    return modes or [("unbalance", ""), ("misalignment", ""), ("looseness", "")]


def simulate_path(profile: DegradationProfile, unit: str, rng: np.random.Generator,
                  max_steps: int = 2000) -> RunToFailurePath:
    """Draw one unit's path from new to failure (no bursts yet).

    Damage D grows by ``rate * load**3 * cadence`` per step (D = 1 is the median life at
    ``REFERENCE_LOAD``); the fault starts at D = onset and severity = ((D - onset) / (1 - onset)) ** growth.
    """
    variant = int(rng.integers(len(profile.variants)))
    spec = profile.variants[variant]
    fault, location = fault_modes(spec.kinematics)[int(rng.integers(len(fault_modes(spec.kinematics))))]
    # Wear rate per hour at the reference load gives the median life; units spread log-normally.
    rate = np.exp(rng.normal(0.0, profile.life_sigma)) / (profile.median_life_h * REFERENCE_LOAD ** 3)
    mean_load = rng.uniform(0.6, 0.9)
    swing = rng.uniform(0.03, 0.12)
    onset = rng.uniform(0.25, 0.6)
    growth = rng.uniform(1.3, 2.5)
    snr_db = rng.uniform(12.0, 26.0)
    times, loads, damage = [0.0], [mean_load], [0.0]
    while damage[-1] < 1.0 and len(times) < max_steps:
        load = float(np.clip(mean_load + swing * rng.standard_normal(), 0.3, 1.0))
        damage.append(damage[-1] + rate * load ** 3 * profile.cadence_h)
        times.append(times[-1] + profile.cadence_h)
        loads.append(load)
    d = np.array(damage)
    t = np.array(times)
    # Failure happened between the last two observations: interpolate the crossing of D = 1.
    life = float(np.interp(1.0, d[-2:], t[-2:])) if d[-1] >= 1.0 else float(t[-1])
    keep = t < life
    severity = np.clip((d[keep] - onset) / (1.0 - onset), 0.0, 1.0) ** growth
    load_arr = np.array(loads)[keep]
    rpm = spec.rpm_min + (spec.rpm_max - spec.rpm_min) * load_arr
    return RunToFailurePath(unit=unit, variant=variant, fault=fault, location=location, snr_db=float(snr_db),
                            life_h=life, time_h=t[keep], load=load_arr, rpm=rpm, severity=severity)


def observe_path(path: RunToFailurePath, profile: DegradationProfile, seed: int,
                 fs: float = 25600.0, duration_s: float = 1.0) -> np.ndarray:
    """Features of every observation of a path: shape (m, len(HISTORY_CHANNELS)).

    Each observation synthesises a burst (acceleration, m/s^2) at the path's severity and shaft
    speed and analyses it with ``diagnostics.pipeline.analyze_burst``.
    """
    from diagnostics.pipeline import analyze_burst

    kinematics = profile.variants[path.variant].kinematics
    rows = np.empty((path.time_h.size, len(HISTORY_CHANNELS)))
    for i, (severity, rpm) in enumerate(zip(path.severity, path.rpm)):
        fault = path.fault if severity > 0 else None
        samples = synthesize_burst(kinematics, float(rpm), fs=fs, duration_s=duration_s, fault=fault,
                                   severity=float(severity), snr_db=path.snr_db, seed=seed * 100_003 + i,
                                   fault_location=path.location or None)
        features = analyze_burst(samples, fs, float(rpm), kinematics, component=profile.kind).features
        rows[i] = [float(features[name]) for name in HISTORY_CHANNELS]
    return rows


@dataclass
class FleetHistories:
    """Labelled histories of many units, rows grouped by unit and sorted by time.

    units (n,) str; age_h (n,) hours since new; values (n, c) features named ``channels``;
    rul_h (n,) true remaining life in hours; paths: the units' degradation paths.
    """

    units: np.ndarray
    age_h: np.ndarray
    values: np.ndarray
    channels: list[str]
    rul_h: np.ndarray
    paths: list[RunToFailurePath]


def _observe(job: tuple) -> np.ndarray:
    path, profile, seed, duration_s = job
    return observe_path(path, profile, seed=seed, duration_s=duration_s)


def run_to_failure_fleet(profile: DegradationProfile, n_units: int, seed: int = 0, workers: int = 1,
                         progress: Progress | None = None, duration_s: float = 1.0) -> FleetHistories:
    """Simulate ``n_units`` components of a kind from new to failure; reproducible for a seed.

    Paths are drawn in this process (one random stream); the bursts of each unit are synthesised
    and analysed in ``workers`` processes, the expensive part (about 20-60 ms per 1 s burst).
    """
    rng = np.random.default_rng(seed)
    paths = [simulate_path(profile, f"{profile.kind}-{k:03d}", rng) for k in range(n_units)]
    jobs = [(p, profile, seed * 10_007 + k, duration_s) for k, p in enumerate(paths)]
    blocks = []

    def note(done: int) -> None:
        if progress and (done % 4 == 0 or done == n_units):
            progress(f"[{profile.kind}] {done}/{n_units} units simulated to failure")

    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, block in enumerate(pool.map(_observe, jobs), start=1):
                blocks.append(block)
                note(done)
    else:
        for done, job in enumerate(jobs, start=1):
            blocks.append(_observe(job))
            note(done)
    return FleetHistories(
        units=np.concatenate([[p.unit] * p.time_h.size for p in paths]),
        age_h=np.concatenate([p.time_h for p in paths]),
        values=np.vstack(blocks),
        channels=list(HISTORY_CHANNELS),
        rul_h=np.concatenate([p.rul_h for p in paths]),
        paths=paths,
    )


__all__ = [
    "HISTORY_CHANNELS", "ComponentVariant", "DegradationProfile", "RunToFailurePath", "FleetHistories",
    "fault_modes", "simulate_path", "observe_path", "run_to_failure_fleet",
]
