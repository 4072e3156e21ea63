"""Line protocol composed as a byte matrix with NumPy: one row per line, one column per character.

Formatting numbers one Python object at a time costs about 0.2 µs per value, and the writer
formats millions of them (a 1 s burst is 25,600 lines; an hour of one machine's operating data
is 72,000 values). Here a line is a template row whose number slots are filled column by
column: each group of three digits is one vectorised division and three table lookups for all
rows at once, so the cost is per column, not per value.

Numbers are written zero-padded to their slot's width; the encoders choose number forms of one
width per column (see ``schema.encode_vibration_block`` and ``operating_lines``), so every line of
a block has the same width and the matrix is the text.
"""
from __future__ import annotations

import numpy as np

# _DIGIT_TABLES[j][g] is the j-th character (0 = hundreds) of the three-digit form of g, 0..999
_DIGIT_TABLES = np.array([[ord(c) for c in f"{g:03d}"] for g in range(1000)], dtype=np.uint8).T.copy()


def template_rows(n: int, template: bytes) -> np.ndarray:
    """A ``(n, len(template))`` uint8 matrix with the template in every row."""
    rows = np.empty((n, len(template)), dtype=np.uint8)
    rows[:] = np.frombuffer(template, dtype=np.uint8)
    return rows


def put_digits(rows: np.ndarray, column: int, numbers: np.ndarray, count: int) -> None:
    """Write ``count`` decimal digits of each number into ``rows[i, column:column + count]``.

    Parameters
    ----------
    rows : uint8, shape (n, width), written in place
    column : first character position of the slot
    numbers : non-negative integers below ``10**count``, shape (n,). Digits are split off nine at
        a time so that the three-digit groups are computed in uint32, the cheap kind.
    count : slot width in characters (up to 19 for int64/uint64)
    """
    if count > 9:
        upper, lower = np.divmod(numbers, 10**9)
        put_digits(rows, column + count - 9, lower, 9)
        put_digits(rows, column, upper, count - 9)
    else:
        rest = numbers.astype(np.uint32, copy=False)
        end = column + count
        while end > column:
            width = min(3, end - column)
            if end - column > 3:
                rest, group = np.divmod(rest, 1000)
            else:
                group = rest
            for j in range(width):
                rows[:, end - width + j] = np.take(_DIGIT_TABLES[3 - width + j], group)
            end -= width
