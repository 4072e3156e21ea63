"""Short bursts and sensor faults get a verdict, never silent zeros (issues #19 and #20, defect 6)."""
import numpy as np
import pytest

from diagnostics.pipeline import MIN_SAMPLES, analyze_burst
from diagnostics.synthesis import synthesize_burst

KIN = {"shaft_ratio": 1.0, "bearings": [{"name": "DE", "n_rolling": 9, "ball_diameter_mm": 7.94,
                                          "pitch_diameter_mm": 39.04, "contact_angle_deg": 0.0}]}


@pytest.mark.parametrize("n", [256, 700, 1023, 2560])
def test_short_bursts_are_diagnosed_and_say_what_was_left_out(n):
    x = synthesize_burst(KIN, 1500.0, fs=25600.0, duration_s=n / 25600.0, fault="bearing_outer_race",
                         severity=0.8, seed=1)[:n]
    a = analyze_burst(x, 25600.0, 1500.0, KIN)
    assert a.features["velocity_rms_mm_s"] > 0 and a.iso_zone in "ABCD"
    reason = a.detail["not_analysed"]["bearing and tooth envelope analysis"]
    assert "shaft revolutions" in reason and "needs" in reason
    # No zero evidence pretending to be a measurement (the spectrum comb judges its own resolution).
    assert not any(k.endswith("_evidence_db") and "comb" not in k for k in a.features)


def test_minimum_matches_the_ingest_contract():
    assert MIN_SAMPLES == 256
    with pytest.raises(ValueError, match="samples"):
        analyze_burst(np.ones(255), 25600.0, 1500.0, KIN)


def test_long_burst_keeps_the_envelope_analysis():
    x = synthesize_burst(KIN, 1500.0, fs=25600.0, duration_s=1.0, fault="bearing_outer_race", severity=0.8, seed=1)
    a = analyze_burst(x, 25600.0, 1500.0, KIN)
    assert "not_analysed" not in a.detail
    assert a.findings[0].fault_mode == "bearing_outer_race"


@pytest.mark.parametrize("samples, words", [
    (np.zeros(2048), "every sample is 0"),
    (np.full(2048, 3.0), "constant"),
    (np.random.default_rng(0).normal(0, 1, 2048) * 1e5, "beyond any accelerometer"),
])
def test_dead_stuck_or_absurd_sensor_is_a_sensor_fault_not_healthy(samples, words):
    a = analyze_burst(samples, 25600.0, 1500.0, KIN, component="alternator_de")
    assert [f.fault_mode for f in a.findings] == ["sensor_fault"]
    assert words in a.findings[0].summary
    assert "health_index" not in a.features and a.features["sensor_fault"] == 1.0
    assert a.to_dict()["findings"][0]["component"] == "alternator_de"


@pytest.mark.parametrize("samples", [np.zeros(4096), np.random.default_rng(1).normal(0, 1, 512)])
def test_display_data_shows_an_empty_envelope_that_says_why(samples):
    import json
    import warnings

    from diagnostics.pipeline import display_data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by zero on a flat burst
        d = display_data(samples, 25600.0, 1500.0, KIN)
    assert d["envelope"]["amplitude"] == [] and d["envelope"]["view"].startswith("not analysed: ")
    assert d["spectrum"]["freqs_hz"] and any(m["label"] == "DE BPFO" for m in d["markers"])
    json.dumps(d, allow_nan=False)
