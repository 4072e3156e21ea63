"""Issue 20, defect 1 in the app: /healthz and /readyz answer JSON about the supervised threads,
the spool, InfluxDB and SQL; a crashed spool writer is restarted and uploads flow again; the
admin sees the same on /console/health."""
from __future__ import annotations

import time
import uuid

import pytest

from app_helpers import ENGINEER, FAULTY_GENSET, app_config, free_port, login, machine_entry

pytestmark = pytest.mark.integration
ADMIN = "admin@ironwatch.example"


@pytest.fixture
def running_app(influx, sql_url, tmp_path, provisioning):
    from app import create_app

    application = create_app(app_config(influx, sql_url, tmp_path, start_background=True))
    yield application
    application.extensions["ironwatch"].stop()


def operating(uid: str) -> dict:
    now = time.time_ns()
    return {"upload_id": str(uuid.uuid4()), "machine": uid,
            "times": [now - 10**9], "fields": {"engine_speed_rpm": [1500.0]}}


def test_health_and_readiness_report_threads_spool_and_stores(running_app):
    client = running_app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    names = {t["name"] for t in health.get_json()["threads"]}
    assert names == {"spool writer", "diagnosis worker", "live relay"}  # the scheduled jobs: app.scheduler
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 200 and body["status"] == "ready" and body["failing"] == []
    # No scheduler process here: reported, and not counted against this web process's readiness.
    assert body["scheduler"] == {"ok": False, "state": "not running", "heartbeat_age_s": None}
    assert set(body["checks"]) == {"sql", "influxdb", "spool", "threads"}
    assert body["checks"]["spool"]["undrained_bytes"] >= 0 and body["checks"]["spool"]["disk_free_bytes"] > 0


def test_a_crashed_writer_is_restarted_and_uploads_reach_influxdb(running_app, provisioning, influx):
    runtime = running_app.extensions["ironwatch"]
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    client = running_app.test_client()
    original_read = runtime.spool.read
    calls = {"n": 0}

    def read_failing_once(*args, **kwargs):  # the writer's next read fails as an unreadable segment would
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("spool segment 1 unreadable at 0")
        return original_read(*args, **kwargs)

    runtime.spool.read = read_failing_once
    deadline = time.monotonic() + 5
    while runtime.writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not runtime.writer.is_alive() and "unreadable" in runtime.writer.crashed
    body = operating(FAULTY_GENSET)
    assert client.post("/api/v1/ingest/operating", json=body,
                       headers={"Authorization": f"Bearer {token}"}).status_code == 202
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not runtime.spool.is_drained():
        time.sleep(0.1)
    assert runtime.spool.is_drained(), "the supervisor restarted the writer and it drained the spool"
    [writer] = [t for t in client.get("/healthz").get_json()["threads"] if t["name"] == "spool writer"]
    assert writer["alive"] and writer["restarts"] >= 1
    assert "last_error" not in writer  # probes without sign-in get no error texts
    found = influx.query(f"SELECT count(engine_speed_rpm) FROM life.operating WHERE machine = '{FAULTY_GENSET}'")
    assert found and found[0]["values"][0][1] == 1


def test_readiness_names_an_unreachable_influxdb(sql_url, tmp_path, provisioning, influx):
    from app import create_app

    config = app_config(influx, sql_url, tmp_path)
    config["IRONWATCH_INFLUX_URL"] = f"http://127.0.0.1:{free_port()}"
    application = create_app(config)
    try:
        ready = application.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["failing"] == ["influxdb"]
        assert "error" not in ready.get_json()["checks"]["influxdb"]
    finally:
        application.extensions["ironwatch"].stop()


def test_admin_console_shows_threads_and_checks(running_app):
    admin = running_app.test_client()
    login(admin, ADMIN)
    page = admin.get("/console/health")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for needle in ('data-thread="spool writer"', 'data-thread="diagnosis worker"', 'data-check="influxdb"',
                   "Spool backlog"):
        assert needle in text
    engineer = running_app.test_client()
    login(engineer, ENGINEER)
    assert engineer.get("/console/health").status_code == 403
