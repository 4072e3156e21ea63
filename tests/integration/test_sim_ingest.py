"""The simulator against the real app: HTTP ingest, spool, InfluxDB, diagnosis (every part real).

Two machines of the seeded demo fleet - the faulty standby genset GS-2001 and the excavator
EX-1001 - run ten simulated minutes of the excavator's latest working day through the real ingest endpoints served by Werkzeug; the
writer then stores everything in the test's own InfluxDB database and the diagnosis worker reads
the first burst of GS-2001's faulty alternator bearing back and must find the defect.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug.serving import make_server

from app_helpers import app_config, seed_demo_fleet
from diagnostics.synthesis import synthesize_burst
from telemetry.gateway.client import Gateway
from telemetry.gateway.payloads import PATH_OPERATING, Upload
from telemetry.simulator.fleet import SimulatedMachine, burst_offsets_s, load_provisioning
from telemetry.simulator.run import FleetSimulator

pytestmark = pytest.mark.integration

NS = 10**9
MACHINES = ("GS-2001", "EX-1001")


@pytest.fixture
def served(influx, sql_url, tmp_path):
    """The real app on a free port, background services stopped (the test drives them)."""
    from app import create_app

    seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", tmp_path / "provisioning.json"
    server.shutdown()
    app.extensions["ironwatch"].stop()


def _working_start(provisioning, uid="EX-1001", run_s=600):
    """The start (UTC ns, a whole minute) of the latest ``run_s`` of the past days that EX-1001's
    site works: its key-on windows are in site time, so "an hour ago" may be night or a Sunday."""
    shift = next(p for p in load_provisioning(provisioning) if p.uid == uid).shift
    now = time.time_ns()
    t, latest = now - 6 * 86400 * NS, None
    while True:
        window_start, window_end = shift.window_after(t)
        start = (window_start // (60 * NS) + 1) * 60 * NS
        if start + run_s * NS > now - 60 * NS:
            return latest
        if start + run_s * NS <= window_end:
            latest = start
        t = window_end


def _simulator(url, provisioning, start_ns, seed=1):
    plans = [p for p in load_provisioning(provisioning) if p.uid in MACHINES]
    # speedup 1 for the stagger: every sensor's first burst falls within the first 30 s.
    offsets = iter(burst_offsets_s(sum(len(p.sensors) for p in plans), 1.0))
    machines = [SimulatedMachine(p, Gateway(url, p.token, p.uid), seed, start_ns,
                                 [next(offsets) for _ in p.sensors], synthesize_burst, gap_mean_h=0.0)
                for p in plans]
    return FleetSimulator(machines, start_ns)


def _count(influx, measurement, machine, field="*"):
    series = influx.query(f"SELECT count({field}) FROM {measurement} WHERE machine = '{machine}'")
    return {c: v for c, v in zip(series[0]["columns"], series[0]["values"][0]) if c != "time"} if series else {}


def test_simulated_fleet_is_stored_once_and_its_fault_is_diagnosed(served, influx):
    app, url, provisioning = served
    runtime = app.extensions["ironwatch"]
    start = _working_start(provisioning)
    sim = _simulator(url, provisioning, start)
    sim.run_until(start + 600 * NS)
    stats = sim.stats()
    assert stats.refused == 0, stats.last_error
    assert stats.accepted == stats.attempts and all(m.gateway.backlog == 0 for m in sim.machines)
    assert sum(m.counters.bursts for m in sim.machines) == 7, "every sensor's first burst went out"

    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=120)
    for uid in MACHINES:
        counts = _count(influx, "operating", uid, "engine_speed_rpm")
        assert counts["count"] == 600, f"{uid}: one operating point per simulated second"
    bursts = influx.query("SELECT count(n_samples) FROM bursts GROUP BY machine, sensor")
    assert len(bursts) == 7 and all(s["values"][0][1] == 1 for s in bursts)
    assert _count(influx, "faults", "GS-2001"), "the initial DM1 state was stored"

    # The same seed and start again: the server recognises every upload and stores nothing new.
    again = _simulator(url, provisioning, start)
    again.run_until(start + 600 * NS)
    assert again.stats().duplicate == stats.accepted and again.stats().accepted == 0

    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.diagnosis_queue.run_pending() == 7
    diagnoses = influx.query("SELECT * FROM diagnoses WHERE machine = 'GS-2001' AND component = 'alternator_de'")
    assert diagnoses, "the first burst of the faulty bearing was diagnosed"
    columns = diagnoses[0]["columns"]   # without GROUP BY the tags come back as columns
    modes = {row[columns.index("fault_mode")] for row in diagnoses[0]["values"]}
    assert "bearing_outer_race" in modes


def test_a_refused_upload_is_not_retried_and_names_the_field(served):
    _, url, provisioning = served
    plan = next(p for p in load_provisioning(provisioning) if p.uid == "EX-1001")
    gw = Gateway(url, plan.token, plan.uid)
    body = json.dumps({"upload_id": "8d6f0f7e-5a0e-4c0e-9a57-3f7f5b0c2d11", "machine": "EX-1001",
                       "samples": [{"time": time.time_ns(), "fields": {"engine_sped_rpm": 1.0}}]}).encode()
    result = gw.submit(Upload("8d6f0f7e-5a0e-4c0e-9a57-3f7f5b0c2d11", "operating", PATH_OPERATING, body,
                              {"Content-Type": "application/json"}))
    assert result.status == "refused" and result.http_status == 422
    assert "engine_sped_rpm" in json.dumps(result.detail)
    assert gw.backlog == 0 and gw.stats.attempts == 1

    other = Gateway(url, plan.token, "GS-2001")   # EX-1001's token naming another machine
    result = other.send_operating([(time.time_ns(), {"engine_speed_rpm": 1500.0})])
    assert result.status == "refused" and result.http_status == 403


def test_binary_int16_bursts_are_accepted_and_read_back(served, influx):
    """The octet-stream transport with X-Ironwatch headers and int16 counts, end to end."""
    import numpy as np

    from telemetry.store import TelemetryStore

    app, url, provisioning = served
    plan = next(p for p in load_provisioning(provisioning) if p.uid == "GS-2001")
    sensor = plan.sensors[0]
    samples = synthesize_burst(sensor.kinematics, 1500.0, seed=3)
    start = time.time_ns() // NS * NS - 60 * NS
    gw = Gateway(url, plan.token, plan.uid, burst_transport="binary")
    result = gw.send_burst(sensor.name, sensor.axis, sensor.sample_rate_hz, start, 1500.0, samples,
                           encoding="int16le")
    assert result.status == "accepted", result.detail
    runtime = app.extensions["ironwatch"]
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    burst = TelemetryStore(influx).read_burst(f"{plan.uid}:{sensor.name}:{sensor.axis}:{start}")
    scale = float(np.max(np.abs(samples))) / 32767
    assert burst.meta.n_samples == samples.size and burst.meta.shaft_rpm == 1500.0
    assert np.max(np.abs(np.asarray(burst.samples, dtype=np.float64) - samples)) <= scale / 2 + 1e-6


def test_a_standby_set_replaying_days_is_reporting_and_one_that_falls_silent_is_not(served):
    """A standby set's heartbeats of two days ago, delivered now (a demo's replay, a gateway's buffer
    after a long gap), are the device reporting: no "not reporting" alarm. Once nothing more comes,
    its unit has gone silent and the alarm is raised; the next heartbeat clears it."""
    from datetime import timedelta

    from sqlalchemy import select

    from fleet import queries
    from fleet.alarm_sources import check_reporting
    from fleet.handlers import as_bus
    from fleet.models import Machine, Tenant, utcnow
    from fleet_helpers import Clock, EventLog
    from telemetry.simulator.fleet import HEARTBEAT_S, HistoryThinning

    app, url, provisioning = served
    runtime = app.extensions["ironwatch"]
    sessions = runtime.sessions
    clock = Clock(utcnow())
    runtime.contact.clock = clock   # contact is stored at the test's time, which it moves on
    plan = next(p for p in load_provisioning(provisioning) if p.uid == "GS-2003")
    assert plan.duty == "standby" and plan.exercise is not None and plan.exercise.timezone == "Europe/London"
    start = (time.time_ns() - 2 * 86400 * NS) // (60 * NS) * 60 * NS
    thin = HistoryThinning(until_ns=time.time_ns(), sample_every_s=60, burst_every_s=12 * 3600)
    machine = SimulatedMachine(plan, Gateway(url, plan.token, plan.uid), 1, start, [], synthesize_burst,
                               gap_mean_h=0.0, thin=thin)
    sim = FleetSimulator([machine], start)
    runtime.writer.start()
    sim.run_until(start + 6 * 3600 * NS)   # the load-bank hour, then heartbeats of 42 h ago
    assert sim.stats().accepted == sim.stats().attempts and sim.stats().refused == 0
    assert runtime.writer.wait_drained(timeout=120)

    def alarms():
        with sessions() as session:
            tenants = [t.id for t in session.scalars(select(Tenant))]
            rows = queries.alarms(session, tenants, state="all", machine_uid="GS-2003")
            return [(a["cause"], a["state"]) for a in rows]

    def heard_at(when):
        """Wait (the contact is recorded on the background executor) until it was heard ``when``."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as session:
                seen = session.scalar(select(Machine.last_seen_at).where(Machine.uid == "GS-2003"))
            if seen is not None and seen >= when:
                return True
            time.sleep(0.1)
        return False

    assert heard_at(clock.now), "heard from just now"
    newest_sample = runtime.store.latest("GS-2003")["time"]
    assert time.time_ns() - newest_sample > 40 * 3600 * NS, "though what it sent is two days old"
    bus = as_bus(EventLog(), sessions, clock)
    check_reporting(sessions, bus, clock)
    assert alarms() == []

    clock.advance(minutes=61)   # four heartbeats missed: the unit went silent
    check_reporting(sessions, bus, clock)
    assert alarms() == [("not_reporting", "active")]

    sim.run_until(start + 6 * 3600 * NS + HEARTBEAT_S * NS)   # the next heartbeat arrives
    assert runtime.writer.wait_drained(timeout=60)
    assert heard_at(clock.now)
    runtime.writer.stop()
    clock.advance(seconds=1)
    check_reporting(sessions, bus, clock)
    assert alarms() == [("not_reporting", "cleared")]
