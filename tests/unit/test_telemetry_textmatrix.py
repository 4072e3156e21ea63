"""Line protocol composed as a byte matrix: the same text as Python's own formatting."""
import numpy as np

from telemetry.operating_lines import operating_block
from telemetry.textmatrix import put_digits, template_rows


def test_fixed_width_digits_are_zero_padded():
    rows = template_rows(3, b"..........")
    put_digits(rows, 0, np.array([0, 42, 9_876_543_210], dtype=np.uint64), 10)
    assert rows.tobytes() == b"0000000000" + b"0000000042" + b"9876543210"


def test_operating_block_matches_percent_formatting_for_short_decimals():
    rng = np.random.default_rng(2)
    names = ("coolant_temp_c", "engine_speed_rpm", "fuel_rate_l_h", "lat")
    values = np.column_stack([
        np.round(rng.uniform(-40, 120, 300), 2),
        np.round(rng.uniform(0, 3000, 300), 1),
        np.round(rng.uniform(0, 80, 300), 3),
        np.round(rng.uniform(-90, 90, 300), 6),
    ])
    times = 1_764_000_000_000_000_000 + np.arange(300, dtype=np.int64) * 10**9
    body, count = operating_block("EX-1", names, times, values)
    lines = body.decode().splitlines()
    assert count == len(lines) == 300
    for line, row, t in zip(lines, values, times):
        fields = dict(pair.split("=") for pair in line.split(" ")[1].split(","))
        assert list(fields) == list(names)
        assert [float(text) for text in fields.values()] == row.tolist()  # exact, bit for bit
        assert line.startswith("operating,machine=EX-1 ") and line.endswith(f" {t}")


def test_operating_lines_have_one_width_and_exact_values_for_zeros_signs_and_magnitudes():
    names = ("coolant_temp_c", "engine_speed_rpm", "hour_meter_h", "lat")
    values = np.array([
        [0.0, 0.0, 0.0, 0.0],
        [-40.25, 1.5, 123456.0, -89.123456],
        [120.0, 2999.9, 7.0, 0.000001],
        [-0.5, 10.0, 1.0, 45.0],
        [5.0, 0.1, 999999.9, -0.000001],
    ])
    times = 1_764_000_000_000_000_000 + np.arange(len(values), dtype=np.int64) * 10**9
    body, count = operating_block("EX-1", names, times, values)
    lines = body.decode().splitlines()
    assert count == len(lines) == len(values)
    assert len({len(line) for line in lines}) == 1  # fixed width: the byte matrix is the text
    for line, row in zip(lines, values):
        texts = [pair.split("=")[1] for pair in line.split(" ")[1].split(",")]
        assert [float(text) for text in texts] == row.tolist()
        # no leading zero before other digits (InfluxDB's number syntax), one sign at most
        assert all(not (t.lstrip("-").startswith("0") and t.lstrip("-")[1:2].isdigit()) for t in texts)
