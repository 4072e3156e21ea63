"""Operating-batch validation: the per-upload vectorised check and the per-value path agree."""
import math

import pytest

from telemetry.devices import DeviceIdentity
from telemetry.operating_payloads import parse_operating
from telemetry.payloads import IngestError, Limits

NOW = 1_764_000_000_000_000_000
IDENTITY = DeviceIdentity("gw-1", "EX-1", {})


def batch(values: list[dict]) -> dict:
    return {"upload_id": "u-1", "machine": "EX-1",
            "samples": [{"time": NOW - (len(values) - i) * 10**9, "fields": fields} for i, fields in enumerate(values)]}


def dense(n: int = 5, **override) -> list[dict]:
    rows = [{"engine_speed_rpm": 1500.5 + i, "coolant_temp_c": 80.25, "lat": 53.8} for i in range(n)]
    rows[-1].update(override)
    return rows


def test_dense_float_batch_accepted_as_sent():
    result = parse_operating(batch(dense()), IDENTITY, Limits(), NOW)
    assert [fields for _, fields in result.samples] == dense()
    assert all(type(v) is float for _, fields in result.samples for v in fields.values())


def test_ints_are_converted_to_floats():
    result = parse_operating(batch(dense(engine_speed_rpm=1500)), IDENTITY, Limits(), NOW)
    assert result.samples[-1][1]["engine_speed_rpm"] == 1500.0 and type(result.samples[-1][1]["engine_speed_rpm"]) is float


@pytest.mark.parametrize("override, rule", [
    ({"engine_speed_rpm": 5000.5}, "range"),  # out of range in the last sample of a dense batch
    ({"coolant_temp_c": -60.5}, "range"),
    ({"lat": math.nan}, "finite"),
    ({"lat": math.inf}, "finite"),
    ({"lat": True}, None),
    ({"lat": "53.8"}, None),
    ({"no_such_field": 1.0}, "known_field"),
])
def test_each_bad_value_in_a_dense_batch_is_refused_with_its_field(override, rule):
    with pytest.raises(IngestError) as caught:
        parse_operating(batch(dense(**override)), IDENTITY, Limits(), NOW)
    assert caught.value.field == f"samples[4].fields.{next(iter(override))}"
    if rule is not None:
        assert caught.value.rule == rule


def test_dense_and_per_sample_paths_give_the_same_batch():
    fast = parse_operating(batch(dense()), IDENTITY, Limits(), NOW)
    rfc3339 = batch(dense())
    for sample in rfc3339["samples"]:  # string times take the per-sample path
        seconds, fraction = divmod(sample["time"], 10**9)
        sample["time"] = f"{_utc(seconds)}.{fraction:09d}Z"
    assert parse_operating(rfc3339, IDENTITY, Limits(), NOW) == fast
    assert fast.names == ("coolant_temp_c", "engine_speed_rpm", "lat") and fast.values.shape == (5, 3)


@pytest.mark.parametrize("sample, field, rule", [
    ({"time": NOW + 10**12, "fields": {"lat": 1.5, "lon": 2.5}}, "samples[4].time", "time_window"),
    ({"time": NOW, "fields": {}}, "samples[4].fields", "non_empty_object"),
    ({"fields": {"lat": 1.5, "lon": 2.5}}, "samples[4].time", "required"),
    ("not an object", "samples[4]", "object"),
])
def test_a_bad_sample_in_an_otherwise_dense_batch_is_named(sample, field, rule):
    upload = batch(dense())
    upload["samples"][4] = sample
    with pytest.raises(IngestError) as caught:
        parse_operating(upload, IDENTITY, Limits(), NOW)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def _utc(seconds: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------- the column layout


def columns(rows: list[dict]) -> dict:
    """The column layout of ``batch(rows)``: one array per field, null where a row lacks it."""
    names = sorted({name for row in rows for name in row})
    return {"upload_id": "u-1", "machine": "EX-1",
            "times": [NOW - (len(rows) - i) * 10**9 for i in range(len(rows))],
            "fields": {name: [row.get(name) for row in rows] for name in names}}


def test_columns_and_rows_give_the_same_batch():
    assert parse_operating(columns(dense()), IDENTITY, Limits(), NOW) == parse_operating(batch(dense()), IDENTITY, Limits(), NOW)


def test_null_in_a_column_is_a_field_not_sampled_at_that_time():
    sparse = [{"engine_speed_rpm": 1500.5, "lat": 53.8}, {"engine_speed_rpm": 1501.5}, {"lat": 53.9}]
    result = parse_operating(columns(sparse), IDENTITY, Limits(), NOW)
    assert [fields for _, fields in result.samples] == sparse
    assert result == parse_operating(batch(sparse), IDENTITY, Limits(), NOW)


def test_columns_with_rfc3339_times_and_ints_take_the_per_value_path_to_the_same_batch():
    fast = parse_operating(columns(dense()), IDENTITY, Limits(), NOW)
    upload = columns(dense())
    upload["times"] = [f"{_utc(t // 10**9)}.{t % 10**9:09d}Z" for t in upload["times"]]
    assert parse_operating(upload, IDENTITY, Limits(), NOW) == fast
    rounded = columns(dense(engine_speed_rpm=1500))
    assert parse_operating(rounded, IDENTITY, Limits(), NOW).values[-1, 1] == 1500.0


@pytest.mark.parametrize("override, rule", [
    ({"engine_speed_rpm": 5000.5}, "range"),
    ({"lat": math.nan}, "finite"),
    ({"lat": math.inf}, "finite"),
    ({"lat": 10**400}, "finite"),
    ({"lat": True}, "number"),
    ({"lat": "53.8"}, "number"),
])
def test_each_bad_value_in_a_column_is_refused_by_its_path(override, rule):
    with pytest.raises(IngestError) as caught:
        parse_operating(columns(dense(**override)), IDENTITY, Limits(), NOW)
    assert (caught.value.field, caught.value.rule) == (f"fields.{next(iter(override))}[4]", rule)


def _refusal(upload: dict) -> tuple[int, str, str]:
    with pytest.raises(IngestError) as caught:
        parse_operating(upload, IDENTITY, Limits(max_operating_samples=10), NOW)
    return caught.value.status, caught.value.field, caught.value.rule


def test_each_column_layout_rule_is_named():
    upload = columns(dense())
    cases = [
        ({"fields": {**upload["fields"], "no_such_field": [1.0] * 5}}, (422, "fields.no_such_field", "known_field")),
        ({"fields": {**upload["fields"], "lat": [53.8] * 4}}, (422, "fields.lat", "same_length")),
        ({"fields": {**upload["fields"], "lat": 53.8}}, (422, "fields.lat", "same_length")),
        ({"fields": {}}, (422, "fields", "non_empty_object")),
        ({"times": []}, (422, "times", "non_empty_list")),
        ({"times": upload["times"][:4] + [NOW + 10**12]}, (422, "times[4]", "time_window")),
        ({"times": upload["times"][:4] + ["yesterday"]}, (422, "times[4]", "time")),
        ({"times": list(range(NOW - 11, NOW)), "fields": {"lat": [1.5] * 11}}, (413, "times", "max_operating_samples")),
        ({"fields": {"lat": [1.5, 1.5, 1.5, 1.5, None], "lon": [2.5, 2.5, 2.5, 2.5, None]}}, (422, "times[4]", "some_field")),
        ({"samples": batch(dense())["samples"]}, (422, "samples", "one_layout")),
    ]
    for change, expected in cases:
        assert _refusal({**upload, **change}) == expected, change
    neither = {key: value for key, value in upload.items() if key not in ("times", "fields")}
    assert _refusal(neither) == (422, "samples", "required")
    assert _refusal({key: value for key, value in upload.items() if key != "fields"}) == (422, "fields", "required")
