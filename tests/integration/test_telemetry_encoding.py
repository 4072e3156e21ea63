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
