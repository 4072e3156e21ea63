"""The real app (`python -m app serve`) killed with SIGKILL in the middle of an upload stream loses
nothing it acknowledged: after a restart every 2xx'd upload reaches InfluxDB, and its upload id is
still known (a resend is answered as a duplicate)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from app_helpers import free_port
from process_helpers import child_processes

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _start_app(env, port, log_path, own_process_group=False):
    log = open(log_path, "ab")
    process = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=REPO, env=env,
                               stdout=log, stderr=log, start_new_session=own_process_group)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"app exited ({process.returncode}):\n{Path(log_path).read_text()[-3000:]}")
            try:
                requests.post(f"http://127.0.0.1:{port}/api/v1/ingest/operating", timeout=1)
                return process
            except (requests.ConnectionError, requests.Timeout):  # not bound yet, or the worker still loading
                time.sleep(0.2)
        raise AssertionError("app did not start within 60 s")
    except BaseException:
        process.kill()  # never leave a server behind a failed start
        process.wait()
        raise


def _batch(machine, t0_ns, index):
    start = t0_ns + index * 10 * 10**9
    return {"upload_id": f"crash-{index}-{uuid.uuid4().hex[:6]}", "machine": machine,
            "samples": [{"time": start + i * 10**9, "fields": {"engine_speed_rpm": 1500.0 + index, "coolant_temp_c": 80.0}}
                        for i in range(10)]}


def test_sigkill_mid_stream_loses_nothing_acknowledged(influx, sql_url, session_factory, tmp_path):
    from fleet.seed import seed

    var = tmp_path / "var"
    seed(session_factory, var)
    provisioning = json.loads((var / "provisioning.json").read_text())
    machine = provisioning["machines"][0]
    uid, token = machine["uid"], machine["token"]
    port = free_port()
    env = {**os.environ, "IRONWATCH_VAR": str(var), "IRONWATCH_DATABASE_URL": sql_url,
           "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database, "IRONWATCH_PORT": str(port)}
    url = f"http://127.0.0.1:{port}/api/v1/ingest/operating"
    headers = {"Authorization": f"Bearer {token}"}
    t0 = (time.time_ns() // 10**9 - 3600) * 10**9

    app = _start_app(env, port, tmp_path / "app.log")
    acknowledged: list[dict] = []
    stop = threading.Event()

    def gateway():
        session = requests.Session()
        index = 0
        while not stop.is_set():
            batch = _batch(uid, t0, index)
            index += 1
            try:
                response = session.post(url, json=batch, headers=headers, timeout=5)
            except requests.RequestException:
                continue  # no answer: not acknowledged
            if response.status_code == 202:
                acknowledged.append(batch)

    threads = [threading.Thread(target=gateway) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 150:
        time.sleep(0.01)
    app.send_signal(signal.SIGKILL)  # mid-stream: requests are in flight
    app.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert acknowledged

    app = _start_app(env, port, tmp_path / "app.log")
    try:
        expected = {sample["time"] for batch in acknowledged for sample in batch["samples"]}
        deadline = time.monotonic() + 60
        stored: set[int] = set()
        while time.monotonic() < deadline and not expected <= stored:
            series = influx.query(f"SELECT engine_speed_rpm FROM operating WHERE machine = '{uid}'")
            stored = {row[0] for row in series[0]["values"]} if series else set()
            time.sleep(0.5)
        missing = expected - stored
        assert not missing, f"{len(missing)} acknowledged samples never reached InfluxDB"
        resend = requests.post(url, json=acknowledged[0], headers=headers, timeout=5)
        assert resend.status_code == 200 and resend.json()["status"] == "duplicate"
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()


def test_ctrl_c_stops_the_server_and_its_worker_promptly(influx, sql_url, session_factory, tmp_path):
    """Ctrl-C signals the whole process group (gunicorn's master and its worker): both are gone
    within seconds, and the worker stopped the background services on its way out."""
    from fleet.seed import seed

    var = tmp_path / "var"
    seed(session_factory, var)
    port = free_port()
    env = {**os.environ, "IRONWATCH_VAR": str(var), "IRONWATCH_DATABASE_URL": sql_url,
           "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database, "IRONWATCH_PORT": str(port)}
    log_path = tmp_path / "app.log"
    app = _start_app(env, port, log_path, own_process_group=True)
    worker = child_processes(app.pid)[0]
    started = time.monotonic()
    os.killpg(app.pid, signal.SIGINT)
    try:
        app.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(app.pid, signal.SIGKILL)
        raise AssertionError(f"still running 10 s after Ctrl-C:\n{log_path.read_text()[-2000:]}")
    deadline = time.monotonic() + 5
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{worker}").exists(), "the worker outlived its master"
    assert time.monotonic() - started < 10
    assert "Worker exiting" in log_path.read_text()
