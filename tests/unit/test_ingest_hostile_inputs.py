"""Issue 20, defects 3 and 4: inputs that answered 500 now answer a 4xx naming the rule, and
upload ids are scoped per device (its machine) and matched whole."""
import base64
import json
import time

import numpy as np
import pytest

from telemetry.devices import DeviceIdentity, SensorSpec, StaticDeviceDirectory
from telemetry.ingest import IngestError, IngestService, Limits
from telemetry.json_input import MAX_DEPTH, JsonRefused, loads_untrusted
from telemetry.spool import Position, Spool

NOW = time.time_ns()
JSON = {"Content-Type": "application/json"}
BINARY = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def env(tmp_path):
    devices = StaticDeviceDirectory()
    sensors = {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0)}
    token = devices.add(DeviceIdentity("gw-1", "EX-1", sensors))
    other = devices.add(DeviceIdentity("gw-2", "EX-2", sensors))
    spool = Spool(tmp_path / "spool")
    service = IngestService(spool, devices, Limits())
    yield service, token, other, spool
    spool.close()


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def burst(**overrides):
    body = {"upload_id": "b-1", "machine": "EX-1", "sensor": "engine.acc", "axis": "radial",
            "sample_rate_hz": 25600, "start": NOW, "units": "m/s2", "shaft_rpm": 1800, "encoding": "float32le",
            "samples": base64.b64encode(np.zeros(1024, "<f4").tobytes()).decode()}
    body.update(overrides)
    return body


def refusal(call) -> IngestError:
    with pytest.raises(IngestError) as info:
        call()
    assert 400 <= info.value.status < 500, info.value.to_dict()
    return info.value


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1100, 100_000])
def test_deep_json_is_refused_by_every_ingest_kind(env, depth):
    service, token, _, spool = env
    body = b'{"upload_id": "x", "machine": "EX-1", "samples": ' + deep(depth) + b"}"
    for accept in (service.accept_operating, service.accept_faults, service.accept_burst):
        error = refusal(lambda: accept(token, body, JSON))
        assert (error.status, error.field, error.rule) == (422, "body", "max_depth")
    assert spool.read(Position(0, 0)) == []


def test_the_bounded_parser_names_depth_and_syntax():
    assert loads_untrusted(deep(MAX_DEPTH)) == loads_untrusted(deep(MAX_DEPTH))
    with pytest.raises(JsonRefused) as info:
        loads_untrusted(deep(MAX_DEPTH + 1))
    assert info.value.rule == "max_depth"
    with pytest.raises(JsonRefused) as info:
        loads_untrusted(b"\xff{")
    assert info.value.rule == "json"
    assert loads_untrusted(b'{"a": NaN}')["a"] != loads_untrusted(b'{"a": NaN}')["a"]  # NaN reaches validation


@pytest.mark.parametrize("text", ["²", "١٢٣", "１２", "1 2", "--5", "5-"])
def test_non_ascii_digit_and_malformed_times_are_refused(env, text):
    service, token, _, _ = env
    body = {"upload_id": "op-1", "machine": "EX-1", "times": [text], "fields": {"engine_speed_rpm": [1500.0]}}
    error = refusal(lambda: service.accept_operating(token, json.dumps(body).encode(), JSON))
    assert (error.field, error.rule) == ("times[0]", "time")


@pytest.mark.parametrize("where", ["header", "query"])
@pytest.mark.parametrize("start", ["--5", "²", "-", "5--"])
def test_binary_burst_start_that_is_no_integer_is_refused(env, where, start):
    service, token, _, _ = env
    meta = {k: str(v) for k, v in burst().items() if k != "samples"}
    meta["start"] = start
    raw = np.zeros(1024, "<f4").tobytes()
    if where == "header":
        headers = {**BINARY, **{"X-Ironwatch-" + "-".join(p.capitalize() for p in k.split("_")): v
                                for k, v in meta.items()}}
        error = refusal(lambda: service.accept_burst(token, raw, headers, {}))
    else:
        error = refusal(lambda: service.accept_burst(token, raw, BINARY, meta))
    assert (error.field, error.rule) == ("start", "time")


@pytest.mark.parametrize("value", ["nan", "1_000", "١٢", "0x10", "inf", ""])
def test_binary_numbers_must_be_ascii_decimals(env, value):
    service, token, _, _ = env
    meta = {k: str(v) for k, v in burst().items() if k != "samples"}
    meta["sample_rate_hz"] = value
    error = refusal(lambda: service.accept_burst(token, np.zeros(1024, "<f4").tobytes(), BINARY, meta))
    assert error.field == "sample_rate_hz"


@pytest.mark.parametrize("encoding", [["float32le"], {"a": 1}, 16, True])
def test_burst_encoding_of_the_wrong_type_is_refused(env, encoding):
    service, token, _, _ = env
    error = refusal(lambda: service.accept_burst(token, json.dumps(burst(encoding=encoding)).encode(), JSON))
    assert (error.field, error.rule) == ("encoding", "known_encoding")


def test_refusal_quoting_a_lone_surrogate_is_still_json(env):
    """json.loads accepts the escape \\ud800; the refusal that quotes it must still encode."""
    service, token, _, _ = env
    body = b'{"upload_id": "b-1", "machine": "EX-1", "sensor": "\\ud800", "axis": "radial"}'
    error = refusal(lambda: service.accept_burst(token, body, JSON))
    from app.ingest import _respond
    [encoded] = _respond(lambda *a: None, error.status, error.to_dict())
    assert json.loads(encoded)["field"] == "sensor"


# --------------------------------------------------------------------------- defect 4


def test_upload_id_with_a_final_newline_is_refused(env):
    service, token, _, spool = env
    body = burst(upload_id="b-1\n")
    error = refusal(lambda: service.accept_burst(token, json.dumps(body).encode(), JSON))
    assert (error.field, error.rule) == ("upload_id", "format")
    assert spool.read(Position(0, 0)) == []


def test_an_upload_id_of_another_device_does_not_discard_its_upload(env):
    service, token, other, spool = env
    first = service.accept_burst(token, json.dumps(burst()).encode(), JSON)
    mine = service.accept_burst(other, json.dumps(burst(machine="EX-2")).encode(), JSON)
    assert not first.duplicate and not mine.duplicate
    again = service.accept_burst(other, json.dumps(burst(machine="EX-2")).encode(), JSON)
    assert again.duplicate
    entries = spool.read(Position(0, 0))
    assert sorted(e.header["machine"] for e in entries) == ["EX-1", "EX-2"]
    assert {e.header["upload_id"] for e in entries} == {"b-1"}


def test_scoped_ids_survive_a_restart(tmp_path):
    devices = StaticDeviceDirectory()
    sensors = {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0)}
    token = devices.add(DeviceIdentity("gw-1", "EX-1", sensors))
    other = devices.add(DeviceIdentity("gw-2", "EX-2", sensors))
    spool = Spool(tmp_path / "spool")
    IngestService(spool, devices).accept_burst(token, json.dumps(burst()).encode(), JSON)
    spool.close()
    reopened = Spool(tmp_path / "spool")
    try:
        service = IngestService(reopened, devices)
        assert service.accept_burst(token, json.dumps(burst()).encode(), JSON).duplicate
        assert not service.accept_burst(other, json.dumps(burst(machine="EX-2")).encode(), JSON).duplicate
    finally:
        reopened.close()
