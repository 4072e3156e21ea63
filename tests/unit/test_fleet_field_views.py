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
