"""The ledger of accepted uploads, shared by every process that accepts uploads.

Each process has its own spool, and a spool only knows the uploads it took. A gateway's retry
can land on another process (behind a load balancer, or over MQTT instead of HTTP), so the
duplicate decision is a ledger all of them consult: the production one is
``fleet.upload_ledger.SqlUploadLedger``, whose primary key ``(machine, upload_id)`` makes the
database decide which copy was first.

Crash order (docs/telemetry.md, "One duplicate decision for every process"): a row is recorded
only **after** the upload is fsync'd in a spool, so a row always has durable data behind it and a
crash can never make a retry of a lost upload a "duplicate". The window between the fsync and the
row lets a retry be accepted a second time (by another process): then the upload is spooled and
written twice, which is harmless (InfluxDB overwrites a point with the same series and
timestamp; a burst is diagnosed once, ``burst_diagnosis`` is unique by burst id).
"""
from __future__ import annotations

from typing import Protocol


class UploadLedger(Protocol):
    """Which ``<machine, upload_id>`` some process has already made durable."""

    def seen(self, machine: str, upload_id: str) -> bool:
        """True when the upload is in the ledger (its data is durable in some spool)."""

    def record(self, machine: str, upload_id: str) -> bool:
        """Record a durable upload; True if this call added it, False if it was there already.

        Call only once the upload is fsync'd. Raises ``OSError``-like or database errors when the
        ledger cannot be reached (the ingest service then keeps its spool's answer)."""
