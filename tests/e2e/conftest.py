"""Fixtures for the end-to-end tests: the real app as ``python -m app serve`` in a subprocess,
on the test's own InfluxDB database and SQLite file, with the demo fleet seeded."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import free_port, seed_demo_fleet  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served_app(influx, sql_url, tmp_path):
    """``python -m app serve`` on a free port; yields (base_url, provisioning)."""
    yield from _serve(influx, sql_url, tmp_path, {})


@pytest.fixture
def served_tech_copy(influx, sql_url, tmp_path):
    """``served_app`` serving the technicians' app's own files (``/static/tech/``) from a copy in
    ``tmp_path`` (``IRONWATCH_TECH_STATIC``), which a test may change to stage a deploy without
    touching the checkout; yields (base_url, provisioning, the copy's folder)."""
    copy = tmp_path / "tech-static"
    shutil.copytree(REPO / "app/static/tech", copy)
    for base_url, provisioning in _serve(influx, sql_url, tmp_path, {"IRONWATCH_TECH_STATIC": str(copy)}):
        yield base_url, provisioning, copy


def _serve(influx, sql_url, tmp_path, extra_env: dict):
    if not (REPO / "app/static/vendor/socket.io.min.js").exists():
        pytest.fail("front-end assets missing: run `npm ci && npm run build` (make does it)")
    provisioning = seed_demo_fleet(sql_url, tmp_path)
    port = free_port()
    env = {**os.environ, "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(tmp_path), **extra_env}
    log_path = tmp_path / "app.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=REPO,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the app exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if requests.get(f"{base_url}/login", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not bound yet, or the worker still loading
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer within 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base_url, provisioning
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("IRONWATCH_SHOW_APP_LOG"):
            print(log_path.read_text())


@pytest.fixture
def scheduler_process(served_app, influx, sql_url, session_factory, tmp_path):
    """``python -m app scheduler`` beside ``served_app`` on the same databases, holding the lease
    (``--start-delay 3600``: its frequent jobs do not run during the test); yields the process."""
    from fleet.models import SchedulerLease, utcnow

    env = {**os.environ, "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(tmp_path)}
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "scheduler", "--start-delay", "3600"], cwd=REPO,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with session_factory() as session:
                lease = session.get(SchedulerLease, "scheduler")
            if lease is not None and f":{process.pid}:" in lease.owner and lease.expires_at > utcnow():
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the scheduler did not take the lease:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
