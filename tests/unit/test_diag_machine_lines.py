"""Known discrete machine lines (shaft orders, line-frequency harmonics) never count as bearing evidence."""
import numpy as np

from diagnostics.bearing import machine_line_hz
from diagnostics.kinematics import ComponentKinematics
from diagnostics.pipeline import analyze_burst

FS = 25600.0
RPM = 1470.0  # a 4-pole induction motor on 50 Hz: the shaft slips, 24.5 Hz
# Catalogue multipliers chosen so that BPFO = 100 Hz = 2 x line frequency exactly.
BEARING = {"name": "NDE", "multipliers": {"bpfo": 100.0 / 24.5, "bpfi": 5.93, "bsf": 2.31, "ftf": 0.41}}


def _impacts_at(rate_hz: float, seed: int = 0) -> np.ndarray:
    """Impacts at a strictly periodic rate, each ringing a 4 kHz resonance, in white noise (m/s^2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(FS)) / FS
    x = np.zeros(t.size)
    x[(np.arange(0.0, 1.0, 1.0 / rate_hz) * FS).astype(int)] = 1.0
    ring = np.exp(-t[:256] * 1500.0) * np.sin(2 * np.pi * 4000.0 * t[:256])
    return np.convolve(x, ring)[: t.size] * 20.0 + rng.normal(0.0, 1.0, t.size)


def test_machine_lines_are_shaft_orders_and_line_harmonics():
    induction = ComponentKinematics.from_dict({"bearings": [BEARING], "electrical": {"line_hz": 50.0}})
    lines = machine_line_hz(induction.frequencies(RPM), 210.0)
    assert np.allclose(lines, [24.5, 49.0, 50.0, 73.5, 98.0, 100.0, 122.5, 147.0, 150.0, 171.5, 196.0, 200.0])
    # A synchronous machine's line frequency is a shaft order: nothing is added.
    sync = ComponentKinematics.from_dict({"bearings": [BEARING], "electrical": {"line_hz": 50.0, "poles": 4}})
    assert np.allclose(machine_line_hz(sync.frequencies(1500.0), 100.0), [25.0, 50.0, 75.0, 100.0])


def test_twice_line_frequency_modulation_is_not_an_outer_race_fault():
    x = _impacts_at(100.0)
    blind = analyze_burst(x, FS, RPM, {"bearings": [BEARING]})
    # Without the electrical kinematics the 100 Hz comb is indistinguishable from BPFO...
    assert blind.findings and blind.findings[0].fault_mode == "bearing_outer_race"
    informed = analyze_burst(x, FS, RPM, {"bearings": [BEARING], "electrical": {"line_hz": 50.0}})
    # ... with them it is a known machine line and no bearing finding is made.
    assert not [f for f in informed.findings if f.fault_mode.startswith("bearing_")]


def test_a_real_outer_race_comb_beside_the_line_is_still_found():
    x = _impacts_at(107.0)  # between the 100 Hz and 122.5 Hz machine lines
    bearing = dict(BEARING, multipliers=dict(BEARING["multipliers"], bpfo=107.0 / 24.5))
    result = analyze_burst(x, FS, RPM, {"bearings": [bearing], "electrical": {"line_hz": 50.0}})
    assert result.findings and result.findings[0].fault_mode == "bearing_outer_race"
