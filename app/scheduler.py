"""The scheduler process: ``python -m app scheduler [--wait]`` runs the fleet's scheduled jobs.

The diagnostic sweep, operating sync, RUL scoring, PM projection, dispatch proposal, work-order and
alarm escalation, deliveries and digests, monthly reports and the nightly backup
(:mod:`fleet.jobs`) run here, in exactly one process, never in a web worker: the web processes only
serve. APScheduler's job store is the SQL database (``apscheduler_jobs``), so a restarted scheduler
finds each job's next run where the last one left it.

**One at a time.** The process holds the scheduler lease row in the SQL database
(:mod:`fleet.scheduler_lease`), renewed every 10 s. A second start finds the lease held and refuses,
naming the holder (exit status 3); with ``--wait`` it waits instead and takes over within the
lease's 30 s expiry once the holder stops or dies (``make run`` starts it so: a restart after a
crash waits for the dead process's lease to expire).

**Live events.** Events raised by the jobs (a diagnosis, a work order's new priority, a machine's
status, an alarm) go through the same message bus as in the web process (audit log, Web Push,
e-mail deliveries run here); its live channel is :class:`fleet.live_outbox.OutboxNotifier`, rows the
web processes' :class:`~fleet.live_outbox.LiveRelay` sends to their Socket.IO rooms.

Lives in ``app`` rather than ``fleet`` because it wires the same adapters as the web app from the
same settings (:func:`app.config.load_config`, the VAPID keys in ``<var>``, the J1939 names of
:mod:`app.j1939`).
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Exit status of a start refused because another scheduler holds the lease.
EXIT_LEASE_HELD = 3
#: Seconds between checks that the lease thread and APScheduler's thread are alive.
CHECK_S = 2.0


@dataclass
class SchedulerProcess:
    """The scheduler's adapters and its leased scheduler (built by :func:`build_scheduler_process`)."""

    engine: Any
    sessions: Any
    lease: Any
    leased: Any
    background: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def refusal(self) -> str | None:
        """None when this process holds the lease now (it is taken here), else why it may not run."""
        if self.lease.acquire():
            return None
        row = self.lease.holder()
        holder = (f"{row.owner} (since {row.acquired_at:%Y-%m-%d %H:%M:%S} UTC, last heartbeat "
                  f"{row.heartbeat_at:%H:%M:%S} UTC)") if row is not None else "another process"
        return (f"Another Ironwatch scheduler is running: the scheduler lease in the database is held by {holder}. "
                "Only one process may run the scheduled jobs. Stop that one, or start this one with --wait "
                "to take over when it stops.")

    def run_until_stopped(self) -> None:
        """Run the jobs (while the lease is ours) until :meth:`stop`; restart dead threads."""
        self.leased.start()
        while not self._stop.wait(CHECK_S):
            if not scheduler_alive(self.leased):
                log.error("scheduler thread died; starting it again (jobs resume from the SQL job store)")
                restart_scheduler(self.leased)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Stop the jobs, give the lease up (a waiting scheduler takes over at once), release the pool."""
        self.leased.shutdown(wait=True)
        if self.background is not None:
            self.background.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


def build_scheduler_process(config: dict[str, Any], start_delay_s: float = 5.0) -> SchedulerProcess:
    """Wire the jobs' adapters from resolved settings (:func:`app.config.load_config`).

    Parameters
    ----------
    config : dict
        ``IRONWATCH_DATABASE_URL``, ``IRONWATCH_INFLUX_URL``, ``IRONWATCH_INFLUX_DB``,
        ``IRONWATCH_VAR``, ``IRONWATCH_PUBLIC_URL`` and the mail settings.
    start_delay_s : float
        Seconds after taking the lease before the first run of the frequent jobs.
    """
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from fleet import db, jobs
    from fleet.backup import NightlyBackup, Sources
    from fleet.delivery import DeliveryService, WebPushSender, ensure_vapid_keys, mailer_from_env
    from fleet.diagnosis_service import DiagnosisService
    from fleet.handlers import Dependencies, MessageBus
    from fleet.live_outbox import OutboxNotifier
    from fleet.scheduler_lease import Lease, LeasedScheduler
    from telemetry.influx import InfluxClient
    from telemetry.store import TelemetryStore

    from .j1939 import describe_code

    store = TelemetryStore(InfluxClient(config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"]))
    engine = db.make_engine(config["IRONWATCH_DATABASE_URL"])
    sessions = db.session_factory(engine)
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ironwatch-scheduler-delivery")
    vapid = ensure_vapid_keys(Path(config["IRONWATCH_VAR"]))  # the web process's keys (same folder)
    delivery = DeliveryService(sessions, background, WebPushSender(vapid), mailer_from_env(config),
                               base_url=config["IRONWATCH_PUBLIC_URL"])
    bus = MessageBus(Dependencies(notifier=OutboxNotifier(sessions), sessions=sessions, delivery=delivery))
    # The sweep's catch-up bursts (missed by the web process's diagnosis worker for 5 min) are
    # diagnosed here.
    diagnosis = DiagnosisService(store, sessions, bus)
    backup = NightlyBackup(Sources.from_settings(config["IRONWATCH_VAR"], config["IRONWATCH_DATABASE_URL"],
                                                 config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"]))

    def build():
        return jobs.build_scheduler(store=store, session_factory=sessions, notifier=bus,
                                    submit_burst=diagnosis.process_burst, start_delay_s=start_delay_s,
                                    describe_code=describe_code, backup=backup, jobstore_engine=engine,
                                    sweep_settle=jobs.SWEEP_SETTLE_ELSEWHERE)

    lease = Lease(sessions)
    return SchedulerProcess(engine=engine, sessions=sessions, lease=lease, leased=LeasedScheduler(build, lease),
                            background=background)


def run(wait: bool = False, start_delay_s: float = 5.0, exit_with_parent: bool = False) -> int:
    """``python -m app scheduler``: 0 after a clean stop (SIGTERM, Ctrl-C), 3 when refused."""
    import sys

    from .config import load_config

    if exit_with_parent:
        from diagnostics.process_settings import die_with_parent

        die_with_parent(signal.SIGTERM)
    process = build_scheduler_process(load_config(), start_delay_s)

    def stop_on_signal(_signum, _frame):
        process.stop()

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    try:
        try:
            refusal = process.refusal()
        except Exception as error:  # the database is not reachable (or has no schema yet)
            if not wait:
                print(f"The scheduler cannot reach its lease in the SQL database: {error}", file=sys.stderr)
                process.engine.dispose()
                return 1
            refusal = f"the SQL database is not reachable yet ({error})"
        if refusal is not None and not wait:
            print(refusal, file=sys.stderr, flush=True)
            process.engine.dispose()
            return EXIT_LEASE_HELD
        if refusal is not None:
            print(f"{refusal.split(' Only one')[0]} Waiting to take over (--wait).", flush=True)
        else:
            print(f"Ironwatch scheduler {process.lease.owner}: the scheduled jobs run in this process", flush=True)
        process.run_until_stopped()
    finally:
        process.close()
    return 0


def scheduler_alive(scheduler) -> bool:
    """True while the lease thread of a ``LeasedScheduler`` lives and, when it holds the lease,
    the APScheduler thread too (APScheduler 3 has no public accessor for the thread; ``_thread``
    is where BackgroundScheduler keeps it)."""
    if not scheduler.is_alive():
        return False
    if scheduler.scheduler is None:
        return True  # waiting for the lease is alive and well
    thread = getattr(scheduler.scheduler, "_thread", None)
    return bool(scheduler.scheduler.running and thread is not None and thread.is_alive())


def restart_scheduler(scheduler) -> None:
    """Start again a leased scheduler whose thread (or APScheduler's) died: the jobs stop, the lease
    is given up, and the lease thread takes it again (the jobs come back from the SQL job store)."""
    scheduler.shutdown(wait=True)
    scheduler.start()
