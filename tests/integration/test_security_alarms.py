"""The ``security`` alarm source on the real stores: positions and engine speeds written into the
test's InfluxDB database as the writer stores them, the ``security_check`` job run on an injected
clock, alarms read back from SQL. A geofence exit is raised once (not again on a second run),
clears when the machine is back; a curfew follows the site's local time across both daylight-saving
changes."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from fleet import queries
from fleet.handlers import as_bus
from fleet.models import Machine, Site, Tenant, from_ns
from fleet.security_alarms import check_security
from fleet.security_rules import Geofence, parse_curfew
from fleet.site_security import SiteSecurityService
from telemetry import schema
from telemetry.operating_lines import operating_lines
from telemetry.store import TelemetryStore

from app_helpers import seed_demo_fleet
from fleet_helpers import EventLog

pytestmark = pytest.mark.integration
NS = 1_000_000_000
UID = "EX-1004"  # an excavator at Holloway Top Pit (Granite Ridge Quarries)
METRES_PER_DEG_LAT = 111_320.0


@pytest.fixture
def fleet_db(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


def site_of(session_factory, uid=UID) -> Site:
    with session_factory() as session:
        site = session.scalar(select(Site).join(Machine, Machine.site_id == Site.id).where(Machine.uid == uid))
        session.expunge(site)
        return site


def security_alarms(session_factory, uid=UID):
    with session_factory() as session:
        every = [t.id for t in session.scalars(select(Tenant))]
        return [a for a in queries.alarms(session, every, state="all", machine_uid=uid) if a["source"] == "security"]


def scope_of(session_factory, email: str):
    """What ``email`` may see and edit (``fleet.scope``), as the app loads it per request."""
    from fleet.models import User
    from fleet.scope import scope_of_user

    with session_factory() as session:
        return scope_of_user(session, session.scalar(select(User).where(User.email == email)))


ENGINEER, OWNER = "engineer@ironwatch.example", "customer@graniteridge.example"


def north_of(site: Site, metres: float) -> tuple[float, float]:
    return site.lat + metres / METRES_PER_DEG_LAT, site.lon


def write_minutes(influx, start_ns: int, minutes: int, lat: float, lon: float, rpm: float = 1800.0,
                  every_s: int = 5, uid: str = UID) -> int:
    """``minutes`` minutes of samples every ``every_s`` s at one position; returns the end (ns)."""
    samples = [(start_ns + i * every_s * NS, {"engine_speed_rpm": rpm, "lat": lat, "lon": lon})
               for i in range(minutes * 60 // every_s)]
    influx.write("".join(operating_lines(uid, samples)), rp=schema.RP_LIFE)
    return start_ns + minutes * 60 * NS


def alarm_changes(events: EventLog) -> list[tuple[str, str]]:
    return [(p["cause"], p["change"]) for name, p, _ in events.events if name == "alarm" and p["source"] == "security"]


def test_a_machine_leaving_its_site_raises_one_alarm_that_clears_when_it_is_back(influx, fleet_db):
    store, events = TelemetryStore(influx), EventLog()
    bus = as_bus(events, fleet_db)
    site = site_of(fleet_db)
    t0 = (int(datetime.now(timezone.utc).timestamp()) // 60 - 40) * 60 * NS  # 40 min ago, on a minute

    # working on site, with a few seconds of multipath 400 m off in one minute: the minute's median holds
    t = write_minutes(influx, t0, 5, *north_of(site, 120.0))
    influx.write("".join(operating_lines(UID, [(t - 90 * NS + i * NS, {"lat": north_of(site, 520.0)[0],
                                                                       "lon": site.lon}) for i in range(8)])),
                 rp=schema.RP_LIFE)
    assert check_security(store, fleet_db, bus, lambda: from_ns(t)) == 0

    # carried off: two minutes 2.3 km away are not yet enough (GNSS can be wrong for a minute) ...
    away = north_of(site, 2300.0)
    t = write_minutes(influx, t, 2, *away, rpm=0.0)
    assert check_security(store, fleet_db, bus, lambda: from_ns(t)) == 0
    assert security_alarms(fleet_db) == []
    # ... the third is
    t = write_minutes(influx, t, 1, *away, rpm=0.0)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    (alarm,) = security_alarms(fleet_db)
    assert (alarm["cause"], alarm["severity"], alarm["state"], alarm["count"]) == ("geofence_exit", "alarm", "active", 1)
    assert alarm["title"] == "EX-1004 left Holloway Top Pit: 2.3 km from the site"
    assert math.isclose(alarm["detail"]["distance_m"], 2300.0, rel_tol=0.01)
    with fleet_db() as session:
        assert session.scalar(select(Machine.status).where(Machine.uid == UID)) == "alarm"

    # a second run (or a second scheduler) over the same data changes nothing
    before = len(events.events)
    assert check_security(store, fleet_db, bus, lambda: from_ns(t)) == 0
    assert len(events.events) == before
    # still away and farther: the same alarm, its title follows the distance, no repeat counted
    t = write_minutes(influx, t, 1, *north_of(site, 5200.0), rpm=0.0)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    (alarm,) = security_alarms(fleet_db)
    assert (alarm["count"], alarm["title"]) == (1, "EX-1004 left Holloway Top Pit: 5.2 km from the site")

    # brought back: cleared once three minutes agree
    t = write_minutes(influx, t, 2, *north_of(site, 80.0))
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert security_alarms(fleet_db)[0]["state"] == "active"
    t = write_minutes(influx, t, 1, *north_of(site, 80.0))
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    (alarm,) = security_alarms(fleet_db)
    assert (alarm["state"], alarm["clear_reason"]) == ("cleared", "condition_gone")
    assert [c for c in alarm_changes(events) if c[1] != "escalated"] == [("geofence_exit", "raised"),
                                                                          ("geofence_exit", "cleared")]


def test_a_wider_fence_or_a_fence_turned_off_clears_the_alarm(influx, fleet_db):
    store, bus = TelemetryStore(influx), as_bus(EventLog(), fleet_db)
    site = site_of(fleet_db)
    t0 = (int(datetime.now(timezone.utc).timestamp()) // 60 - 20) * 60 * NS
    t = write_minutes(influx, t0, 4, *north_of(site, 900.0))
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [a["state"] for a in security_alarms(fleet_db)] == ["active"]

    service = SiteSecurityService(fleet_db, bus)
    engineer = scope_of(fleet_db, ENGINEER)
    service.update(site.id, engineer, ENGINEER, Geofence(site.lat, site.lon, 1200.0), None)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [a["state"] for a in security_alarms(fleet_db)] == ["cleared"]

    service.update(site.id, engineer, ENGINEER, Geofence(site.lat, site.lon, 500.0, enabled=False), None)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [a["state"] for a in security_alarms(fleet_db)] == ["cleared"]  # off: nothing raised


WEEKDAYS_6_TO_20 = {key: (key not in ("sat", "sun"), "06:00", "20:00")
                    for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.mark.parametrize("utc, breach, words", [
    # spring: the UK changes to BST (UTC+1) on Sunday 29 March 2026 at 01:00 UTC
    (datetime(2026, 3, 27, 5, 30), True, "Fri 05:30"),   # GMT: 05:30 local, before 06:00
    (datetime(2026, 3, 30, 5, 30), False, None),          # BST: 06:30 local, allowed
    (datetime(2026, 3, 30, 4, 30), True, "Mon 05:30"),   # BST: 05:30 local
    (datetime(2026, 3, 28, 12, 0), True, "Sat 12:00"),   # weekend: never allowed
    # autumn: back to GMT on Sunday 25 October 2026 at 01:00 UTC
    (datetime(2026, 10, 23, 5, 30), False, None),         # BST: 06:30 local
    (datetime(2026, 10, 26, 5, 30), True, "Mon 05:30"),  # GMT: 05:30 local
    (datetime(2026, 10, 26, 20, 5), True, "Mon 20:05"),  # GMT: past the 20:00 end
    (datetime(2026, 10, 23, 19, 5), True, "Fri 20:05"),  # BST: 19:05 UTC is already 20:05 local
])
def test_the_curfew_follows_the_site_clock_across_daylight_saving(influx, fleet_db, utc, breach, words):
    store, events = TelemetryStore(influx), EventLog()
    bus = as_bus(events, fleet_db)
    site = site_of(fleet_db)
    assert site.timezone == "Europe/London"
    SiteSecurityService(fleet_db, bus).update(site.id, scope_of(fleet_db, OWNER), OWNER,
                                              Geofence(site.lat, site.lon), parse_curfew(True, WEEKDAYS_6_TO_20))
    start = int(utc.replace(tzinfo=timezone.utc).timestamp()) * NS
    t = write_minutes(influx, start, 1, site.lat, site.lon, rpm=1750.0)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    found = security_alarms(fleet_db)
    if not breach:
        assert found == []
        return
    (alarm,) = found
    assert (alarm["cause"], alarm["severity"], alarm["state"]) == ("curfew", "warning", "active")
    assert alarm["title"] == f"EX-1004 running outside allowed hours ({words}, allowed Mon–Fri 06:00–20:00)"
    check_security(store, fleet_db, bus, lambda: from_ns(t))  # again: nothing changes
    t = write_minutes(influx, t, 1, site.lat, site.lon, rpm=1750.0)
    check_security(store, fleet_db, bus, lambda: from_ns(t))  # still running: the same alarm, since then
    (alarm,) = security_alarms(fleet_db)
    assert alarm["count"] == 1 and words in alarm["title"]

    # the engine stops: cleared
    t = write_minutes(influx, t, 1, site.lat, site.lon, rpm=0.0)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    (alarm,) = security_alarms(fleet_db)
    assert (alarm["state"], alarm["clear_reason"]) == ("cleared", "condition_gone")


def test_running_into_the_allowed_hours_clears_the_curfew_alarm(influx, fleet_db):
    store, bus = TelemetryStore(influx), as_bus(EventLog(), fleet_db)
    site = site_of(fleet_db)
    SiteSecurityService(fleet_db, bus).update(site.id, scope_of(fleet_db, ENGINEER), ENGINEER,
                                              Geofence(site.lat, site.lon), parse_curfew(True, WEEKDAYS_6_TO_20))
    # Monday 30 March 2026 (BST): running from 05:58 to 06:02 local
    start = int(datetime(2026, 3, 30, 4, 58, tzinfo=timezone.utc).timestamp()) * NS
    t = write_minutes(influx, start, 1, site.lat, site.lon)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [(a["cause"], a["state"]) for a in security_alarms(fleet_db)] == [("curfew", "active")]
    t = write_minutes(influx, t + 60 * NS, 2, site.lat, site.lon)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [(a["cause"], a["state"]) for a in security_alarms(fleet_db)] == [("curfew", "cleared")]


def test_a_key_off_heartbeat_without_engine_speed_clears_a_gensets_curfew_alarm(influx, fleet_db):
    uid = "GS-2003"  # a standby set at the hospital: after a run it only sends key-off heartbeats
    store, bus = TelemetryStore(influx), as_bus(EventLog(), fleet_db)
    site = site_of(fleet_db, uid)
    SiteSecurityService(fleet_db, bus).update(site.id, scope_of(fleet_db, ENGINEER), ENGINEER,
                                              Geofence(site.lat, site.lon), parse_curfew(True, WEEKDAYS_6_TO_20))
    sunday = int(datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc).timestamp()) * NS
    t = write_minutes(influx, sunday, 1, site.lat, site.lon, rpm=1500.0, uid=uid)
    check_security(store, fleet_db, bus, lambda: from_ns(t))
    assert [(a["cause"], a["state"]) for a in security_alarms(fleet_db, uid)] == [("curfew", "active")]
    heartbeat = t + 15 * 60 * NS
    influx.write("".join(operating_lines(uid, [(heartbeat, {"lat": site.lat, "lon": site.lon, "battery_v": 27.4})])),
                 rp=schema.RP_LIFE)
    check_security(store, fleet_db, bus, lambda: from_ns(heartbeat))
    assert [(a["cause"], a["state"]) for a in security_alarms(fleet_db, uid)] == [("curfew", "cleared")]


def test_a_machine_carried_off_with_its_key_off_is_seen_from_three_heartbeats(influx, fleet_db):
    """Key off, the unit sends one status sample every 15 min: three of them far away raise it."""
    store, bus = TelemetryStore(influx), as_bus(EventLog(), fleet_db)
    site = site_of(fleet_db)
    t0 = (int(datetime.now(timezone.utc).timestamp()) // 60 - 80) * 60 * NS
    away = north_of(site, 12_000.0)
    beats = [t0 + k * 15 * 60 * NS for k in range(4)]  # one on site, then three 12 km away
    for k, t in enumerate(beats):
        lat, lon = (site.lat, site.lon) if k == 0 else away
        influx.write("".join(operating_lines(UID, [(t, {"lat": lat, "lon": lon, "battery_v": 24.8})])),
                     rp=schema.RP_LIFE)
        check_security(store, fleet_db, bus, lambda: from_ns(t + 60 * NS))
        assert [a["state"] for a in security_alarms(fleet_db)] == ([] if k < 3 else ["active"])
    assert security_alarms(fleet_db)[0]["title"] == "EX-1004 left Holloway Top Pit: 12 km from the site"


def test_machines_without_recent_data_or_curfew_raise_nothing(influx, fleet_db):
    """The demo fleet as seeded (default fences, no curfew): running at night on site is fine."""
    store, bus = TelemetryStore(influx), as_bus(EventLog(), fleet_db)
    site = site_of(fleet_db)
    night = int(datetime(2026, 3, 28, 2, 14, tzinfo=timezone.utc).timestamp()) * NS
    t = write_minutes(influx, night, 4, *north_of(site, 140.0))
    assert check_security(store, fleet_db, bus, lambda: from_ns(t)) == 0
    # two hours later nothing is known any more (the stale source says so): nothing changes
    assert check_security(store, fleet_db, bus, lambda: from_ns(t) + timedelta(hours=2)) == 0
    assert security_alarms(fleet_db) == []
