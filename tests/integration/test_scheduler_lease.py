"""One scheduler in the fleet: the lease row decides which process runs the jobs, on SQLite and
PostgreSQL; a second process waits, and takes over when the first stops or is killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from fleet import db, jobs, seed
from fleet.models import DispatchProposal, utcnow
from fleet.scheduler_lease import Lease, LeasedScheduler
from telemetry.store import TelemetryStore

from fleet_helpers import EventLog, throwaway_pg_database

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def ticking_scheduler(ticks: list, name: str):
    """A scheduler whose one job records ``name`` every 0.1 s (what "runs jobs" means here)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    def build():
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(ticks.append, "interval", seconds=0.1, args=(name,), next_run_time=utcnow())
        return scheduler

    return build


def check_two_schedulers_one_runs(session_factory) -> None:
    ticks: list[str] = []
    first = LeasedScheduler(ticking_scheduler(ticks, "first"), Lease(session_factory, owner="first", ttl_s=60))
    second = LeasedScheduler(ticking_scheduler(ticks, "second"), Lease(session_factory, owner="second", ttl_s=60))
    try:
        assert first.step() and first.running
        assert not second.step() and not second.running, "the second scheduler must wait"
        assert first.step(), "the holder renews its own lease"
        time.sleep(0.5)
        assert set(ticks) == {"first"}
        first.shutdown()  # a clean stop gives the lease up at once
        assert not first.running
        assert second.step() and second.running, "the second takes over after the first stopped"
        ticks.clear()
        time.sleep(0.5)
        assert set(ticks) == {"second"}
        assert not first.lease.acquire(), "the first cannot take it back while the second renews"
        assert second.lease.holder().owner == "second"
    finally:
        first.shutdown()
        second.shutdown()


def test_two_schedulers_on_sqlite_only_one_runs_jobs(session_factory):
    check_two_schedulers_one_runs(session_factory)


def test_two_schedulers_on_postgresql_only_one_runs_jobs():
    with throwaway_pg_database() as url:
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            check_two_schedulers_one_runs(db.session_factory(engine))
        finally:
            engine.dispose()


def test_an_expired_lease_is_taken_over_and_the_old_holder_stops(session_factory):
    now = [utcnow()]
    clock = lambda: now[0]  # noqa: E731 - the lease's time, moved by hand
    ticks: list[str] = []
    first = LeasedScheduler(ticking_scheduler(ticks, "first"), Lease(session_factory, "scheduler", "first", 30, clock))
    second = LeasedScheduler(ticking_scheduler(ticks, "second"), Lease(session_factory, "scheduler", "second", 30, clock))
    try:
        assert first.step()
        now[0] += timedelta(seconds=29)
        assert not second.step(), "not expired yet"
        now[0] += timedelta(seconds=2)  # the first missed its heartbeats (a long pause)
        assert second.step() and second.running
        assert not first.step() and not first.running, "a holder that lost the lease stops its jobs"
    finally:
        first.shutdown()
        second.shutdown()


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from apscheduler.schedulers.background import BackgroundScheduler
    from fleet import db
    from fleet.scheduler_lease import Lease, LeasedScheduler

    url, ticks = sys.argv[1], Path(sys.argv[2])
    def build():
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(lambda: ticks.open("a").write("child\\n"), "interval", seconds=0.1)
        return scheduler
    leased = LeasedScheduler(build, Lease(db.session_factory(db.make_engine(url)), owner="child", ttl_s=2),
                             heartbeat_s=0.3, retry_s=0.3)
    leased.start()
    while True:
        time.sleep(0.1)
        if leased.running:
            print("holding", flush=True)
            break
    time.sleep(3600)
""")


def test_a_killed_holder_is_replaced_once_its_lease_expires(sql_url, session_factory, tmp_path):
    ticks = tmp_path / "child-ticks"
    child = subprocess.Popen([sys.executable, "-c", CHILD, sql_url, str(ticks)], cwd=REPO, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, text=True)
    mine: list[str] = []
    waiting = LeasedScheduler(ticking_scheduler(mine, "parent"), Lease(session_factory, owner="parent", ttl_s=2),
                              heartbeat_s=0.3, retry_s=0.3)
    try:
        assert child.stdout.readline().strip() == "holding"
        waiting.start()
        time.sleep(1.0)
        assert not waiting.running and not mine, "a second start waits while the first holds the lease"
        assert ticks.read_text().count("child") >= 3
        child.send_signal(signal.SIGKILL)  # no clean stop: the lease is left to expire
        child.wait(timeout=10)
        killed_lease_expiry = waiting.lease.holder().expires_at  # the dead holder's last renewal
        deadline = time.monotonic() + 10
        while not waiting.running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert waiting.running, "the waiting scheduler took over the expired lease"
        # the database's own times, not the test's clock: taken over only once the lease had run out
        assert waiting.lease.holder().acquired_at >= killed_lease_expiry, "not before the killed holder's lease expired"
        time.sleep(0.4)
        assert "parent" in mine and waiting.lease.holder().owner == "parent"
    finally:
        waiting.shutdown(wait=True)
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_fleet_jobs_are_kept_in_the_sql_job_store(influx, session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    engine = session_factory.kw["bind"]
    build = lambda: jobs.build_scheduler(TelemetryStore(influx), session_factory, EventLog(),  # noqa: E731
                                         submit_burst=lambda b: None, start_delay_s=3600, jobstore_engine=engine)
    first = LeasedScheduler(build, Lease(session_factory, owner="first"))
    assert first.step()
    with engine.connect() as connection:
        stored = dict(connection.execute(text(f"SELECT id, next_run_time FROM {jobs.JOBSTORE_TABLE}")).all())
    assert {"burst_sweep", "rul_scoring", "pm_projection", "dispatch_proposal"} <= set(stored)
    first.shutdown()
    # The next holder keeps the stored time of a cron job: a night missed in the hand-over (an hour
    # ago, within the job's misfire grace time) runs once at take-over, not the next night.
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {jobs.JOBSTORE_TABLE} SET next_run_time = :t WHERE id = 'dispatch_proposal'"),
                           {"t": time.time() - 3600})
    second = LeasedScheduler(build, Lease(session_factory, owner="second"))
    try:
        assert second.step()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_factory() as session:
                if session.scalar(select(func.count()).select_from(DispatchProposal)):
                    break
            time.sleep(0.2)
        with session_factory() as session:
            proposal = session.scalar(select(DispatchProposal))
        assert proposal is not None, "the missed nightly dispatch proposal ran at take-over"
        assert proposal.start_day.isoweekday() <= 5 and proposal.days == 5
        assert second.scheduler.get_job("dispatch_proposal").next_run_time.timestamp() > time.time()
    finally:
        second.shutdown()
