"""Maintenance rules: dedup, priority, due dates, technician proposal, escalation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet import maintenance as m

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
LEEDS = (53.7997, -1.5492)
MANCHESTER = (53.4808, -2.2426)
HOSPITAL = (53.8030, -1.5520)


def finding_signal(**overrides) -> m.MaintenanceSignal:
    values = dict(machine_id=1, component_id=10, component_name="alternator_de", component_kind="alternator_bearing",
                  fault_mode="bearing_outer_race", location="DE", severity="warning", confidence=0.8,
                  source="diagnosis", summary="Outer-race defect on the DE bearing.", observed_at=NOW,
                  finding={"fault_mode": "bearing_outer_race", "evidence": [
                      {"label": "BPFO x1", "expected_hz": 76.6, "matched_hz": 76.5, "snr_db": 18.0, "domain": "envelope"}]},
                  burst_id="b1")
    values.update(overrides)
    return m.MaintenanceSignal(**values)


def tech(id_, name, skills, home, load=0) -> m.TechnicianCandidate:
    return m.TechnicianCandidate(id_, name, frozenset(skills), f"{name} base", home[0], home[1], load)


def active(**overrides) -> m.ActiveOrder:
    values = dict(id=5, machine_id=1, component_id=10, fault_mode="bearing_outer_race", priority="medium",
                  severity="warning", confidence=0.5, due_at=NOW + timedelta(days=7), occurrences=1,
                  evidence={"burst_ids": ["b0"], "history": [{"at": "x", "source": "diagnosis"}]})
    values.update(overrides)
    return m.ActiveOrder(**values)


def test_haversine_known_distance():
    # Leeds to Manchester city centres are about 58 km apart as the crow flies.
    assert m.haversine_km(*LEEDS, *MANCHESTER) == pytest.approx(58.0, abs=2.0)
    assert m.haversine_km(*LEEDS, *LEEDS) == 0.0


@pytest.mark.parametrize("severity, confidence, expected", [
    ("watch", 0.9, "low"), ("warning", 0.5, "medium"), ("warning", 0.7, "high"),
    ("alarm", 0.4, "high"), ("alarm", 0.95, "urgent")])
def test_priority_from_severity_and_confidence(severity, confidence, expected):
    assert m.priority_for(severity, confidence) == expected


def test_due_date_from_severity_or_rul_p10():
    assert m.due_date(NOW, "alarm") == NOW + timedelta(days=2)
    assert m.due_date(NOW, "watch") == NOW + timedelta(days=30)
    assert m.due_date(NOW, "watch", rul_p10_h=50.0) == NOW + timedelta(hours=50)
    assert m.due_date(NOW, "alarm", rul_p10_h=0.5) == NOW + m.MIN_LEAD_TIME


def test_new_finding_opens_a_draft_with_the_nearest_skilled_technician():
    candidates = [tech(1, "Priya", {"bearings"}, MANCHESTER), tech(2, "Sam", {"bearings", "electrical"}, LEEDS),
                  tech(3, "Helen", {"engine"}, HOSPITAL)]
    draft = m.plan(finding_signal(), [], candidates, *HOSPITAL, NOW)
    assert isinstance(draft, m.WorkOrderDraft)
    assert (draft.priority, draft.severity, draft.due_at) == ("high", "warning", NOW + timedelta(days=7))
    assert draft.title == "Bearing outer-race defect on alternator drive end"
    # A component with a bearing of another name says which one, in words.
    pump = finding_signal(component_name="hydraulic_pump", location="drive_shaft")
    assert m.title_for(pump) == "Bearing outer-race defect on hydraulic pump (drive-shaft bearing)"
    assert "BPFO x1: 76.5 Hz (expected 76.6 Hz)" in draft.description
    # Sam has both needed skills (bearings + electrical) although Helen lives next door.
    assert draft.proposal.technician_id == 2 and "bearings, electrical skills" in draft.proposal.reason
    assert draft.evidence["burst_ids"] == ["b1"] and draft.evidence["finding"]["fault_mode"] == "bearing_outer_race"


def test_load_can_outweigh_distance():
    busy_near = tech(1, "Near", {"bearings"}, LEEDS, load=3)  # 12 h of work queued
    free_far = tech(2, "Far", {"bearings"}, MANCHESTER, load=0)  # about 1 h away
    proposal = m.propose_technician([busy_near, free_far], frozenset({"bearings"}), *HOSPITAL)
    assert proposal.technician_id == 2


def test_nobody_skilled_falls_back_to_everyone():
    proposal = m.propose_technician([tech(1, "A", {"engine"}, LEEDS)], frozenset({"gearbox"}), *HOSPITAL)
    assert proposal.technician_id == 1 and "no technician has gearbox" in proposal.reason
    assert m.propose_technician([], frozenset({"gearbox"}), *HOSPITAL) is None


def test_repeat_finding_updates_the_open_order_instead_of_opening_another():
    order = active()
    update = m.plan(finding_signal(severity="alarm", confidence=0.6, burst_id="b2"), [order], [], None, None, NOW)
    assert isinstance(update, m.WorkOrderUpdate) and update.order_id == 5
    assert update.occurrences == 2
    assert update.severity == "alarm"
    assert update.confidence == pytest.approx(0.8)  # 1 - 0.5 * 0.4
    assert update.priority == "urgent" and update.priority_raised
    assert update.due_at == NOW + timedelta(days=2)  # pulled in from 7 days
    assert update.evidence["burst_ids"] == ["b0", "b2"] and len(update.evidence["history"]) == 2


def test_update_never_lowers_priority_or_pushes_due_date_out():
    order = active(priority="urgent", severity="alarm", due_at=NOW + timedelta(hours=6))
    update = m.plan(finding_signal(severity="watch", confidence=0.3), [order], [], None, None, NOW)
    assert (update.priority, update.severity, update.due_at) == ("urgent", "alarm", NOW + timedelta(hours=6))
    assert not update.priority_raised


def test_same_burst_is_not_listed_twice_in_evidence():
    order = active(evidence={"burst_ids": ["b1"]})
    update = m.plan(finding_signal(burst_id="b1"), [order], [], None, None, NOW)
    assert update.evidence["burst_ids"] == ["b1"]


def test_different_fault_or_component_opens_its_own_order():
    order = active(location="DE")
    assert isinstance(m.plan(finding_signal(fault_mode="unbalance", location=""), [order], [], None, None, NOW),
                      m.WorkOrderDraft)
    assert isinstance(m.plan(finding_signal(fault_mode="bearing_inner_race", location="NDE"), [order], [], None,
                             None, NOW), m.WorkOrderDraft)
    assert isinstance(m.plan(finding_signal(component_id=11), [order], [], None, None, NOW), m.WorkOrderDraft)


def test_another_fault_of_the_same_bearing_joins_its_order_without_confirming_it():
    order = active(location="DE", confidence=0.5,
                   evidence={"burst_ids": ["b0"], "finding": {"fault_mode": "bearing_outer_race"}})
    update = m.plan(finding_signal(fault_mode="bearing_inner_race", location="DE", severity="alarm", confidence=0.9,
                                   burst_id="b2"), [order], [], None, None, NOW)
    assert isinstance(update, m.WorkOrderUpdate) and update.order_id == 5
    assert update.severity == "alarm" and update.confidence == 0.5
    assert update.evidence["burst_ids"] == ["b0", "b2"]
    assert update.evidence["finding"]["fault_mode"] == "bearing_outer_race"
    assert "bearing_inner_race" in update.evidence["other_findings"]


def test_low_confidence_finding_opens_nothing():
    assert m.plan(finding_signal(confidence=0.1), [], [], None, None, NOW) is None


def rul_signal(p10: float) -> m.MaintenanceSignal:
    return finding_signal(fault_mode=m.RUL_FAULT_MODE, location="", source="rul", finding={}, burst_id="",
                          severity=m.rul_severity(p10), confidence=0.8,
                          rul={"p10_h": p10, "p50_h": p10 * 2, "p90_h": p10 * 3, "model_version": "v1"})


def test_rul_updates_the_components_order_and_sets_the_due_date_from_p10():
    order = active(confidence=0.5)
    update = m.plan(rul_signal(30.0), [order], [], None, None, NOW)
    assert update.order_id == 5
    assert update.due_at == NOW + timedelta(hours=30)
    assert update.confidence == 0.5  # RUL does not confirm the fault
    assert update.occurrences == 1  # nor is a re-scoring a new detection
    assert update.severity == "alarm" and update.evidence["rul"]["p10_h"] == 30.0


def test_rul_opens_an_order_only_below_the_horizon():
    assert m.plan(rul_signal(m.RUL_HORIZON_H + 1), [], [], None, None, NOW) is None
    draft = m.plan(rul_signal(100.0), [], [], None, None, NOW)
    assert draft.fault_mode == m.RUL_FAULT_MODE and draft.due_at == NOW + timedelta(hours=100)
    assert "P10/P50/P90: 100 / 200 / 300 h (model v1)" in draft.description


def test_escalation_of_overdue_orders():
    past = NOW - timedelta(hours=1)
    assert m.escalate("medium", past, None, NOW) == "high"
    assert m.escalate("medium", NOW + timedelta(hours=1), None, NOW) is None  # not overdue
    assert m.escalate("medium", past, NOW - timedelta(hours=2), NOW) is None  # escalated recently
    assert m.escalate("medium", past, NOW - timedelta(hours=25), NOW) == "high"
    assert m.escalate("urgent", past, None, NOW) == "urgent"  # nothing above urgent, but announced again


def test_a_burst_reporting_the_orders_mode_as_its_bearings_alternative_confirms_it():
    order = active(location="DE", fault_mode="bearing_inner_race", confidence=0.5,
                   evidence={"burst_ids": ["b0"], "finding": {"fault_mode": "bearing_inner_race", "score": 1.0}})
    inner = {"fault_mode": "bearing_inner_race", "confidence": 0.6, "score": 0.9}
    update = m.plan(finding_signal(fault_mode="bearing_outer_race", location="DE", burst_id="b2",
                                   alternatives=({"fault_mode": "bearing_inner_race", "strength": 0.9,
                                                  "severity": "watch", "finding": inner},)),
                    [order], [], None, None, NOW)
    assert update.order_id == 5 and update.occurrences == 2  # one burst, one occurrence
    assert update.confidence == m.combine_confidence(0.5, 0.6)
    assert update.evidence["finding"] == inner  # the order's own mode, refreshed from the alternative
    assert update.evidence["other_findings"]["bearing_outer_race"]["fault_mode"] == "bearing_outer_race"
