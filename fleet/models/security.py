"""Sign-in state that must hold across processes: throttles on failed sign-ins and server-side
sessions. Both live in SQL (not a per-process dict) so that every app process, and the next one
after a restart, sees the same lock-outs and the same revocations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class SignInThrottle(Base):
    """Failed sign-ins of one key within the current window, and the lock-out they caused.

    ``key`` is ``"account:<e-mail>"`` or ``"address:<client IP>"``; one row per key, so the table
    grows with the keys that failed recently, and rows past their window are pruned.
    """

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """One signed-in browser. The signed session cookie carries a random token; only its SHA-256
    is stored here. Signing out stamps ``revoked_at``, after which the cookie no longer works even
    though its signature is still valid."""

    __tablename__ = "user_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(64), default="")
