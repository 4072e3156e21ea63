"""PM projection rules (pure): utilization, hours and calendar due points, nesting, lead."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleet import preventive
from fleet.preventive import Counter, PlanRule

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
PM250 = PlanRule(1, "PM-250", "250-hour service", "hours", interval_h=250.0, lead_days=7)
PM500 = PlanRule(2, "PM-500", "500-hour service", "hours", interval_h=500.0)
PM1000 = PlanRule(3, "PM-1000", "1000-hour service", "hours", interval_h=1000.0)
LOADBANK = PlanRule(4, "LOADBANK-1Y", "yearly load-bank test", "calendar", interval_days=365, lead_days=21)


def use(h_per_day=10.0, hours=400.0):
    return preventive.Utilization(h_per_day, hours, NOW, True, f"{h_per_day} h/day")


def test_utilization_is_the_meter_rise_per_calendar_day():
    u = preventive.utilization((NOW - timedelta(days=28), 120.0), (NOW, 400.0), NOW, 0.0, 8.0)
    assert (u.h_per_day, u.current_hours, u.measured) == (10.0, 400.0, True)
    assert "10.0 h/day over the last 28 days (120 → 400 h)" == u.note


def test_utilization_falls_back_to_the_default_with_too_little_history():
    short = preventive.utilization((NOW - timedelta(days=1), 390.0), (NOW, 400.0), NOW, 0.0, 8.0)
    assert (short.h_per_day, short.current_hours, short.measured) == (8.0, 400.0, False)
    assert "only 1.0 days" in short.note
    none = preventive.utilization(None, None, NOW, 1234.0, 2.0)
    assert (none.h_per_day, none.current_hours, none.reading_at) == (2.0, 1234.0, NOW)


def test_hours_plan_due_date_from_utilization_and_lead():
    p = preventive.project(PM500, Counter(0.0, None), use())
    assert (p.due_point, p.due_hours, p.due_at) == ("h:500", 500.0, NOW + timedelta(days=10))
    assert p.open_at == NOW - timedelta(days=4)  # 14-day lead
    assert preventive.should_open(p, NOW) and not preventive.should_open(p, NOW - timedelta(days=5))


def test_overdue_and_idle_machines():
    overdue = preventive.project(PM250, Counter(0.0, None), use(hours=300.0))
    assert overdue.due_at == NOW - timedelta(days=5) and "50 h overdue" in overdue.note
    idle = preventive.project(PM500, Counter(0.0, None), use(h_per_day=0.0))
    assert idle.due_at is None and not preventive.should_open(idle, NOW) and "no date projected" in idle.note
    idle_overdue = preventive.project(PM250, Counter(0.0, None), use(h_per_day=0.0, hours=300.0))
    assert idle_overdue.due_at == NOW and preventive.should_open(idle_overdue, NOW)


def test_calendar_plan():
    done = NOW - timedelta(days=355)
    p = preventive.project(LOADBANK, Counter(2000.0, done), use(h_per_day=0.2))
    assert p.due_at == done + timedelta(days=365) and p.due_point == f"d:{p.due_at:%Y-%m-%d}"
    assert preventive.should_open(p, NOW)  # due in 10 days, 21-day lead
    never = preventive.project(LOADBANK, Counter(0.0, None), use())
    assert never.due_at == NOW and "never done" in never.note


def test_a_larger_service_on_the_same_point_covers_the_smaller_ones():
    rules = [PM250, PM500, PM1000]
    projections = preventive.mark_covered(rules, [
        preventive.project(PM250, Counter(750.0, None), use(hours=900.0)),  # due at 1000
        preventive.project(PM500, Counter(500.0, None), use(hours=900.0)),  # due at 1000
        preventive.project(PM1000, Counter(0.0, None), use(hours=900.0)),  # due at 1000
    ])
    assert [p.covered_by for p in projections] == ["PM-1000", "PM-1000", ""]
    assert [preventive.should_open(p, NOW) for p in projections] == [False, False, True]
    # Completing the 1000-h service resets all three; the 500-h one only itself and the 250-h.
    assert set(preventive.counters_after_service(rules, PM1000, 1002.0, NOW)) == {1, 2, 3}
    assert set(preventive.counters_after_service(rules, PM500, 502.0, NOW)) == {1, 2}
    assert preventive.counters_after_service(rules + [LOADBANK], LOADBANK, 5.0, NOW) == {4: Counter(5.0, NOW)}


@pytest.mark.parametrize("hours, expected", [(0.0, 0.0), (249.9, 0.0), (9120.0, 9000.0), (500.0, 500.0)])
def test_initial_counter_is_the_last_interval_boundary(hours, expected):
    assert preventive.initial_counter(PM250, hours, NOW).last_done_hours == expected
