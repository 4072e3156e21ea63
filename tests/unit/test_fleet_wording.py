"""Names and levels in words: what a person reads instead of identifiers and percentages."""
from fleet import wording as w


def test_components_faults_and_parts_read_as_words():
    assert w.component_words("alternator_de") == "alternator drive end"
    assert w.component_words("boom_cylinder") == "boom cylinder"  # unknown: underscores go
    assert w.fault_words("bearing_outer_race", "DE") == "bearing outer-race defect (drive end)"
    assert w.fault_words("gear_broken_tooth", "stage1") == "broken or cracked gear tooth (stage 1)"
    assert w.fault_words("unbalance", "-") == "unbalance"
    assert w.part_words("drive_shaft") == "drive shaft"
    assert w.part_named("DE", "bearing") == "drive-end bearing"
    assert w.part_named("NDE", "bearing") == "non-drive-end bearing"
    assert w.part_named("stage1", "gear") == "stage 1 gear"
    assert w.part_named("pinion_gear", "gear") == "pinion gear"
    assert w.sentence("yearly load-bank test") == "Yearly load-bank test"
    assert w.sentence("500-hour service") == "500-hour service"


def test_confidence_levels_come_from_the_calibrated_table():
    from diagnostics.confidence import thresholds_for

    cut = thresholds_for("electrical")
    assert w.confidence_level(cut["high"], "electrical") == "high"
    assert w.confidence_level(cut["medium"] - 1e-6, "electrical") == "low"
    assert w.confidence_level(None) == ""
    text = w.confidence_explanation(cut["high"], "electrical")
    assert text.startswith("High confidence") and f"{cut['high']:.2f}" in text and "held-out" in text
    # RUL and trend orders carry a fixed confidence: the burst calibration is not claimed for them.
    assert "does not apply" in w.confidence_explanation(0.8, "low_remaining_life")


def test_zone_explanation_says_which_evidence_carries_the_finding():
    envelope_finding = {"fault_mode": "bearing_outer_race", "location": "DE", "evidence": [{"domain": "envelope"}]}
    text = w.zone_explanation("A", 0.97, envelope_finding)
    assert "0.97 mm/s RMS" in text and "zone A" in text and "envelope spectrum" in text
    assert "does not show" in text
    assert "confirms" in w.zone_explanation("D", 12.0, envelope_finding)
    assert w.zone_explanation("B", 2.0, None).startswith("Overall vibration (2.00 mm/s RMS) is in zone B")
    assert "No ISO 20816 zone" in w.zone_explanation(None, None, None)


def test_counted_says_one_visit_and_two_visits():
    assert w.counted(1, "visit") == "1 visit" and w.counted(2, "visit") == "2 visits"
    assert w.counted(0, "lock") == "0 locks" and w.counted(3, "technician on call", "technicians on call") == "3 technicians on call"
