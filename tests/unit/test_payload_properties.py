"""Property-based guards (Hypothesis) on every payload parser (issue 20).

For any input, a parser either returns its validated dataclass or raises ``IngestError`` with a
4xx status, a field, a rule and a message; nothing else escapes (no ``TypeError``, no
``RecursionError``, no ``OverflowError``). Valid inputs generated from the contract are accepted
and read back exactly. Example counts are bounded (``GUARD``) so the suite stays fast.
"""
from __future__ import annotations

import base64
import json
import string
import time

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from telemetry.devices import DeviceIdentity, SensorSpec
from telemetry.operating_payloads import parse_operating
from telemetry.payloads import (
    BURST_KEYS,
    IngestError,
    Limits,
    binary_burst_metadata,
    burst_header_name,
    decode_body,
    parse_burst,
    parse_faults,
    parse_json_object,
    parse_time_ns,
)
from telemetry.schema import OPERATING_FIELDS

GUARD = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = time.time_ns()
LIMITS = Limits(max_operating_samples=50)
IDENTITY = DeviceIdentity("gw-1", "EX-1", {"engine.acc": SensorSpec("engine.acc", "engine", "radial", 25600.0)})

# Text that exercises every rule: ASCII, Unicode digits and letters, controls, quotes, newlines.
TRICKY_TEXT = st.text(alphabet=st.sampled_from(
    list(string.printable) + ["²", "٣", "１", "\u00a0", "\u2028", "é", "\ud7ff", "\U0001f600", "\x00"]), max_size=24)
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | TRICKY_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(TRICKY_TEXT, inner, max_size=4), max_leaves=20)


def refused_cleanly(call) -> object:
    """Run ``call``: its result, or None after checking the refusal is a well-formed 4xx."""
    try:
        return call()
    except IngestError as error:
        assert 400 <= error.status < 500, error.to_dict()
        assert error.field and error.rule and error.message
        json.dumps(error.to_dict())  # always encodable as the JSON answer
        return None


def mutate(valid: dict, key: str, value) -> dict:
    return {**valid, key: value}


# --------------------------------------------------------------------------- bodies


@GUARD
@given(st.binary(max_size=200))
def test_any_bytes_parse_to_an_object_or_a_4xx(data):
    refused_cleanly(lambda: parse_json_object(data))


@GUARD
@given(st.binary(max_size=200), st.sampled_from(["", "gzip", "identity", "br", "GZIP "]))
def test_any_body_and_encoding_decode_or_give_a_4xx(data, encoding):
    refused_cleanly(lambda: decode_body(data, {"Content-Encoding": encoding}, LIMITS))


@GUARD
@given(SCALARS | JSON_VALUES)
@example("²")  # the probe's finds, kept as regressions
@example("--5")
def test_any_time_value_is_ns_or_a_4xx(value):
    result = refused_cleanly(lambda: parse_time_ns(value, "time"))
    assert result is None or isinstance(result, int)


# --------------------------------------------------------------------------- operating data


VALID_OPERATING = {"upload_id": "op-1", "machine": "EX-1", "times": [NOW, NOW + 10**9],
                   "fields": {"engine_speed_rpm": [1500.0, 1501.0], "coolant_temp_c": [80.0, None]}}


@GUARD
@given(st.sampled_from(["upload_id", "machine", "times", "fields", "samples"]), JSON_VALUES)
def test_operating_with_any_value_in_any_key_is_parsed_or_refused(key, value):
    refused_cleanly(lambda: parse_operating(mutate(VALID_OPERATING, key, value), IDENTITY, LIMITS, NOW))


@GUARD
@given(st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_operating_rows_of_anything_are_parsed_or_refused(rows):
    body = {"upload_id": "op-2", "machine": "EX-1", "samples": rows}
    refused_cleanly(lambda: parse_operating(body, IDENTITY, LIMITS, NOW))


@st.composite
def valid_columns(draw):
    names = draw(st.lists(st.sampled_from(sorted(OPERATING_FIELDS)), min_size=1, max_size=6, unique=True))
    n = draw(st.integers(1, 20))
    times = sorted(draw(st.lists(st.integers(NOW - 3600 * 10**9, NOW), min_size=n, max_size=n, unique=True)))
    fields = {}
    for name in names:
        spec = OPERATING_FIELDS[name]
        fields[name] = draw(st.lists(st.floats(spec.minimum, spec.maximum, allow_nan=False), min_size=n, max_size=n))
    layout = draw(st.sampled_from(["columns", "rows"]))
    return times, fields, layout


@GUARD
@given(valid_columns())
def test_valid_operating_uploads_round_trip_in_both_layouts(upload):
    times, fields, layout = upload
    if layout == "columns":
        body = {"upload_id": "op-3", "machine": "EX-1", "times": times, "fields": fields}
    else:
        body = {"upload_id": "op-3", "machine": "EX-1",
                "samples": [{"time": t, "fields": {k: v[i] for k, v in fields.items()}} for i, t in enumerate(times)]}
    batch = parse_operating(json.loads(json.dumps(body)), IDENTITY, LIMITS, NOW)
    assert batch.times_ns.tolist() == times
    for j, name in enumerate(batch.names):
        assert batch.values[:, j].tolist() == [float(v) for v in fields[name]]


# --------------------------------------------------------------------------- fault codes


VALID_FAULTS = {"upload_id": "f-1", "machine": "EX-1", "time": NOW, "lamps": {"amber_warning": 1},
                "active": [{"spn": 110, "fmi": 0, "occurrence_count": 1}]}


@GUARD
@given(st.sampled_from(["upload_id", "machine", "time", "lamps", "active"]), JSON_VALUES)
def test_faults_with_any_value_in_any_key_are_parsed_or_refused(key, value):
    refused_cleanly(lambda: parse_faults(mutate(VALID_FAULTS, key, value), IDENTITY, LIMITS, NOW))


@GUARD
@given(st.lists(st.fixed_dictionaries({"spn": st.integers(0, 524_287), "fmi": st.integers(0, 31),
                                       "occurrence_count": st.integers(0, 126)}), max_size=30),
       st.dictionaries(st.sampled_from(["mil", "red_stop", "amber_warning", "protect"]), st.integers(0, 3)))
def test_valid_fault_reports_are_accepted_exactly(active, lamps):
    report = parse_faults({**VALID_FAULTS, "active": active, "lamps": lamps}, IDENTITY, LIMITS, NOW)
    assert list(report.active) == active
    assert all(report.lamps[name] == lamps.get(name, 0) for name in report.lamps)


# --------------------------------------------------------------------------- bursts


def valid_burst(**overrides) -> dict:
    body = {"upload_id": "b-1", "machine": "EX-1", "sensor": "engine.acc", "axis": "radial",
            "sample_rate_hz": 25600.0, "start": NOW, "units": "m/s2", "shaft_rpm": 1800.0,
            "encoding": "float32le", "samples": base64.b64encode(np.zeros(256, "<f4").tobytes()).decode()}
    body.update(overrides)
    return body


@GUARD
@given(st.sampled_from([*BURST_KEYS, "samples"]), JSON_VALUES)
@example("encoding", ["float32le"])
@example("encoding", {"a": 1})
def test_json_burst_with_any_value_in_any_key_is_parsed_or_refused(key, value):
    refused_cleanly(lambda: parse_burst(valid_burst(**{key: value}), None, IDENTITY, LIMITS, NOW))


@GUARD
@given(st.dictionaries(st.sampled_from(BURST_KEYS), TRICKY_TEXT, max_size=len(BURST_KEYS)),
       st.sampled_from(["header", "query"]), st.binary(max_size=64))
@example({"start": "--5"}, "header", b"")
@example({"start": "--5"}, "query", b"")
def test_binary_burst_metadata_of_any_text_is_parsed_or_refused(texts, where, raw):
    meta = {k: str(v) for k, v in valid_burst().items() if k != "samples"}
    meta.update(texts)
    headers = {burst_header_name(k): v for k, v in meta.items()} if where == "header" else {}
    query = meta if where == "query" else {}
    parsed = refused_cleanly(lambda: binary_burst_metadata(headers, query))
    if parsed is not None:
        refused_cleanly(lambda: parse_burst(parsed, raw, IDENTITY, LIMITS, NOW))


@settings(GUARD, max_examples=30)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False, width=32), min_size=256, max_size=600),
       st.sampled_from(["float32le", "int16le"]))
def test_valid_bursts_read_back_within_their_encoding(values, encoding):
    samples = np.array(values, dtype=np.float32)
    if encoding == "int16le":
        scale = max(float(np.abs(samples).max()), 1e-30) / 32767.0
        counts = np.clip(np.round(samples / scale), -32767, 32767).astype("<i2")
        body = valid_burst(encoding="int16le", scale=scale, samples=base64.b64encode(counts.tobytes()).decode())
        expected = (counts.astype(np.float64) * scale).astype(np.float32)
    else:
        body = valid_burst(samples=base64.b64encode(samples.astype("<f4").tobytes()).decode())
        expected = samples
    upload = parse_burst(body, None, IDENTITY, LIMITS, NOW)
    assert np.array_equal(upload.samples, expected)
