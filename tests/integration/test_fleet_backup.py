"""Backup and restore against the real stores (issue 20, defect 10): back up a running
installation, destroy InfluxDB's database, the SQL database and the instance files, restore, and
find every record again, including an upload still waiting in the spool."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from telemetry import schema

from app_helpers import app_config, machine_entry, outer_race_burst, seed_demo_fleet

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


#: Written by the continuous queries on InfluxDB's own clock (every minute): one may run on the
#: restored database before it is counted, adding means the backup could not have held.
DOWNSAMPLED = (schema.M_OPERATING_1M, schema.M_OPERATING_1H)


def influx_counts(influx) -> dict[str, int]:
    """Points per measurement and field, across every retention policy (fields a measurement does
    not have, which a query over several measurements answers as null, left out)."""
    counts = {}
    from telemetry.influx import InfluxClient

    databases = InfluxClient(influx.url, "_internal").query("SHOW DATABASES")
    if [influx.database] not in (databases[0].get("values") or []):
        return counts
    for series in influx.query("SHOW RETENTION POLICIES"):
        for rp in (row[0] for row in series["values"]):
            for result in influx.query(f'SELECT count(*) FROM "{rp}"./.*/'):
                for column, value in zip(result["columns"][1:], result["values"][0][1:]):
                    if value is not None:
                        counts[f"{rp}.{result['name']}.{column}"] = value
    return counts


def sql_records(sessions) -> dict:
    from sqlalchemy import select

    from fleet.models import BurstDiagnosis, DeviceCredential, Machine, User, WorkOrder

    with sessions() as db:
        return {"machines": sorted(db.scalars(select(Machine.uid))),
                "users": sorted(db.scalars(select(User.email))),
                "orders": sorted((o.id, o.number, o.status) for o in db.scalars(select(WorkOrder))),
                "diagnoses": sorted(db.scalars(select(BurstDiagnosis.burst_id))),
                "devices": sorted(db.scalars(select(DeviceCredential.device_id)))}


def operating_upload(uid: str, t0: int, n: int = 30) -> dict:
    return {"upload_id": str(uuid.uuid4()), "machine": uid,
            "samples": [{"time": t0 + i * 10**9, "fields": {"coolant_temp_c": 80.0 + i}} for i in range(n)]}


def test_backup_destroy_restore_finds_every_record(influx, sql_url, tmp_path):
    from app import create_app
    from app.config import persistent_secret_key
    from fleet import db

    assert sql_url.startswith("sqlite") or sql_url.startswith("postgresql")
    var = tmp_path / "var"
    provisioning = seed_demo_fleet(sql_url, var)
    secret = persistent_secret_key(var)
    (var / "models" / "diesel_engine").mkdir(parents=True)
    (var / "models" / "diesel_engine" / "diesel_engine-v1.json").write_text('{"trees": []}')
    app = create_app(app_config(influx, sql_url, var))
    runtime = app.extensions["ironwatch"]
    device = app.test_client()
    token, burst = outer_race_burst(provisioning)
    t0 = (time.time_ns() // 10**9 - 900) * 10**9
    genset = machine_entry(provisioning, "GS-2001")
    for body, kind in ((burst, "bursts"), (operating_upload("GS-2001", t0), "operating")):
        response = device.post(f"/api/v1/ingest/{kind}", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.diagnosis_queue.run_pending() == 1  # a diagnosis and a work order in SQL
    # One more upload acknowledged but not yet written: it lives only in the spool.
    pending = operating_upload("GS-2001", t0 + 100 * 10**9, n=5)
    assert device.post("/api/v1/ingest/operating", json=pending,
                       headers={"Authorization": f"Bearer {genset['token']}"}).status_code == 202
    runtime.stop()

    before_influx, before_sql = influx_counts(influx), sql_records(runtime.sessions)
    assert before_influx and before_sql["orders"] and before_sql["diagnoses"]
    env = {**os.environ, "IRONWATCH_VAR": str(var), "IRONWATCH_DATABASE_URL": sql_url,
           "IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database}
    created = subprocess.run([sys.executable, "-m", "fleet.backup", "create"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    listed = subprocess.run([sys.executable, "-m", "fleet.backup", "list"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "complete" in listed.stdout, listed.stdout + listed.stderr

    # Destroy both stores and the instance files.
    influx.drop_database()
    assert influx_counts(influx) == {}
    if sql_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(sql_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        from fleet.models import Base

        engine = db.make_engine(sql_url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    for name in ("spool", "models"):
        shutil.rmtree(var / name)
    for name in ("secret_key", "provisioning.json"):
        (var / name).unlink()

    restored = subprocess.run([sys.executable, "-m", "fleet.backup", "restore", "--yes"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
    assert restored.returncode == 0, restored.stderr
    after_influx = influx_counts(influx)

    def stored(counts: dict) -> dict:
        return {key: n for key, n in counts.items() if key.split(".")[1] not in DOWNSAMPLED}

    assert stored(after_influx) == stored(before_influx)
    # Every downsampled point is back; a continuous query that ran since may have added some.
    assert all(after_influx.get(key, 0) >= n for key, n in before_influx.items() if key not in stored(before_influx))
    engine = db.make_engine(sql_url)
    try:
        assert sql_records(db.session_factory(engine)) == before_sql
    finally:
        engine.dispose()
    assert persistent_secret_key(var) == secret
    assert (var / "models" / "diesel_engine" / "diesel_engine-v1.json").read_text() == '{"trees": []}'
    assert (var / "provisioning.json").exists()

    # The restored spool still holds the pending upload: a new app writes it to InfluxDB.
    app = create_app(app_config(influx, sql_url, var))
    runtime = app.extensions["ironwatch"]
    try:
        runtime.writer.start()
        assert runtime.writer.wait_drained(timeout=60)
        count = influx.query("SELECT count(coolant_temp_c) FROM operating WHERE machine = 'GS-2001'")
        assert count[0]["values"][0][1] == 35
    finally:
        runtime.stop()


def test_restore_refuses_a_damaged_backup_and_changes_nothing(tmp_path):
    from fleet.backup import BackupError, Sources, restore_backup

    backup = tmp_path / "backups" / "20261201T023000Z"
    (backup / "sql").mkdir(parents=True)
    (backup / "sql" / "ironwatch.db").write_bytes(b"half a file")
    (backup / "manifest.json").write_text('{"files": {"sql/ironwatch.db": {"bytes": 4096, "sha256": "00"}}, '
                                          '"sql": "sqlite", "sql_rows": {}, "influx_database": "x"}')
    sources = Sources(tmp_path / "var", f"sqlite:///{tmp_path / 'var' / 'ironwatch.db'}", "http://127.0.0.1:1", "x",
                      "127.0.0.1:3")
    with pytest.raises(BackupError, match="missing or damaged"):
        restore_backup(sources, backup)
    assert not (tmp_path / "var").exists()


def test_restore_refuses_while_the_scheduler_process_holds_its_lease(sql_url, session_factory, tmp_path):
    import hashlib
    import json

    from fleet.backup import BackupError, Sources, restore_backup
    from fleet.scheduler_lease import Lease

    backup = tmp_path / "backups" / "20261201T023000Z"
    (backup / "sql").mkdir(parents=True)
    content = b"a whole file"
    (backup / "sql" / "ironwatch.db").write_bytes(content)
    (backup / "manifest.json").write_text(json.dumps(
        {"files": {"sql/ironwatch.db": {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}},
         "sql": "sqlite", "sql_rows": {}, "influx_database": "x"}))
    lease = Lease(session_factory, owner="vm:4242:scheduler")
    assert lease.acquire()
    with pytest.raises(BackupError, match="vm:4242:scheduler holds its lease"):
        restore_backup(Sources(tmp_path / "var", sql_url, "http://127.0.0.1:1", "x", "127.0.0.1:3"), backup)
    assert lease.holder().owner == "vm:4242:scheduler"  # the database was left as it was


def test_retention_keeps_recent_backups_and_always_the_newest(tmp_path):
    from fleet.backup import TIME_FORMAT, list_backups, prune

    now = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)
    for days in (40, 20, 10, 1):
        folder = tmp_path / (now - timedelta(days=days)).strftime(TIME_FORMAT)
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
    (tmp_path / ((now - timedelta(days=30)).strftime(TIME_FORMAT) + ".partial")).mkdir()  # a crashed run
    removed = prune(tmp_path, keep_days=14, now=now)
    assert len(removed) == 3
    assert [b.created_at for b in list_backups(tmp_path)] == [now - timedelta(days=10), now - timedelta(days=1)]
    # With everything old, the newest complete backup still stays.
    assert len(prune(tmp_path, keep_days=0, now=now + timedelta(days=100))) == 1
    assert len(list_backups(tmp_path)) == 1


def test_the_scheduler_runs_the_backup_nightly(influx, sql_url, tmp_path):
    from app.config import load_config
    from app.scheduler import build_scheduler_process

    process = build_scheduler_process(load_config(app_config(influx, sql_url, tmp_path)))
    try:
        job = process.leased.build().get_job("nightly_backup")
        assert job is not None and str(job.trigger) == "cron[hour='2', minute='30']"
    finally:
        process.close()
