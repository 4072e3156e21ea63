"""Fault drills against ``python -m app serve`` (issue 20), each counting what a gateway had
acknowledged, what InfluxDB holds, what was lost and what was stored twice:

- InfluxDB stopped under load (a throwaway influxd, never the shared one) and started again;
- the server killed with SIGKILL under load and started again on the same spool;
- the spool's disk full (the spool folder is a 2 MB tmpfs filled up), then freed.

The load is a gateway's: uploads of operating data, each with its own upload id and its own ten
seconds, re-sent with the same bytes until answered 2xx (a 5xx or a dropped connection is not an
acknowledgement). *Lost*: acknowledged uploads whose ten points are not all in InfluxDB.
*Duplicated*: uploads answered "accepted" twice (a repeat must be answered "duplicate"), plus any
points beyond ten per upload. Each drill prints its counts.
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests

from app_helpers import FAULTY_GENSET, free_port, machine_entry, seed_demo_fleet
from drill_helpers import fill, small_disk, start_server, stop_server

pytestmark = pytest.mark.integration

POINTS_PER_UPLOAD = 10


@dataclass
class Load:
    """A gateway's upload stream to ``base_url`` (changeable while it runs, for a restart)."""

    base_url: str
    token: str
    t0_ns: int
    accepted: dict[str, int] = field(default_factory=dict)  # upload id -> times answered "accepted"
    acknowledged: list[int] = field(default_factory=list)
    refusals: int = 0  # 5xx answers and dropped connections, each retried
    stop: threading.Event = field(default_factory=threading.Event)

    def body(self, i: int) -> bytes:
        start = self.t0_ns + i * POINTS_PER_UPLOAD * 10**9
        return json.dumps({"upload_id": f"drill-{i}", "machine": FAULTY_GENSET,
                           "times": [start + j * 10**9 for j in range(POINTS_PER_UPLOAD)],
                           "fields": {"engine_speed_rpm": [1500.0 + j for j in range(POINTS_PER_UPLOAD)]}}).encode()

    def send(self, i: int, deadline: float) -> None:
        session = requests.Session()
        body = self.body(i)
        while time.monotonic() < deadline:
            try:
                answer = session.post(f"{self.base_url}/api/v1/ingest/operating", data=body, timeout=5,
                                      headers={"Authorization": f"Bearer {self.token}",
                                               "Content-Type": "application/json"})
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code < 300:
                if answer.json()["status"] == "accepted":
                    self.accepted[f"drill-{i}"] = self.accepted.get(f"drill-{i}", 0) + 1
                self.acknowledged.append(i)
                return
            assert answer is None or answer.status_code >= 500, answer.text  # never a 4xx for a valid upload
            self.refusals += 1
            time.sleep(0.1)
        raise AssertionError(f"upload {i} not acknowledged in time ({self.refusals} retries so far)")

    def run(self, count: int, pace_s: float = 0.02, timeout_s: float = 90.0) -> threading.Thread:
        deadline = time.monotonic() + timeout_s

        def loop():
            for i in range(count):
                self.send(i, deadline)
                time.sleep(pace_s)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def resend(self, indices) -> None:
        """Send acknowledged uploads again (a gateway that missed the answer): must be duplicates."""
        for i in indices:
            self.send(i, time.monotonic() + 30)


def wait_drained(base_url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            spool = requests.get(f"{base_url}/readyz", timeout=5).json()["checks"]["spool"]
            if spool["undrained_bytes"] == 0:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the spool did not drain")


def tally(name: str, load: Load, influx, report_line) -> dict:
    """Acknowledged / found / lost / duplicated, reported (the run's "counts" summary) and returned."""
    series = influx.query(f"SELECT engine_speed_rpm FROM life.operating WHERE machine = '{FAULTY_GENSET}' "
                          f"AND time >= {load.t0_ns}")
    times = [row[0] for row in series[0]["values"]] if series else []
    per_upload: dict[int, int] = {}
    for t in times:
        i = (t - load.t0_ns) // (POINTS_PER_UPLOAD * 10**9)
        per_upload[i] = per_upload.get(i, 0) + 1
    acknowledged = set(load.acknowledged)
    found = {i for i, n in per_upload.items() if n >= POINTS_PER_UPLOAD}
    counts = {"acknowledged": len(acknowledged), "found": len(found & acknowledged),
              "lost": len(acknowledged - found),
              "duplicated": sum(n > 1 for n in load.accepted.values())
              + sum(max(0, n - POINTS_PER_UPLOAD) for n in per_upload.values()),
              "retried": load.refusals}
    report_line(f"drill {name}: " + " ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


@pytest.fixture
def stack(sql_url, tmp_path):
    provisioning = seed_demo_fleet(sql_url, tmp_path / "var")
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    return provisioning, token


def server_env(influx_url: str, database: str, sql_url: str, var) -> dict:
    return {"IRONWATCH_INFLUX_URL": influx_url, "IRONWATCH_INFLUX_DB": database,
            "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var)}


def test_drill_influxdb_stopped_under_load(stack, sql_url, tmp_path, report_line):
    from telemetry import influxd
    from telemetry.influx import InfluxClient

    _, token = stack
    instance = influxd.InfluxdInstance(tmp_path / "influxdb", free_port(), free_port())
    influx = InfluxClient(influxd.start(instance), "drill")
    port = free_port()
    server = start_server(port, server_env(instance.url, "drill", sql_url, tmp_path / "var"), tmp_path / "app.log")
    try:
        load = Load(f"http://127.0.0.1:{port}", token, (time.time_ns() // 10**9 - 7200) * 10**9)
        thread = load.run(150)
        time.sleep(1.0)
        assert influxd.stop(instance)  # the outage, in the middle of the stream
        time.sleep(2.0)
        during = len(load.acknowledged)
        assert requests.get(f"{load.base_url}/readyz", timeout=10).json()["failing"] == ["influxdb"]
        influxd.start(instance)
        thread.join(120)
        assert during < len(load.acknowledged) == 150
        wait_drained(load.base_url)
        counts = tally("influxdb-outage", load, influx, report_line)
        assert counts["lost"] == counts["duplicated"] == 0 and counts["found"] == 150
    finally:
        stop_server(server)
        influxd.stop(instance)


def test_drill_server_killed_and_restarted(stack, influx, sql_url, tmp_path, report_line):
    _, token = stack
    env = server_env(influx.url, influx.database, sql_url, tmp_path / "var")
    port = free_port()
    server = start_server(port, env, tmp_path / "app.log")
    load = Load(f"http://127.0.0.1:{port}", token, (time.time_ns() // 10**9 - 7200) * 10**9)
    thread = load.run(150)
    try:
        time.sleep(1.5)
        os.kill(server.pid, signal.SIGKILL)  # the master; its worker gets SIGKILL'd with it (PDEATHSIG)
        server.wait()
        time.sleep(0.5)
        killed_at = len(load.acknowledged)
        port = free_port()
        server = start_server(port, env, tmp_path / "app.log")
        load.base_url = f"http://127.0.0.1:{port}"
        thread.join(120)
        assert 0 < killed_at < len(load.acknowledged) == 150
        load.resend(range(0, killed_at, 7))  # answers lost in the kill: re-sent, answered "duplicate"
        wait_drained(load.base_url)
        counts = tally("sigkill-restart", load, influx, report_line)
        assert counts["lost"] == counts["duplicated"] == 0 and counts["found"] == 150
    finally:
        stop_server(server)


def test_drill_spool_disk_full(stack, influx, sql_url, tmp_path, report_line):
    _, token = stack
    var = tmp_path / "var"
    with small_disk(var / "spool", "2m") as spool_disk:
        port = free_port()
        server = start_server(port, server_env(influx.url, influx.database, sql_url, var), tmp_path / "app.log")
        try:
            load = Load(f"http://127.0.0.1:{port}", token, (time.time_ns() // 10**9 - 7200) * 10**9)
            thread = load.run(40, pace_s=0.0)
            thread.join(60)
            filler = fill(spool_disk)
            refusals_before = load.refusals
            thread = load.run(100, pace_s=0.0)  # ids 0-39 again (duplicates), then 40-99 on a full disk
            time.sleep(2.0)
            assert load.refusals > refusals_before, "a full spool disk must answer 503, not 202"
            ready = requests.get(f"{load.base_url}/readyz", timeout=10).json()
            assert "spool" in ready["failing"]
            filler.unlink()
            thread.join(90)
            wait_drained(load.base_url)
            health = requests.get(f"{load.base_url}/healthz", timeout=10).json()
            assert all(t["alive"] for t in health["threads"])
            counts = tally("spool-disk-full", load, influx, report_line)
            assert counts["lost"] == counts["duplicated"] == 0 and counts["found"] == 100
        finally:
            stop_server(server)
