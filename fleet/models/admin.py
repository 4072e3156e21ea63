"""What the admin pages keep: one-time account links (invitations, password resets) and the
ISO 20816 zone limits set for a machine group."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

ACCOUNT_LINK_PURPOSES = ("invite", "reset")


class AccountLink(Base):
    """A one-time link that lets a person set a password: an invitation or a reset.

    Only the SHA-256 of the link's token is kept, so reading the table does not hand out links;
    ``used_at`` makes it one-time, ``expires_at`` bounds how long a leaked e-mail is dangerous.
    """

    __tablename__ = "account_link"
    __table_args__ = (CheckConstraint("purpose IN ('invite', 'reset')", name="purpose"),)

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ZoneLimitSet(Base):
    """ISO 20816 zone boundaries (mm/s RMS) for one component of every machine of a model.

    A machine group is the machines of one ``machine_model``; the set overrides the boundaries a
    component's kinematics carry (or its ISO class's defaults) at the next diagnosis.
    """

    __tablename__ = "zone_limit_set"
    __table_args__ = (UniqueConstraint("machine_model", "component_name"),
                      CheckConstraint("a_b_mm_s > 0 AND a_b_mm_s < b_c_mm_s AND b_c_mm_s < c_d_mm_s",
                                      name="increasing"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_model: Mapped[str] = mapped_column(String(80))
    component_name: Mapped[str] = mapped_column(String(80))
    a_b_mm_s: Mapped[float] = mapped_column(Float)
    b_c_mm_s: Mapped[float] = mapped_column(Float)
    c_d_mm_s: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def limits(self) -> tuple[float, float, float]:
        return (self.a_b_mm_s, self.b_c_mm_s, self.c_d_mm_s)
