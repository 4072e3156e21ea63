"""The pure alarm rules: DM1 lamp severities and overrides, reporting windows, quiet hours, back-off."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from fleet.alarms import (AlarmCondition, ReportingPolicy, fault_code_severity, in_quiet_hours, is_stale, parse_clock,
                          silence_text)
from fleet.delivery import MAX_RETRY, retry_delay

LAMPS_OFF = {"mil": 0, "red_stop": 0, "amber_warning": 0, "protect": 0}


def test_the_worst_lit_lamp_sets_the_severity():
    assert fault_code_severity(110, 0, {**LAMPS_OFF, "red_stop": 1, "amber_warning": 1}) == "alarm"
    assert fault_code_severity(110, 0, {**LAMPS_OFF, "amber_warning": 3}) == "warning"
    assert fault_code_severity(110, 0, {**LAMPS_OFF, "mil": 1}) == "warning"
    assert fault_code_severity(110, 0, {**LAMPS_OFF, "protect": 1}) == "watch"
    assert fault_code_severity(110, 0, LAMPS_OFF) == "watch"


def test_overrides_per_code_beat_per_spn_and_the_lamp():
    rules = {"97": "alarm", "168:17": None, "168": "warning"}
    assert fault_code_severity(97, 3, LAMPS_OFF, rules) == "alarm"
    assert fault_code_severity(168, 17, {**LAMPS_OFF, "red_stop": 1}, rules) is None
    assert fault_code_severity(168, 4, LAMPS_OFF, rules) == "warning"
    with pytest.raises(ValueError):
        fault_code_severity(1, 1, LAMPS_OFF, {"1": "critical"})


def test_conditions_refuse_unknown_sources_and_severities():
    now = datetime.now(timezone.utc)
    with pytest.raises(ValueError):
        AlarmCondition(1, "", "gossip", "x", "alarm", "t", now)
    with pytest.raises(ValueError):
        AlarmCondition(1, "", "dm1", "x", "critical", "t", now)


def test_running_machines_may_be_silent_thirty_minutes():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
    policy = ReportingPolicy.from_settings(None)
    assert not is_stale(now - timedelta(minutes=29), now, policy)
    assert is_stale(now - timedelta(minutes=31), now, policy)
    assert not is_stale(None, now, policy)  # never reported: not commissioned, not stale
    assert silence_text(now - timedelta(minutes=125), now) == "no data for 2 h 05 min"


def test_a_standby_set_is_expected_during_its_exercise_run_in_site_time():
    settings = {"standby": True, "exercise": {"weekday": 2, "start": "10:00", "minutes": 30}}
    policy = ReportingPolicy.from_settings(settings, "Europe/London")
    wednesday_summer = datetime(2026, 7, 1, 9, 45, tzinfo=timezone.utc)  # 10:45 BST
    assert policy.in_exercise(wednesday_summer)
    assert policy.allowed_silence(wednesday_summer) == timedelta(minutes=30)
    assert not policy.in_exercise(wednesday_summer - timedelta(hours=2))
    # otherwise four of its 15-min key-off heartbeats may go missing
    assert policy.allowed_silence(wednesday_summer - timedelta(days=1)) == timedelta(minutes=60)


def test_quiet_hours_cross_midnight_in_the_users_zone():
    start, end = time(22, 0), time(7, 0)
    tokyo_night = datetime(2026, 12, 4, 14, 0, tzinfo=timezone.utc)  # 23:00 in Tokyo
    assert in_quiet_hours(tokyo_night, start, end, "Asia/Tokyo")
    assert not in_quiet_hours(tokyo_night, start, end, "Europe/London")  # 14:00 there
    assert not in_quiet_hours(tokyo_night, None, end, "Asia/Tokyo")
    assert parse_clock(" 06:30 ") == time(6, 30) and parse_clock("") is None
    with pytest.raises(ValueError):
        parse_clock("half past six")


def test_retries_back_off_doubling_to_a_cap():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(20) == MAX_RETRY
