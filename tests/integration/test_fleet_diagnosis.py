"""The diagnosis → work-order thread against the real InfluxDB and a real SQL database.

Bursts are synthesised from the seeded machines' own kinematics and written to InfluxDB the way
the telemetry writer stores them; the service reads them back from there.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from diagnostics.synthesis import synthesize_burst
from fleet import queries, seed
from fleet.diagnosis_service import DiagnosisService
from fleet.models import BurstDiagnosis, Machine, Tenant, WorkOrder
from telemetry import schema
from telemetry.store import BurstMeta, TelemetryStore, burst_meta_line

from app_helpers import seed_demo_fleet
from fleet_helpers import FS, T0, EventLog, kinematics_of, throwaway_pg_database, write_burst

pytestmark = pytest.mark.integration


@pytest.fixture
def fleet_db(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


@pytest.fixture
def tenants(fleet_db):
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "GS-2001"))
        return {"customer": machine.tenant_id, "oem": machine.tenant.parent_id,
                "other_customer": session.scalar(select(Tenant.id).where(Tenant.kind == "customer",
                                                                          Tenant.id != machine.tenant_id))}


def test_outer_race_burst_opens_one_work_order_and_tells_the_right_tenants(influx, fleet_db, tenants):
    store = TelemetryStore(influx)
    events = EventLog()
    service = DiagnosisService(store, fleet_db, events)
    meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7)

    outcome = service.process_burst(meta.burst_id)

    assert not outcome.already_processed
    top = outcome.findings[0]
    assert (top["component"], top["fault_mode"], top["location"]) == ("alternator_de", "bearing_outer_race", "DE")
    assert any(e["label"].startswith("BPFO") for e in top["evidence"])
    assert len(outcome.opened) == 1 and outcome.updated == []

    # InfluxDB holds the features and the diagnosis of this burst.
    history = store.feature_history("GS-2001", "alternator_de")
    assert history["burst_id"] == [meta.burst_id] and history["iso_zone"] == [outcome.iso_zone]
    diagnoses = influx.query("SELECT * FROM life.diagnoses WHERE machine = 'GS-2001'")
    assert {row[diagnoses[0]["columns"].index("fault_mode")] for row in diagnoses[0]["values"]} >= {"bearing_outer_race"}

    with fleet_db() as session:
        order = session.get(WorkOrder, outcome.opened[0])
        assert (order.machine.uid, order.component.name, order.fault_mode, order.location, order.status) == \
            ("GS-2001", "alternator_de", "bearing_outer_race", "DE", "open")
        assert order.evidence["burst_ids"] == [meta.burst_id]
        assert order.due_at > datetime.now(timezone.utc)
        # Sam (Leeds, bearings + electrical) is the obvious choice for a hospital genset in Leeds.
        assert order.proposed_technician.name == "Sam Okafor"
        machine = order.machine
        assert machine.status == top["severity"] and machine.iso_zone == outcome.iso_zone
        assert machine.last_seen_at == datetime.fromtimestamp(T0 / 1e9, tz=timezone.utc)

    audience = sorted([tenants["customer"], tenants["oem"]])
    assert [e[0] for e in events.events] == ["diagnosis", "work_order", "machine_status", "alarm"]
    assert all(sorted(e[2]) == audience for e in events.events)
    assert events.named("work_order")[0][1]["change"] == "opened"
    assert events.named("machine_status")[0][1]["open_work_orders"] == 1


def test_reprocessing_a_burst_changes_nothing(influx, fleet_db):
    events = EventLog()
    service = DiagnosisService(TelemetryStore(influx), fleet_db, events)
    meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7)
    first = service.process_burst(meta.burst_id)
    published = len(events.events)
    again = service.process_burst(meta.burst_id)
    assert again.already_processed and again.findings == first.findings
    assert len(events.events) == published
    with fleet_db() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 1
        assert session.scalar(select(func.count()).select_from(BurstDiagnosis)) == 1


def test_the_same_fault_again_updates_the_open_order(influx, fleet_db):
    service = DiagnosisService(TelemetryStore(influx), fleet_db, EventLog())
    first = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.6, seed_=1)
    later = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0 + 600 * 10**9, "bearing_outer_race", "DE",
                        0.8, seed_=2)
    opened = service.process_burst(first.burst_id).opened
    outcome = service.process_burst(later.burst_id)
    assert outcome.opened == [] and outcome.updated == opened
    with fleet_db() as session:
        orders = session.scalars(select(WorkOrder)).all()
        assert len(orders) == 1
        assert orders[0].occurrences == 2
        assert orders[0].evidence["burst_ids"] == [first.burst_id, later.burst_id]


def test_healthy_burst_opens_nothing_and_marks_the_machine_ok(influx, fleet_db):
    events = EventLog()
    service = DiagnosisService(TelemetryStore(influx), fleet_db, events)
    meta = write_burst(influx, "EX-1001", "engine", 1800.0, T0, seed_=5)
    outcome = service.process_burst(meta.burst_id)
    assert outcome.findings == [] and outcome.opened == []
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "EX-1001"))
        assert machine.status == "ok" and machine.iso_zone == "A"
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0
    assert [e[0] for e in events.events] == ["diagnosis", "machine_status"]


def test_read_models_are_scoped_by_tenant(influx, fleet_db, tenants):
    service = DiagnosisService(TelemetryStore(influx), fleet_db, EventLog())
    meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7)
    order_id = service.process_burst(meta.burst_id).opened[0]
    oem_view = [tenants["oem"], tenants["customer"], tenants["other_customer"]]
    with fleet_db() as session:
        everything = queries.fleet_overview(session, oem_view)
        own = queries.fleet_overview(session, [tenants["customer"]])
        other = queries.fleet_overview(session, [tenants["other_customer"]])
        assert {r["uid"] for r in own} < {r["uid"] for r in everything}
        assert "GS-2001" in {r["uid"] for r in own} and "GS-2001" not in {r["uid"] for r in other}
        row = next(r for r in own if r["uid"] == "GS-2001")
        assert row["status"] in ("watch", "warning", "alarm") and row["open_work_orders"] == 1
        assert row["worst_open_severity"] == row["status"] and row["last_seen_at"].endswith("Z")

        detail = queries.machine_detail(session, "GS-2001", [tenants["customer"]])
        assert [o["id"] for o in detail["work_orders"]] == [order_id]
        de = next(c for c in detail["components"] if c["name"] == "alternator_de")
        assert de["open_work_orders"] == 1 and de["sensors"][0]["name"] == "alternator_de.acc"
        assert detail["recent_findings"][0]["fault_mode"] == "bearing_outer_race"
        assert queries.machine_detail(session, "GS-2001", [tenants["other_customer"]]) is None

        assert queries.work_order(session, order_id, [tenants["other_customer"]]) is None
        assert queries.work_order(session, order_id, [tenants["customer"]])["evidence"]["burst_ids"] == [meta.burst_id]
        assert [o["id"] for o in queries.work_orders(session, oem_view, status="active")] == [order_id]
        assert queries.work_orders(session, [tenants["other_customer"]]) == []
        assert queries.recent_diagnoses(session, "GS-2001", [tenants["other_customer"]]) is None
        assert queries.recent_diagnoses(session, "GS-2001", [tenants["customer"]])[0]["burst_id"] == meta.burst_id


def test_the_thread_on_postgresql(influx, tmp_path):
    """The same burst → order → idempotent re-run, on a throwaway PostgreSQL database."""
    from fleet import db

    with throwaway_pg_database() as url:
        db.upgrade(url)
        engine = db.make_engine(url)
        factory = db.session_factory(engine)
        seed.seed(factory, tmp_path)
        events = EventLog()
        service = DiagnosisService(TelemetryStore(influx), factory, events)
        meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7)
        first = service.process_burst(meta.burst_id)
        assert first.findings[0]["fault_mode"] == "bearing_outer_race" and len(first.opened) == 1
        assert service.process_burst(meta.burst_id).already_processed
        with factory() as session:
            order = session.get(WorkOrder, first.opened[0])
            assert order.due_at.tzinfo is not None and order.evidence["burst_ids"] == [meta.burst_id]
            assert session.scalar(select(func.count()).select_from(WorkOrder)) == 1
        engine.dispose()


def test_burst_of_an_unknown_machine_is_refused_and_writes_nothing(influx, fleet_db):
    from fleet.diagnosis_service import DiagnosisError
    from telemetry.store import BurstNotFound

    store = TelemetryStore(influx)
    service = DiagnosisService(store, fleet_db, EventLog())
    samples = synthesize_burst(kinematics_of("GS-2001", "alternator_de"), 1500.0, seed=9)
    meta = BurstMeta(burst_id=schema.burst_id_for("XX-0001", "alternator_de.acc", "radial", T0), machine="XX-0001",
                     component="alternator_de", sensor="alternator_de.acc", axis="radial", sample_rate_hz=FS,
                     start_ns=T0, n_samples=len(samples), units="m/s2", shaft_rpm=1500.0)
    influx.write("".join(schema.encode_vibration_lines(meta.tags(), samples, T0, FS)), rp=schema.RP_RAW)
    influx.write(burst_meta_line(meta), rp=schema.RP_LIFE)
    with pytest.raises(DiagnosisError, match="XX-0001"):
        service.process_burst(meta.burst_id)
    assert store.feature_history("XX-0001", "alternator_de") == {"time": []}
    with pytest.raises(BurstNotFound):
        service.process_burst("GS-2001:alternator_de.acc:radial:123")
    with fleet_db() as session:
        assert session.scalar(select(func.count()).select_from(BurstDiagnosis)) == 0
