"""The shared duplicate decision: two ingest services with their own spools (two web processes)
and one SQL ledger answer a repeated ``<machine, upload_id>`` as a duplicate, whichever took it
first; bad input records nothing; the ledger's rows are pruned after the retention. On SQLite and,
when reachable, on a throwaway PostgreSQL database."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fleet import db, seed
from fleet.devices import SqlDeviceDirectory
from fleet.models import AcceptedUpload, utcnow
from fleet.upload_ledger import RETENTION, SqlUploadLedger, prune_upload_ledger
from fleet_helpers import throwaway_pg_database
from telemetry.ingest import IngestError, IngestService
from telemetry.spool import Spool

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_sessions(request, session_factory):
    """The test's SQLite database, or a migrated throwaway PostgreSQL one (skipped if unreachable)."""
    if request.param == "sqlite":
        yield session_factory
        return
    with throwaway_pg_database() as url:
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            yield db.session_factory(engine)
        finally:
            engine.dispose()


def operating(upload_id: str, machine: str = "GS-2001", coolant_c: float = 80.0) -> bytes:
    return json.dumps({"upload_id": upload_id, "machine": machine,
                       "samples": [{"time": time.time_ns() - 60 * 10**9, "fields": {"coolant_temp_c": coolant_c}}]}).encode()


def ledger_rows(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AcceptedUpload))


def test_record_is_decided_by_the_primary_key(ledger_sessions):
    first, second = SqlUploadLedger(ledger_sessions), SqlUploadLedger(ledger_sessions)
    assert not first.seen("GS-2001", "u-1")
    assert first.record("GS-2001", "u-1") is True
    assert second.record("GS-2001", "u-1") is False  # another process's ledger, same database
    assert second.seen("GS-2001", "u-1") and not second.seen("GS-2002", "u-1")  # scoped by machine
    assert second.record("GS-2002", "u-1") is True
    assert ledger_rows(ledger_sessions) == 2


def test_prune_keeps_the_retention(ledger_sessions):
    now = utcnow()
    SqlUploadLedger(ledger_sessions, clock=lambda: now - RETENTION - timedelta(minutes=1)).record("GS-2001", "old")
    SqlUploadLedger(ledger_sessions, clock=lambda: now - RETENTION + timedelta(minutes=1)).record("GS-2001", "young")
    assert prune_upload_ledger(ledger_sessions, clock=lambda: now) == 1
    ledger = SqlUploadLedger(ledger_sessions)
    assert ledger.seen("GS-2001", "young") and not ledger.seen("GS-2001", "old")
    assert prune_upload_ledger(ledger_sessions, clock=lambda: now) == 0


def test_an_upload_repeated_on_another_process_is_a_duplicate_and_spooled_once(session_factory, tmp_path):
    seed.seed(session_factory, tmp_path)
    directory = SqlDeviceDirectory(session_factory)
    token = directory.issue_credential("GS-2001")
    spool_a, spool_b = Spool(tmp_path / "spool-a"), Spool(tmp_path / "spool-b")
    try:
        process_a = IngestService(spool_a, directory, ledger=SqlUploadLedger(session_factory))
        process_b = IngestService(spool_b, directory, ledger=SqlUploadLedger(session_factory))
        assert process_a.accept_operating(token, operating("u-1"), JSON).duplicate is False
        receipt = process_b.accept_operating(token, operating("u-1"), JSON)
        assert receipt.duplicate is True and receipt.to_dict()["status"] == "duplicate"
        assert spool_a.knows("u-1", "GS-2001") and not spool_b.knows("u-1", "GS-2001")
        assert ledger_rows(session_factory) == 1
        # bad input is refused and leaves no row: the corrected retry with that id is accepted
        with pytest.raises(IngestError) as info:
            process_b.accept_operating(token, operating("u-2", coolant_c=1e9), JSON)
        assert info.value.status == 422
        with pytest.raises(IngestError) as info:
            process_b.accept_operating(token, operating("u-2", machine="GS-2002"), JSON)
        assert info.value.status == 403
        assert ledger_rows(session_factory) == 1 and not spool_b.knows("u-2", "GS-2001")
        assert process_b.accept_operating(token, operating("u-2"), JSON).duplicate is False
        assert process_a.accept_operating(token, operating("u-2"), JSON).duplicate is True
    finally:
        spool_a.close()
        spool_b.close()


def test_a_copy_spooled_before_its_row_is_recorded_late(session_factory, tmp_path):
    """The crash window, in one process: the upload was fsync'd in A's spool but A died before its
    row. A's restarted spool answers the retry "duplicate" and adds the missing row, so the next
    retry on B is a duplicate too; a retry landing on B first would have been accepted (no data lost)."""
    seed.seed(session_factory, tmp_path)
    directory = SqlDeviceDirectory(session_factory)
    token = directory.issue_credential("GS-2001")
    spool_a, spool_b = Spool(tmp_path / "spool-a"), Spool(tmp_path / "spool-b")
    try:
        no_ledger = IngestService(spool_a, directory)  # the spool write without its row
        no_ledger.accept_operating(token, operating("u-1"), JSON)
        assert ledger_rows(session_factory) == 0
        process_a = IngestService(spool_a, directory, ledger=SqlUploadLedger(session_factory))
        process_b = IngestService(spool_b, directory, ledger=SqlUploadLedger(session_factory))
        assert process_a.accept_operating(token, operating("u-1"), JSON).duplicate is True
        assert ledger_rows(session_factory) == 1
        assert process_b.accept_operating(token, operating("u-1"), JSON).duplicate is True
        assert not spool_b.knows("u-1", "GS-2001")
    finally:
        spool_a.close()
        spool_b.close()


def test_two_processes_racing_on_one_upload_answer_it_accepted_once(session_factory, tmp_path):
    """Both spooled it before either recorded it (the ledger had no row for either look): the
    primary key lets one answer "accepted", the other "duplicate"; both copies are durable."""
    seed.seed(session_factory, tmp_path)
    directory = SqlDeviceDirectory(session_factory)
    token = directory.issue_credential("GS-2001")
    spool_a, spool_b = Spool(tmp_path / "spool-a"), Spool(tmp_path / "spool-b")

    class LateLedger(SqlUploadLedger):
        """Looks before the other process recorded (the race), records for real."""

        def seen(self, machine, upload_id):
            return False

    try:
        process_a = IngestService(spool_a, directory, ledger=LateLedger(session_factory))
        process_b = IngestService(spool_b, directory, ledger=LateLedger(session_factory))
        answers = [process_a.accept_operating(token, operating("u-1"), JSON).duplicate,
                   process_b.accept_operating(token, operating("u-1"), JSON).duplicate]
        assert answers == [False, True]
        assert spool_a.knows("u-1", "GS-2001") and spool_b.knows("u-1", "GS-2001")
        assert ledger_rows(session_factory) == 1
    finally:
        spool_a.close()
        spool_b.close()


def test_concurrent_records_share_commits_and_each_learns_its_outcome(ledger_sessions):
    """16 threads record 25 keys each, every key twice (once per thread pair): each key is added
    exactly once, and the group commit makes fewer transactions than rows."""
    from concurrent.futures import ThreadPoolExecutor

    ledger = SqlUploadLedger(ledger_sessions)
    commits = [0]
    original = ledger._commit

    def counted(batch):
        commits[0] += 1
        return original(batch)

    ledger._commit = counted
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(lambda n: [ledger.record("GS-2001", f"k-{n // 2}-{i}") for i in range(25)], range(16)))
    added = [o for thread in outcomes for o in thread]
    assert added.count(True) == 8 * 25 and added.count(False) == 8 * 25
    assert ledger_rows(ledger_sessions) == 200
    assert commits[0] < 400


def test_a_ledger_that_fails_is_one_warning_not_one_per_upload(session_factory, tmp_path, caplog):
    """A database without the ledger's table (not migrated to 0016, or unreachable): every upload is
    still accepted, durable in the spool, with one warning when the ledger starts failing and one
    when it works again, not a warning per upload."""
    import logging

    seed.seed(session_factory, tmp_path)
    directory = SqlDeviceDirectory(session_factory)
    token = directory.issue_credential("GS-2001")
    with session_factory() as session:
        session.execute(AcceptedUpload.__table__.delete())
        session.commit()
    engine = session_factory.kw["bind"]
    AcceptedUpload.__table__.drop(engine)
    spool = Spool(tmp_path / "spool")
    try:
        service = IngestService(spool, directory, ledger=SqlUploadLedger(session_factory))
        with caplog.at_level(logging.WARNING, logger="telemetry.ingest"):
            for n in range(5):
                assert service.accept_operating(token, operating(f"u-{n}"), JSON).duplicate is False
            assert service.accept_operating(token, operating("u-0"), JSON).duplicate is True  # the spool knows it
            failing = [r.getMessage() for r in caplog.records]
            assert len(failing) == 1 and "duplicates are judged by this spool only" in failing[0]
            AcceptedUpload.__table__.create(engine)
            assert service.accept_operating(token, operating("u-5"), JSON).duplicate is False
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2 and "works again; 12 ledger calls failed" in messages[1]
        assert all(spool.knows(f"u-{n}", "GS-2001") for n in range(6)) and ledger_rows(session_factory) == 1
    finally:
        spool.close()
