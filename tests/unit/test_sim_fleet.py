"""The simulated fleet: provisioning, schedules, fault growth, determinism of what is uploaded."""
from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest

from diagnostics.synthesis import synthesize_burst
from sim_http_double import IngestDouble
from telemetry.gateway.client import Gateway
from telemetry.simulator.fleet import (
    CoverageSchedule,
    FaultPlan,
    SimulatedMachine,
    burst_offsets_s,
    expand_fleet,
    load_provisioning,
)
from telemetry.simulator.run import FleetSimulator, main, parse_duration_s, parse_start_ns

NS = 10**9
BEARING = {"name": "DE", "n_rolling": 8, "ball_diameter_mm": 22.23, "pitch_diameter_mm": 95.0}


ROUND_THE_CLOCK = {"start": "00:00", "end": "24:00", "breaks": [], "weekdays": [0, 1, 2, 3, 4, 5, 6]}


def _provisioning(tmp_path):
    doc = {"machines": [
        {"uid": "GS-9001", "kind": "genset", "token": "dev_a.s", "nominal_shaft_rpm": 1500.0,
         "rated_power_kw": 640.0, "hours": 16000.0, "lat": 53.8, "lon": -1.55,
         "sensors": [{"name": "alternator_de.acc", "component": "alternator_de", "axis": "radial",
                      "sample_rate_hz": 25600.0,
                      "kinematics": {"shaft_ratio": 1.0, "bearings": [BEARING],
                                     "electrical": {"line_hz": 50.0, "poles": 4}}},
                     {"name": "engine.acc", "component": "engine", "axis": "radial", "sample_rate_hz": 25600.0,
                      "kinematics": {"shaft_ratio": 1.0, "gears": [{"name": "timing", "teeth": 36,
                                                                    "mating_teeth": 72}]}}],
         "faults": [{"component": "alternator_de", "sensor": "alternator_de.acc", "fault": "bearing_outer_race",
                     "location": "DE", "severity_start": 0.6, "severity_end": 1.0, "ramp_hours": 72.0}]},
        {"uid": "EX-9001", "kind": "excavator", "token": "dev_b.s", "nominal_shaft_rpm": 1800.0,
         "rated_power_kw": 124.0, "hours": 1400.0, "lat": 53.47, "lon": -2.29,
         # a site working round the clock: the tests start at wall-clock-relative times, and a
         # machine of a day shift would be keyed off at night (test_sim_excavator_shifts)
         "shift": ROUND_THE_CLOCK,
         "sensors": [{"name": "hydraulic_pump.acc", "component": "hydraulic_pump", "axis": "radial",
                      "sample_rate_hz": 25600.0,
                      "kinematics": {"shaft_ratio": 1.0, "pistons": 9, "bearings": [BEARING]}}],
         "faults": []},
    ]}
    path = tmp_path / "provisioning.json"
    path.write_text(json.dumps(doc))
    return path


def _recent_start():
    return int(time.time() - 86400) // 3600 * 3600 * NS


def _fleet(path, url, seed, start_ns, synthesize=synthesize_burst, machines=None):
    plans = load_provisioning(path)
    if machines:
        plans = expand_fleet(plans, machines)
    offsets = iter(burst_offsets_s(sum(len(p.sensors) for p in plans), 60.0))
    sims = []
    for plan in plans:
        gw = Gateway(url, plan.token, plan.uid, seed=1)
        sims.append(SimulatedMachine(plan, gw, seed, start_ns, [next(offsets) for _ in plan.sensors], synthesize,
                                     gap_mean_h=0.0))
    return FleetSimulator(sims, start_ns)


def test_fault_severity_grows_slowly_then_faster_and_holds():
    plan = FaultPlan("bearing_outer_race", "DE", 0.2, 0.8, 100.0)
    values = [plan.severity(h) for h in range(0, 121, 10)]
    assert values[0] == pytest.approx(0.2) and values[10] == pytest.approx(0.8) and values[-1] == pytest.approx(0.8)
    steps = np.diff(values[:11])
    assert np.all(steps > 0) and np.all(np.diff(steps) > 0), "accelerating"
    assert plan.severity(50) < 0.5, "below the straight line half way"


def test_coverage_gaps_are_reproducible_and_spare_the_first_hour():
    t0 = 1_764_028_800 * NS
    a, b = CoverageSchedule(5, t0, 6.0), CoverageSchedule(5, t0, 6.0)
    times = range(t0, t0 + 7 * 86400 * NS, 60 * NS)
    online_a = [a.online(t) for t in times]
    assert online_a == [b.online(t) for t in times]
    assert all(online_a[:60])
    offline_share = 1 - sum(online_a) / len(online_a)
    assert 0.01 < offline_share < 0.2
    none = CoverageSchedule(5, t0, 0.0)
    assert all(none.online(t) for t in times)


def test_first_bursts_spread_over_thirty_wall_seconds():
    offsets = burst_offsets_s(78, 60.0)
    assert offsets[0] == 1 and offsets[-1] < 30 * 60 and offsets == sorted(offsets)
    assert burst_offsets_s(10, 1e6)[-1] < 3600
    # A 3 min replay at x60 takes 3 s; the rest of the 30 s stagger then runs at real time.
    short = burst_offsets_s(78, 60.0, replay_s=180.0)
    assert short[-1] <= 180 + 27 and short[-1] > 180


def test_provisioning_and_load_mode_clones(tmp_path):
    plans = load_provisioning(_provisioning(tmp_path))
    assert [p.uid for p in plans] == ["GS-9001", "EX-9001"]
    assert plans[0].duty == "prime" and plans[0].sensors[0].fault.fault == "bearing_outer_race"
    assert plans[0].sensors[1].fault is None
    five = expand_fleet(plans, 5)
    assert [(p.uid, p.clone) for p in five] == [("GS-9001", 0), ("EX-9001", 0), ("GS-9001", 1), ("EX-9001", 1),
                                              ("GS-9001", 2)]
    assert five[2].token == plans[0].token and five[2].label == "GS-9001~1"
    with pytest.raises(ValueError, match="fleet.seed"):
        load_provisioning(tmp_path / "missing.json")


def test_same_seed_and_start_send_identical_content(tmp_path):
    path, start = _provisioning(tmp_path), _recent_start()
    bodies = []
    for seed in (1, 1, 2):
        double = IngestDouble()
        try:
            sim = _fleet(path, double.url, seed, start)
            sim.run_until(start + 20 * 60 * NS)
            bodies.append(list(double.raw_bodies))
            assert sim.stats().accepted == len(double.requests) > 20
        finally:
            double.close()
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


def test_first_burst_of_a_faulty_sensor_carries_the_fault(tmp_path):
    calls = []

    def recording_synthesize(*args, **kwargs):
        calls.append((args, kwargs))
        return synthesize_burst(*args, **kwargs)

    double = IngestDouble()
    try:
        start = _recent_start()
        sim = _fleet(_provisioning(tmp_path), double.url, 1, start, recording_synthesize)
        sim.run_until(start + 30 * 60 * NS)
        bursts = double.json_bodies("/bursts")
    finally:
        double.close()
    first = {b["sensor"]: b for b in reversed(bursts)}
    assert set(first) == {"alternator_de.acc", "engine.acc", "hydraulic_pump.acc"}
    faulty = first["alternator_de.acc"]
    (kin, rpm), kwargs = next(c for c in calls if c[1]["fault"] is not None)
    assert kwargs["fault"] == "bearing_outer_race" and kwargs["fault_location"] == "DE"
    assert kwargs["severity"] >= 0.6
    assert faulty["shaft_rpm"] == pytest.approx(rpm, abs=0.05) and faulty["machine"] == "GS-9001"
    samples = np.frombuffer(base64.b64decode(faulty["samples"]), dtype="<f4")
    np.testing.assert_array_equal(samples, recording_synthesize(kin, rpm, **kwargs))
    healthy = np.frombuffer(base64.b64decode(first["engine.acc"]["samples"]), dtype="<f4")
    kurtosis = lambda x: float(np.mean((x - x.mean()) ** 4) / np.var(x) ** 2)   # noqa: E731
    assert kurtosis(samples) > 2 * kurtosis(healthy), "bearing impacts make the faulty burst impulsive"


def test_clones_shift_their_clock_so_nothing_collides(tmp_path):
    double = IngestDouble()
    try:
        start = _recent_start()
        sim = _fleet(_provisioning(tmp_path), double.url, 1, start, machines=4)
        sim.run_until(start + 2 * 60 * NS)
        ops = double.json_bodies("/operating")
    finally:
        double.close()
    times = {}
    for body in ops:
        times.setdefault(body["machine"], []).extend(body["times"])
    for machine, stamps in times.items():
        assert len(stamps) == len(set(stamps)), f"{machine}: a clone overwrote a point"
    assert len({b["upload_id"] for b in ops}) == len(ops)


def test_durations_and_default_start():
    assert [parse_duration_s(t) for t in ("3600", "90m", "6h", "2d", "1.5h")] == [3600, 5400, 21600, 172800, 5400]
    with pytest.raises(ValueError):
        parse_duration_s("six hours")
    assert parse_start_ns(None, 1_000_000.7, history_s=3600.0) == (1_000_000 - 3600) // 60 * 60 * NS
    assert parse_start_ns("2025-11-25T00:00:00Z", 0.0) == 1_764_028_800 * NS


def test_cli_runs_a_short_fast_simulation(tmp_path, capsys):
    double = IngestDouble()
    try:
        start = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 2 * 86400))
        code = main(["--url", double.url, "--provisioning", str(_provisioning(tmp_path)), "--speedup", "inf",
                     "--duration", "10m", "--start", start, "--seed", "3", "--buffer-dir", str(tmp_path / "buf"),
                     "--progress-every", "100"])
    finally:
        double.close()
    out = capsys.readouterr().out
    assert code == 0
    assert "simulating 2 machines" in out and "refused 0" in out
    assert len(double.json_bodies("/operating")) == 2 * 10


def test_cli_refuses_a_start_the_server_would_refuse(tmp_path, capsys):
    assert main(["--provisioning", str(_provisioning(tmp_path)), "--start", "2020-01-01T00:00:00Z"]) == 2
    assert "7 days" in capsys.readouterr().err


def test_sigterm_stops_cleanly_after_sending_the_partial_batch(tmp_path):
    import signal
    import subprocess
    import sys

    double = IngestDouble()
    proc = subprocess.Popen([sys.executable, "-m", "telemetry.simulator", "--url", double.url,
                             "--provisioning", str(_provisioning(tmp_path)), "--speedup", "30", "--history", "0",
                             "--buffer-dir", str(tmp_path / "buf"), "--progress-every", "0.5"],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]   # banner and two progress lines: running
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        double.close()
    assert proc.returncode == 0 and "simulating 2 machines" in lines[0]
    final = rest.strip().splitlines()[-1]
    assert "backlog 0 " in final and "refused 0" in final
    import datetime as dt
    import re

    def when(text):
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    simulated_s = when(re.search(r"sim (\S+)", final).group(1)) - when(re.search(r"from (\S+)", lines[0]).group(1))
    received = {}
    for body in double.json_bodies("/operating"):
        received[body["machine"]] = received.get(body["machine"], 0) + len(body["times"])
    assert received == {"GS-9001": simulated_s, "EX-9001": simulated_s}, "every second, the partial minute too"


def test_a_provisioned_fouled_radiator_raises_coolant_codes(tmp_path):
    path = _provisioning(tmp_path)
    doc = json.loads(path.read_text())
    doc["machines"] = doc["machines"][1:]   # the excavator alone (no costly faulty-bearing bursts)
    doc["machines"][0]["faults"] = [{"component": "engine", "fault": "cooling_degradation",
                                     "severity_start": 1.0, "severity_end": 1.0, "ramp_hours": 10.0}]
    path.write_text(json.dumps(doc))
    double = IngestDouble()
    try:
        start = _recent_start()
        sim = _fleet(path, double.url, 1, start)
        sim.run_until(start + 3 * 3600 * NS)
        faults = [b for b in double.json_bodies("/faults") if b["machine"] == "EX-9001"]
    finally:
        double.close()
    spns = {c["spn"] for b in faults for c in b["active"]}
    assert 110 in spns and any(b["active"] == [] for b in faults[1:]), "raised under load, cleared when idle"
    assert any(b["lamps"]["amber_warning"] or b["lamps"]["red_stop"] for b in faults)


def test_an_unknown_fault_mode_is_refused_at_load(tmp_path):
    path = _provisioning(tmp_path)
    doc = json.loads(path.read_text())
    doc["machines"][0]["faults"][0]["fault"] = "bearing_outer_rase"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="bearing_outer_rase"):
        load_provisioning(path)


def test_waiting_for_the_server_gives_up_and_says_so(capsys):
    import requests

    from telemetry.simulator.run import wait_for_server

    double = IngestDouble()
    try:
        assert wait_for_server(requests.Session(), double.url, 5.0) is True
    finally:
        double.close()
    assert wait_for_server(requests.Session(), "http://127.0.0.1:9", 0.5) is False
    out = capsys.readouterr().out
    assert "waiting for the ingest API" in out and "starting anyway" in out


def test_history_thinning_keeps_every_nth_sample_and_spaces_bursts_until_full_rate():
    from telemetry.simulator.fleet import BURST_INTERVAL_S, HistoryThinning

    ns = 10**9
    thin = HistoryThinning(until_ns=1000 * ns, sample_every_s=60, burst_every_s=12 * 3600)
    assert [t for t in range(0, 300) if thin.keeps_sample(t * ns)] == [0, 60, 120, 180, 240]
    assert all(thin.keeps_sample(t * ns) for t in range(1000, 1010))  # full rate from until_ns on
    assert thin.burst_interval_s(999 * ns) == 12 * 3600 and thin.burst_interval_s(1000 * ns) == BURST_INTERVAL_S
    assert HistoryThinning().keeps_sample(7 * ns)  # the default thins nothing


def test_the_default_var_folder_is_the_checkouts():
    """Without IRONWATCH_VAR the simulator reads ``<checkout>/var/provisioning.json``, where
    ``make run`` seeds it (the move into telemetry/simulator/ once pointed it at telemetry/var)."""
    from telemetry.simulator import run

    assert (run._REPO / "pyproject.toml").is_file() and (run._REPO / "telemetry").is_dir()
