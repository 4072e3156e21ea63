"""Run-to-failure paths of the simulated fleet, and the late-start copies used for training."""
import numpy as np

from diagnostics.degradation import (
    HISTORY_CHANNELS, ComponentVariant, DegradationProfile, fault_modes, observe_path, run_to_failure_fleet,
    simulate_path,
)
from diagnostics.prognostics.default_models import late_start_copies, physical_units

BEARING = {"shaft_ratio": 1.0, "bearings": [{"name": "DE", "n_rolling": 9, "ball_diameter_mm": 7.94,
                                             "pitch_diameter_mm": 39.04, "contact_angle_deg": 0.0}]}
PROFILE = DegradationProfile("test_bearing", (ComponentVariant(BEARING, 1400.0, 1600.0),),
                             median_life_h=200.0, cadence_h=4.0)


def test_paths_run_from_new_to_failure_with_growing_severity():
    rng = np.random.default_rng(0)
    paths = [simulate_path(PROFILE, f"u{k}", rng) for k in range(20)]
    for p in paths:
        assert p.time_h[0] == 0.0 and p.severity[0] == 0.0
        assert np.all(np.diff(p.severity) >= 0) and p.severity[-1] > 0.5
        assert np.all(np.diff(p.rul_h) < 0) and 0 < p.rul_h[-1] <= PROFILE.cadence_h
        assert (p.rpm >= 1400).all() and (p.rpm <= 1600).all()
    lives = np.array([p.life_h for p in paths])
    assert lives.std() / lives.mean() > 0.1  # units differ in wear rate and load
    assert {p.fault for p in paths} <= {"bearing_outer_race", "bearing_inner_race"}


def test_fault_modes_follow_the_kinematics():
    assert ("gear_wear", "stage1") in fault_modes({"gears": [{"name": "stage1", "teeth": 17, "mating_teeth": 61}]})
    assert fault_modes({"shaft_ratio": 1.0})[0] == ("unbalance", "")


def test_observed_features_rise_as_the_fault_grows():
    path = simulate_path(PROFILE, "u", np.random.default_rng(3))
    rows = observe_path(path, PROFILE, seed=1, duration_s=0.25)
    assert rows.shape == (path.time_h.size, len(HISTORY_CHANNELS))
    acc = rows[:, HISTORY_CHANNELS.index("acc_rms_m_s2")]
    assert acc[-1] > 2 * acc[0]
    assert rows[-1, HISTORY_CHANNELS.index("health_index")] < rows[0, HISTORY_CHANNELS.index("health_index")]


def test_fleet_is_reproducible_and_late_start_copies_keep_labels():
    small = DegradationProfile("test_bearing", PROFILE.variants, median_life_h=60.0, cadence_h=12.0)
    a = run_to_failure_fleet(small, 3, seed=2, duration_s=0.25)
    b = run_to_failure_fleet(small, 3, seed=2, duration_s=0.25)
    np.testing.assert_array_equal(a.values, b.values)
    copies = late_start_copies(a, np.random.default_rng(0), copies=1)
    late = np.char.find(copies.units.astype(str), "@") >= 0
    assert set(physical_units(copies.units)) == set(a.units)
    for unit in np.unique(copies.units[late]):
        rows = copies.units == unit
        assert copies.age_h[rows][0] == 0.0  # re-based: monitoring starts mid-life
        assert copies.rul_h[rows][-1] == a.rul_h[a.units == unit.split("@")[0]][-1]
