"""Kinematics: defect frequencies from geometry match the published CWRU values."""
import pytest

from diagnostics.kinematics import ComponentKinematics, KinematicsError

# SKF 6205-2RS JEM (CWRU drive end), inches: ball 0.3126, pitch 1.537, 9 balls.
CWRU_DE = {"name": "DE", "n_rolling": 9, "ball_diameter_mm": 0.3126 * 25.4, "pitch_diameter_mm": 1.537 * 25.4,
           "contact_angle_deg": 0.0}


def test_cwru_6205_multipliers_match_published_values():
    kin = ComponentKinematics.from_dict({"shaft_ratio": 1.0, "bearings": [CWRU_DE]})
    b = kin.bearing("DE")
    assert b.bpfo == pytest.approx(3.5848, abs=2e-4)
    assert b.bpfi == pytest.approx(5.4152, abs=2e-4)
    assert b.ftf == pytest.approx(0.39828, abs=5e-5)
    assert 2 * b.bsf == pytest.approx(4.7135, abs=5e-4)


def test_frequencies_scale_with_speed_and_shaft_ratio():
    kin = ComponentKinematics.from_dict({"shaft_ratio": 0.5, "bearings": [CWRU_DE],
                                         "gears": [{"name": "g", "teeth": 20, "mating_teeth": 40}],
                                         "pistons": 9, "electrical": {"line_hz": 50.0, "poles": 4}})
    f = kin.frequencies(1800.0)
    assert f.shaft_hz == pytest.approx(15.0)
    assert f.bearings["DE"]["bpfo"] == pytest.approx(3.5848 * 15.0, rel=1e-4)
    assert f.gears["g"]["gmf"] == pytest.approx(300.0)
    assert f.gears["g"]["mating_shaft_hz"] == pytest.approx(7.5)
    assert f.piston_pass_hz == pytest.approx(135.0)
    assert f.line_hz == pytest.approx(30.0)  # 4 poles at 15 Hz shaft: 2 x 15


def test_multipliers_form_and_round_trip():
    d = {"shaft_ratio": 1.0, "bearings": [{"name": "NDE", "multipliers": {"bpfo": 3.1, "bpfi": 4.9, "bsf": 2.0, "ftf": 0.4}}],
         "zone_limits_mm_s": [2.8, 7.1, 11.0]}
    kin = ComponentKinematics.from_dict(d)
    assert ComponentKinematics.from_dict(kin.to_dict()) == kin
    assert kin.to_dict()["zone_limits_mm_s"] == [2.8, 7.1, 11.0]
    geo = ComponentKinematics.from_dict({"bearings": [CWRU_DE]})
    assert ComponentKinematics.from_dict(geo.to_dict()).bearing("DE").bpfo == pytest.approx(geo.bearing("DE").bpfo)


@pytest.mark.parametrize("bad, key", [
    ({"shaft_ratio": -1}, "shaft_ratio"),
    ({"bearings": [{"name": "DE", "n_rolling": 9}]}, "ball_diameter_mm"),
    ({"zone_limits_mm_s": [7.1, 2.8, 11]}, "increasing"),
    ({"gears": [{"name": "g", "teeth": 0, "mating_teeth": 3}]}, "teeth"),
    ({"iso_class": "nonsense"}, "iso_class"),
])
def test_bad_kinematics_names_the_key(bad, key):
    with pytest.raises(KinematicsError, match=key):
        ComponentKinematics.from_dict(bad)


def test_a_stage_driven_by_another_turns_at_that_stages_wheel_speed():
    # The demo's two-stage swing reduction: 17/61 then 19/73, input 1,500 rpm = 25 Hz.
    kin = ComponentKinematics.from_dict({"gears": [{"name": "stage1", "teeth": 17, "mating_teeth": 61},
                                                   {"name": "stage2", "teeth": 19, "mating_teeth": 73,
                                                    "driven_by": "stage1"}]})
    gears = kin.frequencies(1500.0).gears
    middle = 25.0 * 17 / 61
    assert gears["stage1"]["shaft_hz"] == pytest.approx(25.0) and gears["stage1"]["gmf"] == pytest.approx(425.0)
    assert gears["stage2"]["shaft_hz"] == pytest.approx(middle) == pytest.approx(gears["stage1"]["mating_shaft_hz"])
    assert gears["stage2"]["gmf"] == pytest.approx(19 * middle)
    assert gears["stage2"]["mating_shaft_hz"] == pytest.approx(middle * 19 / 73)
    assert ComponentKinematics.from_dict(kin.to_dict()) == kin


def test_driven_by_must_name_an_earlier_gear():
    with pytest.raises(KinematicsError, match=r"gears\[stage2\]\.driven_by"):
        ComponentKinematics.from_dict({"gears": [{"name": "stage2", "teeth": 19, "mating_teeth": 73, "driven_by": "stage1"},
                                                 {"name": "stage1", "teeth": 17, "mating_teeth": 61}]})
