"""Spectral-comb evidence of an outer-race defect: known combs are found, machine series are rejected."""
import numpy as np
import pytest
import scipy.fft as sfft

from diagnostics.comb import comb_level_db, outer_race_comb, shaft_locked
from diagnostics.benchmarks.evaluate import CWRU_BEARINGS
from diagnostics.kinematics import ComponentKinematics
from diagnostics.pipeline import analyze_burst

FS = 25600.0
RPM = 1500.0
T = np.arange(int(FS)) / FS
KIN = ComponentKinematics.from_dict({"bearings": [CWRU_BEARINGS["DE"]]})
FREQS = KIN.frequencies(RPM)
BPFO, FTF = FREQS.bearings["DE"]["bpfo"], FREQS.bearings["DE"]["ftf"]  # 89.6 Hz = 9 x 9.96 Hz
SLIP = 0.997  # the real rate is 0.3 % below the kinematic one (clear of 18/5 x shaft, see shaft_locked)


def _lines(spacing_hz: float, amplitude_of_order, noise: float = 5.0, seed: int = 0) -> np.ndarray:
    """Steady lines at multiples j of ``spacing_hz`` up to 0.45 fs, amplitude ``amplitude_of_order(j)``
    (m/s^2), random phases, in white noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, noise, T.size)
    for j in range(1, int(0.45 * FS / spacing_hz) + 1):
        a = amplitude_of_order(j)
        if a:
            x += a * np.cos(2 * np.pi * j * spacing_hz * T + rng.uniform(0, 2 * np.pi))
    return x


def _outer_race_signal(seed: int = 0) -> np.ndarray:
    # Z impacts per cage turn, the elements not quite alike: strong lines at multiples of Z x FTF
    # (= BPFO), weaker ones at the other multiples of FTF.
    return _lines(FTF * SLIP, lambda j: 1.0 if j % 9 == 0 else 0.3, seed=seed)


def _comb(x: np.ndarray):
    level, _, res = comb_level_db(sfft.rfft(x - x.mean()), x.size, FS)
    return outer_race_comb(level, res, FS, BPFO, FTF, FREQS.shaft_hz)


def test_comb_level_reads_a_line_over_the_floor():
    x = _lines(1000.0, lambda j: 1.0 if j == 3 else 0.0, noise=1.0)
    level, amplitude, res = comb_level_db(sfft.rfft(x), x.size, FS)
    assert res == pytest.approx(1.0)
    assert amplitude[3000] == pytest.approx(1.0, rel=0.05)  # Hann amplitude, m/s^2 peak
    assert level[3000] > 25.0 and abs(float(np.median(level[2000:2900]))) < 1.0


def test_outer_race_comb_is_found_at_its_rate():
    comb = _comb(_outer_race_signal())
    assert comb.accepted
    assert comb.spacing_hz == pytest.approx(BPFO * SLIP, rel=2e-4)
    assert comb.excess_db > 3.0 and comb.machine_ratio < 0.15 and comb.cage_ratio > 0.15
    assert comb.evidence_db > 100.0
    k, hz, level = comb.lines[0]
    assert hz == pytest.approx(k * BPFO * SLIP, rel=1e-3) and level > 10.0


def test_a_finer_machine_series_is_not_a_bearing_comb():
    # Lines at every multiple of BPFO / 6: the multiples of BPFO are there, but as part of a finer series.
    comb = _comb(_lines(BPFO * SLIP / 6.0, lambda j: 1.0))
    assert comb.excess_db > 3.0  # the BPFO-spaced family stands out ...
    assert comb.machine_ratio > 0.5 and not comb.accepted  # ... and is explained by the finer one


def test_a_comb_without_cage_rate_lines_is_not_accepted():
    comb = _comb(_lines(BPFO * SLIP, lambda j: 1.0))
    assert comb.excess_db > 3.0 and comb.cage_ratio < 0.15 and not comb.accepted


def test_a_shaft_locked_series_is_machinery():
    assert shaft_locked(3.6 * 25.0, 25.0) and shaft_locked(2.5 * 25.0, 25.0)
    assert not shaft_locked(BPFO, FREQS.shaft_hz)  # 3.5848 x: 0.4 % from 18/5
    # A cage-structured comb at exactly 18/5 of the shaft rate (inside the BPFO search window).
    x = _lines(3.6 * FREQS.shaft_hz / 9.0, lambda j: 1.0 if j % 9 == 0 else 0.3)
    comb = _comb(x)
    assert comb.shaft_locked and not comb.accepted


def test_noise_gives_no_comb():
    for seed in range(3):
        comb = _comb(np.random.default_rng(seed).normal(0.0, 1.0, T.size))
        assert not comb.accepted and comb.evidence_db == 0.0


def test_pipeline_reports_the_comb_as_outer_race_evidence():
    result = analyze_burst(_outer_race_signal(seed=1), FS, RPM, KIN, component="motor")
    top = result.findings[0]
    assert top.fault_mode == "bearing_outer_race"
    assert top.detail["comb_db"] > 0.0
    assert any(e.label.startswith("BPFO comb") and e.domain == "spectrum" for e in top.evidence)
    assert result.features["bearing_DE_outer_race_comb_excess_db"] > 3.0
    # The summary names the bearing in words, as a person would ("bearing DE" is an identifier).
    assert top.summary.startswith("Bearing outer-race defect on the drive-end bearing: ")


def test_slow_or_band_limited_bursts_give_a_finite_feature_and_no_comb():
    rng = np.random.default_rng(3)
    for fs, rpm in ((2000.0, 1500.0), (25600.0, 60.0), (12000.0, 30000.0)):
        x = rng.normal(0.0, 1.0, 4096)
        result = analyze_burst(x, fs, rpm, KIN)
        assert np.isfinite(result.features["bearing_DE_outer_race_comb_excess_db"])
        assert not [f for f in result.findings if f.detail.get("comb_db", 0.0) > 0.0]
