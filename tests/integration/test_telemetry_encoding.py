"""The vibration encoding (9-digit mantissa, signed exponent, fixed width) as the real InfluxDB
parses it: every float32 comes back bit for bit, including the extremes of the format."""
import time

import numpy as np
import pytest

from telemetry import schema
from telemetry.records import chunk_blocks

pytestmark = pytest.mark.integration

T0 = (int(time.time()) // 3600 * 3600 - 5400) * 1_000_000_000  # inside the raw retention


def test_extreme_float32_values_round_trip_through_influxdb(influx):
    powers = np.float32(10.0) ** np.arange(-37, 38, dtype=np.float32)
    random_bits = np.random.default_rng(5).integers(0, 2**32, 20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    values = np.concatenate([
        powers, np.nextafter(powers, np.float32(0)), -np.nextafter(powers, np.float32(np.inf)),
        np.array([0.0, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38, 1.1754942e-38], dtype=np.float32),
        random_bits[np.isfinite(random_bits) & (random_bits != 0)],  # -0.0 reads back as JSON "-0", an int
    ]).astype(np.float32)
    tags = {"machine": "EX-ENC", "component": "engine", "sensor": "engine.acc", "axis": "radial"}
    # 1 MHz: one sample per microsecond, so the burst stays inside the hour
    block = schema.encode_vibration_block(tags, values, T0, 1e6)
    for body, _count in chunk_blocks([block], 10_000):
        influx.write(body, rp=schema.RP_RAW)
    series = influx.query(f"SELECT a FROM {schema.RP_RAW}.{schema.M_VIBRATION} WHERE machine = 'EX-ENC' "
                          f"AND time >= {T0} ORDER BY time")
    read = np.array([row[1] for row in series[0]["values"]], dtype=np.float64).astype(np.float32)
    assert len(read) == len(values)
    assert np.array_equal(read.view(np.uint32), values.view(np.uint32))


def test_operating_decimals_round_trip_through_influxdb(influx):
    from telemetry.payloads import OperatingBatch
    from telemetry.records import records_blocks, to_record

    rng = np.random.default_rng(6)
    samples = tuple(
        (T0 + i * 1_000_000_000,
         {"engine_speed_rpm": round(float(rng.uniform(0, 5000)), 1), "coolant_temp_c": round(float(rng.uniform(-60, 200)), 3),
          "lat": round(float(rng.uniform(-90, 90)), 6), "hour_meter_h": float(rng.integers(0, 10**6))})
        for i in range(200))
    # zeros (written 0.000...) and a column's narrowest and widest values next to each other
    samples += ((T0 + 200 * 1_000_000_000,
                 {"engine_speed_rpm": 0.0, "coolant_temp_c": -0.001, "lat": 0.0, "hour_meter_h": 0.0}),)
    batch = OperatingBatch.from_samples("u-enc", "EX-ENC", samples)
    (body, count), = records_blocks([to_record(batch)])[schema.RP_LIFE]
    assert count == 201 and b"e-" in body and b"=0.0" in body  # the exact-decimal path, not repr
    influx.write(body, rp=schema.RP_LIFE)
    names = sorted(samples[0][1])
    series = influx.query(f"SELECT {', '.join(names)} FROM {schema.RP_LIFE}.{schema.M_OPERATING} "
                          f"WHERE machine = 'EX-ENC' AND time >= {T0} ORDER BY time")
    read = [(row[0], dict(zip(names, row[1:]))) for row in series[0]["values"]]
    assert read == [(t, fields) for t, fields in samples]
