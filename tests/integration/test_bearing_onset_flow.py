"""A simulated bearing from healthy to degrading on the real stores (InfluxDB, SQL): its bursts'
features through the real pipeline, the scheduled RUL job on the FEMTO path, the onset alarm (once),
the degradation model's P10 driving a work order, and the repair clearing the alarm; plus the
auto-clear of diagnosis and trend alarms after clean bursts."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from diagnostics.degradation import HISTORY_CHANNELS
from diagnostics.pipeline import analyze_burst
from diagnostics.prognostics import TrainConfig, WindowSpec, fit_estimator
from diagnostics.prognostics.bearing_fleet import METADATA_KEY, fit_fleet_bearings
from diagnostics.synthesis import synthesize_burst
from fleet import alarm_service, jobs, lifecycle, order_actions, seed
from fleet.alarms import ClearRules
from fleet.diagnosis_service import DiagnosisService, auto_clear
from fleet.handlers import as_bus
from fleet.model_registry import ModelRegistry
from fleet.models import Alarm, Machine, Technician, WorkOrder, from_ns, utcnow
from telemetry import schema
from telemetry.simulator.fleet import FaultPlan
from telemetry.store import BurstMeta, TelemetryStore

from fleet_helpers import T0, EventLog, kinematics_of, write_burst

pytestmark = pytest.mark.integration
NS = 1_000_000_000
HOUR_NS = 3600 * NS
MACHINE, COMPONENT = "GS-2009", "alternator_de"


@pytest.fixture
def fleet_db(session_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("IRONWATCH_VAR", str(tmp_path))  # the job's registry reads its models there
    seed.seed(session_factory, tmp_path)
    return session_factory


def bearing_model():
    """A small LightGBM model of the contract's features carrying a bearing life model fitted on
    run-to-failure units (flat RMS, then exponential growth to failure, every 12 h)."""
    rng = np.random.default_rng(0)
    units, ages, rows, ruls, rms_units, rms_ages, rms = [], [], [], [], [], [], []
    for u in range(12):
        life = float(rng.uniform(200, 400))
        onset = life * float(rng.uniform(0.5, 0.8))
        age = np.arange(0.0, life, 12.0)
        level = 0.2 * np.exp(np.maximum(age - onset, 0.0) * 3.0 / (life - onset)) * np.exp(rng.normal(0, 0.03, age.size))
        rms_units += [u] * age.size
        rms_ages.append(age)
        rms.append(level)
        for a, r in zip(age, level):
            rows.append([1.0 + r, r, 4 * r, 4.0, 3.0, max(0.0, 1.0 - a / life)])
        units += [u] * age.size
        ages.append(age)
        ruls.append(life - age)
    est = fit_estimator(np.array(units), np.concatenate(ages), np.array(rows), np.concatenate(ruls),
                        list(HISTORY_CHANNELS), rul_cap=240.0, min_history=3,
                        spec=WindowSpec(mean_windows=(2,), std_windows=(2,), slope_windows=(2,), ewm_alphas=(0.3,),
                                        baseline_rows=2),
                        config=TrainConfig(num_boost_round=20, num_leaves=7, min_data_in_leaf=10, num_threads=1))
    est.metadata["cadence_hours"] = 12.0
    life_model = fit_fleet_bearings(np.array(rms_units), np.concatenate(rms_ages), np.concatenate(rms))
    est.metadata[METADATA_KEY] = life_model.to_dict()
    return est


def write_bearing_bursts(store, hours, plan, start_ns):
    """Bursts of the simulator's fault plan at ``hours`` after ``start_ns``, analysed by the real
    pipeline; their features are written as the diagnosis service writes them."""
    kin = kinematics_of(MACHINE, COMPONENT)
    for k, h in enumerate(hours):
        severity = plan.severity(h)
        x = synthesize_burst(kin, 1500.0, duration_s=1.0, fault=plan.fault if severity > 0 else None,
                             severity=severity, snr_db=20.0, seed=k, fault_location=plan.location)
        t = start_ns + int(h * HOUR_NS)
        meta = BurstMeta(schema.burst_id_for(MACHINE, f"{COMPONENT}.acc", "radial", t), MACHINE, COMPONENT,
                         f"{COMPONENT}.acc", "radial", 25600.0, t, x.size, "m/s2", 1500.0)
        store.write_features(meta, analyze_burst(x, 25600.0, 1500.0, kin).features)


def onset_alarms(session_factory):
    with session_factory() as session:
        return list(session.scalars(select(Alarm).where(Alarm.source == "onset").order_by(Alarm.id)))


def alarm_events(log, change):
    return [p for name, p, _ in log.events if name == "alarm" and p.get("source") == "onset"
            and p.get("change") == change]


def test_a_bearing_going_from_healthy_to_degrading_gets_an_onset_alarm_then_a_p10_work_order(influx, fleet_db,
                                                                                              tmp_path):
    registry = ModelRegistry(fleet_db, var_dir=tmp_path)
    record = registry.register("alternator_bearing", bearing_model())
    registry.promote("alternator_bearing", record.version)
    store = TelemetryStore(influx)
    log = EventLog()
    bus = as_bus(log, fleet_db)
    plan = FaultPlan("bearing_outer_race", "DE", 0.0, 0.9, 60.0)  # the demo's GS-2009 fault
    start = T0 - 60 * HOUR_NS

    write_bearing_bursts(store, [0.0, 12.0, 24.0, 36.0], plan, start)
    healthy = {(r.machine, r.component): r for r in jobs.run_rul_scoring(store, fleet_db, bus)}[(MACHINE, COMPONENT)]
    assert healthy.method == "bearing_life" and healthy.state == "healthy" and healthy.at_cap, healthy
    assert "no degradation onset yet" in healthy.note and onset_alarms(fleet_db) == []
    with fleet_db() as session:
        assert session.scalars(select(WorkOrder)).all() == []  # a population estimate is not planned on

    write_bearing_bursts(store, [46.0, 47.0, 48.0, 50.0, 52.0], plan, start)
    results = {(r.machine, r.component): r for r in jobs.run_rul_scoring(store, fleet_db, bus)}
    degrading = results[(MACHINE, COMPONENT)]
    assert degrading.state == "degrading" and not degrading.at_cap, degrading
    assert degrading.onset["state"] == "degrading" and degrading.onset["alarm_ns"] == start + 46 * HOUR_NS
    assert degrading.p10_h < degrading.p50_h < degrading.p90_h
    (alarm,) = onset_alarms(fleet_db)
    assert alarm.title == "Degradation onset on alternator drive end" and alarm.state == "active"
    assert alarm.component == COMPONENT and alarm.detail["alarm_ns"] == start + 46 * HOUR_NS
    assert len(alarm_events(log, "raised")) == 1
    # The estimate went to InfluxDB where the fan chart reads it, with the bearing path's version.
    written = store.rul_history(MACHINE, COMPONENT)
    assert written["p10_h"][-1] == degrading.p10_h and written["model_version"][-1] == f"{record.version}/bearing-life"
    # ... and its P10 planned a work order (due P10 hours from now).
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == MACHINE))
        (order,) = session.scalars(select(WorkOrder).where(WorkOrder.machine_id == machine.id)).all()
        assert order.source == "rul" and order.component.name == COMPONENT
        assert order.evidence["rul"]["p10_h"] == degrading.p10_h
        due_in_h = (order.due_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds() / 3600
        assert abs(due_in_h - max(degrading.p10_h, 0.0)) < 1.0 or degrading.p10_h < 24.0
        order_id, audience, fault_mode = order.id, machine.tenant.audience(), order.fault_mode
        technician = session.scalar(select(Technician).where(Technician.tenant_id.in_(audience)).order_by(Technician.id))
        technician_id, technician_name = technician.id, technician.name

    # The next run sees the same onset: no second alarm, no repeat.
    jobs.run_rul_scoring(store, fleet_db, bus)
    (again,) = onset_alarms(fleet_db)
    assert again.id == alarm.id and again.count == 1 and len(alarm_events(log, "raised")) == 1
    assert alarm_events(log, "updated") == []

    # The repair resets the baseline: the onset alarm clears, and the new bearing starts afresh.
    codes = lifecycle.code_list(fault_mode)
    replaced = lifecycle.Completion(next(iter(codes.problems)), "wear", next(iter(codes.remedies)), "yes",
                                    component_replaced=True, notes="Replaced the drive-end bearing: outer race spalled")
    engineer = lifecycle.Actor("engineer", "engineer")
    me = lifecycle.Actor(technician_name, "technician", technician_id)
    order_actions.perform(fleet_db, bus, order_id, "assign", engineer, audience, technician_id=technician_id)
    for action in ("accept", "start"):
        order_actions.perform(fleet_db, bus, order_id, action, me, audience)
    order_actions.perform(fleet_db, bus, order_id, "complete", me, audience, completion=replaced)
    (cleared,) = onset_alarms(fleet_db)
    assert cleared.state == "cleared" and cleared.clear_reason == "condition_gone"
    assert len(alarm_events(log, "cleared")) == 1
    after = {(r.machine, r.component): r for r in jobs.run_rul_scoring(store, fleet_db, bus)}[(MACHINE, COMPONENT)]
    assert after.onset["state"] == "baseline" and not after.scored and len(onset_alarms(fleet_db)) == 1


def test_a_diagnosis_alarm_clears_after_three_clean_bursts_of_its_sensor_and_a_relapse_restarts_the_count(
        influx, fleet_db):
    log = EventLog()
    service = DiagnosisService(TelemetryStore(influx), fleet_db, as_bus(log, fleet_db), clear_rules=ClearRules())
    t = T0 - 10 * HOUR_NS

    def burst(k, severity):
        meta = write_burst(influx, "GS-2001", "alternator_de", 1500.0, t + k * HOUR_NS,
                           "bearing_outer_race" if severity else None, "DE", severity, seed_=k)
        service.process_burst(meta.burst_id)

    def outer():
        with fleet_db() as session:
            return session.scalar(select(Alarm).where(Alarm.cause == "bearing:DE").order_by(Alarm.id.desc()))

    burst(0, 0.7)
    assert outer().state == "active" and outer().detail["sensor"] == "alternator_de.acc"
    burst(1, 0.0)
    burst(2, 0.0)
    assert outer().state == "active" and outer().detail["clean_bursts"] == 2
    burst(3, 0.7)  # the fault is back: the count starts again
    assert outer().state == "active" and "clean_bursts" not in outer().detail
    for k in (4, 5, 6):
        burst(k, 0.0)
    alarm = outer()
    assert alarm.state == "cleared" and alarm.clear_reason == "condition_gone"
    assert "3 clean bursts in a row of alternator_de.acc" in alarm.clear_comment
    cleared = [p for name, p, _ in log.events if name == "alarm" and p["id"] == alarm.id and p["state"] == "cleared"]
    assert len(cleared) == 1


def test_a_trend_alarm_clears_only_once_its_feature_is_back_near_its_baseline(fleet_db):
    from fleet.alarms import AlarmCondition

    now = utcnow()
    with fleet_db() as session:
        machine = session.scalar(select(Machine).where(Machine.uid == "EX-1004"))
        component = machine.component("engine")
        trend = {"kind": "step", "feature": "velocity_rms_mm_s", "baseline": 0.3, "sigma": 0.01}
        condition = AlarmCondition(machine_id=machine.id, component="engine", component_id=component.id,
                                   source="trend", cause="velocity_rms_mm_s:step", severity="warning",
                                   title="velocity step", observed_at=now - timedelta(hours=5),
                                   detail={"trend": trend, "sensor": "engine.acc"})
        (alarm,) = alarm_service.record_conditions(session, machine, [condition], now)
        rules = ClearRules.parse("trend=2")

        def one(hours, value, sensor="engine.acc"):
            auto_clear(session, machine, component, sensor, now - timedelta(hours=hours),
                       {"velocity_rms_mm_s": value}, [], rules, now)

        one(4, 0.9)  # still stepped up: not clean
        assert alarm.state == "active" and alarm.detail["clean_bursts"] == 0
        one(3, 0.31, sensor="other.acc")  # another sensor's burst does not count
        assert alarm.detail["clean_bursts"] == 0
        one(6, 0.31)  # older than the alarm's last sighting: does not count
        assert alarm.detail["clean_bursts"] == 0
        one(2, 0.31)
        assert alarm.state == "active" and alarm.detail["clean_bursts"] == 1
        one(1, 0.305)
        assert alarm.state == "cleared" and alarm.clear_reason == "condition_gone"
        session.rollback()
