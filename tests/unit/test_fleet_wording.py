"""Names and levels in words: what a person reads instead of identifiers and percentages."""
from fleet import wording as w


def test_components_faults_and_parts_read_as_words():
    assert w.component_words("alternator_de") == "alternator drive end"
    assert w.component_words("boom_cylinder") == "boom cylinder"  # unknown: underscores go
    assert w.fault_words("bearing_outer_race", "DE") == "bearing outer-race defect (drive end)"
    assert w.fault_words("gear_broken_tooth", "stage1") == "broken or cracked gear tooth (stage 1)"
    assert w.fault_words("unbalance", "-") == "unbalance"
    assert w.part_words("drive_shaft") == "drive shaft"


def test_confidence_levels_cut_the_detection_margin():
    assert [w.confidence_level(c) for c in (0.2, 0.5, 0.6, 0.79, 0.8, 1.0)] == \
        ["low", "low", "medium", "medium", "high", "high"]
    assert w.confidence_level(None) == ""


def test_zone_explanation_says_which_evidence_carries_the_finding():
    envelope_finding = {"fault_mode": "bearing_outer_race", "location": "DE", "evidence": [{"domain": "envelope"}]}
    text = w.zone_explanation("A", 0.97, envelope_finding)
    assert "0.97 mm/s RMS" in text and "zone A" in text and "envelope spectrum" in text
    assert "does not show" in text
    assert "confirms" in w.zone_explanation("D", 12.0, envelope_finding)
    assert w.zone_explanation("B", 2.0, None).startswith("Overall vibration (2.00 mm/s RMS) is in zone B")
    assert "No ISO 20816 zone" in w.zone_explanation(None, None, None)
