"""The fleet owners' standard API (ISO 15143-3): API clients of a customer's fleet software, their
OAuth 2 access tokens and the per-client request counts the rate limit reads. All in SQL, so that
every app process issues, accepts and counts the same."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .org import Tenant


class ApiClient(Base):
    """A customer's fleet software, created in the portal. ``client_id`` is public; only the
    SHA-256 of the secret is kept (the secret is shown once, at creation: a 256-bit random value
    needs no slow hash, unlike a password a person chose)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What its tokens may read: space-separated scope names (``fleet.api_clients.SCOPES``).
    scopes: Mapped[str] = mapped_column(String(200), default="fleet usage locations faults")

    tenant: Mapped[Tenant] = relationship()


class ApiToken(Base):
    """A bearer access token issued by the client-credentials grant; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scopes: Mapped[str] = mapped_column(String(200), default="")  # granted: the client's, or fewer asked for

    client: Mapped[ApiClient] = relationship()


class ApiRateWindow(Base):
    """Requests of one client in one fixed window (``window_start``: epoch seconds). The unique key
    makes two processes count into the same row."""

    __tablename__ = "api_rate_window"
    __table_args__ = (UniqueConstraint("api_client_id", "window_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id", ondelete="CASCADE"), index=True)
    window_start: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0)
