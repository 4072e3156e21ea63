"""Feedback counting on a hand-made set of completed orders in a real SQL database."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import pytest

from fleet import feedback
from fleet.lifecycle import Completion
from fleet.models import Component, Machine, WorkOrder

from fleet_helpers import add_customer_site

pytestmark = pytest.mark.integration
T = datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc)


def rul_evidence(p10, p50, p90):
    return {"rul": {"p10_h": p10, "p50_h": p50, "p90_h": p90, "model_version": "t"},
            "history": [{"at": T.isoformat(), "source": "rul", "severity": "warning", "summary": "rul"}]}


@pytest.fixture
def outcomes_db(session_factory):
    cases = [
        # (fault mode, source, status, evidence, completed after h, completion or None)
        ("bearing_outer_race", "diagnosis", "done", rul_evidence(100, 200, 400), 250,
         Completion("outer_race_spalled", "lubrication", "bearing_replaced", "yes", component_replaced=True)),
        ("bearing_outer_race", "diagnosis", "done", {}, 10,
         Completion("no_fault_found", "unknown", "inspected_no_action", "no")),
        ("bearing_outer_race", "diagnosis", "done", {}, 10,
         Completion("shaft_misaligned", "installation", "realigned", "other", found_fault_mode="misalignment")),
        ("gear_broken_tooth", "diagnosis", "done", rul_evidence(50, 100, 150), 200,
         Completion("tooth_broken", "overload", "gear_set_replaced", "yes", component_replaced=True)),
        ("gear_broken_tooth", "trend", "done", {}, 20, Completion("tooth_cracked", "wear", "inspected_no_action", "yes")),
        # left out: a PM order, an order not completed, a completed order without findings
        ("preventive_maintenance", "pm", "done", {}, 5,
         Completion("service_done", "scheduled", "service_completed", "yes")),
        ("bearing_outer_race", "diagnosis", "in_progress", {}, None,
         Completion("no_fault_found", "unknown", "inspected_no_action", "no")),
        ("gear_wear", "diagnosis", "done", {}, 5, None),
    ]
    with session_factory.begin() as session:
        _, customer, site = add_customer_site(session, "Hospital", "Plant room", 53.8, -1.55)
        machine = Machine(uid="GS-1", tenant_id=customer.id, site_id=site.id, kind="genset", model="IWG-1250",
                          serial="S1", nominal_shaft_rpm=1500.0)
        session.add(machine)
        session.flush()
        component = Component(machine_id=machine.id, name="alternator_de", kind="alternator_bearing", kinematics={})
        session.add(component)
        session.flush()
        for mode, source, status, evidence, after_h, completion in cases:
            order = WorkOrder(tenant_id=customer.id, machine_id=machine.id, component_id=component.id,
                              fault_mode=mode, source=source, title=mode, status=status, evidence=evidence,
                              created_at=T, completed_at=T + timedelta(hours=after_h) if after_h else None,
                              history=[], parts=[])
            session.add(order)
            session.flush()
            if completion is not None:
                feedback.record_finding(session, order.id, completion, "Sam Okafor", T)
    return session_factory


def test_hit_rate_false_alarms_and_rul_error_per_fault_mode(outcomes_db):
    with outcomes_db() as session:
        outcomes = feedback.load_outcomes(session)
    report = feedback.summarize(outcomes)
    by_mode = {m.fault_mode: m for m in report.modes}
    assert set(by_mode) == {"bearing_outer_race", "gear_broken_tooth"}
    bearing, gear = by_mode["bearing_outer_race"], by_mode["gear_broken_tooth"]
    assert (bearing.orders, bearing.confirmed, bearing.other_fault, bearing.no_fault) == (3, 1, 1, 1)
    assert bearing.hit_rate == pytest.approx(1 / 3) and bearing.false_alarm_rate == pytest.approx(1 / 3)
    assert (gear.orders, gear.confirmed, gear.hit_rate, gear.false_alarm_rate) == (2, 2, 1.0, 0.0)
    assert report.orders == 5 and report.hit_rate == pytest.approx(0.6) and report.false_alarm_rate == pytest.approx(0.2)
    # Bearing: P50 200 h, replaced 250 h after the estimate (inside 100-400); gear: P50 100 h, 200 h (outside 50-150).
    assert report.rul.replaced == 2
    assert report.rul.mean_error_h == pytest.approx(-75.0) and report.rul.mean_absolute_error_h == pytest.approx(75.0)
    assert report.rul.within_p10_p90 == pytest.approx(0.5)
    other = next(o for o in outcomes if o.fault_confirmed == "other")
    assert other.found_fault_mode == "misalignment" and other.actual_remaining_h is None
    # "another fault found" is neither a hit nor a false alarm: counted apart, with what was found
    assert bearing.found_instead == (("misalignment", 1),) and bearing.wrong_fault_rate == pytest.approx(1 / 3)
    assert report.wrong_fault_rate == pytest.approx(0.2) and report.missed == [("misalignment", 1)]


def test_another_fault_found_on_a_replaced_component_measures_its_remaining_life():
    """The component failed, whichever fault the technician found: its life ended at the replacement."""
    common = dict(machine="GS-1", component="alternator_de", predicted_fault_mode="bearing_outer_race",
                  predicted_at=T, replaced_at=T + timedelta(hours=300), rul_p10_h=100.0, rul_p50_h=200.0,
                  rul_p90_h=400.0)
    outcomes = [feedback.Outcome(1, fault_confirmed="other", found_fault_mode="bearing_inner_race",
                                 problem_code="inner_race_spalled", component_replaced=True, **common),
                feedback.Outcome(2, fault_confirmed="other", found_fault_mode="misalignment",
                                 problem_code="shaft_misaligned", component_replaced=False, **common),
                feedback.Outcome(3, fault_confirmed="no", found_fault_mode="", problem_code="no_fault_found",
                                 component_replaced=True, **common)]
    report = feedback.summarize(outcomes)
    (mode,) = report.modes
    assert (mode.confirmed, mode.other_fault, mode.no_fault, mode.hit_rate) == (0, 2, 1, 0.0)
    assert mode.found_instead == (("bearing_inner_race", 1), ("misalignment", 1))
    assert [o.actual_remaining_h for o in outcomes] == [300.0, None, None]
    assert report.rul.replaced == 1 and report.rul.mean_error_h == pytest.approx(-100.0)
    text = feedback.format_report(report)
    assert "another fault found 67%" in text and "predicted bearing_outer_race, found misalignment: 1" in text


def test_cli_prints_the_report_and_writes_labels(outcomes_db, sql_url, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    assert feedback.main(["--database-url", sql_url, "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert "feedback from 5 completed orders: hit rate 60%, false alarm rate 20%, another fault found 20%" in out
    assert "predicted bearing_outer_race, found misalignment: 1" in out
    assert "bearing_outer_race" in out and "33%" in out
    assert "RUL error on 2 replaced components: mean (P50 - actual) -75 h, mean absolute 75 h" in out
    rows = list(csv.DictReader(labels.open()))
    assert len(rows) == 5 and rows[0]["actual_remaining_h"] == "250.0" and rows[0]["rul_p50_h"] == "200"


def test_empty_database_says_so(sql_url, capsys):
    assert feedback.main(["--database-url", sql_url]) == 0
    assert "no completed corrective orders" in capsys.readouterr().out


def test_unmigrated_database_is_a_clear_error(tmp_path, capsys):
    assert feedback.main(["--database-url", f"sqlite:///{tmp_path / 'empty.db'}"]) == 1
    assert "run `python -m fleet.seed` to migrate" in capsys.readouterr().err
