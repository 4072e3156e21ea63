"""Scheduled jobs, trend alarms, RUL estimates and life-cycle actions on the real stores."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from fleet import jobs, lifecycle, maintenance, order_actions, queries, work_order_service
from fleet.diagnosis_service import DiagnosisService
from fleet.models import BurstDiagnosis, Component, Machine, Technician, WorkOrder, from_ns
from telemetry import schema
from telemetry.operating_lines import operating_lines
from telemetry.store import BurstMeta, TelemetryStore

from app_helpers import seed_demo_fleet
from fleet_helpers import T0, EventLog, write_burst

pytestmark = pytest.mark.integration
NS = 1_000_000_000


@pytest.fixture
def fleet_db(session_factory, sql_url, tmp_path):
    seed_demo_fleet(sql_url, tmp_path)
    return session_factory


def visible_all(session_factory) -> list[int]:
    from fleet.models import Tenant

    with session_factory() as session:
        return list(session.scalars(select(Tenant.id)))


def test_sweep_submits_only_undiagnosed_bursts_once_they_are_old_enough(influx, fleet_db):
    store = TelemetryStore(influx)
    service = DiagnosisService(store, fleet_db, EventLog())
    done = write_burst(influx, "EX-1001", "engine", 1800.0, T0, seed_=1)
    missed = write_burst(influx, "EX-1002", "engine", 1800.0, T0 + 60 * NS, seed_=2)
    service.process_burst(done.burst_id)
    submitted: list[str] = []
    now = from_ns(T0) + timedelta(minutes=1, seconds=10)  # "missed" ended 9 s ago: inside the grace
    sweep = jobs.BurstSweep(store, fleet_db, submitted.append, clock=lambda: now)
    assert sweep() == []
    now = from_ns(T0) + timedelta(minutes=5)
    assert sweep() == [missed.burst_id]

    # In the scheduler process (not the web process whose worker had the burst from the writer), a
    # burst is taken only after it stayed undiagnosed for the settle time: the worker may be busy.
    settled = jobs.BurstSweep(store, fleet_db, submitted.append, clock=lambda: now,
                              settle=jobs.SWEEP_SETTLE_ELSEWHERE)
    assert settled() == []
    now += jobs.SWEEP_SETTLE_ELSEWHERE - timedelta(seconds=1)
    assert settled() == []
    now += timedelta(seconds=1)
    assert settled() == [missed.burst_id]

    failing = jobs.BurstSweep(store, fleet_db, lambda b: (_ for _ in ()).throw(RuntimeError("boom")),
                              clock=lambda: now)
    for _ in range(jobs.SWEEP_MAX_ATTEMPTS + 2):
        failing()
    assert failing.attempts[missed.burst_id] == jobs.SWEEP_MAX_ATTEMPTS  # gave up, no endless retries

    real = jobs.BurstSweep(store, fleet_db, service.process_burst, clock=lambda: now)
    real()
    with fleet_db() as session:
        assert session.scalar(select(func.count()).select_from(BurstDiagnosis)) == 2


def test_operating_sync_copies_hours_position_and_last_seen(influx, fleet_db):
    store = TelemetryStore(influx)
    events = EventLog()
    t = T0 + 30 * NS
    influx.write("".join(operating_lines("GS-2003", [(t, {"hour_meter_h": 801.5, "lat": 53.81, "lon": -1.56})])),
                 rp=schema.RP_LIFE)
    assert jobs.sync_operating_state(store, fleet_db, events) == 1
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "GS-2003"))
        assert (machine.hours, machine.lat, machine.lon) == (801.5, 53.81, -1.56)
        assert machine.last_seen_at == from_ns(t)
    (name, payload, audience), = events.events
    assert name == "machine_status" and payload["machine"] == "GS-2003" and payload["hours"] == 801.5
    assert jobs.sync_operating_state(store, fleet_db, events) == 0  # nothing new: no event


def test_scheduler_has_the_fleet_jobs(influx, fleet_db):
    scheduler = jobs.build_scheduler(TelemetryStore(influx), fleet_db, EventLog(), submit_burst=lambda b: None)
    # (the delivery jobs join when the bus has a delivery service, as in the app)
    assert {j.id for j in scheduler.get_jobs()} == {"burst_sweep", "operating_sync", "rul_scoring",
                                                   "overdue_escalation", "alarm_escalation", "reporting_check",
                                                   "fault_code_alarms", "security_check", "pm_projection", "dispatch_proposal",
                                                   "dispatch_recovery",
                                                   "upload_ledger_prune"}
    assert not scheduler.running


def test_rul_job_calls_the_scoring_and_skips_kinds_without_a_model(influx, fleet_db):
    pytest.importorskip("fleet.rul_scoring")
    events = EventLog()
    results = jobs.run_rul_scoring(TelemetryStore(influx), fleet_db, events)
    with fleet_db() as session:
        assert len(results) == session.scalar(select(func.count()).select_from(Component))
    # A fresh database has no trained model: nothing is scored, planned or announced.
    assert all(not r.scored and "model" in r.reason for r in results)
    assert events.events == []
    with fleet_db() as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0
        # Each component keeps the reason, for the console to say why there is no number.
        notes = set(session.scalars(select(Component.rul_note)))
    assert notes and all(note and "model" in note for note in notes)


def _open_order(influx, fleet_db) -> int:
    service = DiagnosisService(TelemetryStore(influx), fleet_db, EventLog())
    meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.7)
    return service.process_burst(meta.burst_id).opened[0]


def test_overdue_orders_escalate_once_per_interval(influx, fleet_db):
    order_id = _open_order(influx, fleet_db)
    with fleet_db() as session:  # start from "medium" so the raise is visible whatever the finding was
        order = session.get(WorkOrder, order_id)
        order.priority = "medium"
        session.commit()
        due, priority = order.due_at, order.priority
    events = EventLog()
    assert work_order_service.escalate_overdue(fleet_db, events, now=due - timedelta(hours=1)) == 0
    assert work_order_service.escalate_overdue(fleet_db, events, now=due + timedelta(hours=1)) == 1
    assert work_order_service.escalate_overdue(fleet_db, events, now=due + timedelta(hours=2)) == 0
    with fleet_db() as session:
        order = session.get(WorkOrder, order_id)
        assert maintenance.priority_rank(order.priority) == maintenance.priority_rank(priority) + 1
        assert "overdue" in order.history[-1]["note"]
    assert events.named("work_order")[0][1]["change"] == "escalated"


def test_life_cycle_actions_update_status_and_publish(influx, fleet_db):
    order_id = _open_order(influx, fleet_db)
    visible = visible_all(fleet_db)
    events = EventLog()
    with fleet_db() as session:
        sam = session.scalar(select(Technician).where(Technician.name == "Sam Okafor")).id
    engineer = lifecycle.Actor("engineer@x", "engineer")
    me = lifecycle.Actor("Sam Okafor", "technician", sam)
    view = order_actions.perform(fleet_db, events, order_id, "assign", engineer, visible, technician_id=sam)
    assert view["status"] == "assigned" and view["technician"] == "Sam Okafor"
    with fleet_db() as session:
        mine = queries.technician_orders(session, sam)
        assert [o["id"] for o in mine] == [order_id] and mine[0]["site"]["name"] == "Northbridge General Hospital"
        load = {t["name"]: t["active_orders"] for t in queries.technicians(session)}
        assert load["Sam Okafor"] == 1 and load["Priya Raman"] == 0
    spalled = lifecycle.Completion("outer_race_spalled", "wear", "bearing_replaced", "yes",
                                   parts_used=(lifecycle.PartUse("6312-2Z-C3", 1),), notes="DE bearing replaced")
    with pytest.raises(lifecycle.IllegalTransition):
        order_actions.perform(fleet_db, events, order_id, "complete", me, visible, completion=spalled)
    order_actions.perform(fleet_db, events, order_id, "accept", me, visible)
    order_actions.perform(fleet_db, events, order_id, "start", me, visible)
    with pytest.raises(work_order_service.OrderNotFound):
        order_actions.perform(fleet_db, events, order_id, "complete", me, [], completion=spalled)
    view = order_actions.perform(fleet_db, events, order_id, "complete", me, visible, completion=spalled)
    assert view["status"] == "done" and view["parts"][0]["part_number"] == "6312-2Z-C3"
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "GS-2001"))
        assert machine.status == "ok"  # no active order left
    changes = [p["change"] for name, p, _ in events.events if name == "work_order"]
    assert changes == ["assigned", "accepted", "started", "completed"]
    assert events.named("machine_status")[-1][1]["status"] == "ok"


def test_rul_estimate_updates_the_components_order_and_publishes(influx, fleet_db):
    order_id = _open_order(influx, fleet_db)
    events = EventLog()
    now = datetime.now(timezone.utc)
    changes = work_order_service.apply_rul_estimate(fleet_db, events, "GS-2001", "alternator_de",
                                                    20.0, 60.0, 150.0, "alternator_bearing-v3", now=now)
    assert [(c.order.id, c.change) for c in changes] == [(order_id, "updated")]
    with fleet_db() as session:
        order = session.get(WorkOrder, order_id)
        assert order.due_at == now + timedelta(hours=20)
        assert order.evidence["rul"]["model_version"] == "alternator_bearing-v3"
        assert order.severity == "alarm"
    # P10 = 20 h is inside the planning horizon: an alarm too
    assert [e[0] for e in events.events] == ["rul", "work_order", "machine_status", "alarm"]
    # The alarm names the component in words, not by its identifier.
    title = next(e for e in events.events if e[0] == "alarm")[1]["title"]
    assert title.startswith("Alternator drive end: 10 % chance of failure") and "alternator_de" not in title
    # A long RUL on a healthy component opens nothing.
    assert work_order_service.apply_rul_estimate(fleet_db, events, "EX-1004", "engine", 5000, 8000, 12000, "v1") == []


def test_trend_step_opens_an_order_once(influx, fleet_db):
    """A component whose velocity has been steady at 0.3 mm/s jumps to its (healthy) ~0.9 mm/s."""
    store = TelemetryStore(influx)
    start = T0 - 40 * 3600 * NS
    for i in range(40):
        meta = BurstMeta(
            burst_id=schema.burst_id_for("EX-1004", "engine.acc", "radial", start + i * 3600 * NS), machine="EX-1004",
            component="engine", sensor="engine.acc", axis="radial", sample_rate_hz=25600.0,
            start_ns=start + i * 3600 * NS, n_samples=25600, units="m/s2", shaft_rpm=1800.0)
        store.write_features(meta, {"velocity_rms_mm_s": 0.3 + 0.002 * (i % 3), "health_index": 1.0})
    service = DiagnosisService(store, fleet_db, EventLog())
    burst = write_burst(influx, "EX-1004", "engine", 1800.0, T0, seed_=3)
    outcome = service.process_burst(burst.burst_id)
    assert [t["kind"] for t in outcome.trends] == ["step"] and outcome.trends[0]["feature"] == "velocity_rms_mm_s"
    assert len(outcome.opened) == 1
    with fleet_db() as session:
        order = session.get(WorkOrder, outcome.opened[0])
        assert (order.fault_mode, order.source, order.severity) == (maintenance.TREND_FAULT_MODE, "trend", "warning")
        assert order.evidence["trend"]["baseline"] == pytest.approx(0.302, abs=0.01)
    later = write_burst(influx, "EX-1004", "engine", 1800.0, T0 + 3600 * NS, seed_=4)
    again = service.process_burst(later.burst_id)
    assert again.trends == [] and again.opened == [] and again.updated == []  # the same step, not new
