"""`python -m app demo` (what `make run` starts): the simulator sends to the server, is started
again when it dies, and when the parent that started it dies (make killed by `timeout`, a closed
session), nothing is left behind."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app_helpers import free_port, seed_demo_fleet
from process_helpers import child_processes, command_line, process_running

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def lease_held_by(sql_url: str, pid: int) -> bool:
    from fleet import db
    from fleet.models import SchedulerLease

    engine = db.make_engine(sql_url)
    try:
        with db.session_factory(engine)() as session:
            lease = session.get(SchedulerLease, "scheduler")
        return lease is not None and f":{pid}:" in lease.owner
    finally:
        engine.dispose()


def test_demo_runs_the_simulator_and_leaves_nothing_when_its_parent_dies(influx, sql_url, tmp_path):
    var = tmp_path / "var"
    seed_demo_fleet(sql_url, var)
    port = free_port()
    env = {**os.environ, "IRONWATCH_VAR": str(var), "IRONWATCH_DATABASE_URL": sql_url,
           "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_MAIL_SINK_PORT": str(free_port())}
    env.pop("IRONWATCH_SMTP_HOST", None)  # so that the demo starts its own mail sink
    log_path = tmp_path / "make.log"
    # Stands in for make: a parent that starts the demo and waits for it.
    with open(log_path, "wb") as log:
        parent = subprocess.Popen(
            [sys.executable, "-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))",
             sys.executable, "-m", "app", "demo", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        accepted = False
        while time.monotonic() < deadline and not accepted:
            time.sleep(0.5)
            assert parent.poll() is None, log_path.read_text()[-3000:]
            simulator_log = var / "simulator.log"
            # the simulator prints a progress line with its counts every 10 s
            accepted = simulator_log.exists() and any(
                "accepted" in line and " accepted 0 " not in line for line in simulator_log.read_text().splitlines())
        assert accepted, f"no upload accepted within 90 s:\n{(var / 'simulator.log').read_text()[-2000:]}"
        assert requests.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200

        [demo] = child_processes(parent.pid)
        processes = {demo: "demo (gunicorn master)"}
        for child in child_processes(demo):
            command = command_line(child)
            processes[child] = ("simulator" if "telemetry.simulator" in command
                                else "scheduler" if "app scheduler" in command
                                else "mail sink" if "app.mailsink" in command
                                else "backfill" if "app.backfill" in command else "gunicorn worker")
        assert sorted(processes.values()) == ["backfill", "demo (gunicorn master)", "gunicorn worker", "mail sink",
                                             "scheduler", "simulator"]
        # The scheduled jobs run in the scheduler child, which holds the lease (the web worker none).
        [scheduler] = [pid for pid, name in processes.items() if name == "scheduler"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not lease_held_by(sql_url, scheduler):
            time.sleep(0.5)
        assert lease_held_by(sql_url, scheduler), (var / "scheduler.log").read_text()[-2000:]

        # Issue 20, defect 9: a simulator that dies is started again by the demo.
        [first_simulator] = [pid for pid, name in processes.items() if name == "simulator"]
        os.kill(first_simulator, signal.SIGKILL)
        deadline = time.monotonic() + 30
        restarted = []
        while time.monotonic() < deadline and not restarted:
            time.sleep(0.3)
            restarted = [child for child in child_processes(demo) if child != first_simulator
                         and "telemetry.simulator" in command_line(child)]
        assert restarted, f"the simulator was not restarted:\n{log_path.read_text()[-2000:]}"
        processes[restarted[0]] = "restarted simulator"

        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 45  # the server stops gracefully; the simulator drains first
        while time.monotonic() < deadline and any(process_running(pid) for pid in processes):
            time.sleep(0.2)
        left = [name for pid, name in processes.items() if process_running(pid)]
        assert not left, f"still running after the parent died: {left}\n{log_path.read_text()[-2000:]}"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)  # whatever is left of the group, on any failure
        except ProcessLookupError:
            pass
