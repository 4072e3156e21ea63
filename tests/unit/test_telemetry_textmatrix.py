"""Line protocol composed as a byte matrix: the same text as Python's own formatting."""
import numpy as np

from telemetry.operating_lines import operating_block
from telemetry.textmatrix import put_digits, put_signed, squeeze, template_rows, text_width


def test_signed_integers_of_every_width_match_python():
    rng = np.random.default_rng(1)
    numbers = np.concatenate([
        [0, 1, -1, 9, -9, 10, -10, 999, 1000, -1000, 10**9 - 1, 10**9, -(10**9), 10**18 + 7, -(10**18) - 7,
         2**63 - 1, -(2**63) + 1],
        rng.integers(-(10**12), 10**12, 500),
        rng.integers(-50, 50, 100),
    ]).astype(np.int64)
    width = text_width(numbers)
    rows = template_rows(len(numbers), b"[" + b"\0" * width + b"]\n")
    put_signed(rows, 1, numbers, width)
    assert squeeze(rows).decode() == "".join(f"[{int(n)}]\n" for n in numbers)


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
