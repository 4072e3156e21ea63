"""Exactly one scheduler in the fleet: a lease row in the SQL database, held by heartbeat.

Every Ironwatch process that could run the scheduled jobs (each web worker, a dedicated scheduler
process) builds a :class:`LeasedScheduler`. Its thread tries to take the lease; the one that gets it
starts APScheduler, the others wait and try again every ``retry_s``. The holder renews the lease
every ``heartbeat_s``; a holder that dies (killed, machine gone) stops renewing, the lease expires
after ``ttl_s``, and a waiting process takes it over and starts the same jobs from the shared job
store. A holder that cannot renew (lost its database, or found somebody else holding the lease after
a long pause) stops its scheduler at once rather than run jobs twice.

Why a lease row rather than an advisory lock: PostgreSQL's ``pg_advisory_lock`` would do, SQLite has
none, and a row with an expiry works the same on both; it also tells a person who holds it
(``owner`` is host, process id and a random suffix) and since when.

Taking the lease is one statement the database decides: ``UPDATE … SET owner = me WHERE name = n
AND (owner = me OR expires_at < now)``, or, when there is no row yet, an ``INSERT … ON CONFLICT DO
NOTHING`` that only one process can win. The clocks of the processes are compared through
``expires_at``; they must agree to well within ``ttl_s`` (NTP does this).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import case, update
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .models import SchedulerLease, utcnow

log = logging.getLogger(__name__)

#: Name of the lease of the fleet's scheduled jobs (one row per name).
SCHEDULER_LEASE = "scheduler"
LEASE_TTL_S = 30.0
HEARTBEAT_S = 10.0
RETRY_S = 5.0


def process_owner() -> str:
    """A lease owner id unique to this process: host, pid and a random suffix (a restarted process
    with a recycled pid is still somebody else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """A named lease in the SQL database.

    Parameters
    ----------
    session_factory : sessionmaker
    name : str
        The lease's row (``scheduler_lease.name``).
    owner : str
        Who asks (default :func:`process_owner`).
    ttl_s : float
        Seconds the lease lasts after each take or renewal.
    clock : callable
        Aware UTC now.
    """

    def __init__(self, session_factory: sessionmaker, name: str = SCHEDULER_LEASE, owner: str | None = None,
                 ttl_s: float = LEASE_TTL_S, clock: Callable[[], datetime] = utcnow):
        self.sessions = session_factory
        self.name = name
        self.owner = owner or process_owner()
        self.ttl = timedelta(seconds=ttl_s)
        self.clock = clock

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours (then it is renewed); True if held."""
        now = self.clock()
        with transaction(self.sessions) as session:
            taken = session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name,
                       (SchedulerLease.owner == self.owner) | (SchedulerLease.expires_at < now))
                # acquired_at: since when the current owner holds it (kept on renewals)
                .values(acquired_at=case((SchedulerLease.owner == self.owner, SchedulerLease.acquired_at), else_=now),
                        owner=self.owner, heartbeat_at=now, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)).rowcount
            if taken:
                return True
            return _insert_lease(session, {"name": self.name, "owner": self.owner, "acquired_at": now,
                                           "heartbeat_at": now, "expires_at": now + self.ttl})

    def renew(self) -> bool:
        """Extend the lease if we still hold it; False when it was lost (expired and taken over)."""
        now = self.clock()
        with transaction(self.sessions) as session:
            return bool(session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.owner == self.owner)
                .values(heartbeat_at=now, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)).rowcount)

    def release(self) -> None:
        """Give the lease up now (a clean stop), so a waiting process need not wait for the expiry."""
        now = self.clock()
        with transaction(self.sessions) as session:
            session.execute(update(SchedulerLease)
                            .where(SchedulerLease.name == self.name, SchedulerLease.owner == self.owner)
                            .values(expires_at=now - timedelta(microseconds=1))
                            .execution_options(synchronize_session=False))

    def holder(self) -> SchedulerLease | None:
        """The lease row as stored (whoever holds it, expired or not), or None before the first take."""
        with self.sessions() as session:
            return session.get(SchedulerLease, self.name)


def _insert_lease(session, values: dict) -> bool:
    """INSERT the first lease row unless one exists (the primary key lets one process win)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SchedulerLease).values(**values).on_conflict_do_nothing(index_elements=["name"])
    # RETURNING rather than rowcount: psycopg reports -1 rows for ON CONFLICT DO NOTHING.
    return session.execute(statement.returning(SchedulerLease.name)).scalar() is not None


class LeasedScheduler:
    """Runs an APScheduler scheduler only while this process holds the lease.

    Parameters
    ----------
    build : callable
        ``build()`` returns a configured, not started scheduler; called each time the lease is
        taken (a scheduler that was shut down cannot be started again with its jobs re-added).
    lease : Lease
    heartbeat_s, retry_s : float
        Seconds between renewals while holding, and between attempts while waiting.
    """

    def __init__(self, build: Callable[[], object], lease: Lease, heartbeat_s: float = HEARTBEAT_S,
                 retry_s: float = RETRY_S):
        self.build = build
        self.lease = lease
        self.heartbeat_s = heartbeat_s
        self.retry_s = retry_s
        self.scheduler = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_logged = False
        self._unreachable_logged = False

    @property
    def running(self) -> bool:
        """True while this process holds the lease and its scheduler runs the jobs."""
        return self.scheduler is not None and self.scheduler.running

    def start(self) -> None:
        """Start the lease thread (returns at once; the jobs start when the lease is ours)."""
        if self.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ironwatch-scheduler-lease", daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def shutdown(self, wait: bool = False) -> None:
        """Stop the jobs and give the lease up so another process takes over at once."""
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=self.heartbeat_s + 5)
        self._stop_scheduler()
        try:
            self.lease.release()
        except Exception:  # the database may be gone already: the lease then simply expires
            log.warning("scheduler lease not released; it expires on its own", exc_info=True)

    def step(self) -> bool:
        """One turn of the lease loop (the thread calls it; tests may too). True while holding."""
        try:
            held = self.lease.renew() if self.running else self.lease.acquire()
        except Exception as error:  # said once per outage, not at every retry
            if not self._unreachable_logged:
                log.error("scheduler lease: cannot reach the lease in the database (%s); jobs stay stopped here "
                          "and it is tried again every %.0f s", error, self.retry_s)
                self._unreachable_logged = True
            held = False
        else:
            self._unreachable_logged = False
        if held and not self.running:
            self._start_scheduler()
        elif not held and self.running:
            log.warning("scheduler lease lost (now %s); stopping the jobs here", self._holder_text())
            self._stop_scheduler()
        elif not held and not self._waiting_logged:
            log.info("scheduler lease is held by %s; waiting to take over", self._holder_text())
            self._waiting_logged = True
        return held

    def _run(self) -> None:
        while not self._stop.is_set():
            held = self.step()
            self._stop.wait(self.heartbeat_s if held else self.retry_s)

    def _start_scheduler(self) -> None:
        self.scheduler = self.build()
        self.scheduler.start()
        self._waiting_logged = False
        log.info("scheduler lease taken by %s: scheduled jobs run in this process", self.lease.owner)

    def _stop_scheduler(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            try:
                scheduler.shutdown(wait=False)
            except Exception:
                log.debug("scheduler shutdown", exc_info=True)

    def _holder_text(self) -> str:
        try:
            row = self.lease.holder()
        except Exception:
            return "unknown (database not reachable)"
        if row is None:
            return "nobody"
        return f"{row.owner} until {row.expires_at:%H:%M:%S} UTC"
