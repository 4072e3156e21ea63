"""The ledger of accepted uploads: the duplicate decision every web process shares."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class AcceptedUpload(Base):
    """One upload some process made durable in its spool (``fleet.upload_ledger.SqlUploadLedger``).

    The primary key ``(machine, upload_id)`` is the duplicate key of docs/contracts.md, so the
    database, not a process, decides which of two concurrent copies was first. A row is inserted
    only after its upload is fsync'd in a spool (a row always has durable data behind it), and
    deleted by the scheduler's ``upload_ledger_prune`` job after the retention.
    """

    __tablename__ = "accepted_upload"

    machine: Mapped[str] = mapped_column(String(40), primary_key=True)  # machine uid, as InfluxDB's tag
    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # telemetry.payloads.check_upload_id
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
