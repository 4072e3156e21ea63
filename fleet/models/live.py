"""The live-event outbox: events raised in a process without browsers (the scheduler), kept for
the web processes to send to their Socket.IO rooms (see :mod:`fleet.live_outbox`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class LiveEvent(Base):
    """One live event (``fleet.notify`` name and payload) for the tenants' rooms, or for one user's.

    Rows are read in ``id`` order by every web process from the newest id it saw at its start, and
    deleted after :data:`fleet.live_outbox.KEEP` by whichever process tidies up first.
    """

    __tablename__ = "live_event"
    # AUTOINCREMENT on SQLite: ids never come back after the retention deleted the newest rows
    # (the relays' cursors rely on ids only growing)
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    name: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    tenant_ids: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
