"""A gear finding's evidence on a gearbox that also carries a bearing: the gear's mesh line and its
sidebands, and no bearing-defect line unless a bearing finding is made.

The demo's swing gearbox (fleet.demo_fleet) has an input bearing, so the kinematics predict BPFO,
BPFI, 2 x BSF and FTF on every one of its spectra; the demo's gear job showed an outer-race line.
"""
from __future__ import annotations

import pytest

from app.plot_api import marker_families
from app.plots import spectrum_axis_limit_hz
from diagnostics.kinematics import ComponentKinematics
from diagnostics.pipeline import analyze_burst, display_data
from diagnostics.synthesis import synthesize_burst
from fleet.demo_fleet import EXCAVATOR_COMPONENTS

FS = 25600.0
RPM = 1800.0
SWING_GEARBOX = next(c for c in EXCAVATOR_COMPONENTS if c.name == "swing_gearbox").kinematics
BEARING_WORDS = ("BPFO", "BPFI", "BSF", "FTF", "outer race", "inner race", "cage")


def _gear_burst(fault: str, seed: int):
    """Gear mesh with its sidebands (a worn or broken-tooth stage 1 gear), no bearing defect."""
    return synthesize_burst(SWING_GEARBOX, RPM, fs=FS, fault=fault, severity=0.8, seed=seed, fault_location="stage1")


@pytest.mark.parametrize("fault", ["gear_wear", "gear_broken_tooth"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_gear_finding_shows_its_mesh_line_and_sidebands_and_no_bearing_line(fault, seed):
    result = analyze_burst(_gear_burst(fault, seed), FS, RPM, SWING_GEARBOX, "swing_gearbox")
    findings = [f.to_dict() for f in result.findings]
    assert findings and findings[0]["fault_mode"] == fault
    assert all(f["fault_mode"].startswith("gear_") for f in findings), "no bearing finding on a healthy bearing"
    top = findings[0]
    assert top["location"] == "stage1"
    labels = [e["label"] for e in top["evidence"]]
    assert not [label for label in labels if any(word in label for word in BEARING_WORDS)], labels
    # the mesh line of the gear and a sideband at its shaft rate, read from the acceleration spectrum
    gear = ComponentKinematics.from_dict(SWING_GEARBOX).frequencies(RPM).gears[top["location"]]
    spectrum = {e["label"]: e for e in top["evidence"] if e["domain"] == "spectrum"}
    assert spectrum["GMF x1"]["matched_hz"] == pytest.approx(gear["gmf"], abs=2.0)
    sidebands = [e for label, e in spectrum.items() if label in ("GMF - 1x", "GMF + 1x")]
    assert sidebands, f"no mesh sideband in {labels}"
    for e in sidebands:
        assert abs(abs(e["matched_hz"] - gear["gmf"]) - gear["shaft_hz"]) < 2.0

    # the console's spectra: the input bearing's lines are listed but not drawn, and say "no finding"
    families = {f["key"]: f for f in marker_families(display_data(_gear_burst(fault, seed), FS, RPM,
                                                                  SWING_GEARBOX)["markers"], findings)}
    bearing = families["bearing:input"]
    assert bearing["shown"] is False and bearing["finding"] is None
    stage = families[f"gear:{top['location']}"]
    assert stage["shown"] is True and stage["finding"] == fault.replace("gear_", "").replace("_", " ")
    mesh_lines = {line["label"]: line for line in stage["lines"]}
    assert mesh_lines["mesh − 1× shaft"]["hz"] == pytest.approx(gear["gmf"] - gear["shaft_hz"])
    assert mesh_lines["mesh + 1× shaft"]["harmonics"] == 1, "a sideband is one line, not a series"
    # the evidence picture zooms in on the mesh region, where 30 Hz sidebands can be told apart
    assert 2.0 * gear["gmf"] < spectrum_axis_limit_hz(top["evidence"], FS / 2) < FS / 8


@pytest.mark.parametrize("seed", [1, 4])
def test_a_tooth_on_the_middle_shaft_is_not_also_an_outer_race_and_shows_both_meshes(seed):
    """A broken stage 2 pinion jolts once per turn of the middle shaft (6.7 Hz), which also carries
    the stage 1 wheel: the finding names both gears (stage1_or_stage2) and has both meshes. Its
    dozens of envelope harmonics include 11, 22, 33, 44 x 6.7 Hz beside the input bearing's BPFO
    (72.9 Hz), which made an outer-race finding too (stronger than the tooth's); it is the tooth's.
    Two seconds: one second holds under seven turns of that shaft, too few to judge its tooth."""
    x = synthesize_burst(SWING_GEARBOX, RPM, fs=FS, duration_s=2.0, fault="gear_broken_tooth", severity=0.8,
                         seed=seed, fault_location="stage2")
    result = analyze_burst(x, FS, RPM, SWING_GEARBOX, "swing_gearbox")
    assert [(f.fault_mode, f.location) for f in result.findings] == [("gear_broken_tooth", "stage1_or_stage2")]
    top = result.findings[0].to_dict()
    assert (top["fault_mode"], top["location"]) == ("gear_broken_tooth", "stage1_or_stage2")
    labels = {e["label"] for e in top["evidence"] if e["domain"] == "spectrum"}
    assert {"stage1 GMF x1", "stage2 GMF x1"} <= labels, labels
    assert not [label for label in labels if any(word in label for word in BEARING_WORDS)]
    families = {f["key"]: f for f in marker_families(display_data(x, FS, RPM, SWING_GEARBOX)["markers"], [top])}
    assert families["gear:stage1"]["shown"] and families["gear:stage2"]["shown"]
    assert families["bearing:input"]["shown"] is False


def test_bearing_lines_are_drawn_where_a_bearing_finding_is_made_and_labelled_as_such():
    findings = [{"fault_mode": "bearing_outer_race", "location": "input", "evidence": []}]
    markers = display_data(synthesize_burst(SWING_GEARBOX, RPM, fs=FS, seed=3), FS, RPM, SWING_GEARBOX)["markers"]
    families = {f["key"]: f for f in marker_families(markers, findings)}
    assert families["bearing:input"]["shown"] is True and families["bearing:input"]["finding"] == "outer race"
    assert families["gear:stage1"]["shown"] is False and families["gear:stage1"]["finding"] is None
    assert families["shaft"]["shown"] is True
    # without findings (a healthy burst) no part claims one; the shaft is still drawn
    healthy = {f["key"]: f for f in marker_families(markers, [])}
    assert not [k for k, f in healthy.items() if f["shown"] and k != "shaft"]
