"""When each machine's device was last heard from, for the "not reporting" rule.

A telematics unit that delivers data is reporting, however old the data's own timestamps are: a
gateway sending its buffer after a coverage gap, a demo replaying two days of history, a standby
set's key-off heartbeat. So ``Machine.last_seen_at`` is the newer of two times: the newest sample's
(``fleet.jobs.sync_operating_state``, ``fleet.diagnosis_service``) and the time the server last
stored an upload of any kind from the machine (this module: operating batches and heartbeats,
bursts, DM1 messages). ``fleet.alarm_sources.check_reporting`` then judges silence of the device
itself, not of the engine and not the age of what it sends.

The writer reports what reached InfluxDB (``telemetry.writer.SpoolWriter.on_stored``); one SQL
update per machine and ``min_interval_s`` at most keeps a busy replay (hundreds of uploads a
second) from turning into as many writes.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import or_, update
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .models import Machine, utcnow

__all__ = ["ContactRecorder", "record_contact"]

log = logging.getLogger(__name__)

#: Seconds between two contact updates of one machine: far below any reporting window (30 min).
CONTACT_RESOLUTION_S = 30.0


def record_contact(session_factory: sessionmaker, machine_uids: Iterable[str], at: datetime) -> int:
    """Set ``last_seen_at`` of the machines ``machine_uids`` to ``at`` where it is older (or unset).

    Returns the number of machines updated.
    """
    uids = sorted(set(machine_uids))
    if not uids:
        return 0
    with transaction(session_factory) as session:
        result = session.execute(update(Machine)
                                 .where(Machine.uid.in_(uids),
                                        or_(Machine.last_seen_at.is_(None), Machine.last_seen_at < at))
                                 .values(last_seen_at=at))
        return result.rowcount or 0


class ContactRecorder:
    """An ``on_stored`` listener of the spool writer: records each machine's contact time.

    Parameters
    ----------
    session_factory : sessionmaker
        Where ``machine.last_seen_at`` is kept.
    executor : concurrent.futures.Executor, optional
        Where the SQL update runs (the writer's thread only enqueues); None: on the caller's thread.
    min_interval_s : float
        Seconds (s) between two updates of one machine.
    clock : callable
        Aware UTC now.
    """

    def __init__(self, session_factory: sessionmaker, executor=None, min_interval_s: float = CONTACT_RESOLUTION_S,
                 clock: Callable[[], datetime] = utcnow):
        self.sessions = session_factory
        self.executor = executor
        self.min_interval = timedelta(seconds=min_interval_s)
        self.clock = clock
        self._recorded: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def on_stored(self, events) -> None:
        now = self.clock()
        with self._lock:
            due = sorted({e.machine for e in events if e.machine}
                         - {uid for uid, at in self._recorded.items() if now - at < self.min_interval})
            for uid in due:
                self._recorded[uid] = now
        if not due:
            return
        if self.executor is None:
            self._record(due, now)
        else:
            self.executor.submit(self._record, due, now)

    def _record(self, uids: list[str], at: datetime) -> None:
        try:
            record_contact(self.sessions, uids, at)
        except Exception:  # SQL busy or away: the next upload tries again
            log.exception("recording the contact of %s failed", ", ".join(uids))
            with self._lock:
                for uid in uids:
                    if self._recorded.get(uid) == at:
                        del self._recorded[uid]
