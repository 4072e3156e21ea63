"""SQL store plumbing: where the database is, engines, sessions and Alembic migrations.

Nothing here knows the domain; the models live in :mod:`fleet.models`. SQLite is the default
(a file under ``IRONWATCH_VAR``), PostgreSQL is chosen with ``IRONWATCH_DATABASE_URL``.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def var_dir() -> Path:
    """The instance folder (``IRONWATCH_VAR``, default ``<repo>/var``); created if missing."""
    path = Path(os.environ.get("IRONWATCH_VAR") or REPO_ROOT / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The SQLAlchemy URL: ``IRONWATCH_DATABASE_URL`` or ``sqlite:///<var>/ironwatch.db``."""
    url = os.environ.get("IRONWATCH_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / 'ironwatch.db'}"


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    # SQLite ignores FOREIGN KEY clauses unless asked per connection; without this the
    # ON DELETE rules in the models would silently differ between SQLite and PostgreSQL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the web app read while the diagnosis worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` (default :func:`database_url`).

    SQLite engines get foreign keys, WAL and a busy timeout so several threads (ingest writer,
    diagnosis worker, scheduler, web requests) can share the file.
    """
    url = url or database_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    """An Alembic ``Config`` pointing at ``fleet/migrations`` and the given database URL."""
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at ``url`` (default :func:`database_url`) to ``revision``."""
    from alembic import command

    url = url or database_url()
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision`` (default: empty schema)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


if __name__ == "__main__":  # python -m fleet.db  → migrate the configured database to head
    upgrade()
    print(f"database at head: {database_url()}")


def insert_unless_exists(session: Session, model, values: dict, key_columns: list[str]) -> int | None:
    """``INSERT … ON CONFLICT (key_columns) DO NOTHING RETURNING id``: the new row's id, or None
    when a row with the same unique key exists (inserted by another process, say).

    One statement inside the caller's transaction, on SQLite and PostgreSQL alike. (A SAVEPOINT
    around a plain INSERT would do on PostgreSQL, but pysqlite commits a SAVEPOINT opened outside
    a transaction when it is released, which would split the caller's transaction in two.)
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=key_columns)
    return session.execute(statement.returning(model.id)).scalar()
