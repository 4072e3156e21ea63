"""Edge gateway client: payloads per docs/contracts.md, stable ids, gzip, buffering and retries."""
from __future__ import annotations

import base64
import email.utils
import gzip
import json

import numpy as np
import pytest

from sim_http_double import IngestDouble
from telemetry.gateway.client import DiskBuffer, Gateway, MemoryBuffer, RetryPolicy, parse_retry_after
from telemetry.gateway.payloads import (
    PATH_BURSTS,
    PATH_OPERATING,
    burst_binary_upload,
    burst_json_upload,
    encode_samples,
    faults_upload,
    operating_upload,
    to_ns,
)
from telemetry.devices import DeviceIdentity
from telemetry.operating_payloads import parse_operating
from telemetry.payloads import Limits

T0 = 1_764_028_800 * 10**9   # 2025-11-25T00:00:00Z


@pytest.fixture
def double():
    server = IngestDouble()
    yield server
    server.close()


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _samples(n=3):
    return [(T0 + i * 10**9, {"engine_speed_rpm": 1500.0 + i, "coolant_temp_c": 85.5}) for i in range(n)]


# ------------------------------------------------------------------------------ payloads


def test_operating_upload_follows_the_contract():
    upload = operating_upload("GS-2001", _samples(), gzip_min_bytes=10**9)
    body = json.loads(upload.body)
    assert upload.path == PATH_OPERATING and upload.headers["Content-Type"] == "application/json"
    assert body["upload_id"] == upload.upload_id and body["machine"] == "GS-2001"
    assert body["times"] == [T0, T0 + 10**9, T0 + 2 * 10**9]
    assert body["fields"] == {"engine_speed_rpm": [1500.0, 1501.0, 1502.0], "coolant_temp_c": [85.5, 85.5, 85.5]}
    rows = json.loads(operating_upload("GS-2001", _samples(), gzip_min_bytes=10**9, layout="rows").body)
    assert rows["samples"][1] == {"time": T0 + 10**9, "fields": {"engine_speed_rpm": 1501.0, "coolant_temp_c": 85.5}}
    # both layouts are the same batch to the server
    identity = DeviceIdentity("gw-1", "GS-2001", {})
    assert parse_operating(body, identity, Limits(), T0) == parse_operating({**rows, "upload_id": body["upload_id"]},
                                                                              identity, Limits(), T0)


def test_operating_columns_hold_null_where_a_sample_lacks_a_field():
    samples = [(T0, {"engine_speed_rpm": 1500.0}), (T0 + 10**9, {"lat": 53.8, "engine_speed_rpm": 1501.0})]
    body = json.loads(operating_upload("GS-2001", samples, gzip_min_bytes=10**9).body)
    assert body["fields"] == {"engine_speed_rpm": [1500.0, 1501.0], "lat": [None, 53.8]}
    with pytest.raises(ValueError, match="no fields"):
        operating_upload("GS-2001", [(T0, {})])


def test_operating_upload_refuses_a_field_the_schema_does_not_know():
    with pytest.raises(ValueError, match="engine_sped_rpm"):
        operating_upload("GS-2001", [(T0, {"engine_sped_rpm": 1.0})])


def test_upload_ids_and_bytes_are_stable_for_the_same_content():
    a, b = operating_upload("EX-1001", _samples()), operating_upload("EX-1001", _samples())
    assert a.upload_id == b.upload_id and a.body == b.body
    assert operating_upload("EX-1002", _samples()).upload_id != a.upload_id
    assert operating_upload("EX-1001", _samples(4)).upload_id != a.upload_id
    other = [(t, {**fields, "coolant_temp_c": 86.0}) for t, fields in _samples()]
    assert operating_upload("EX-1001", other).upload_id != a.upload_id, "same times, other data: not a repeat"
    x = np.ones(64, dtype=np.float32)
    burst = burst_json_upload("EX-1001", "engine.acc", "radial", 25600.0, T0, 1800.0, x)
    assert burst.upload_id == burst_binary_upload("EX-1001", "engine.acc", "radial", 25600.0, T0, 1800.0, x).upload_id
    assert burst.upload_id != burst_json_upload("EX-1001", "engine.acc", "radial", 25600.0, T0, 1800.0, 2 * x).upload_id


def test_large_bodies_are_gzipped_and_small_ones_are_not():
    big = operating_upload("EX-1001", _samples(60), gzip_min_bytes=1024)
    small = operating_upload("EX-1001", _samples(1), gzip_min_bytes=1024)
    assert big.headers["Content-Encoding"] == "gzip" and len(json.loads(gzip.decompress(big.body))["times"]) == 60
    assert "Content-Encoding" not in small.headers and json.loads(small.body)["times"]


def test_json_burst_round_trips_float32_samples():
    x = np.random.default_rng(0).standard_normal(2048).astype(np.float32)
    upload = burst_json_upload("EX-1001", "engine.acc", "radial", 25600.0, T0, 1843.27, x, gzip_min_bytes=10**9)
    body = json.loads(upload.body)
    assert upload.path == PATH_BURSTS
    assert {k: body[k] for k in ("machine", "sensor", "axis", "sample_rate_hz", "start", "units", "shaft_rpm",
                                 "encoding")} == {"machine": "EX-1001", "sensor": "engine.acc", "axis": "radial",
                                                  "sample_rate_hz": 25600.0, "start": T0, "units": "m/s2",
                                                  "shaft_rpm": 1843.3, "encoding": "float32le"}
    decoded = np.frombuffer(base64.b64decode(body["samples"]), dtype="<f4")
    np.testing.assert_array_equal(decoded, x)


def test_int16_encoding_keeps_the_waveform_within_one_count():
    x = np.sin(np.linspace(0, 20, 1000)) * 7.5
    raw, scale = encode_samples(x, "int16le")
    back = np.frombuffer(raw, dtype="<i2") * scale
    assert scale == pytest.approx(7.5 / 32767, rel=1e-3)
    assert np.max(np.abs(back - x)) <= scale / 2 + 1e-12


def test_binary_burst_carries_metadata_in_headers():
    x = np.arange(16, dtype=np.float32)
    upload = burst_binary_upload("GS-2001", "alternator_de.acc", "radial", 25600.0, T0, 1500.0, x,
                                 gzip_min_bytes=10**9)
    assert upload.headers["Content-Type"] == "application/octet-stream"
    assert upload.headers["X-Ironwatch-Upload-Id"] == upload.upload_id
    assert upload.headers["X-Ironwatch-Start"] == str(T0) and upload.headers["X-Ironwatch-Encoding"] == "float32le"
    np.testing.assert_array_equal(np.frombuffer(upload.body, dtype="<f4"), x)


def test_faults_upload_lists_all_lamps_and_codes():
    upload = faults_upload("EX-1003", T0, {"amber_warning": 1}, [{"spn": 110, "fmi": 16, "occurrence_count": 2}])
    body = json.loads(upload.body)
    assert body["lamps"] == {"mil": 0, "red_stop": 0, "amber_warning": 1, "protect": 0}
    assert body["active"] == [{"spn": 110, "fmi": 16, "occurrence_count": 2}] and body["time"] == T0


def test_to_ns_reads_rfc3339_and_rejects_naive_datetimes():
    assert to_ns("2025-11-25T00:00:00Z") == T0
    assert to_ns("2025-11-25T00:00:00.5+00:00") == T0 + 500_000_000
    import datetime as dt
    with pytest.raises(ValueError):
        to_ns(dt.datetime(2025, 11, 25))


def test_parse_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(email.utils.formatdate(1000.0 + 30, usegmt=True), now_epoch_s=1000.0) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# ------------------------------------------------------------------------------ delivery


def test_accepted_then_duplicate_when_the_same_upload_is_sent_twice(double):
    gw = Gateway(double.url, "dev_x.secret", "EX-1001")
    first = gw.send_operating(_samples())
    again = gw.send_operating(_samples())
    assert (first.status, first.http_status) == ("accepted", 202)
    assert (again.status, again.http_status) == ("duplicate", 200) and again.upload_id == first.upload_id
    assert double.requests[0][1]["Authorization"] == "Bearer dev_x.secret"
    assert gw.stats.accepted == 1 and gw.stats.duplicate == 1 and gw.backlog == 0


def test_503_is_queued_and_retried_not_before_retry_after_with_identical_bytes(double):
    clock = FakeClock()
    gw = Gateway(double.url, "t", "EX-1001", clock=clock, sleep=clock.sleep,
                 retry=RetryPolicy(base_s=0.5, cap_s=60.0, retry_after_jitter_s=1.0))
    double.fail_next(503, retry_after="5")
    result = gw.send_operating(_samples(60))
    assert result.status == "queued" and gw.backlog == 1 and len(double.requests) == 1
    clock.now += 4.9
    assert gw.flush() == 0 and len(double.requests) == 1, "retried before Retry-After"
    clock.now += 1.2   # past 5 s plus the at most 1 s of jitter
    assert gw.flush() == 1 and gw.backlog == 0
    assert double.raw_bodies[0] == double.raw_bodies[1]
    assert gw.stats.retried == 1 and gw.stats.accepted == 1


def test_connection_errors_are_buffered_until_the_server_answers(double):
    clock = FakeClock()
    gw = Gateway("http://127.0.0.1:9", "t", "EX-1001", clock=clock, sleep=clock.sleep)   # nothing listens
    assert gw.send_operating(_samples(1)).status == "queued"
    assert gw.send_operating(_samples(2)).status == "queued"   # queued behind, not tried
    assert gw.stats.attempts == 1 and gw.backlog == 2
    gw.base_url = double.url
    clock.now += 120.0
    assert gw.drain(timeout_s=10.0) and gw.backlog == 0
    sent = [len(json.loads(b)["times"]) for _, _, b in double.requests]
    assert sent == [1, 2], "the backlog went out in order"


def test_backoff_grows_while_the_server_keeps_failing(double):
    clock = FakeClock()
    gw = Gateway(double.url, "t", "EX-1001", clock=clock, sleep=clock.sleep, retry=RetryPolicy(base_s=1.0, cap_s=8.0))
    double.fail_next(502, times=6)
    gw.send_operating(_samples(1))
    waits = []
    while gw.backlog:
        before = clock.now
        gw.drain(timeout_s=60.0)
        waits.append(clock.now - before)
    assert gw.stats.attempts == 7 and gw.stats.retried == 6 and gw.stats.accepted == 1
    assert clock.now - 1000.0 <= 1 + 2 + 4 + 8 + 8 + 8 + 1e-6, "full jitter never waits beyond the cap"


def test_refused_uploads_are_dropped_not_retried(double):
    gw = Gateway(double.url, "t", "EX-1001")
    double.fail_next(422, payload={"error": "invalid", "field": "samples[0].fields.x", "rule": "known_field",
                                   "message": "unknown field"})
    result = gw.send_operating(_samples(1))
    assert result.status == "refused" and result.http_status == 422 and result.detail["rule"] == "known_field"
    assert gw.backlog == 0 and gw.stats.refused == 1 and "known_field" in gw.stats.last_error
    assert gw.send_operating(_samples(2)).status == "accepted"
    [(upload_id, reason)] = gw.set_aside
    assert upload_id == result.upload_id and "422" in reason and "known_field" in reason


@pytest.mark.parametrize("poison_status", [500, 422])
@pytest.mark.parametrize("disk", [False, True])
def test_a_poison_upload_is_set_aside_and_the_queue_moves_on(double, tmp_path, poison_status, disk):
    """Issue 20, defect 2: one upload the server keeps failing on ahead of five good ones."""
    clock = FakeClock()
    buffer = DiskBuffer(tmp_path / "buffer") if disk else MemoryBuffer()
    gw = Gateway(double.url, "t", "EX-1001", clock=clock, sleep=clock.sleep, buffer=buffer,
                 retry=RetryPolicy(base_s=1.0, cap_s=8.0, max_server_errors=4))
    gw.online = False
    poison = gw.send_operating(_samples(1))
    good = [gw.send_operating(_samples(n)) for n in range(2, 7)]
    double.poison[poison.upload_id] = poison_status
    gw.online = True
    assert gw.drain(timeout_s=45.0), "the good uploads behind the poison one were delivered"
    assert double.seen == {g.upload_id for g in good}
    attempts_of_poison = sum(json.loads(b)["upload_id"] == poison.upload_id for _, _, b in double.requests)
    assert attempts_of_poison == (4 if poison_status == 500 else 1)
    assert gw.stats.refused == gw.stats.set_aside == 1 and gw.stats.gave_up == (poison_status == 500)
    [(upload_id, reason)] = gw.set_aside
    assert upload_id == poison.upload_id and str(poison_status) in reason
    if disk:  # still there after a restart of the gateway, out of the queue
        buffer.close()
        again = DiskBuffer(tmp_path / "buffer")
        assert len(again) == 0 and [u for u, _ in again.set_aside_items()] == [poison.upload_id]


def test_service_away_answers_are_retried_without_a_cap(double):
    clock = FakeClock()
    gw = Gateway(double.url, "t", "EX-1001", clock=clock, sleep=clock.sleep,
                 retry=RetryPolicy(base_s=0.1, cap_s=0.5, max_server_errors=2))
    double.fail_next(503, times=10)
    gw.send_operating(_samples(1))
    assert gw.drain(timeout_s=60.0) and gw.stats.accepted == 1 and gw.stats.set_aside == 0


def test_coverage_gap_queues_without_transmitting_then_flushes_in_order(double):
    gw = Gateway(double.url, "t", "EX-1001")
    gw.online = False
    for n in (1, 2, 3):
        assert gw.send_operating(_samples(n)).status == "queued"
    assert double.requests == []
    gw.online = True
    assert gw.flush() == 3
    assert [len(json.loads(b)["times"]) for _, _, b in double.requests] == [1, 2, 3]


def test_binary_burst_transport_is_accepted_by_the_peer(double):
    gw = Gateway(double.url, "t", "GS-2001", burst_transport="binary")
    x = np.zeros(25600, dtype=np.float32)
    result = gw.send_burst("alternator_de.acc", "radial", 25600.0, T0, 1500.0, x)
    path, headers, body = double.requests[0]
    assert result.status == "accepted" and headers["Content-Encoding"] == "gzip"
    assert np.frombuffer(body, dtype="<f4").size == 25600


# ------------------------------------------------------------------------------ buffers


def test_disk_buffer_survives_a_restart_in_order(tmp_path):
    buf = DiskBuffer(tmp_path, fsync=False)
    uploads = [operating_upload("EX-1001", _samples(n)) for n in (1, 2, 3)]
    for u in uploads:
        buf.append(u)
    (tmp_path / "999999999999.tmp").write_bytes(b"half a write")
    buf.close()  # the gateway restarts: one owner per folder
    again = DiskBuffer(tmp_path)
    assert len(again) == 3 and not list(tmp_path.glob("*.tmp"))
    assert [again.pop() for _ in range(3)] == uploads
    assert len(again) == 0 and not list(tmp_path.glob("*.upl"))


def test_buffers_drop_the_oldest_when_over_budget(tmp_path):
    # Three uploads of equal size (same shape, different times); budgets hold two and a half.
    uploads = [operating_upload("EX-1001", [(T0 + k * 10**9, {"engine_speed_rpm": 1500.0})], gzip_min_bytes=10**9)
               for k in (1, 2, 3)]
    probe = DiskBuffer(tmp_path / "probe", fsync=False)
    probe.append(uploads[0])
    per_file = probe.bytes
    for buf in (MemoryBuffer(max_bytes=int(2.5 * len(uploads[0].body))),
                DiskBuffer(tmp_path / "disk", max_bytes=int(2.5 * per_file), fsync=False)):
        dropped = sum(buf.append(u) for u in uploads)
        assert dropped == 1 and len(buf) == 2 and buf.peek().upload_id == uploads[1].upload_id


def test_one_owner_per_disk_buffer_folder(tmp_path):
    """Issue 20, defect 9: a second owner of a buffer folder is refused, or waits for the first."""
    import threading

    from telemetry.gateway.buffer import BufferInUse

    first = DiskBuffer(tmp_path / "gw")
    with pytest.raises(BufferInUse):
        DiskBuffer(tmp_path / "gw")
    threading.Timer(0.3, first.close).start()  # the previous owner finishes draining
    second = DiskBuffer(tmp_path / "gw", lock_wait_s=5.0)
    assert len(second) == 0
    second.close()
