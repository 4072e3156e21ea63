"""Issue 20, defect 1: the spool on a disk that fills up. Uploads are refused with 503 while it
is full (nothing acknowledged is lost), the writer pauses instead of dying when it cannot save its
cursor, and everything acknowledged reaches InfluxDB once space is freed, without a restart."""
from __future__ import annotations

import time
import uuid

import pytest

from drill_helpers import fill, small_disk
from telemetry.ingest import IngestError
from telemetry.spool import Spool
from telemetry.writer import SpoolWriter
from test_telemetry_writer import JSON, count, make_service, operating_body

pytestmark = pytest.mark.integration


def test_writer_survives_a_full_disk_and_catches_up(influx, tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        service, token, spool = make_service(disk)
        writer = SpoolWriter(spool, influx, initial_backoff_s=0.05, max_backoff_s=0.2).start()
        t0 = (time.time_ns() // 10**9 - 7200) * 10**9
        acknowledged = []

        def upload(i):
            upload_id = f"op-{i}-{uuid.uuid4().hex[:6]}"
            service.accept_operating(token, operating_body(t0 + i * 60 * 10**9, 10, upload_id), JSON)
            acknowledged.append(upload_id)

        for i in range(5):
            upload(i)
        assert writer.wait_drained(20)
        writer.stop()
        for i in range(5, 10):  # acknowledged while the writer is away; then the disk fills up
            upload(i)
        filler = fill(disk)
        writer.start()  # it stores these in InfluxDB, then cannot save its cursor
        deadline = time.monotonic() + 10
        while not writer.stats.commit_failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.stats.commit_failures and not writer.committing
        refused = 0
        for i in range(10, 15):  # the disk is full: refused with 503, never acknowledged
            try:
                upload(i)
            except IngestError as error:
                assert error.status == 503 and error.retry_after
                refused += 1
        assert refused >= 1
        time.sleep(0.5)
        assert writer.is_alive(), "the writer must not die of a full disk"
        filler.unlink()
        for i in range(15, 25):
            upload(i)
        assert writer.wait_drained(30), writer.stats
        assert writer.is_alive()
        found = count(influx, "SELECT count(engine_speed_rpm) FROM life.operating WHERE machine = 'EX-9'")
        assert found == 10 * len(acknowledged), (found, len(acknowledged), refused)
        writer.stop()
        spool.close()
        # and a restart finds no acknowledged upload left behind
        reopened = Spool(disk / "spool")
        assert reopened.undrained_bytes == 0
        reopened.close()
