"""SQLite databases made once per test process and copied for each test.

Migrating a new SQLite file through Alembic's chain costs about half a second of CPU and seeding
the demo fleet about as much again (some 900 statements); most integration tests want exactly
that starting point, each on its own file. So the first test of a process pays for a migrated file
and a seeded one, and every later test gets a page-for-page copy (SQLite's backup API, a few
milliseconds). What the copies skip is tested on its own: the migrations and the seeding, on
SQLite and PostgreSQL, in ``tests/integration/test_fleet_seed.py``.
"""
from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

#: A seeded template older than this is seeded again: the seed writes times relative to its own
#: "now" (calendar services done N days ago, on-call shifts from yesterday), and a test should see
#: a fleet seeded moments before, as it always has, not one from the start of a long run.
SEED_MAX_AGE_S = 120.0

_templates = Path(tempfile.mkdtemp(prefix="ironwatch-db-templates-"))
atexit.register(shutil.rmtree, _templates, ignore_errors=True)
_migrated: Path | None = None
_seeded: dict[str, tuple[float, Path]] = {}  # password -> (time.monotonic() when seeded, folder)


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for any other database."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


def copy_database(source: Path, target: Path) -> None:
    """Replace the contents of SQLite file ``target`` with those of ``source``, through SQLite's
    backup API (safe while other connections have ``target`` open, and complete in WAL mode)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def migrated_database(target: Path) -> None:
    """Make ``target`` a SQLite file at the migration head (a copy of this process's template)."""
    global _migrated
    if _migrated is None:
        from fleet import db

        path = _templates / "migrated.db"
        db.upgrade(f"sqlite:///{path}")
        _migrated = path
    copy_database(_migrated, target)


def _is_empty(path: Path) -> bool:
    """True when ``path`` is missing, has no tables yet, or is migrated and holds no tenant
    (nothing seeded or added)."""
    from fleet.models import Tenant

    if not path.exists():
        return True
    with closing(sqlite3.connect(path)) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables - {"alembic_version"}:
            return True
        table = Tenant.__tablename__
        return table in tables and connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def seeded_database(target: Path, var: Path, password: str) -> bool:
    """Make the empty migrated SQLite file ``target`` a copy of a freshly seeded demo fleet and
    write its provisioning file into ``var``. Returns False, touching nothing, when ``target``
    already holds rows (the caller then seeds for real: seeding adds to what is there)."""
    from fleet.seed import PROVISIONING_FILE, seed_url

    if not _is_empty(target):
        return False
    made, folder = _seeded.get(password, (0.0, None))
    if folder is None or time.monotonic() - made > SEED_MAX_AGE_S:
        folder = Path(tempfile.mkdtemp(prefix="seeded-", dir=_templates))
        migrated_database(folder / "ironwatch.db")
        seed_url(f"sqlite:///{folder / 'ironwatch.db'}", folder, password)
        _seeded[password] = (time.monotonic(), folder)
    copy_database(folder / "ironwatch.db", target)
    var.mkdir(parents=True, exist_ok=True)
    provisioning = var / PROVISIONING_FILE
    shutil.copyfile(folder / PROVISIONING_FILE, provisioning)
    provisioning.chmod(0o600)  # as the seed writes it: it holds the devices' secrets
    return True
