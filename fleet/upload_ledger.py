"""The accepted uploads in SQL: ``telemetry.upload_ledger.UploadLedger`` for every process.

One row per ``(machine, upload_id)``, the primary key, so two processes that took the same upload
at the same moment cannot both record it: the database answers the second "already there". Rows
are kept :data:`RETENTION` and pruned by the scheduler process (``upload_ledger_prune`` in
:func:`fleet.jobs.build_scheduler`), not by the web processes.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .models import AcceptedUpload, utcnow

log = logging.getLogger(__name__)

#: How long an accepted upload is remembered. A retry is only accepted while its data is inside the
#: ingest window (``telemetry.payloads.Limits.max_past_s``, 7 days before to 5 minutes after server
#: time), so no retry can be accepted later than 7 days 5 minutes after the first copy; one day more
#: is the margin. Beyond it a retry would be refused as too old anyway.
RETENTION = timedelta(days=8)
LEDGER = AcceptedUpload.__table__


class _Row:
    """One ``record`` call waiting for the group commit: its key, then its outcome."""

    def __init__(self, machine: str, upload_id: str):
        self.machine, self.upload_id = machine, upload_id
        self.done = False
        self.added = False
        self.error: BaseException | None = None


class SqlUploadLedger:
    """Parameters
    ----------
    session_factory : sessionmaker (its engine is used directly: Core statements on a pooled
        connection cost a fifth of an ORM session each, and this runs for every upload)
    clock : aware UTC now (the row's ``accepted_at``)

    Rows recorded concurrently share one transaction (group commit, as the spool shares one
    fsync): SQLite has one writer at a time, and a commit per upload would queue the request
    threads behind each other's commits.
    """

    def __init__(self, session_factory: sessionmaker, clock: Callable[[], datetime] = utcnow):
        self._engine = session_factory.kw["bind"]
        self._clock = clock
        self._insert = _insert_or_ignore(self._engine.dialect.name)
        self._cond = threading.Condition()
        self._waiting: list[_Row] = []
        self._committing = False

    def seen(self, machine: str, upload_id: str) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(select(LEDGER.c.machine).where(
                LEDGER.c.machine == machine, LEDGER.c.upload_id == upload_id)).first() is not None

    def record(self, machine: str, upload_id: str) -> bool:
        row = _Row(machine, upload_id)
        with self._cond:
            self._waiting.append(row)
            while True:
                if row.done:
                    return _outcome(row)
                if not self._committing:
                    break
                self._cond.wait()
            self._committing = True  # this thread commits everything waiting, its own row included
            batch, self._waiting = self._waiting, []
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._committing = False
                self._cond.notify_all()
        return _outcome(row)

    def _commit(self, batch: list[_Row]) -> None:
        """Insert ``batch`` in one transaction; each row learns whether it was new (or the error)."""
        now = self._clock()
        try:
            with self._engine.begin() as connection:
                added = [connection.execute(self._insert.values(machine=row.machine, upload_id=row.upload_id,
                                                                accepted_at=now)).first() is not None
                         for row in batch]
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            for row in batch:
                row.error, row.done = exc, True
            raise
        for row, new in zip(batch, added):
            row.added, row.done = new, True


def _outcome(row: _Row) -> bool:
    if row.error is not None:
        raise row.error
    return row.added


def _insert_or_ignore(dialect: str):
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING upload_id``: the primary key decides, and a
    returned row says this statement added it (``rowcount`` is -1 here with psycopg 3)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise ValueError(f"the upload ledger supports SQLite and PostgreSQL, not {dialect}")
    return dialect_insert(LEDGER).on_conflict_do_nothing(index_elements=["machine", "upload_id"]).returning(LEDGER.c.upload_id)


def prune_upload_ledger(session_factory: sessionmaker, clock: Callable[[], datetime] = utcnow,
                        retention: timedelta = RETENTION) -> int:
    """Delete ledger rows older than ``retention`` (the scheduler's hourly ``upload_ledger_prune``
    job: an hour's rows, a few thousand for a fleet of a hundred machines, in one indexed delete).

    Returns the number of rows deleted.
    """
    cutoff = clock() - retention
    with transaction(session_factory) as session:
        deleted = session.execute(delete(AcceptedUpload).where(AcceptedUpload.accepted_at < cutoff)).rowcount
    if deleted:
        log.info("upload ledger: %d rows accepted before %s deleted", deleted, cutoff.isoformat())
    return deleted
