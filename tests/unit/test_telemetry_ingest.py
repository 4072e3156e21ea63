"""IngestService over a real spool in tmp_path: each validation rule refuses with its field, rule
and status, and a refused upload leaves nothing in the spool."""
import base64
import gzip
import json
import time

import numpy as np
import pytest

from telemetry.devices import DeviceIdentity, SensorSpec, StaticDeviceDirectory
from telemetry.ingest import IngestError, IngestService, Limits
from telemetry.records import from_record
from telemetry.spool import Position, Spool

NOW = time.time_ns()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def env(tmp_path):
    devices = StaticDeviceDirectory()
    sensors = {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0)}
    token = devices.add(DeviceIdentity("gw-1", "EX-1", sensors))
    other = devices.add(DeviceIdentity("gw-2", "EX-2", {}))
    spool = Spool(tmp_path / "spool")
    service = IngestService(spool, devices, Limits(max_request_bytes=2_000_000, max_operating_samples=100))
    yield service, token, other, spool
    spool.close()


def operating(**overrides):
    body = {"upload_id": "op-1", "machine": "EX-1",
            "samples": [{"time": NOW, "fields": {"engine_speed_rpm": 1500.0, "coolant_temp_c": 85.5}}]}
    body.update(overrides)
    return body


def burst(samples=None, **overrides):
    samples = np.arange(1024, dtype=np.float32) if samples is None else samples
    body = {"upload_id": "b-1", "machine": "EX-1", "sensor": "engine.acc", "axis": "radial",
            "sample_rate_hz": 25600, "start": NOW, "units": "m/s2", "shaft_rpm": 1800,
            "encoding": "float32le", "samples": base64.b64encode(samples.astype("<f4").tobytes()).decode()}
    body.update(overrides)
    return body


def spooled(spool):
    return spool.read(Position(0, 0))


def refused(call, status, field, rule):
    with pytest.raises(IngestError) as info:
        call()
    error = info.value
    assert (error.status, error.field, error.rule) == (status, field, rule), error.to_dict()
    assert error.message
    return error


def test_operating_accepted_then_duplicate(env):
    service, token, _, spool = env
    receipt = service.accept_operating(token, json.dumps(operating()).encode(), JSON)
    assert receipt.to_dict() == {"status": "accepted", "upload_id": "op-1", "points": 1}
    again = service.accept_operating(token, json.dumps(operating()).encode(), JSON)
    assert again.duplicate and again.to_dict()["status"] == "duplicate"
    [entry] = spooled(spool)
    upload = from_record(entry.header, entry.body)
    assert upload.samples == ((NOW, {"engine_speed_rpm": 1500.0, "coolant_temp_c": 85.5}),)


def test_gzip_and_rfc3339_with_nanoseconds(env):
    service, token, _, spool = env
    body = operating(samples=[{"time": "2026-11-25T10:00:00.123456789Z", "fields": {"hour_meter_h": 12.0}}])
    service.clock = lambda: 1_795_600_800 * 10**9  # 2026-11-25T10:00:00Z
    service.accept_operating(token, gzip.compress(json.dumps(body).encode()), {**JSON, "Content-Encoding": "gzip"})
    entry = spooled(spool)[0]
    upload = from_record(entry.header, entry.body)
    assert upload.samples[0][0] == 1_795_600_800_123_456_789


@pytest.mark.parametrize("mutate,status,field,rule", [
    (lambda b: b.update(samples=[{"time": NOW, "fields": {"warp_drive": 1.0}}]), 422, "samples[0].fields.warp_drive", "known_field"),
    (lambda b: b.update(samples=[{"time": NOW, "fields": {"coolant_temp_c": "hot"}}]), 422, "samples[0].fields.coolant_temp_c", "number"),
    (lambda b: b.update(samples=[{"time": NOW, "fields": {"coolant_temp_c": True}}]), 422, "samples[0].fields.coolant_temp_c", "number"),
    (lambda b: b.update(samples=[{"time": NOW, "fields": {"lat": 91.0}}]), 422, "samples[0].fields.lat", "range"),
    (lambda b: b.update(samples=[{"time": NOW - 30 * 86400 * 10**9, "fields": {"lat": 1.0}}]), 422, "samples[0].time", "time_window"),
    (lambda b: b.update(samples=[{"time": NOW + 3600 * 10**9, "fields": {"lat": 1.0}}]), 422, "samples[0].time", "time_window"),
    (lambda b: b.update(samples=[{"time": "yesterday", "fields": {"lat": 1.0}}]), 422, "samples[0].time", "time"),
    (lambda b: b.update(samples=[{"time": "2026-11-25T10:00:00", "fields": {"lat": 1.0}}]), 422, "samples[0].time", "time"),
    (lambda b: b.update(samples=[]), 422, "samples", "non_empty_list"),
    (lambda b: b.update(samples=[{"time": NOW, "fields": {}}]), 422, "samples[0].fields", "non_empty_object"),
    (lambda b: b.update(samples=[{"time": NOW, "fields": {"lat": 1.0}}] * 101), 413, "samples", "max_operating_samples"),
    (lambda b: b.pop("upload_id"), 422, "upload_id", "required"),
    (lambda b: b.update(upload_id="has spaces"), 422, "upload_id", "format"),
    (lambda b: b.update(machine="EX-2"), 403, "machine", "own_machine"),
])
def test_operating_rules(env, mutate, status, field, rule):
    service, token, _, spool = env
    body = operating()
    mutate(body)
    refused(lambda: service.accept_operating(token, json.dumps(body).encode(), JSON), status, field, rule)
    assert spooled(spool) == []


def test_non_finite_json_number_refused(env):
    service, token, _, spool = env
    text = json.dumps(operating()).replace("85.5", "NaN")
    refused(lambda: service.accept_operating(token, text.encode(), JSON), 422, "samples[0].fields.coolant_temp_c", "finite")
    text = json.dumps(operating()).replace("85.5", "1e999")
    refused(lambda: service.accept_operating(token, text.encode(), JSON), 422, "samples[0].fields.coolant_temp_c", "finite")
    text = json.dumps(operating()).replace("85.5", "1" + "0" * 400)  # an integer no float holds
    refused(lambda: service.accept_operating(token, text.encode(), JSON), 422, "samples[0].fields.coolant_temp_c", "finite")
    body = burst(shaft_rpm=10**400)
    refused(lambda: service.accept_burst(token, json.dumps(body).encode(), JSON, {}), 422, "shaft_rpm", "finite")
    assert spooled(spool) == []


def test_transport_rules(env):
    service, token, other, spool = env
    body = json.dumps(operating()).encode()
    refused(lambda: service.accept_operating(None, body, JSON), 401, "Authorization", "bearer_token")
    refused(lambda: service.accept_operating("gw-1.wrong", body, JSON), 401, "Authorization", "valid_token")
    refused(lambda: service.accept_operating(other, body, JSON), 403, "machine", "own_machine")
    refused(lambda: service.accept_operating(token, body, {"Content-Type": "text/plain"}), 415, "Content-Type", "application_json")
    refused(lambda: service.accept_operating(token, body, {**JSON, "Content-Encoding": "br"}), 415, "Content-Encoding", "gzip_or_identity")
    refused(lambda: service.accept_operating(token, b"{not json", JSON), 422, "body", "json")
    refused(lambda: service.accept_operating(token, b"[1, 2]", JSON), 422, "body", "json_object")
    refused(lambda: service.accept_operating(token, b"x" * 2_000_001, JSON), 413, "body", "max_request_bytes")
    refused(lambda: service.accept_operating(token, b"\x1f\x8bnot gzip", {**JSON, "Content-Encoding": "gzip"}), 422, "body", "gzip")
    bomb = gzip.compress(b" " * 70_000_000)  # ~70 kB compressed, 70 MB decompressed
    refused(lambda: service.accept_operating(token, bomb, {**JSON, "Content-Encoding": "gzip"}), 413, "body", "max_decoded_bytes")
    assert spooled(spool) == []


def test_burst_json_round_trip_and_binary_duplicate(env):
    service, token, _, spool = env
    samples = (np.random.default_rng(0).standard_normal(25600) * 3).astype(np.float32)
    receipt = service.accept_burst(token, json.dumps(burst(samples)).encode(), JSON, {})
    assert receipt.points == 25601 and not receipt.duplicate
    headers = {"Content-Type": "application/octet-stream", "X-Ironwatch-Upload-Id": "b-2", "X-Ironwatch-Machine": "EX-1",
               "X-Ironwatch-Sensor": "engine.acc", "X-Ironwatch-Axis": "radial", "X-Ironwatch-Sample-Rate-Hz": "25600",
               "X-Ironwatch-Start": str(NOW + 10**9), "X-Ironwatch-Units": "m/s2", "X-Ironwatch-Shaft-Rpm": "1800"}
    service.accept_burst(token, samples.astype("<f4").tobytes(), headers, {})
    query = {"upload_id": "b-3", "machine": "EX-1", "sensor": "engine.acc", "axis": "radial", "sample_rate_hz": "25600",
             "start": str(NOW + 2 * 10**9), "units": "g", "shaft_rpm": "1800", "encoding": "int16le", "scale": "0.001"}
    counts = np.array([-32768, -1, 0, 1, 32767] * 60, dtype="<i2")
    service.accept_burst(token, gzip.compress(counts.tobytes()),
                         {"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"}, query)
    assert service.accept_burst(token, samples.astype("<f4").tobytes(), headers, {}).duplicate
    uploads = [from_record(e.header, e.body) for e in spooled(spool)]
    assert [u.upload_id for u in uploads] == ["b-1", "b-2", "b-3"]
    assert np.array_equal(uploads[0].samples, samples) and np.array_equal(uploads[1].samples, samples)
    assert uploads[2].units == "g" and uploads[2].scale == 0.001
    assert np.array_equal(uploads[2].samples, (counts.astype(np.float64) * 0.001).astype(np.float32))


@pytest.mark.parametrize("mutate,status,field,rule", [
    (lambda b: b.update(sensor="nope.acc"), 404, "sensor", "known_sensor"),
    (lambda b: b.update(axis="diagonal"), 422, "axis", "known_axis"),
    (lambda b: b.update(sample_rate_hz=10), 422, "sample_rate_hz", "range"),
    (lambda b: b.update(sample_rate_hz=10**6), 422, "sample_rate_hz", "range"),
    (lambda b: b.update(units="mm/s"), 422, "units", "known_units"),
    (lambda b: b.update(shaft_rpm=-5), 422, "shaft_rpm", "range"),
    (lambda b: b.update(encoding="float64le"), 422, "encoding", "known_encoding"),
    (lambda b: b.update(encoding="int16le"), 422, "scale", "required"),
    (lambda b: b.update(encoding="int16le", scale=0), 422, "scale", "positive"),
    (lambda b: b.update(samples="***"), 422, "samples", "base64"),
    (lambda b: b.update(samples=base64.b64encode(b"abcde").decode()), 422, "samples", "whole_samples"),
    (lambda b: b.update(samples=base64.b64encode(np.zeros(100, "<f4").tobytes()).decode()), 422, "samples", "burst_length"),
    (lambda b: b.update(start=NOW - 8 * 86400 * 10**9), 422, "start", "time_window"),
    (lambda b: b.update(machine="EX-2"), 403, "machine", "own_machine"),
])
def test_burst_rules(env, mutate, status, field, rule):
    service, token, _, spool = env
    body = burst()
    mutate(body)
    refused(lambda: service.accept_burst(token, json.dumps(body).encode(), JSON, {}), status, field, rule)
    assert spooled(spool) == []


def test_burst_non_finite_sample_named_by_index(env):
    service, token, _, spool = env
    samples = np.zeros(512, dtype=np.float32)
    samples[300] = np.inf
    refused(lambda: service.accept_burst(token, json.dumps(burst(samples)).encode(), JSON, {}), 422, "samples[300]", "finite")
    refused(lambda: service.accept_burst(token, samples.tobytes(), {"Content-Type": "application/octet-stream"},
                                         {"upload_id": "x", "machine": "EX-1", "sensor": "engine.acc", "axis": "radial",
                                          "sample_rate_hz": "fast"}), 422, "sample_rate_hz", "number")
    assert spooled(spool) == []


def test_faults_rules_and_accept(env):
    service, token, _, spool = env
    good = {"upload_id": "f-1", "machine": "EX-1", "time": NOW, "lamps": {"mil": 1, "amber_warning": 1},
            "active": [{"spn": 110, "fmi": 0, "occurrence_count": 2}]}
    assert service.accept_faults(token, json.dumps(good).encode(), JSON).points == 2
    cases = [
        ({"active": [{"spn": 110, "fmi": 32}]}, "active[0].fmi", "range"),
        ({"active": [{"spn": -1, "fmi": 1}]}, "active[0].spn", "range"),
        ({"active": [{"spn": 1, "fmi": 1, "occurrence_count": 127}]}, "active[0].occurrence_count", "range"),
        ({"active": [{"fmi": 1}]}, "active[0].spn", "required"),
        ({"lamps": {"mil": 4}}, "lamps.mil", "range"),
        ({"lamps": {"siren": 1}}, "lamps.siren", "known_lamp"),
        ({"time": "soon"}, "time", "time"),
    ]
    for change, field, rule in cases:
        refused(lambda: service.accept_faults(token, json.dumps({**good, "upload_id": "f-2", **change}).encode(), JSON),
                422, field, rule)
    assert [e.header["upload_id"] for e in spooled(spool)] == ["f-1"]
