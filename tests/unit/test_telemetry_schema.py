"""Line-protocol encoding, burst ids and sample timestamps (pure, no server)."""
import math

import numpy as np
import pytest

from telemetry import schema


def test_tags_sorted_escaped_and_empty_dropped():
    assert schema.encode_tags({"sensor": "a b", "machine": "EX,1", "axis": ""}) == ",machine=EX\\,1,sensor=a\\ b"


def test_field_values_typed():
    assert schema.encode_field_value(3) == "3i"
    assert schema.encode_field_value(True) == "true"
    assert schema.encode_field_value(0.1) == "0.1"
    assert schema.encode_field_value('say "hi"\\') == '"say \\"hi\\"\\\\"'
    with pytest.raises(ValueError):
        schema.encode_field_value(math.nan)


def test_encode_point_layout():
    line = schema.encode_point("operating", {"machine": "GS-1"}, {"power_kw": 12.5, "n": 2}, 1000)
    assert line == "operating,machine=GS-1 power_kw=12.5,n=2i 1000"


def test_sample_times_follow_round_rule():
    fs = 25600.0
    times = schema.sample_times_ns(10**18, 1000, fs)
    expected = [10**18 + round(i * 1e9 / fs) for i in range(1000)]
    assert times.tolist() == expected
    assert times.dtype == np.int64


def test_vibration_lines_round_trip_float32_exactly():
    rng = np.random.default_rng(1)
    samples = (rng.standard_normal(512) * 7).astype(np.float32)
    # extremes: smallest subnormal, largest finite, values next to powers of two, negative zero
    samples[:6] = np.array([1e-45, 3.4028235e38, np.nextafter(np.float32(1), np.float32(0)),
                            np.nextafter(np.float32(2), np.float32(3)), -0.0, -1.1754942e-38], dtype=np.float32)
    lines = schema.encode_vibration_lines({"machine": "EX-1", "sensor": "engine.acc", "axis": "radial", "component": "engine"},
                                          samples, 5, 25600.0)
    assert len(lines) == 512
    assert lines[0].startswith("vibration,axis=radial,component=engine,machine=EX-1,sensor=engine.acc a=")
    parsed = np.array([float(line.split(" ")[1][2:]) for line in lines]).astype(np.float32)
    assert np.array_equal(parsed.view(np.uint32), samples.view(np.uint32))


def test_nine_digits_round_trip_every_float32_bit_pattern_sampled():
    bits = np.random.default_rng(2).integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    lines = schema.encode_vibration_lines({"machine": "m"}, values, 0, 25600.0)
    parsed = np.array([float(line.split(" ")[1][2:]) for line in lines]).astype(np.float32)
    assert np.array_equal(parsed.view(np.uint32), values.view(np.uint32))


def test_burst_id_round_trip_with_colon_free_parts():
    burst_id = schema.burst_id_for("EX-1001", "engine.acc", "radial", 1764064800000000000)
    assert schema.parse_burst_id(burst_id) == ("EX-1001", "engine.acc", "radial", 1764064800000000000)
    with pytest.raises(ValueError):
        schema.parse_burst_id("nonsense")


def test_retention_policies_from_environment(monkeypatch):
    monkeypatch.setenv("IRONWATCH_RAW_RETENTION_DAYS", "7")
    raw, life = schema.retention_policies()
    assert (raw.name, raw.duration, raw.default) == ("raw", "7d", False)
    assert (life.name, life.duration, life.default) == ("life", "INF", True)


def test_operating_fields_have_units_and_ranges():
    for name, spec in schema.OPERATING_FIELDS.items():
        assert name == name.lower() and spec.unit and spec.minimum < spec.maximum


def test_vectorised_mantissa_exponent_path_is_exact_next_to_powers_of_ten():
    # values right beside powers of ten are where floor(log10) can be one off
    powers = np.float32(10.0) ** np.arange(-37, 38, dtype=np.float32)
    values = np.concatenate([powers, np.nextafter(powers, np.float32(0)), np.nextafter(powers, np.float32(np.inf)),
                             -powers, np.array([0.0, 1e-45, 3.4028235e38], dtype=np.float32)]).astype(np.float32)
    for start_ns in (0, 1764064800000000000):  # %-formatted path and fixed-width byte-matrix path
        body, count = schema.encode_vibration_block({"machine": "m"}, values, start_ns, 25600.0)
        text = body.decode()
        assert count == len(values) == len(text.splitlines())
        parsed = np.array([float(line.split(" ")[1][2:]) for line in text.splitlines()]).astype(np.float32)
        assert np.array_equal(parsed.view(np.uint32), values.view(np.uint32))
        numbers = [line.split(" ")[1][2:] for line in text.splitlines()]
        # fixed width, ordinary float syntax: no leading zero except in the "0.00000000" of a zero
        assert all(len(number) == 14 and number[10] == "e" for number in numbers)
        assert all(not number.lstrip("-").startswith("0") or number.lstrip("-").startswith("0.")
                   for number in numbers)


def test_both_vibration_paths_write_the_same_numbers_and_negative_zero():
    values = np.array([-0.0, 0.0, 1.0, -2.5e-7, 3.4028235e38, 1e-45], dtype=np.float32)
    old, _ = schema.encode_vibration_block({"machine": "m"}, values, 5, 1e9)
    modern, _ = schema.encode_vibration_block({"machine": "m"}, values, 10**18, 1e9)
    assert [line.split(" ")[1] for line in old.decode().splitlines()] == \
        [line.split(" ")[1] for line in modern.decode().splitlines()]
    assert modern.decode().splitlines()[0] == f"vibration,machine=m a=-0.0000000e+00 {10**18}"
    parsed = np.array([float(line.split(" ")[1][2:]) for line in modern.decode().splitlines()], dtype=np.float32)
    assert np.array_equal(parsed.view(np.uint32), values.view(np.uint32))


def test_vibration_timestamps_across_second_boundaries_and_unordered_runs():
    rng = np.random.default_rng(3)
    values = rng.standard_normal(3000).astype(np.float32)
    start = 1_764_000_000_999_000_123  # the burst crosses three second boundaries
    body, count = schema.encode_vibration_block({"machine": "m"}, values, start, 1000.0)
    lines = body.decode().splitlines()
    assert count == len(lines) == 3000
    assert [int(line.rsplit(" ", 1)[1]) for line in lines] == schema.sample_times_ns(start, 3000, 1000.0).tolist()
    parsed = np.array([float(line.split(" ")[1][2:]) for line in lines], dtype=np.float32)
    assert np.array_equal(parsed.view(np.uint32), values.view(np.uint32))

    # many distinct seconds (a very slow rate): every row's seconds written on its own
    slow, _ = schema.encode_vibration_block({"machine": "m"}, values[:100], start, 0.5)
    assert [int(line.rsplit(" ", 1)[1]) for line in slow.decode().splitlines()] == \
        schema.sample_times_ns(start, 100, 0.5).tolist()
