"""Declarative base, naming convention and the UTC timestamp type shared by all models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL and make
# later ALTERs (batch mode on SQLite) possible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timestamps stored as naive UTC and always returned timezone-aware (UTC).

    SQLite has no time zones; storing naive UTC everywhere and re-attaching ``timezone.utc`` on
    the way out makes both back ends behave the same. Naive inputs are taken to be UTC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def from_ns(t_ns: int) -> datetime:
    """Timezone-aware UTC datetime of a nanosecond Unix timestamp (microsecond resolution)."""
    return datetime.fromtimestamp(int(t_ns) // 1000 / 1e6, tz=timezone.utc)
