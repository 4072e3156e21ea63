"""The accepted uploads in SQL: ``telemetry.upload_ledger.UploadLedger`` for every process.

One row per ``(machine, upload_id)``, the primary key, so two processes that took the same upload
at the same moment cannot both record it: the database answers the second "already there". Rows
are kept :data:`RETENTION` and pruned by the scheduler process (``upload_ledger_prune`` in
:func:`fleet.jobs.build_scheduler`), not by the web processes.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
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


class SqlUploadLedger:
    """Parameters
    ----------
    session_factory : sessionmaker (its engine is used directly: Core statements on a pooled
        connection cost a fifth of an ORM session each, and this runs for every upload)
    clock : aware UTC now (the row's ``accepted_at``)
    """

    def __init__(self, session_factory: sessionmaker, clock: Callable[[], datetime] = utcnow):
        self._engine = session_factory.kw["bind"]
        self._clock = clock

    def seen(self, machine: str, upload_id: str) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(select(LEDGER.c.machine).where(
                LEDGER.c.machine == machine, LEDGER.c.upload_id == upload_id)).first() is not None

    def record(self, machine: str, upload_id: str) -> bool:
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(LEDGER).values(machine=machine, upload_id=upload_id,
                                                         accepted_at=self._clock()))
        except IntegrityError:  # the primary key: another process (or an earlier copy) recorded it
            return False
        return True


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
