"""One verdict per bearing and burst: leading mode, alternatives and their strengths, in words."""
from __future__ import annotations

from datetime import datetime, timezone

from fleet import bearing_verdicts as bv
from fleet.alarms import AlarmCondition, ClearRules
from fleet.diagnosis_service import _rule_cause
from fleet.models import Alarm

NOW = datetime(2026, 12, 8, 4, 0, tzinfo=timezone.utc)


def finding(mode, location="NDE", score=40.0, severity="watch"):
    return {"fault_mode": mode, "location": location, "score": score, "severity": severity,
            "evidence": [{"label": "x1"}], "summary": mode}


def test_one_verdict_per_bearing_led_by_the_strongest_mode_with_the_worst_severity():
    found = [finding("bearing_inner_race", score=45.6, severity="warning"), finding("unbalance", location=""),
             finding("bearing_outer_race", score=50.0), finding("bearing_cage", location="DE", score=30.0)]
    nde, de = bv.verdicts(found)
    assert (nde.location, nde.fault_mode, nde.severity, nde.cause) == ("NDE", "bearing_outer_race", "warning",
                                                                      "bearing:NDE")
    assert [(a["fault_mode"], a["strength"]) for a in nde.alternatives] == [("bearing_inner_race", 0.91)]
    assert nde.text() == "Outer race more likely; inner-race lines also present at 91 % of its strength."
    assert (de.fault_mode, de.alternatives, de.text()) == ("bearing_cage", (), "")


def test_two_alternatives_are_both_named():
    verdict, = bv.verdicts([finding("bearing_outer_race", score=50.0), finding("bearing_inner_race", score=42.5),
                            finding("bearing_rolling_element", score=40.5)])
    assert verdict.text() == ("Outer race more likely; inner-race lines also present at 85 %, "
                              "rolling-element lines at 81 % of its strength.")


def test_the_history_note_says_how_the_leading_mode_changed():
    old = {"fault_mode": "bearing_inner_race"}
    new = {"fault_mode": "bearing_outer_race", "verdict": "Outer race more likely; inner-race lines also present "
                                                          "at 90 % of its strength."}
    assert bv.verdict_change(old, new) == ("leading fault mode inner race → outer race: Outer race more likely; "
                                           "inner-race lines also present at 90 % of its strength.")
    assert bv.verdict_change(old, {"fault_mode": "bearing_outer_race", "verdict": ""}) == \
        "leading fault mode inner race → outer race (no other mode of the bearing in this burst)"
    assert bv.verdict_change(old, old) is None and bv.verdict_change({}, new) is None


def test_a_repeat_with_another_leading_mode_retitles_the_alarm_and_notes_it():
    alarm = Alarm(state="active", severity="warning", title="Bearing inner-race defect", count=1, history=[],
                  last_seen_at=NOW, detail={"fault_mode": "bearing_inner_race"})
    condition = AlarmCondition(1, "alternator_nde", "diagnosis", "bearing:NDE", "watch", "Bearing outer-race defect",
                               NOW.replace(hour=5), detail={"fault_mode": "bearing_outer_race", "verdict": ""})
    assert alarm.repeat(condition) is False
    assert (alarm.title, alarm.severity, alarm.count) == ("Bearing outer-race defect", "warning", 2)
    assert alarm.history[-1]["note"].startswith("leading fault mode inner race → outer race")


def test_clear_rules_for_a_bearing_alarm_follow_its_leading_mode():
    rules = ClearRules.parse("diagnosis:bearing_outer_race=2")
    outer = Alarm(source="diagnosis", cause="bearing:DE", detail={"fault_mode": "bearing_outer_race"})
    inner = Alarm(source="diagnosis", cause="bearing:DE", detail={"fault_mode": "bearing_inner_race"})
    assert rules.bursts_for("diagnosis", _rule_cause(outer)) == 2
    assert rules.bursts_for("diagnosis", _rule_cause(inner)) == 3
    assert _rule_cause(Alarm(source="diagnosis", cause="unbalance", detail={})) == "unbalance"


def test_a_page_leads_with_the_bearing_mode_its_alarm_names():
    inner = finding("bearing_inner_race", score=44.0, severity="warning")  # ranked first: the more severe
    outer = finding("bearing_outer_race", score=50.0)
    loose = finding("looseness", location="")
    findings, verdict, others = bv.lead_with_verdict([inner, outer, loose])
    assert findings == [outer, inner, loose] and others == [loose]
    assert verdict["fault_mode"] == "bearing_outer_race" and verdict["alternatives"][0]["finding"] == inner
    assert bv.lead_with_verdict([loose, outer]) == ([loose, outer], None, [outer])
    assert bv.lead_with_verdict([]) == ([], None, [])


def test_the_alarm_email_states_the_alternative():
    from fleet.delivery import alarm_message

    view = {"id": 1, "number": "AL-000001", "machine": "GS-2006", "component": "alternator_nde", "customer": "N",
            "severity": "warning", "title": "Bearing outer-race defect on alternator non-drive end", "count": 2,
            "source": "diagnosis", "source_label": "Diagnosis", "first_seen_at": "2026-12-08T04:00:00+00:00",
            "detail": {"verdict": "Outer race more likely; inner-race lines also present at 90 % of its strength.",
                       "finding": {"summary": "Bearing outer-race defect on the non-drive-end bearing."}}}
    message = alarm_message(view, "UTC", "http://x")
    assert ("Outer race more likely; inner-race lines also present at 90 % of its strength. Bearing outer-race "
            "defect on the non-drive-end bearing.") in message.text
    assert "inner-race lines also present" in message.html
