"""The machine security rules with known answers: the fence verdict (GNSS tolerance, three
agreeing minutes), the curfew in the site's local time on both sides of a daylight-saving change,
the words of the titles, and every refusal of what people type in."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fleet.security_rules import (WORKING_WEEK, Curfew, Geofence, SecurityInputError, curfew_breach, distance_words,
                                  fence_verdict, parse_clock_minutes, parse_curfew, parse_fence)

SITE = (53.3050, -1.8530)
NS = 1_000_000_000


def north(metres: float) -> tuple[float, float]:
    return SITE[0] + metres / 111_195.0, SITE[1]  # metres per degree of latitude on the haversine's sphere


def minutes_at(*distances: float) -> list[tuple[int, float, float]]:
    return [(i * 60 * NS, *north(d)) for i, d in enumerate(distances)]


def at_utc(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp()) * NS


FENCE = Geofence(*SITE, radius_m=500.0)


def test_outside_needs_three_minutes_beyond_radius_and_tolerance():
    assert fence_verdict(FENCE, minutes_at(100, 100, 100)).state == "inside"
    assert fence_verdict(FENCE, minutes_at(100, 2300, 2300)).state == "unsure"   # two are not enough
    outside = fence_verdict(FENCE, minutes_at(100, 2300, 2300, 2300))
    assert outside.state == "outside" and outside.distance_m == pytest.approx(2300, rel=1e-3)
    # within the 50 m tolerance past the radius is not outside; beyond it is
    assert fence_verdict(FENCE, minutes_at(540, 540, 540)).state == "inside"
    assert fence_verdict(FENCE, minutes_at(560, 560, 560)).state == "outside"
    # one minute back inside: neither raise nor clear (hysteresis)
    assert fence_verdict(FENCE, minutes_at(2300, 100, 2300)).state == "unsure"
    assert fence_verdict(FENCE, []).state == "unsure"
    assert fence_verdict(FENCE, minutes_at(2300, 2300)).distance_m == pytest.approx(2300, rel=1e-3)


def test_distances_in_words():
    assert [distance_words(m) for m in (87.4, 999.0, 2340.0, 41_200.0)] == ["87 m", "999 m", "2.3 km", "41 km"]


def test_curfew_descriptions_join_days_with_the_same_hours():
    assert WORKING_WEEK.describe() == "Mon–Fri 06:00–20:00"
    late_friday = Curfew(tuple([(360, 1200)] * 4 + [(360, 960), (420, 720), None]))
    assert late_friday.describe() == "Mon–Thu 06:00–20:00, Fri 06:00–16:00, Sat 07:00–12:00"
    assert Curfew((None,) * 7).describe() == "no running allowed"
    assert Curfew.from_json(WORKING_WEEK.to_json()) == WORKING_WEEK
    assert Curfew.from_json(None) is None


@pytest.mark.parametrize("utc, breach", [
    ((2026, 3, 27, 5, 30), True),    # Friday, GMT: 05:30 local, before 06:00
    ((2026, 3, 27, 6, 0), False),    # 06:00 local: allowed from this minute
    ((2026, 3, 27, 19, 59), False),  # 19:59 GMT
    ((2026, 3, 27, 20, 0), True),    # 20:00 GMT: the window has ended
    ((2026, 3, 30, 5, 30), False),   # Monday, BST (from 29 March): 06:30 local
    ((2026, 3, 30, 4, 59), True),    # 05:59 BST
    ((2026, 3, 30, 19, 0), True),    # 20:00 BST
    ((2026, 3, 28, 12, 0), True),    # Saturday: no running at all
    ((2026, 10, 23, 19, 30), True),  # Friday, still BST: 20:30 local
    ((2026, 10, 26, 19, 30), False), # Monday, GMT again (from 25 October): 19:30 local
    ((2026, 10, 26, 5, 30), True),   # 05:30 GMT
])
def test_the_curfew_is_judged_in_the_sites_local_time(utc, breach):
    t = at_utc(*utc)
    assert curfew_breach(WORKING_WEEK, "Europe/London", [(t - 60 * NS, 0.0), (t, 1800.0)], 400.0) == (breach, t)


def test_a_stopped_engine_or_no_curfew_or_no_data_is_no_breach():
    t = at_utc(2026, 3, 28, 2, 14)
    assert curfew_breach(WORKING_WEEK, "Europe/London", [(t, 1800.0), (t + 60 * NS, 0.0)], 400.0) == (False, t + 60 * NS)
    assert curfew_breach(WORKING_WEEK, "Europe/London", [(t, 350.0)], 400.0) == (False, t)  # cranking, not running
    assert curfew_breach(None, "Europe/London", [(t, 1800.0)], 400.0) == (False, t)
    # a key-off heartbeat after the run (no engine speed: the controller is asleep) is a stop
    assert curfew_breach(WORKING_WEEK, "Europe/London", [(t, 1800.0), (t + 60 * NS, None)], 400.0) == \
        (False, t + 60 * NS)
    assert curfew_breach(WORKING_WEEK, "Europe/London", [], 400.0) is None
    # a site in another zone: 02:14 UTC on Saturday is 22:14 on Friday in New York (EDT since 8 March)
    until_23 = Curfew(tuple([(360, 1380)] * 5 + [None, None]))
    assert curfew_breach(until_23, "America/New_York", [(t, 1800.0)], 400.0) == (False, t)
    assert curfew_breach(WORKING_WEEK, "America/New_York", [(t, 1800.0)], 400.0) == (True, t)


@pytest.mark.parametrize("lat, lon, radius, field", [
    ("95", "0", "500", "fence_lat"), ("-90.5", "0", "500", "fence_lat"), ("", "0", "500", "fence_lat"),
    ("0", "180.1", "500", "fence_lon"), ("0", "east", "500", "fence_lon"), ("0", "nan", "500", "fence_lon"),
    ("0", "0", "0", "fence_radius_m"), ("0", "0", "-1", "fence_radius_m"), ("0", "0", "49", "fence_radius_m"),
    ("0", "0", "20001", "fence_radius_m"), ("0", "0", "1e400", "fence_radius_m"), ("0", "0", None, "fence_radius_m"),
])
def test_bad_fences_are_refused_naming_the_field(lat, lon, radius, field):
    with pytest.raises(SecurityInputError) as refused:
        parse_fence(lat, lon, radius, True)
    assert refused.value.field == field


def test_good_fences_and_curfews_parse():
    assert parse_fence(" 53.3 ", "-1.85", "500", False) == Geofence(53.3, -1.85, 500.0, False)
    assert parse_fence("-90", "180", "20000", True).radius_m == 20000.0
    days = {"mon": (True, "06:00", "20:00"), "sat": (True, "22:00", "00:00"), "sun": (False, "x", "y")}
    curfew = parse_curfew(True, days)
    assert curfew.days[0] == (360, 1200) and curfew.days[5] == (1320, 1440) and curfew.days[6] is None
    assert curfew.days[1] is None  # a day not given allows no running
    assert parse_curfew(False, days) is None


@pytest.mark.parametrize("text", ["6", "06:0x", "24:01", "12:60", "-1:00", "06:00:00", ""])
def test_bad_times_are_refused(text):
    with pytest.raises(SecurityInputError):
        parse_clock_minutes(text, "mon_start")


def test_a_window_must_end_after_it_starts():
    with pytest.raises(SecurityInputError) as refused:
        parse_curfew(True, {"tue": (True, "20:00", "06:00")})
    assert refused.value.field == "tue_end" and "Tue" in refused.value.message
    assert parse_clock_minutes("24:00", "x") == 1440 and parse_clock_minutes("6:05", "x") == 365
