"""The durable spool on a real file system: ordering, group commit, idempotency across restarts,
torn-tail recovery, size bound, segment rotation and deletion."""
import os
import threading

import pytest

from telemetry import spool as spool_module
from telemetry.spool import Position, Spool, SpoolFull


def read_all(spool, start=Position(0, 0)):
    out, position = [], start
    while True:
        entries = spool.read(position)
        if not entries:
            return out
        out.extend(entries)
        position = entries[-1].end


def test_append_read_commit_in_order(tmp_path):
    spool = Spool(tmp_path, segment_bytes=300)
    for i in range(10):
        assert spool.append(f"u{i}", {"kind": "operating", "i": i}, b"x" * 50) is True
    entries = read_all(spool)
    assert [e.header["i"] for e in entries] == list(range(10))
    assert entries[3].body == b"x" * 50
    assert len(list(tmp_path.glob("seg-*.log"))) > 2  # rotated
    spool.commit(entries[-1].end)
    assert len(list(tmp_path.glob("seg-*.log"))) == 1  # drained segments deleted, current kept
    assert spool.is_drained()
    assert read_all(spool, spool.cursor) == []
    spool.close()


def test_restart_resumes_at_cursor_and_remembers_ids(tmp_path):
    spool = Spool(tmp_path, segment_bytes=200)
    for i in range(6):
        spool.append(f"u{i}", {"i": i}, b"y" * 40)
    entries = read_all(spool)
    spool.commit(entries[3].end)
    spool.close()

    reopened = Spool(tmp_path, segment_bytes=200)
    assert [e.header["i"] for e in read_all(reopened, reopened.cursor)] == [4, 5]
    # every id is still known: drained ones from ids.log, pending ones from the segments
    assert all(reopened.append(f"u{i}", {"i": i}) is False for i in range(6))
    assert reopened.append("u6", {"i": 6}) is True
    reopened.close()


def test_torn_tail_is_truncated_on_open(tmp_path):
    spool = Spool(tmp_path)
    spool.append("a", {"n": 1}, b"1" * 100)
    spool.append("b", {"n": 2}, b"2" * 100)
    spool.close()
    [segment] = tmp_path.glob("seg-*.log")
    size = segment.stat().st_size
    with open(segment, "r+b") as handle:  # a crash in the middle of writing record "b"
        handle.truncate(size - 30)
    reopened = Spool(tmp_path)
    assert reopened.recovered_torn_bytes == size - 30 - (size // 2)
    assert [e.header["n"] for e in read_all(reopened)] == [1]
    assert reopened.append("b", {"n": 2}, b"2" * 100) is True  # never acknowledged: accepted again
    assert [e.header["n"] for e in read_all(reopened)] == [1, 2]
    reopened.close()


def test_corrupt_tail_record_detected_by_crc(tmp_path):
    spool = Spool(tmp_path)
    spool.append("a", {"n": 1}, b"1" * 100)
    spool.append("b", {"n": 2}, b"2" * 100)
    spool.close()
    [segment] = tmp_path.glob("seg-*.log")
    data = bytearray(segment.read_bytes())
    data[-5] ^= 0xFF
    segment.write_bytes(bytes(data))
    reopened = Spool(tmp_path)
    assert [e.header["n"] for e in read_all(reopened)] == [1]
    reopened.close()


def test_full_spool_refuses_with_retry_after_and_recovers(tmp_path):
    spool = Spool(tmp_path, max_bytes=1000, retry_after_s=7)
    spool.append("a", {}, b"z" * 600)
    with pytest.raises(SpoolFull) as info:
        spool.append("b", {}, b"z" * 600)
    assert info.value.retry_after == 7
    assert [e.header["upload_id"] for e in read_all(spool)] == ["a"]  # nothing of "b" written
    spool.commit(read_all(spool)[-1].end)
    assert spool.append("b", {}, b"z" * 600) is True
    spool.close()


def test_concurrent_appends_share_fsyncs(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd):
        calls.append(fd)
        real_fsync(fd)

    spool = Spool(tmp_path)
    monkeypatch.setattr(spool_module.os, "fsync", counting_fsync)
    barrier = threading.Barrier(16)

    def upload(worker):
        barrier.wait()
        for i in range(25):
            spool.append(f"w{worker}-{i}", {"w": worker, "i": i}, b"p" * 200)

    threads = [threading.Thread(target=upload, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = read_all(spool)
    assert len(entries) == 400
    for worker in range(16):  # each writer's records in its own order
        assert [e.header["i"] for e in entries if e.header["w"] == worker] == list(range(25))
    assert len(calls) < 400  # group commit: fewer fsyncs than appends
    spool.close()


def test_duplicate_of_pending_append_waits_for_durability(tmp_path):
    spool = Spool(tmp_path)
    assert spool.append("same", {"v": 1}) is True
    assert spool.append("same", {"v": 2}) is False
    assert [e.header["v"] for e in read_all(spool)] == [1]
    spool.close()


def test_second_owner_refused_until_closed(tmp_path):
    spool = Spool(tmp_path)
    with pytest.raises(RuntimeError, match="already open"):
        Spool(tmp_path)
    spool.close()
    Spool(tmp_path).close()


def test_failed_write_leaves_no_torn_record(tmp_path, monkeypatch):
    spool = Spool(tmp_path)
    spool.append("a", {"n": 1}, b"1" * 100)
    real_write = os.write

    def half_write(fd, data):  # the disk fills up in the middle of a record
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(spool_module.os, "write", half_write)
    with pytest.raises(OSError):
        spool.append("b", {"n": 2}, b"2" * 100)
    monkeypatch.setattr(spool_module.os, "write", real_write)
    assert spool.append("b", {"n": 2}, b"2" * 100) is True  # not remembered: it was refused
    assert [e.header["n"] for e in read_all(spool)] == [1, 2]
    spool.close()
    assert [e.header["n"] for e in read_all(Spool(tmp_path))] == [1, 2]
