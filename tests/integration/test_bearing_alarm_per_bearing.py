"""One open diagnosis alarm per bearing, on the real InfluxDB and SQL store.

GS-2006's alternator non-drive-end bearing has an inner-race defect in the demo; at some speeds its
bursts hold outer-race lines nearly as strong (``diagnostics.bearing`` then reports both modes).
Before, each mode raised its own alarm. Now: one alarm naming the leading mode with the other as
its alternative, the same alarm re-titled when a later burst's leading mode changes, cleared by
bursts that find nothing on that bearing, one work order; and open alarms keyed the old way are
merged by migration 0019.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fleet import db
from fleet.diagnosis_service import DiagnosisService
from fleet.handlers import as_bus
from fleet.models import Alarm, Machine, WorkOrder, from_ns
from fleet.workorders import ACTIVE_STATUSES
from telemetry.store import TelemetryStore

from app_helpers import seed_demo_fleet
from fleet_helpers import T0, EventLog, write_burst

pytestmark = pytest.mark.integration
NS = 1_000_000_000
HOUR = 3600 * NS
MACHINE, COMPONENT, BEARING = "GS-2006", "alternator_nde", "NDE"
# Bursts of the demo's inner-race defect (severity 0.6) that the diagnosis reads as two modes of the
# one bearing: at 1510 rpm the inner race leads, outer-race lines at 98 % of its strength; at 1490
# rpm the outer race leads, inner-race lines at 90 %.
INNER_LEADS = dict(rpm=1510.0, seed_=2)
OUTER_LEADS = dict(rpm=1490.0, seed_=3)


@pytest.fixture
def fleet_db(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


def burst(influx, at_ns, rpm, seed_, fault="bearing_inner_race"):
    return write_burst(influx, MACHINE, COMPONENT, rpm, at_ns, fault if fault else None, BEARING if fault else None,
                       0.6 if fault else 0.0, seed_=seed_)


def modes_on_bearing(outcome):
    ranked = sorted((f for f in outcome.findings if f["location"] == BEARING), key=lambda f: -f["score"])
    return [(f["fault_mode"], f["score"]) for f in ranked]


def bearing_alarms(factory, state_open=True):
    with factory() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == MACHINE))
        stmt = select(Alarm).where(Alarm.machine_id == machine.id, Alarm.source == "diagnosis",
                                   Alarm.component == COMPONENT)
        if state_open:
            stmt = stmt.where(Alarm.state.in_(("active", "acknowledged")))
        return session.scalars(stmt.order_by(Alarm.id)).all()


def bearing_orders(factory):
    with factory() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == MACHINE))
        return session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine.id,
                                                       WorkOrder.location == BEARING,
                                                       WorkOrder.status.in_(ACTIVE_STATUSES))).all()


def test_two_modes_of_one_bearing_make_one_alarm_that_follows_the_leading_mode_and_clears(influx, fleet_db):
    events = EventLog()
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(events, fleet_db))

    first = service.process_burst(burst(influx, T0, **INNER_LEADS).burst_id)
    modes = modes_on_bearing(first)
    assert [m for m, _ in modes] == ["bearing_inner_race", "bearing_outer_race"], \
        f"the burst no longer reads as two modes of the NDE bearing: {modes}"
    [alarm] = bearing_alarms(fleet_db)
    strength = round(100 * round(modes[1][1] / modes[0][1], 2))
    assert alarm.cause == "bearing:NDE" and alarm.open_key.endswith("|alternator_nde|diagnosis:bearing:NDE")
    assert alarm.title == "Bearing inner-race defect on alternator non-drive end"
    assert alarm.detail["verdict"] == (f"Inner race more likely; outer-race lines also present at {strength} % "
                                       f"of its strength.")
    assert alarm.severity == "warning"  # the inner race's warning, not the outer race's watch
    [alternative] = alarm.detail["alternatives"]
    assert alternative["fault_mode"] == "bearing_outer_race" and alternative["finding"]["evidence"]
    assert alarm.detail["finding"]["fault_mode"] == "bearing_inner_race" and alarm.detail["finding"]["evidence"]
    [order] = bearing_orders(fleet_db)
    assert alarm.work_order_id == order.id

    second = service.process_burst(burst(influx, T0 + HOUR, **OUTER_LEADS).burst_id)
    assert [m for m, _ in modes_on_bearing(second)] == ["bearing_outer_race", "bearing_inner_race"]
    [again] = bearing_alarms(fleet_db)
    assert again.id == alarm.id and again.count == 2
    assert again.title == "Bearing outer-race defect on alternator non-drive end"
    assert again.severity == "warning"  # a repeat never lowers the severity
    assert again.detail["verdict"].startswith("Outer race more likely; inner-race lines also present at ")
    assert again.history[-1]["note"].startswith("leading fault mode inner race → outer race: Outer race more likely")
    [same_order] = bearing_orders(fleet_db)
    # one order per bearing, counting bursts (not modes), with both modes' evidence of the latest burst
    assert same_order.id == order.id and same_order.occurrences == 2
    assert same_order.evidence["finding"]["fault_mode"] == "bearing_inner_race"
    assert set(same_order.evidence["other_findings"]) == {"bearing_outer_race"}
    assert same_order.evidence["burst_ids"] == [first.burst_id, second.burst_id]
    changes = [p["change"] for name, p, _ in events.events if name == "alarm" and p["id"] == alarm.id]
    assert changes.count("raised") == 1 and changes[-1] == "updated"

    # Bursts that find nothing on the bearing clear it after three in a row (the default rule).
    for k in range(3):
        clean = service.process_burst(burst(influx, T0 + (2 + k) * HOUR, 1500.0, 20 + k, fault=None).burst_id)
        assert not modes_on_bearing(clean), f"a healthy burst found {modes_on_bearing(clean)}"
        [still] = bearing_alarms(fleet_db, state_open=False)
        assert still.state == ("cleared" if k == 2 else "active"), (k, still.state, still.detail.get("clean_bursts"))
    assert (still.clear_reason, still.clear_comment) == ("condition_gone",
                                                         "3 clean bursts in a row of alternator_nde.acc")


def test_a_burst_older_than_the_alarm_counts_but_does_not_change_its_verdict(influx, fleet_db):
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(EventLog(), fleet_db))
    service.process_burst(burst(influx, T0 + HOUR, **INNER_LEADS).burst_id)
    service.process_burst(burst(influx, T0, **OUTER_LEADS).burst_id)  # the sweep catching up
    [alarm] = bearing_alarms(fleet_db)
    assert alarm.count == 2 and alarm.last_seen_at == from_ns(T0 + HOUR)
    assert alarm.title == "Bearing inner-race defect on alternator non-drive end"
    assert alarm.detail["fault_mode"] == "bearing_inner_race"
    assert not any("leading fault mode" in h["note"] for h in alarm.history)


def legacy_alarm(machine, cause, severity, title, state, score, seen_at, **extra):
    """An open alarm as the service raised it before migration 0019 (one per fault mode)."""
    return Alarm(tenant_id=machine.tenant_id, machine_id=machine.id, component=COMPONENT,
                 component_id=machine.component(COMPONENT).id, source="diagnosis", cause=cause,
                 open_key=Alarm.key_text(machine.id, COMPONENT, "diagnosis", cause) if state != "cleared" else None,
                 severity=severity, title=title, state=state, raised_at=seen_at, first_seen_at=seen_at,
                 last_seen_at=seen_at, count=2, escalation_step=0, ack_comment="", clear_comment="",
                 clear_reason="", history=[{"at": seen_at.isoformat(), "note": f"raised ({severity})"}],
                 detail={"burst_id": "b1", "sensor": f"{COMPONENT}.acc",
                         "finding": {"fault_mode": cause.split(":")[0], "location": BEARING, "score": score,
                                     "evidence": [{"label": "x1"}], "summary": title}}, **extra)


def test_migration_merges_the_old_per_mode_alarms_of_a_bearing_and_later_bursts_update_the_merged_one(
        influx, fleet_db, sql_url):
    seen = from_ns(T0 - 2 * HOUR)
    db.downgrade(sql_url, "0018")
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == MACHINE))
        other = session.scalar(select(Machine).where(Machine.uid == "GS-2001"))
        order = WorkOrder(tenant_id=machine.tenant_id, machine_id=machine.id,
                          component_id=machine.component(COMPONENT).id, fault_mode="bearing_inner_race",
                          location=BEARING, source="diagnosis", title="Bearing inner-race defect", status="open",
                          evidence={}, history=[], parts=[])
        session.add(order)
        session.flush()
        inner = legacy_alarm(machine, "bearing_inner_race:NDE", "warning",
                             "Bearing inner-race defect on alternator non-drive end", "acknowledged", 45.6, seen,
                             work_order_id=order.id, acknowledged_by="engineer@ironwatch.example")
        outer = legacy_alarm(machine, "bearing_outer_race:NDE", "watch",
                             "Bearing outer-race defect on alternator non-drive end", "active", 44.7,
                             seen + timedelta(minutes=1))
        gone = legacy_alarm(machine, "bearing_cage:NDE", "watch", "Bearing cage defect", "cleared", 30.0, seen)
        alone = legacy_alarm(other, "bearing_outer_race:DE", "alarm", "Bearing outer-race defect", "active", 80.0, seen)
        alone.component, alone.component_id = "alternator_de", other.component("alternator_de").id
        alone.open_key = Alarm.key_text(other.id, "alternator_de", "diagnosis", "bearing_outer_race:DE")
        session.add_all([inner, outer, gone, alone])
        session.commit()
        ids = inner.id, outer.id, gone.id, alone.id
    db.upgrade(sql_url)

    with fleet_db() as session:
        inner, outer, gone, alone = (session.get(Alarm, i) for i in ids)
        # The active one stays (its escalation chain runs), named after the stronger inner race.
        assert (outer.state, outer.cause, outer.severity) == ("active", "bearing:NDE", "warning")
        assert outer.open_key == Alarm.key_text(outer.machine_id, COMPONENT, "diagnosis", "bearing:NDE")
        assert outer.title == "Bearing inner-race defect on alternator non-drive end"
        assert outer.detail["fault_mode"] == "bearing_inner_race"
        assert [a["fault_mode"] for a in outer.detail["alternatives"]] == ["bearing_outer_race"]
        assert outer.detail["verdict"].startswith("Inner race more likely; outer-race lines also reported")
        assert outer.work_order_id == order.id and outer.count == 4 and outer.first_seen_at == seen
        assert f"merged {inner.number}" in outer.history[-1]["note"]
        assert (inner.state, inner.open_key, inner.clear_reason) == ("cleared", None, "merged")
        assert outer.number in inner.clear_comment
        assert (gone.cause, gone.state) == ("bearing_cage:NDE", "cleared")  # history stays as it was
        assert (alone.cause, alone.state, alone.title) == ("bearing:DE", "active", "Bearing outer-race defect")

    # A new burst of the bearing updates the merged alarm; no second one is raised.
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(EventLog(), fleet_db))
    service.process_burst(burst(influx, T0, **OUTER_LEADS).burst_id)
    [merged] = bearing_alarms(fleet_db)
    assert merged.id == ids[1] and merged.count == 5
    assert merged.title == "Bearing outer-race defect on alternator non-drive end"
    assert merged.history[-1]["note"].startswith("leading fault mode inner race → outer race")


def test_migration_downgrade_gives_open_bearing_alarms_their_leading_mode_back(influx, fleet_db, sql_url):
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(EventLog(), fleet_db))
    service.process_burst(burst(influx, T0, **INNER_LEADS).burst_id)
    db.downgrade(sql_url, "0018")
    [alarm] = bearing_alarms(fleet_db)
    assert alarm.cause == "bearing_inner_race:NDE"
    assert alarm.open_key == Alarm.key_text(alarm.machine_id, COMPONENT, "diagnosis", "bearing_inner_race:NDE")
    db.upgrade(sql_url)
    [alarm] = bearing_alarms(fleet_db)
    assert alarm.cause == "bearing:NDE"


def test_the_demo_fleets_damaged_bearings_raise_one_alarm_and_one_order_each(influx, fleet_db):
    """The demo's bearing faults (``demo_fleet.FAULTS``) over bursts at speeds around nominal, as the
    simulator varies them: each damaged bearing has one open alarm and one active order, also where
    a burst reported two modes of it (before: two alarms for GS-2006's and EX-1009's bearings)."""
    from fleet import demo_fleet

    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(EventLog(), fleet_db))
    nominal = {m.uid: m.nominal_shaft_rpm for m in demo_fleet.MACHINES}
    two_modes = set()
    faults = [f for f in demo_fleet.FAULTS if f.fault.startswith("bearing_") and f.severity_end > 0.5]
    for fault in faults:
        # speed (fraction of nominal) and noise seed of each burst; among them the speeds at which
        # the gensets' and the excavators' bearings read as two modes
        for k, (factor, seed_) in enumerate(((1.0, 0), (1510 / 1500, 2), (1490 / 1500, 3), (1900 / 1800, 0),
                                             (1.0, 1), (0.98, 4))):
            meta = write_burst(influx, fault.machine, fault.component, nominal[fault.machine] * factor, T0 + k * HOUR,
                               fault.fault, fault.location, 0.6, seed_=seed_)
            outcome = service.process_burst(meta.burst_id)
            if len({f["fault_mode"] for f in outcome.findings if f["location"] == fault.location}) > 1:
                two_modes.add(fault.machine)
    assert {"GS-2006", "EX-1009"} <= two_modes, f"no burst read as two modes of one bearing on {two_modes}"
    with fleet_db() as session:
        for fault in faults:
            machine = session.scalar(select(Machine).where(Machine.uid == fault.machine))
            alarms = session.scalars(select(Alarm).where(Alarm.machine_id == machine.id, Alarm.source == "diagnosis",
                                                         Alarm.component == fault.component)).all()
            assert [(a.cause, a.state) for a in alarms] == [(f"bearing:{fault.location}", "active")], fault
            orders = session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine.id,
                                                             WorkOrder.location == fault.location)).all()
            assert len(orders) == 1 and orders[0].id == alarms[0].work_order_id, fault


def test_migration_merges_on_postgresql_too(tmp_path):
    from fleet import seed
    from fleet_helpers import throwaway_pg_database

    seen = from_ns(T0 - 2 * HOUR)
    with throwaway_pg_database() as url:
        db.upgrade(url, "0018")
        engine = db.make_engine(url)
        try:
            factory = db.session_factory(engine)
            seed.seed(factory, tmp_path)
            with factory() as session:
                machine = session.scalar(select(Machine).where(Machine.uid == MACHINE))
                session.add_all([
                    legacy_alarm(machine, "bearing_inner_race:NDE", "warning", "Bearing inner-race defect", "active",
                                 45.6, seen),
                    legacy_alarm(machine, "bearing_outer_race:NDE", "watch", "Bearing outer-race defect", "active",
                                 44.7, seen + timedelta(minutes=1))])
                session.commit()
            db.upgrade(url)
            [kept] = bearing_alarms(factory)
            assert (kept.cause, kept.severity, kept.title) == ("bearing:NDE", "warning", "Bearing inner-race defect")
            assert [a["fault_mode"] for a in kept.detail["alternatives"]] == ["bearing_outer_race"]
            [merged] = [a for a in bearing_alarms(factory, state_open=False) if a.id != kept.id]
            assert (merged.state, merged.clear_reason, merged.open_key) == ("cleared", "merged", None)
        finally:
            engine.dispose()
