"""Backups of everything an installation cannot recreate, and their restore.

``python -m fleet.backup create|list|restore [BACKUP] [--dir DIR] [--keep-days N]``

One backup is one folder ``<backups>/<UTC time>/`` (default ``<IRONWATCH_VAR>/backups``) with

==================  ============================================================================
``influxdb/``       InfluxDB's portable backup of our database (``influxd backup -portable``),
                    restored with ``influxd restore -portable`` after the database is dropped
``sql/``            SQLite: a consistent copy made with SQLite's online backup API (safe while the
                    app writes); PostgreSQL: ``pg_dump --format=custom``, restored by
                    ``pg_restore --clean``
``files/``          the session secret key, the device provisioning file, the Mosquitto bridge
                    secret, the RUL model files and the ingest spool (uploads acknowledged but not
                    yet in InfluxDB)
``manifest.json``   what is in it: sizes and SHA-256 of every file, SQL row counts per table
==================  ============================================================================

A backup is written under ``<time>.partial`` and renamed when complete, so a folder without the
suffix is always whole. Retention: backups older than ``--keep-days`` (``IRONWATCH_BACKUP_KEEP_DAYS``,
default 14) are deleted, never the newest one. The scheduler process runs :class:`NightlyBackup`
at 02:30 UTC (``fleet.jobs``).

Restore replaces the current state with the backup's: stop the app and the scheduler first (restore
refuses while the spool is open or the scheduler lease is held). The InfluxDB ``-host`` is its RPC address: ``IRONWATCH_INFLUX_BACKUP_HOST``,
else the HTTP port plus two (our private influxd's layout, and InfluxDB's own 8086/8088).
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url

from telemetry import influxd
from telemetry.files import replace_atomically
from telemetry.influx import InfluxClient

from . import db

log = logging.getLogger(__name__)

#: Files and folders of the instance folder that a backup carries (missing ones are skipped).
INSTANCE_FILES = ("secret_key", "provisioning.json", "mosquitto/bridge.secret", "models", "spool")
DEFAULT_KEEP_DAYS = 14
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
PARTIAL = ".partial"


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


@dataclass(frozen=True)
class Sources:
    """What is backed up: the instance folder, the SQL database and the InfluxDB database."""

    var_dir: Path
    database_url: str
    influx_url: str
    influx_database: str
    influx_rpc_host: str

    @classmethod
    def from_settings(cls, var_dir: str | Path, database_url: str, influx_url: str,
                      influx_database: str) -> "Sources":
        return cls(Path(var_dir), database_url, influx_url, influx_database, rpc_host_for(influx_url))

    @classmethod
    def from_environment(cls) -> "Sources":
        return cls.from_settings(db.var_dir(), db.database_url(), influxd.influx_url(), influxd.influx_database())


def rpc_host_for(influx_url: str) -> str:
    """``host:port`` of InfluxDB's backup/restore (RPC) service for an HTTP URL."""
    configured = os.environ.get("IRONWATCH_INFLUX_BACKUP_HOST")
    if configured:
        return configured
    parts = urlsplit(influx_url)
    return f"{parts.hostname or '127.0.0.1'}:{(parts.port or 8086) + 2}"


def backups_dir_for(var_dir: Path) -> Path:
    return Path(os.environ.get("IRONWATCH_BACKUP_DIR") or Path(var_dir) / "backups")


# --------------------------------------------------------------------------------------- create

def create_backup(sources: Sources, backups_dir: Path, now: datetime | None = None) -> Path:
    """Back up InfluxDB, SQL and the instance files into a new folder; returns its path."""
    now = now or datetime.now(timezone.utc)
    final = Path(backups_dir) / now.strftime(TIME_FORMAT)
    work = final.with_name(final.name + PARTIAL)
    if final.exists():
        raise BackupError(f"{final} already exists")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _run(["influxd", "backup", "-portable", "-db", sources.influx_database, "-host", sources.influx_rpc_host,
          str(work / "influxdb")], "InfluxDB backup", binary=_influxd())
    # SQLite: rows counted in the copy itself (exact); PostgreSQL: just before the dump's snapshot.
    sqlite = sources.database_url.startswith("sqlite")
    rows = None if sqlite else sql_row_counts(sources.database_url)
    sql_kind = _backup_sql(sources.database_url, work / "sql")
    if sqlite:
        rows = _sqlite_row_counts(work / "sql" / "ironwatch.db")
    for name in INSTANCE_FILES:
        source = sources.var_dir / name
        if source.is_dir():
            shutil.copytree(source, work / "files" / name, ignore=shutil.ignore_patterns(".lock", "*.tmp"))
        elif source.is_file():
            (work / "files" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, work / "files" / name)
    manifest = {"created_at": now.isoformat(), "influx_database": sources.influx_database, "sql": sql_kind,
                "sql_rows": rows, "files": _file_list(work)}
    replace_atomically(work / "manifest.json", json.dumps(manifest, indent=2))
    os.replace(work, final)
    log.info("backup %s written (%d files)", final, len(manifest["files"]))
    return final


def _backup_sql(url: str, target: Path) -> str:
    target.mkdir(parents=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target / "ironwatch.db")
        try:
            with copy:
                source.backup(copy)  # a consistent snapshot even while the app writes
        finally:
            copy.close()
            source.close()
        return "sqlite"
    if url.startswith("postgresql"):
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target / "ironwatch.pgdump"),
              "--dbname", _libpq_url(url)], "pg_dump")
        return "postgresql"
    raise BackupError(f"no backup method for database URL {make_url(url).drivername}")


def sql_row_counts(url: str) -> dict[str, int]:
    """Rows per table (the manifest's record of what a restore must bring back)."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            names = sorted(inspect(connection).get_table_names())
            return {name: connection.scalar(select(func.count()).select_from(table(name))) for name in names}
    finally:
        engine.dispose()


def _sqlite_row_counts(path: Path) -> dict[str, int]:
    # Plain sqlite3, read-only: opening the copy through fleet.db would switch it to WAL mode.
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        connection.close()


# -------------------------------------------------------------------------------------- restore

def restore_backup(sources: Sources, backup: Path) -> dict:
    """Replace InfluxDB's database, the SQL database and the instance files with ``backup``'s.

    Returns the manifest; raises :class:`BackupError` when the backup is incomplete or damaged,
    when the app still holds the spool, or when a restored SQL table's row count differs.
    """
    backup = Path(backup)
    manifest = read_manifest(backup)
    _check_files(backup, manifest)
    _refuse_if_spool_open(sources.var_dir / "spool")
    _refuse_if_scheduler_runs(sources.database_url)
    client = InfluxClient(sources.influx_url, sources.influx_database)
    client.drop_database()  # influxd restore refuses a database that exists
    _run(["influxd", "restore", "-portable", "-db", manifest["influx_database"], "-newdb", sources.influx_database,
          "-host", sources.influx_rpc_host, str(backup / "influxdb")], "InfluxDB restore", binary=_influxd())
    influxd.prepare_database(client)  # retention policies and continuous queries, as on start
    _restore_sql(manifest["sql"], backup / "sql", sources.database_url)
    for name in INSTANCE_FILES:
        saved, live = backup / "files" / name, sources.var_dir / name
        if saved.is_dir():
            shutil.rmtree(live, ignore_errors=True)
            shutil.copytree(saved, live)
        elif saved.is_file():
            live.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(saved, live)
            if name in ("secret_key", "mosquitto/bridge.secret"):
                live.chmod(0o600)
    restored = sql_row_counts(sources.database_url)
    differ = {t: (n, restored.get(t)) for t, n in manifest["sql_rows"].items() if restored.get(t) != n}
    if differ and manifest["sql"] == "sqlite":
        raise BackupError(f"restored SQL row counts differ from the backup's (table: backup, now): {differ}")
    if differ:  # counted beside pg_dump's snapshot, not in it: a busy table may differ by a few rows
        log.warning("restored row counts differ from those counted at backup time: %s", differ)
    log.info("restored %s", backup)
    return manifest


def _restore_sql(kind: str, folder: Path, url: str) -> None:
    if kind == "sqlite":
        if not url.startswith("sqlite"):
            raise BackupError("this backup holds a SQLite database; IRONWATCH_DATABASE_URL is not SQLite")
        path = Path(_sqlite_path(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(folder / "ironwatch.db")
        live = sqlite3.connect(path)
        try:
            with live:
                source.backup(live)  # page by page into the live file, its WAL included
        finally:
            live.close()
            source.close()
    elif kind == "postgresql":
        if not url.startswith("postgresql"):
            raise BackupError("this backup holds a PostgreSQL dump; IRONWATCH_DATABASE_URL is not PostgreSQL")
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", _libpq_url(url), str(folder / "ironwatch.pgdump")], "pg_restore")
    else:
        raise BackupError(f"unknown SQL backup kind {kind!r}")


def _refuse_if_spool_open(spool: Path) -> None:
    lock = spool / ".lock"
    if not lock.exists():
        return
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"the spool {spool} is open: stop the app (and the MQTT bridge) before "
                              f"restoring") from None
        fcntl.flock(handle, fcntl.LOCK_UN)


def _refuse_if_scheduler_runs(database_url: str) -> None:
    """A scheduler process holding its lease would go on writing the database being replaced."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import db
    from .models import utcnow
    from .scheduler_lease import Lease

    if database_url.startswith("sqlite") and not Path(_sqlite_path(database_url) or "").is_file():
        return  # no database yet: nothing runs on it
    engine = db.make_engine(database_url)
    try:
        row = Lease(db.session_factory(engine)).holder()
    except SQLAlchemyError:  # no database or no schema yet: nothing runs on it
        return
    finally:
        engine.dispose()
    if row is not None and row.expires_at > utcnow():
        raise BackupError(f"the scheduler process {row.owner} holds its lease on this database: stop it "
                          f"(python -m app scheduler) before restoring")


# ------------------------------------------------------------------------------ list and prune

@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime
    complete: bool
    size_bytes: int


def list_backups(backups_dir: Path) -> list[BackupInfo]:
    """Every backup folder, oldest first; ``complete`` False for one still (or never) written."""
    found = []
    for path in sorted(Path(backups_dir).glob("*")) if Path(backups_dir).is_dir() else []:
        name = path.name.removesuffix(PARTIAL)
        try:
            created = datetime.strptime(name, TIME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            continue  # not ours
        complete = not path.name.endswith(PARTIAL) and (path / "manifest.json").exists()
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        found.append(BackupInfo(path, created, complete, size))
    return sorted(found, key=lambda b: b.created_at)


def prune(backups_dir: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete backups older than ``keep_days`` (the newest complete one always stays); returns them."""
    now = now or datetime.now(timezone.utc)
    backups = list_backups(backups_dir)
    complete = [b for b in backups if b.complete]
    newest = complete[-1].path if complete else None
    removed = []
    for backup in backups:
        if backup.path != newest and backup.created_at < now - timedelta(days=keep_days):
            shutil.rmtree(backup.path)
            removed.append(backup.path)
    return removed


class NightlyBackup:
    """The scheduler's job: a backup, then the retention (``fleet.jobs``, 02:30 UTC)."""

    def __init__(self, sources: Sources, backups_dir: Path | None = None, keep_days: int | None = None):
        self.sources = sources
        self.backups_dir = Path(backups_dir or backups_dir_for(sources.var_dir))
        self.keep_days = int(keep_days if keep_days is not None
                             else os.environ.get("IRONWATCH_BACKUP_KEEP_DAYS", DEFAULT_KEEP_DAYS))

    def __call__(self) -> Path:
        path = create_backup(self.sources, self.backups_dir)
        removed = prune(self.backups_dir, self.keep_days)
        if removed:
            log.info("backup retention (%d days): removed %s", self.keep_days, ", ".join(p.name for p in removed))
        return path


# ------------------------------------------------------------------------------------- helpers

def read_manifest(backup: Path) -> dict:
    try:
        return json.loads((backup / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{backup} is not a complete backup (no readable manifest.json: {exc})") from exc


def _file_list(root: Path) -> dict[str, dict]:
    return {str(p.relative_to(root)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def _check_files(backup: Path, manifest: dict) -> None:
    for name, entry in manifest["files"].items():
        path = backup / name
        if not path.is_file() or path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise BackupError(f"{backup}: {name} is missing or damaged; nothing was restored")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(url: str) -> str:
    return make_url(url).database


def _libpq_url(url: str) -> str:
    """SQLAlchemy's ``postgresql+psycopg://...`` as libpq's ``postgresql://...``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _influxd() -> str:
    binary = influxd.find_influxd()
    if binary is None:
        raise BackupError("influxd is not installed; it does InfluxDB's backup and restore")
    return binary


def _run(command: list[str], what: str, binary: str | None = None) -> None:
    if binary:
        command = [binary] + command[1:]
    elif shutil.which(command[0]) is None:
        raise BackupError(f"{what}: {command[0]} is not installed")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-800:]}")


# ----------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.backup", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["create", "list", "restore"])
    parser.add_argument("backup", nargs="?", help="restore: the backup folder (or its name; default the newest)")
    parser.add_argument("--dir", type=Path, help="backups folder (default IRONWATCH_BACKUP_DIR or <var>/backups)")
    parser.add_argument("--keep-days", type=int, help="create: then delete backups older than this")
    parser.add_argument("--yes", action="store_true", help="restore: do not ask before replacing the current data")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(message)s")
    sources = Sources.from_environment()
    backups_dir = args.dir or backups_dir_for(sources.var_dir)
    try:
        if args.command == "create":
            path = create_backup(sources, backups_dir)
            print(f"backup written: {path}")
            if args.keep_days is not None:
                for removed in prune(backups_dir, args.keep_days):
                    print(f"removed (older than {args.keep_days} days): {removed}")
        elif args.command == "list":
            backups = list_backups(backups_dir)
            if not backups:
                print(f"no backups in {backups_dir}")
            for b in backups:
                state = "complete" if b.complete else "INCOMPLETE"
                print(f"{b.path.name}  {b.created_at:%Y-%m-%d %H:%M} UTC  {b.size_bytes / 1e6:9.1f} MB  {state}")
        else:
            complete = [b for b in list_backups(backups_dir) if b.complete]
            if args.backup:
                target = Path(args.backup) if Path(args.backup).is_dir() else backups_dir / args.backup
            elif complete:
                target = complete[-1].path
            else:
                print(f"no complete backup in {backups_dir}", file=sys.stderr)
                return 1
            if not args.yes:
                answer = input(f"Replace InfluxDB {sources.influx_database!r}, the SQL database and the instance "
                               f"files with {target.name}? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    return 1
            manifest = restore_backup(sources, target)
            print(f"restored {target.name} ({sum(manifest['sql_rows'].values())} SQL rows, "
                  f"{len(manifest['files'])} files)")
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
