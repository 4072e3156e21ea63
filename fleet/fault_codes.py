"""The SPNs each machine has reported, in SQL: ``telemetry.fault_codes.FaultCodeRegister``.

One row per (machine uid, SPN), unique, so every app process, the MQTT bridge and a later worker
count the same set. Known SPNs are cached in memory (rows are never deleted, so the cache cannot
go stale in the direction that matters: it only ever under-counts, and SQL decides).
"""
from __future__ import annotations

import threading
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from telemetry.fault_codes import DEFAULT_MAX_SPNS_PER_MACHINE

from .db import transaction
from .models import ReportedFaultCode


class SqlFaultCodeRegister:
    """Parameters
    ----------
    session_factory : sessionmaker
    limit : distinct SPNs one machine may report
    """

    def __init__(self, session_factory: sessionmaker, limit: int = DEFAULT_MAX_SPNS_PER_MACHINE):
        self._sessions = session_factory
        self.limit = limit
        self._known: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def admit(self, machine: str, spns: Iterable[int]) -> list[int]:
        spns = set(spns)
        with self._lock:
            if spns <= self._known.get(machine, set()):
                return []  # the usual DM1 message: codes this machine has reported before
        try:
            with transaction(self._sessions) as session:
                known = set(session.scalars(select(ReportedFaultCode.spn).where(ReportedFaultCode.machine == machine)))
                new = spns - known
                if len(known) + len(new) > self.limit:
                    return sorted(new)
                session.add_all(ReportedFaultCode(machine=machine, spn=spn) for spn in sorted(new))
                session.flush()
                # another process may have added SPNs at the same moment: count again before commit
                if session.scalar(select(func.count()).where(ReportedFaultCode.machine == machine)) > self.limit:
                    session.rollback()
                    return sorted(new)
        except IntegrityError:
            return self.admit(machine, spns)  # the same SPN inserted concurrently: look again
        with self._lock:
            self._known.setdefault(machine, set()).update(known | new)
        return []
