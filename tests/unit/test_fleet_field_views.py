"""Visit order of "my day" and the words of a job's headline (pure functions of fleet.field_views)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from fleet.field_views import headline, local_text, visit_order

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
LEEDS = (53.80, -1.55)


def job(key, site, lat, lon, due_days, priority="medium"):
    return {"id": key, "site_key": site, "lat": lat, "lon": lon, "priority": priority,
            "due_at": None if due_days is None else NOW + timedelta(days=due_days)}


def test_visits_go_by_due_day_then_nearest_site_next_with_one_sites_jobs_together_most_urgent_first():
    jobs = [job("far-today", "buxton", 53.24, -1.91, 0.2),
            job("near-today", "hospital", 53.80, -1.552, 0.3),
            job("near-today-urgent", "hospital", 53.80, -1.552, 0.4, "urgent"),
            job("salford-today", "salford", 53.47, -2.29, 0.1),
            job("tomorrow-next-door", "dc1", 53.78, -1.60, 1.2),
            job("no-date", "dc1", 53.78, -1.60, None)]
    order = [j["id"] for j in visit_order(jobs, *LEEDS)]  # Salford is ~61 km from Leeds, Buxton ~66 km
    assert order == ["near-today-urgent", "near-today", "salford-today", "far-today", "tomorrow-next-door", "no-date"]


def test_the_headline_names_component_and_fault_in_words_and_the_deadline_in_the_sites_zone():
    order = SimpleNamespace(component=SimpleNamespace(name="alternator_de"), machine=SimpleNamespace(model="IWG-1250"),
                            fault_mode="bearing_outer_race", location="DE", occurrences=3, history=[],
                            due_at=NOW + timedelta(days=4.2))
    text = headline(order, "Europe/London", NOW)
    assert text.startswith("Alternator drive end: bearing outer-race defect, getting worse; act within 5 days")
    assert "alternator_de" not in text and "(drive end)" not in text
    assert text.endswith(f"(by {local_text(order.due_at, 'Europe/London')})")
    order.due_at = NOW - timedelta(hours=3)
    assert "overdue since" in headline(order, "Europe/London", NOW)


def test_local_text_is_in_the_given_zone():
    assert local_text(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc), "Europe/London") == "Wed 1 Jul 13:00"
    assert local_text(None, "UTC") == ""


def test_my_day_follows_the_accepted_plan_first_then_due_priority_distance_and_says_which():
    from datetime import date

    from fleet.dispatch_service import PlannedVisit, visits_of
    from fleet.field_views import arrange_day, ordinal

    plan = {"assignments": [
        {"technician_id": 7, "day": "2026-12-08", "start_minute": 660, "work_order_ids": [2, 3]},
        {"technician_id": 7, "day": "2026-12-08", "start_minute": 480, "work_order_ids": [1]},
        {"technician_id": 9, "day": "2026-12-08", "start_minute": 500, "work_order_ids": [8]},
        {"technician_id": 7, "day": "2026-12-07", "start_minute": 600, "work_order_ids": [4]}]}
    visits = visits_of(plan, 7, proposal_id=5)
    assert [(v.day.day, v.ordinal, v.work_order_ids) for v in visits] == [(7, 1, (4,)), (8, 1, (1,)), (8, 2, (2, 3))]
    planned = {i: v for v in visits for i in v.work_order_ids}
    jobs = [dict(job(i, site, *LEEDS, due, priority), number=f"WO-{i}", site=site)
            for i, site, due, priority in ((1, "quarry", 5, "low"), (2, "hospital", 0.5, "medium"),
                                           (3, "hospital", 2, "urgent"), (4, "dc1", 1, "medium"),
                                           (6, "depot", 0.2, "high"), (5, "depot", 0.1, "low"))]
    day = arrange_day(jobs, planned, *LEEDS, today=date(2026, 12, 7))
    assert [[j["id"] for j in v["jobs"]] for v in day] == [[4], [1], [3, 2], [6, 5]]
    assert [v["visit"] for v in day] == [1, 2, 3, 4] and [j["visit"] for j in day[2]["jobs"]] == [3, 3]
    assert [v["number"] for v in day] == [1, 1, 2, 1]  # each day's places as dispatch planned them
    assert [v["group"] for v in day] == ["Today, Mon 7 Dec: planned by dispatch", "Tomorrow, Tue 8 Dec: planned by dispatch",
                                         "Tomorrow, Tue 8 Dec: planned by dispatch", "Not in a dispatch plan yet"]
    assert day[0]["plan_text"] == "Planned by dispatch for today, Mon 7 Dec, 1st visit"
    assert day[2]["plan_text"] == "Planned by dispatch for tomorrow, Tue 8 Dec, 2nd visit"
    assert day[3]["plan_text"].startswith("Not in a dispatch plan yet") and not day[3]["planned"]
    late = arrange_day(jobs[3:4], {4: PlannedVisit(date(2026, 12, 4), 3, 600, (4,), 1)}, *LEEDS, date(2026, 12, 7))
    assert late[0]["plan_text"] == "Planned by dispatch for Fri 4 Dec, 3rd visit (that day has passed)"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
