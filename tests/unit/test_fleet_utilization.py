"""Working / idle / off per local day from one-minute means, against hand-counted answers."""
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from fleet.utilization import (StateThresholds, classify, daily_usage, local_days, thresholds_for)

EXCAVATOR = StateThresholds(running_rpm=400.0, working_load_pct=20.0)
UTC = ZoneInfo("UTC")


def test_classify_states_at_and_around_the_thresholds():
    speed = np.array([0.0, 399.0, 400.0, 1000.0, 1850.0, np.nan, 1000.0])
    load = np.array([0.0, 50.0, 12.0, 19.9, 20.0, 80.0, np.nan])
    # off (stopped), off (below running speed even loaded), idle, idle, working, off (no speed), idle (no load)
    assert classify(speed, load, EXCAVATOR).tolist() == [0, 0, 1, 1, 2, 0, 1]


def test_thresholds_per_model_fall_back_to_the_kind():
    assert thresholds_for("excavator", "IW-500").working_load_pct == 22.0
    assert thresholds_for("excavator", "IW-350LC") == thresholds_for("excavator", "unknown model")
    assert thresholds_for("genset", "IWG-2000").working_load_pct == 10.0


def test_a_known_day_6_h_working_2_h_idle_and_fuel():
    days = local_days(date(2026, 11, 2), date(2026, 11, 3), UTC)
    start = days[0][1]
    minutes = np.arange(8 * 60)
    times = start + (7 * 3600 + minutes * 60) * 10**9       # 07:00-15:00 UTC on 2 Nov
    working = minutes < 6 * 60                             # 6 h working, then 2 h idle
    speed = np.where(working, 1850.0, 1000.0)
    load = np.where(working, 70.0, 12.0)
    fuel = np.where(working, 30.0, 6.0)                     # L/h
    first, second = daily_usage(times, speed, load, fuel, EXCAVATOR, days)
    assert first.working_h == pytest.approx(6.0)
    assert first.idle_h == pytest.approx(2.0)
    assert first.off_h == pytest.approx(16.0)
    assert first.fuel_l == pytest.approx(6 * 30 + 2 * 6)   # 192 L
    assert first.fuel_l_per_working_h == pytest.approx(32.0)
    assert first.utilization_pct == pytest.approx(25.0)
    assert first.idle_pct == pytest.approx(25.0)
    assert (second.working_h, second.idle_h, second.off_h, second.fuel_l) == (0.0, 0.0, 24.0, 0.0)
    assert second.fuel_l_per_working_h is None


def test_days_are_local_days_of_the_zone_including_daylight_saving():
    london = ZoneInfo("Europe/London")
    (day, start_ns, end_ns), = local_days(date(2026, 10, 25), date(2026, 10, 25), london)  # clocks go back
    assert (end_ns - start_ns) / 3.6e12 == 25.0
    (_, summer_start, _), = local_days(date(2026, 7, 1), date(2026, 7, 1), london)
    assert summer_start == (1782864000 - 3600) * 10**9  # 2026-07-01 00:00 BST = 06-30 23:00 UTC


def test_fuel_of_a_stopped_engine_is_not_counted():
    days = local_days(date(2026, 11, 2), date(2026, 11, 2), UTC)
    times = np.array([days[0][1]], dtype=np.int64)
    (usage,) = daily_usage(times, np.array([0.0]), np.array([0.0]), np.array([12.0]), EXCAVATOR, days)
    assert usage.fuel_l == 0.0
