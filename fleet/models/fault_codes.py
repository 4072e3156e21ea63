"""Which SPNs each machine has reported (bounds the InfluxDB series per machine, issue 20)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ReportedFaultCode(Base):
    """One SPN a machine has reported at least once (``fleet.fault_codes.SqlFaultCodeRegister``)."""

    __tablename__ = "reported_fault_code"
    __table_args__ = (UniqueConstraint("machine", "spn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine: Mapped[str] = mapped_column(String(40))  # machine uid, as InfluxDB's tag
    spn: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
