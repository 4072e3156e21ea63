"""Alarms on the real stores: raised from diagnoses, DM1 fault codes, stale data and RUL; one open
alarm per cause enforced by the database; acknowledge and clear with who, when and why."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.j1939 import describe_code
from fleet import alarm_service, jobs, queries, seed, work_order_service
from fleet.alarm_sources import check_reporting, evaluate_fault_codes
from fleet.alarms import AlarmNotFound, InvalidAlarmTransition
from fleet.diagnosis_service import DiagnosisService
from fleet.handlers import as_bus
from fleet.models import Alarm, AuditEntry, Machine, Tenant, User, from_ns
from telemetry import schema
from telemetry.operating_lines import operating_lines
from telemetry.store import TelemetryStore, fault_lines

from app_helpers import seed_demo_fleet
from fleet_helpers import T0, Clock, EventLog, throwaway_pg_database, write_burst

pytestmark = pytest.mark.integration
NS = 1_000_000_000
RED_STOP = {"mil": 0, "red_stop": 1, "amber_warning": 0, "protect": 0}
NO_LAMP = {"mil": 0, "red_stop": 0, "amber_warning": 0, "protect": 0}


@pytest.fixture
def fleet_db(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


def tenant_ids(session_factory, uid="GS-2001"):
    with session_factory() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == uid))
        other = session.scalar(select(Tenant.id).where(Tenant.kind == "customer", Tenant.id != machine.tenant_id))
        return list(machine.tenant.audience()), [other]


def engineer(session_factory):
    with session_factory() as session:
        return session.scalar(select(User).where(User.email == "engineer@ironwatch.example"))


def alarms_of(session_factory, uid):
    with session_factory() as session:
        return queries.alarms(session, [t.id for t in session.scalars(select(Tenant))], state="all", machine_uid=uid)


def test_outer_race_raises_one_alarm_and_repeats_update_it(influx, fleet_db):
    events = EventLog()
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(events, fleet_db))
    first = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7, seed_=1)
    second = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0 + 3600 * NS, "bearing_outer_race", "DE",
                         0.8, seed_=2)
    service.process_burst(first.burst_id)
    service.process_burst(second.burst_id)

    outer = [a for a in alarms_of(fleet_db, "GS-2001") if a["cause"] == "bearing:DE"]
    assert len(outer) == 1, outer
    alarm = outer[0]
    assert (alarm["component"], alarm["source"], alarm["cause"], alarm["state"]) == \
        ("alternator_de", "diagnosis", "bearing:DE", "active")
    assert alarm["detail"]["fault_mode"] == "bearing_outer_race" and alarm["title"].startswith("Bearing outer-race")
    assert alarm["count"] == 2 and alarm["first_seen_at"] < alarm["last_seen_at"]
    assert alarm["work_order_id"] is not None and alarm["detail"]["burst_id"] == second.burst_id
    changes = [p["change"] for name, p, _ in events.events if name == "alarm" and p["id"] == alarm["id"]]
    # raised, its first escalation step (the on-call technician, at once), then the repeat
    assert changes == ["raised", "escalated", "updated"]
    with fleet_db() as session:  # the audit log heard the raise
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.subject_type == "alarm", AuditEntry.subject_id == alarm["id"], AuditEntry.action == "raised")) == 1


def test_the_database_refuses_a_second_open_alarm_for_one_cause(fleet_db):
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "EX-1001"))
        key = Alarm.key_text(machine.id, "", "dm1", "spn110:fmi0")
        row = dict(tenant_id=machine.tenant_id, machine_id=machine.id, component="", source="dm1", cause="spn110:fmi0",
                   open_key=key, severity="alarm", title="t", detail={}, state="active", ack_comment="",
                   clear_comment="", clear_reason="", history=[])
        session.add(Alarm(**row))
        session.commit()
        session.add(Alarm(**row))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        # once the first is cleared (open_key NULL) the same cause may alarm again
        first = session.scalar(select(Alarm).where(Alarm.open_key == key))
        first.clear("t", reason="manual")
        session.add(Alarm(**row))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Alarm)) == 2


def test_dedup_holds_on_postgresql_too(influx):
    from fleet import db

    with throwaway_pg_database() as url:
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            factory = db.session_factory(engine)
            seed.seed(factory, __import__("pathlib").Path(__import__("tempfile").mkdtemp()))
            store = TelemetryStore(influx)
            influx.write("".join(fault_lines("EX-1001", T0, "u1", RED_STOP, [{"spn": 110, "fmi": 0,
                                                                             "occurrence_count": 1}])),
                         rp=schema.RP_LIFE)
            for _ in range(2):
                as_bus(EventLog()).handle(evaluate_fault_codes(store, factory, "EX-1001", from_ns(T0 + 60 * NS)))
            with factory() as session:
                assert session.scalar(select(func.count()).select_from(Alarm)) == 1
        finally:
            engine.dispose()


def test_acknowledge_records_who_when_why_and_refuses_bad_requests(influx, fleet_db):
    store = TelemetryStore(influx)
    influx.write("".join(fault_lines("GS-2001", T0, "u1", RED_STOP,
                                     [{"spn": 110, "fmi": 0, "occurrence_count": 1},
                                      {"spn": 100, "fmi": 1, "occurrence_count": 2}])), rp=schema.RP_LIFE)
    events = EventLog()
    bus = as_bus(events, fleet_db)
    bus.handle(evaluate_fault_codes(store, fleet_db, "GS-2001", from_ns(T0 + 60 * NS), describe_code))
    visible, other_customer = tenant_ids(fleet_db)
    alarm_id = alarms_of(fleet_db, "GS-2001")[0]["id"]
    user = engineer(fleet_db)

    with pytest.raises(AlarmNotFound):  # another customer's user: absent, and nothing changes
        alarm_service.acknowledge(fleet_db, bus, alarm_id, other_customer, "x@y", None, "mine now")
    with pytest.raises(AlarmNotFound):
        alarm_service.acknowledge(fleet_db, bus, 999_999, visible, user.email, user.id)
    assert {a["state"] for a in alarms_of(fleet_db, "GS-2001")} == {"active"}

    view = alarm_service.acknowledge(fleet_db, bus, alarm_id, visible, user.email, user.id, "  on my way  ")
    assert (view["state"], view["acknowledged_by"], view["ack_comment"]) == ("acknowledged", user.email, "on my way")
    assert view["acknowledged_at"] and view["next_escalation_at"] is None
    with pytest.raises(InvalidAlarmTransition):
        alarm_service.acknowledge(fleet_db, bus, alarm_id, visible, user.email, user.id)

    acked = alarm_service.acknowledge_machine(fleet_db, bus, "GS-2001", visible, user.email, user.id, "bulk")
    assert len(acked) == 1 and acked[0]["ack_comment"] == "bulk"  # only the one still active
    with pytest.raises(AlarmNotFound):
        alarm_service.acknowledge_machine(fleet_db, bus, "GS-2001", other_customer, "x@y", None)
    cleared = alarm_service.clear(fleet_db, bus, alarm_id, visible, user.email, user.id, "sensor replaced")
    assert (cleared["state"], cleared["clear_reason"], cleared["cleared_by"]) == ("cleared", "manual", user.email)
    live = [(p["change"], p["actor"]) for name, p, audience in events.events if name == "alarm"]
    assert ("acknowledged", user.email) in live and ("cleared", user.email) in live
    assert all(sorted(a) == sorted(visible) for n, p, a in events.events if n == "alarm")


def test_red_stop_lamp_alarms_shows_in_status_and_clears_when_inactive(influx, fleet_db):
    store = TelemetryStore(influx)
    bus = as_bus(EventLog(), fleet_db)
    code = {"spn": 110, "fmi": 0, "occurrence_count": 1}
    influx.write("".join(fault_lines("EX-1004", T0, "u1", RED_STOP, [code])), rp=schema.RP_LIFE)
    bus.handle(evaluate_fault_codes(store, fleet_db, "EX-1004", from_ns(T0 + 60 * NS), describe_code))
    bus.handle(evaluate_fault_codes(store, fleet_db, "EX-1004", from_ns(T0 + 120 * NS), describe_code))  # same message

    (alarm,) = alarms_of(fleet_db, "EX-1004")
    assert (alarm["source"], alarm["cause"], alarm["severity"], alarm["count"]) == ("dm1", "spn110:fmi0", "alarm", 1)
    assert alarm["title"].startswith("Engine coolant temperature (SPN 110)")
    visible, _ = tenant_ids(fleet_db, "EX-1004")
    with fleet_db() as session:
        row = next(r for r in queries.fleet_overview(session, visible) if r["uid"] == "EX-1004")
    assert row["status"] == "alarm"  # the fleet table shows the red stop lamp

    # the amber lamp alone is a warning
    influx.write("".join(fault_lines("EX-1004", T0 + 300 * NS, "u2", {**NO_LAMP, "amber_warning": 1},
                                     [code, {"spn": 168, "fmi": 17, "occurrence_count": 1}])), rp=schema.RP_LIFE)
    bus.handle(evaluate_fault_codes(store, fleet_db, "EX-1004", from_ns(T0 + 360 * NS), describe_code))
    by_cause = {a["cause"]: a for a in alarms_of(fleet_db, "EX-1004")}
    assert by_cause["spn168:fmi17"]["severity"] == "warning"
    assert by_cause["spn110:fmi0"]["severity"] == "alarm" and by_cause["spn110:fmi0"]["count"] == 2

    influx.write("".join(fault_lines("EX-1004", T0 + 600 * NS, "u3", NO_LAMP, [])), rp=schema.RP_LIFE)
    bus.handle(evaluate_fault_codes(store, fleet_db, "EX-1004", from_ns(T0 + 660 * NS), describe_code))
    assert {(a["state"], a["clear_reason"]) for a in alarms_of(fleet_db, "EX-1004")} == {("cleared", "condition_gone")}
    with fleet_db() as session:
        assert session.scalar(select(Machine.status).where(Machine.uid == "EX-1004")) == "unknown"


def test_fault_code_rules_override_the_lamp(influx, fleet_db):
    from fleet.models import FaultCodeRule

    with fleet_db() as session:
        oem = session.scalar(select(Tenant.id).where(Tenant.kind == "oem"))
        session.add_all([FaultCodeRule(tenant_id=oem, spn=97, fmi=None, severity="alarm"),
                         FaultCodeRule(tenant_id=oem, spn=168, fmi=17, severity=None)])
        session.commit()
    influx.write("".join(fault_lines("EX-1005", T0, "u1", NO_LAMP, [{"spn": 97, "fmi": 3, "occurrence_count": 1},
                                                                  {"spn": 168, "fmi": 17, "occurrence_count": 1}])),
                 rp=schema.RP_LIFE)
    as_bus(EventLog()).handle(evaluate_fault_codes(TelemetryStore(influx), fleet_db, "EX-1005", from_ns(T0 + NS)))
    assert [(a["cause"], a["severity"]) for a in alarms_of(fleet_db, "EX-1005")] == [("spn97:fmi3", "alarm")]


def test_a_silent_machine_alarms_and_clears_when_data_resumes(influx, fleet_db):
    store = TelemetryStore(influx)
    events = EventLog()
    t = T0
    clock = Clock(from_ns(t) + timedelta(minutes=20))
    bus = as_bus(events, fleet_db, clock)
    influx.write("".join(operating_lines("GS-2009", [(t, {"engine_speed_rpm": 1500.0})])), rp=schema.RP_LIFE)
    jobs.sync_operating_state(store, fleet_db, bus)
    check_reporting(fleet_db, bus, clock)
    assert alarms_of(fleet_db, "GS-2009") == []

    clock.advance(minutes=11)  # past the 30 min window of a running machine
    check_reporting(fleet_db, bus, clock)
    clock.advance(minutes=5)
    check_reporting(fleet_db, bus, clock)
    (alarm,) = alarms_of(fleet_db, "GS-2009")
    assert (alarm["source"], alarm["cause"], alarm["state"], alarm["count"]) == ("stale", "not_reporting", "active", 1)
    assert "no data for 36 min" in alarm["title"]
    # the prime-power set (30 min); the standby sets and excavators (heartbeat, 60 min) raise nothing
    assert all(a["machine"] == "GS-2009" for a in alarms_of(fleet_db, None))
    with fleet_db() as session:
        assert session.scalar(select(Machine.status).where(Machine.uid == "GS-2009")) == "warning"

    resumed = t + 40 * 60 * NS
    influx.write("".join(operating_lines("GS-2009", [(resumed, {"engine_speed_rpm": 1500.0})])), rp=schema.RP_LIFE)
    jobs.sync_operating_state(store, fleet_db, bus)
    clock.now = from_ns(resumed) + timedelta(minutes=1)
    check_reporting(fleet_db, bus, clock)
    (alarm,) = alarms_of(fleet_db, "GS-2009")
    assert (alarm["state"], alarm["clear_reason"]) == ("cleared", "condition_gone")
    # the on-call technician was told at once; the engineers' step (15 min) never came: it cleared first
    assert [p["change"] for n, p, _ in events.events if n == "alarm"] == ["raised", "escalated", "cleared"]


def test_reseeding_moves_the_old_daily_standby_window_to_the_heartbeat_but_keeps_an_admins(fleet_db, tmp_path):
    from fleet import demo_fleet

    with fleet_db() as session:
        session.scalar(select(Machine).where(Machine.uid == "GS-2003")).reporting = \
            dict(demo_fleet.LEGACY_STANDBY_REPORTING)
        session.scalar(select(Machine).where(Machine.uid == "GS-2004")).reporting = {"standby": True, "window_min": 90}
        session.commit()
    seed.seed(fleet_db, tmp_path)
    with fleet_db() as session:
        assert session.scalar(select(Machine.reporting).where(Machine.uid == "GS-2003"))["window_min"] == 60
        assert session.scalar(select(Machine.reporting).where(Machine.uid == "GS-2004")) == {"standby": True,
                                                                                                "window_min": 90}


def test_standby_genset_is_held_to_its_heartbeat_and_its_exercise_schedule(fleet_db):
    from datetime import datetime, timezone

    bus = as_bus(EventLog(), fleet_db)
    with fleet_db() as session:
        genset = session.scalar(select(Machine).where(Machine.uid == "GS-2003"))
        assert genset.reporting["standby"] is True and genset.reporting["window_min"] == 60
        genset.last_seen_at = datetime(2026, 12, 2, 8, 15, tzinfo=timezone.utc)  # Wednesday 08:15 London
        session.commit()
    # 09:00: 45 min since its last heartbeat, inside the window of four 15-min heartbeats
    check_reporting(fleet_db, bus, lambda: datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc))
    assert alarms_of(fleet_db, "GS-2003") == []
    # 09:20: 65 min, four heartbeats missed: the unit itself has gone silent
    check_reporting(fleet_db, bus, lambda: datetime(2026, 12, 2, 9, 20, tzinfo=timezone.utc))
    assert [a["cause"] for a in alarms_of(fleet_db, "GS-2003")] == ["not_reporting"]

    with fleet_db() as session:
        session.scalar(select(Machine).where(Machine.uid == "GS-2004")).last_seen_at = \
            datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
        session.commit()
    # 10:35 London, 35 min silent: fine for a heartbeat, not during the exercise run it owes
    check_reporting(fleet_db, bus, lambda: datetime(2026, 12, 2, 10, 35, tzinfo=timezone.utc))
    assert [a["cause"] for a in alarms_of(fleet_db, "GS-2004")] == ["not_reporting"]


def test_an_excavator_keyed_off_overnight_reports_by_heartbeat_and_an_hour_of_silence_alarms(fleet_db):
    """The seeded excavator window (60 min, fleet.demo_fleet.EXCAVATOR_REPORTING): its unit's 15-min
    key-off heartbeats keep it reporting all night, two of them lost in a coverage dip too; an hour
    without contact (key on or off) is "not reporting"."""
    from datetime import datetime, timezone

    bus = as_bus(EventLog(), fleet_db)

    def heard(at):
        with fleet_db() as session:
            session.scalar(select(Machine).where(Machine.uid == "EX-1004")).last_seen_at = at
            session.commit()

    with fleet_db() as session:
        assert session.scalar(select(Machine.reporting).where(Machine.uid == "EX-1004")) == {"window_min": 60}
    night = datetime(2026, 12, 8, 17, 31, tzinfo=timezone.utc)   # Tuesday, keyed off at 17:30 London
    lost = {night + timedelta(minutes=15 * k) for k in (20, 21)}  # 22:31 and 22:46 never arrive
    for k in range(54):   # heartbeats until 07:01 the next morning, judged every 5 minutes
        beat = night + timedelta(minutes=15 * k)
        if beat not in lost:
            heard(beat)
        for minutes in (0, 5, 10):
            check_reporting(fleet_db, bus, lambda: beat + timedelta(minutes=minutes))
    assert alarms_of(fleet_db, "EX-1004") == [], "the night's heartbeats (a 45-min dip among them) are reporting"

    key_on = datetime(2026, 12, 9, 9, 0, tzinfo=timezone.utc)
    heard(key_on)
    check_reporting(fleet_db, bus, lambda: key_on + timedelta(minutes=59))
    assert alarms_of(fleet_db, "EX-1004") == []
    check_reporting(fleet_db, bus, lambda: key_on + timedelta(minutes=61))
    assert [a["cause"] for a in alarms_of(fleet_db, "EX-1004")] == ["not_reporting"]


def test_rul_inside_the_planning_horizon_alarms_and_clears(fleet_db):
    events = EventLog()
    work_order_service.apply_rul_estimate(fleet_db, events, "EX-1006", "engine", 100.0, 400.0, 900.0, "engine-v1")
    (alarm,) = alarms_of(fleet_db, "EX-1006")
    assert (alarm["source"], alarm["severity"], alarm["component"]) == ("rul", "warning", "engine")
    work_order_service.apply_rul_estimate(fleet_db, events, "EX-1006", "engine", 400.0, 900.0, 1500.0, "engine-v1")
    (alarm,) = alarms_of(fleet_db, "EX-1006")
    assert alarm["state"] == "cleared"
    # an estimate at the model's cap (healthy) clears it too
    work_order_service.apply_rul_estimate(fleet_db, events, "EX-1006", "engine", 30.0, 90.0, 150.0, "engine-v1")
    assert work_order_service.clear_rul_alarm(fleet_db, events, "EX-1006", "engine") == 1
    assert {a["state"] for a in alarms_of(fleet_db, "EX-1006")} == {"cleared"}
