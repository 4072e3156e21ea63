"""The crash window of the shared duplicate decision, with real processes: process A made a burst
durable in its spool and is killed (SIGKILL) before its ledger row commits. The gateway's retry,
landing on process B, must be accepted (202), not refused as a duplicate of data nobody recorded;
when A comes back its own copy is written again, harmlessly, and the burst is diagnosed once.

A is held inside that window by a write lock on the ledger table that the test takes (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``LOCK TABLE ... IN SHARE MODE``, which lets A read but not insert).
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app_helpers import free_port, outer_race_burst, seed_demo_fleet
from drill_helpers import eventually, start_server, stop_server

pytestmark = pytest.mark.integration


@contextmanager
def ledger_write_lock(sql_url: str):
    """Hold a lock that makes every insert into ``accepted_upload`` wait (reads still pass)."""
    url = make_url(sql_url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        connection = sqlite3.connect(url.database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        connection = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        connection.execute("LOCK TABLE accepted_upload IN SHARE MODE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def spooled(spool_dir: Path, upload_id: str) -> bool:
    return any(upload_id.encode() in p.read_bytes() for p in spool_dir.glob("seg-*.log"))


def drained(spool_dir: Path) -> bool:
    """The spool's writer committed everything it holds (its cursor is at the end of its last segment)."""
    segments = sorted(spool_dir.glob("seg-*.log"))
    try:
        cursor = json.loads((spool_dir / "cursor.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(segments) and cursor["segment"] == int(segments[-1].name[4:-4]) and \
        cursor["offset"] == segments[-1].stat().st_size


def test_killed_between_spool_and_ledger_the_retry_elsewhere_is_accepted(influx, sql_url, session_factory, tmp_path):
    from fleet.models import AcceptedUpload, BurstDiagnosis

    var = tmp_path / "var"
    provisioning = seed_demo_fleet(sql_url, var)
    env = {"IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var), "IRONWATCH_SMTP_HOST": ""}
    spool_a, spool_b = tmp_path / "spool-a", tmp_path / "spool-b"
    port_a, port_b = free_port(), free_port()
    token, body = outer_race_burst(provisioning)
    headers = {"Authorization": f"Bearer {token}"}
    burst_id = f"{body['machine']}:{body['sensor']}:{body['axis']}:{body['start']}"
    process_a = start_server(port_a, {**env, "IRONWATCH_SPOOL_DIR": str(spool_a)}, tmp_path / "app-a.log", 90,
                             own_process_group=True)
    process_b = None
    answers: list = []
    try:
        process_b = start_server(port_b, {**env, "IRONWATCH_SPOOL_DIR": str(spool_b)}, tmp_path / "app-b.log", 90)

        def gateway_to_a():
            try:
                answers.append(requests.post(f"http://127.0.0.1:{port_a}/api/v1/ingest/bursts", json=body,
                                             headers=headers, timeout=30).status_code)
            except requests.RequestException as exc:  # the kill: no answer, nothing acknowledged
                answers.append(type(exc).__name__)

        with ledger_write_lock(sql_url):
            upload = threading.Thread(target=gateway_to_a)
            upload.start()
            assert eventually(lambda: spooled(spool_a, body["upload_id"]), 8), "A did not spool the burst"
            time.sleep(0.5)  # past the fsync, waiting for the ledger row (the lock holds it)
            assert answers == [], f"A answered inside the window: {answers}"
            os.killpg(process_a.pid, signal.SIGKILL)
            process_a.wait()
            upload.join(10)
        assert answers and answers[0] != 202  # the gateway never heard "accepted": it retries

        retry = requests.post(f"http://127.0.0.1:{port_b}/api/v1/ingest/bursts", json=body, headers=headers, timeout=20)
        assert retry.status_code == 202 and retry.json()["status"] == "accepted", retry.text

        def diagnoses() -> int:
            with session_factory() as db:
                return db.scalar(select(func.count()).select_from(BurstDiagnosis).where(BurstDiagnosis.burst_id == burst_id))

        assert eventually(lambda: diagnoses() == 1, 90), "the retried burst was not stored and diagnosed"

        # A restarts on its spool: its durable copy is written again (same points) and not re-diagnosed
        process_a = start_server(port_a, {**env, "IRONWATCH_SPOOL_DIR": str(spool_a)}, tmp_path / "app-a.log", 90,
                                 own_process_group=True)
        assert eventually(lambda: drained(spool_a), 60), "A's writer did not drain its copy"
        repeat = requests.post(f"http://127.0.0.1:{port_a}/api/v1/ingest/bursts", json=body, headers=headers, timeout=20)
        assert repeat.status_code == 200 and repeat.json()["status"] == "duplicate", repeat.text
        time.sleep(2)
        assert diagnoses() == 1
        with session_factory() as db:
            assert db.scalar(select(func.count()).select_from(AcceptedUpload)
                             .where(AcceptedUpload.upload_id == body["upload_id"])) == 1
        samples = influx.query(f"SELECT count(a) FROM raw.vibration WHERE machine = '{body['machine']}' AND "
                               f"sensor = '{body['sensor']}' AND time >= {body['start']} AND time < {body['start'] + 10**10}")
        assert samples[0]["values"][0][1] == len(base64.b64decode(body["samples"])) // 4  # each sample once
    finally:
        if process_a.poll() is None:
            os.killpg(process_a.pid, signal.SIGTERM)
            try:
                process_a.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process_a.pid, signal.SIGKILL)
                process_a.wait()
        if process_b is not None:
            stop_server(process_b)
