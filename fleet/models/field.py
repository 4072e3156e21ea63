"""What field technicians send from their phones: each action once, and their photos.

``field_action`` makes a phone's resend harmless: every action carries an id the phone made
(``client_action_id``, unique), so the second arrival of the same action finds the first one's row
and answers with its outcome instead of applying it again, whichever process receives it.
``work_order_photo`` references a picture stored on disk under ``<var>/photos/`` (the bytes stay
out of the SQL rows, which backups and replicas copy often).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

FIELD_OUTCOMES = ("applied", "conflict")


class FieldAction(Base):
    """One action a technician took in the app, as received (``outcome`` says what became of it)."""

    __tablename__ = "field_action"
    __table_args__ = (CheckConstraint("outcome IN ('applied', 'conflict')", name="outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(64), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(String(500), default="")
    status_after: Mapped[str] = mapped_column(String(16), default="")
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # on the phone, maybe hours earlier
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class WorkOrderPhoto(Base):
    """A photo taken on a job; the file is ``<var>/photos/<relative_path>``."""

    __tablename__ = "work_order_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    client_action_id: Mapped[str] = mapped_column(String(64), unique=True)
    relative_path: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width_px: Mapped[int] = mapped_column(Integer)
    height_px: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(200), default="")
    taken_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
