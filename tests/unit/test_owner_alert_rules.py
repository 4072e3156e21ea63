"""The owner-alert rules on their own: which alarm a subscription asks for, who goes through quiet
hours, the settings' checks, the all-clear's words."""
from __future__ import annotations

import pytest

from fleet.owner_alerts import (BadSubscription, all_clear_words, clean_subscription, still_worth_sending,
                                subscription_of, urgent_for_owner, wants)


def alarm(source="dm1", severity="warning", **extra):
    return {"source": source, "severity": severity, "machine": "EX-1004", "cause": extra.pop("cause", "spn110:fmi0"),
            "state": "active", "detail": {"site": "Holloway Top Pit"}, **extra}


@pytest.mark.parametrize("faults, severity, wanted", [
    ("off", "alarm", False), ("alarm", "warning", False), ("alarm", "alarm", True),
    ("warning", "watch", False), ("warning", "warning", True), ("warning", "alarm", True)])
def test_fault_levels(faults, severity, wanted):
    assert wants({"security": False, "faults": faults}, alarm(severity=severity)) is wanted


def test_security_follows_its_own_box_and_the_defaults_hear_of_a_theft_only():
    theft, warning_fault = alarm("security", "alarm", cause="geofence_exit"), alarm()
    assert wants(subscription_of(None), theft) and not wants(subscription_of(None), warning_fault)
    assert not wants({"security": False, "faults": "warning"}, theft)
    assert urgent_for_owner(alarm("security", "warning", cause="curfew")) and not urgent_for_owner(warning_fault)


def test_the_settings_are_checked_and_only_those_given_are_returned():
    assert clean_subscription({"faults": "alarm"}) == {"faults": "alarm"}
    for body, field in (([], "owner_alerts"), ({"sms": True}, "owner_alerts.sms"),
                        ({"security": 1}, "owner_alerts.security"), ({"faults": "all"}, "owner_alerts.faults")):
        with pytest.raises(BadSubscription) as refused:
            clean_subscription(body)
        assert refused.value.field == field


def test_the_all_clear_in_words_and_what_is_still_worth_sending():
    back = alarm("security", "alarm", cause="geofence_exit", clear_reason="condition_gone", state="cleared")
    assert all_clear_words(back) == "EX-1004 is back inside Holloway Top Pit"
    stopped = alarm("security", "warning", cause="curfew", clear_reason="condition_gone")
    assert all_clear_words(stopped) == "EX-1004 has stopped running outside the allowed hours of Holloway Top Pit"
    by_hand = alarm("security", "alarm", cause="geofence_exit", clear_reason="manual", cleared_by="engineer@x",
                    clear_comment="moved to Blackstone on a low-loader")
    assert all_clear_words(by_hand) == ("EX-1004: the security alarm was cleared by engineer@x "
                                        "(moved to Blackstone on a low-loader)")
    assert not still_worth_sending("owner", back) and still_worth_sending("owner_clear", back)
    assert still_worth_sending("owner", {**back, "state": "acknowledged"})
