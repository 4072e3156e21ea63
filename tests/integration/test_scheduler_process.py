"""One scheduler process: ``python -m app scheduler`` as real processes on one real SQL database.

A second start refuses and names the holder; one started with ``--wait`` waits and takes over when
the first stops; the jobs are stored in the SQL database (APScheduler's ``apscheduler_jobs``) and
run in the scheduler process (its operating sync copies a machine's hour meter from InfluxDB to SQL
while no web process runs at all). The Socket.IO side is ``tests/e2e/test_scheduler_live_events.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app_helpers import FAULTY_GENSET, seed_demo_fleet

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def scheduler_env(influx, sql_url: str, var: Path) -> dict:
    return {**os.environ, "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
            "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var), "IRONWATCH_SMTP_HOST": ""}


def start_scheduler(env: dict, log_path: Path, *args: str) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "app", "scheduler", *args], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def lease_row(session_factory):
    from fleet.models import SchedulerLease

    with session_factory() as session:
        return session.get(SchedulerLease, "scheduler")


def wait_for(condition, timeout_s: float, what: str, logs: tuple[Path, ...] = ()):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout_s:.0f} s\n" + "\n".join(p.read_text() for p in logs if p.exists()))


def held_by(session_factory, process: subprocess.Popen) -> bool:
    from fleet.models import utcnow

    row = lease_row(session_factory)
    return row is not None and f":{process.pid}:" in row.owner and row.expires_at > utcnow()


def stored_jobs(session_factory) -> set[str]:
    """The job ids in APScheduler's SQL job store (empty before it created its table)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with session_factory() as session:
            return set(session.scalars(text("SELECT id FROM apscheduler_jobs")))
    except (OperationalError, ProgrammingError):
        return set()


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def test_a_second_scheduler_refuses_and_a_waiting_one_takes_over(influx, sql_url, session_factory, tmp_path):
    from fleet.models import utcnow

    env = scheduler_env(influx, sql_url, tmp_path)
    logs = (tmp_path / "first.log", tmp_path / "waiting.log")
    # --start-delay 3600: this test is about who holds the lease, not what the jobs do.
    first = start_scheduler(env, logs[0], "--start-delay", "3600")
    waiting = None
    try:
        wait_for(lambda: held_by(session_factory, first), 60, "the first scheduler did not take the lease", logs)
        owner = lease_row(session_factory).owner
        # Its jobs are in the SQL job store, where a successor finds them.
        expected = {"burst_sweep", "operating_sync", "rul_scoring", "pm_projection", "dispatch_proposal", "dispatch_recovery",
                    "overdue_escalation", "alarm_escalation", "monthly_reports", "nightly_backup",
                    "upload_ledger_prune"}
        wait_for(lambda: expected <= stored_jobs(session_factory), 30, "the jobs are not in apscheduler_jobs", logs)

        second = subprocess.run([sys.executable, "-m", "app", "scheduler"], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "Another Ironwatch scheduler is running" in second.stderr and owner in second.stderr
        assert "--wait" in second.stderr
        assert lease_row(session_factory).owner == owner and first.poll() is None

        waiting = start_scheduler(env, logs[1], "--wait", "--start-delay", "3600")
        wait_for(lambda: "Waiting to take over" in logs[1].read_text(), 60, "the waiting scheduler said nothing", logs)
        time.sleep(6)  # more than one retry of the waiting lease loop (5 s)
        assert waiting.poll() is None and lease_row(session_factory).owner == owner

        assert stop(first) == 0  # a clean stop gives the lease up at once
        wait_for(lambda: held_by(session_factory, waiting), 30, "the waiting scheduler did not take over", logs)
        wait_for(lambda: "scheduled jobs run in this process" in logs[1].read_text(), 30,
                 "the waiting scheduler did not start the jobs", logs)
    finally:
        stop(first)
        if waiting is not None:
            assert stop(waiting) == 0
    assert lease_row(session_factory).expires_at <= utcnow()  # released on the way out


def test_the_jobs_run_in_the_scheduler_process(influx, sql_url, session_factory, tmp_path):
    """No web process runs: the scheduler's operating sync alone copies the hour meter to SQL."""
    from fleet.models import Machine

    seed_demo_fleet(sql_url, tmp_path)
    now_ns = time.time_ns()
    influx.write(f"operating,machine={FAULTY_GENSET} hour_meter_h=4321.5,lat=53.80,lon=-1.55 {now_ns}")
    log = tmp_path / "scheduler.log"
    process = start_scheduler(scheduler_env(influx, sql_url, tmp_path), log, "--start-delay", "0.5")
    try:
        def hours():
            with session_factory() as session:
                return session.scalar(select(Machine.hours).where(Machine.uid == FAULTY_GENSET)) == 4321.5

        wait_for(hours, 90, "the scheduler's operating sync did not copy the hour meter", (log,))
        assert held_by(session_factory, process)
    finally:
        assert stop(process) == 0
