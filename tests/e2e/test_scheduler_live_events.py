"""An event raised by a scheduled job, in the scheduler process, reaches a browser's socket on the
web process: ``python -m app serve`` and ``python -m app scheduler`` as two real processes on one
SQL database, an engineer's Socket.IO client connected to the web process over the network.

The web process alone takes no scheduler lease and runs no job; the scheduler's operating sync
finds a new hour meter in InfluxDB, publishes ``machine_status`` into the SQL outbox
(``fleet.live_outbox``), and the web process's relay sends it to the engineer's socket.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import FAULTY_GENSET  # noqa: E402
from test_thread_simulated_genset import engineer_session  # noqa: E402

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def test_a_scheduled_jobs_event_reaches_a_socket_of_the_web_process(served_app, influx, sql_url, session_factory,
                                                                     tmp_path):
    from fleet.models import SchedulerLease

    base_url, _ = served_app
    time.sleep(3)  # a web process that still ran the scheduler would have taken the lease by now
    with session_factory() as session:
        assert session.get(SchedulerLease, "scheduler") is None, "the web process must not run the scheduled jobs"

    received: list[tuple[str, dict]] = []
    arrived = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("*")
    def on_any(event, payload):
        received.append((event, payload))
        if event == "machine_status" and payload.get("machine") == FAULTY_GENSET and payload.get("hours") == 4321.5:
            arrived.set()

    cookies = engineer_session(base_url).cookies.get_dict()
    client.connect(base_url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
                   transports=["websocket"], wait_timeout=20)
    # Only the scheduler's operating sync reads this (it is not an upload through the web process).
    influx.write(f"operating,machine={FAULTY_GENSET} hour_meter_h=4321.5,lat=53.80,lon=-1.55 {time.time_ns()}")
    env = {**os.environ, "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(tmp_path)}
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        scheduler = subprocess.Popen([sys.executable, "-m", "app", "scheduler", "--start-delay", "0.5"], cwd=REPO,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert arrived.wait(timeout=90), (f"no machine_status from the scheduler; received "
                                          f"{[e for e, _ in received]}\n{log_path.read_text()}")
        with session_factory() as session:
            lease = session.get(SchedulerLease, "scheduler")
        assert lease is not None and f":{scheduler.pid}:" in lease.owner  # raised in the scheduler process
    finally:
        client.disconnect()
        scheduler.terminate()
        try:
            assert scheduler.wait(timeout=30) == 0
        except subprocess.TimeoutExpired:
            scheduler.kill()
            raise
