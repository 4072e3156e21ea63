"""A bound on the distinct SPNs (J1939 suspect parameter numbers) each machine may report.

Every distinct SPN becomes a series of its own in InfluxDB (``fault_codes``, tag ``spn``), and a
token could otherwise mint up to 524,288 of them per machine. A real machine reports a few dozen
in its life, so the ingest service admits new SPNs of a machine only while the machine stays
within ``limit`` and refuses the upload (422, rule ``max_spns_per_machine``) past it.

The production register is ``fleet.fault_codes.SqlFaultCodeRegister`` (the database's unique
constraint keeps processes in agreement); :class:`MemoryFaultCodeRegister` is for one process
(tests, the benchmark, the MQTT bridge when not given the SQL one).
"""
from __future__ import annotations

import threading
from typing import Iterable, Protocol

#: Distinct SPNs one machine may report (configurable: ``IRONWATCH_MAX_SPNS_PER_MACHINE``).
DEFAULT_MAX_SPNS_PER_MACHINE = 128


class FaultCodeRegister(Protocol):
    limit: int

    def admit(self, machine: str, spns: Iterable[int]) -> list[int]:
        """Record ``spns`` as reported by ``machine`` unless that takes it past ``limit``;
        returns the SPNs refused (all new ones of the upload, nothing recorded) or ``[]``."""


class MemoryFaultCodeRegister:
    """:class:`FaultCodeRegister` in this process's memory."""

    def __init__(self, limit: int = DEFAULT_MAX_SPNS_PER_MACHINE):
        self.limit = limit
        self._known: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def admit(self, machine: str, spns: Iterable[int]) -> list[int]:
        with self._lock:
            known = self._known.setdefault(machine, set())
            new = set(spns) - known
            if len(known) + len(new) > self.limit:
                return sorted(new)
            known |= new
            return []
