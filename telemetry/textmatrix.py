"""Line protocol composed as a byte matrix with NumPy: one row per line, one column per character.

Formatting numbers one Python object at a time costs about 0.2 µs per value, and the writer
formats millions of them (a 1 s burst is 25,600 lines; an hour of one machine's operating data
is 72,000 values). Here a line is a template row whose number slots are filled column by
column: each group of three digits is one vectorised division and three table lookups for all
rows at once, so the cost is per column, not per value.

Fixed-width numbers are written zero-padded. Variable-width numbers are right-aligned in a slot
as wide as the column's widest value, with NUL bytes before them; :func:`squeeze` removes the
NULs at the end (a template must therefore hold no NUL of its own).
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


def put_digits(rows: np.ndarray, column: int, numbers: np.ndarray, count: int, blank_leading: bool = False) -> None:
    """Write ``count`` decimal digits of each number into ``rows[i, column:column + count]``.

    Parameters
    ----------
    rows : uint8, shape (n, width), written in place
    column : first character position of the slot
    numbers : non-negative integers below ``10**count``, shape (n,). Digits are split off nine at
        a time so that the three-digit groups are computed in uint32, the cheap kind.
    count : slot width in characters (up to 19 for int64/uint64)
    blank_leading : write leading zeros as NUL (for :func:`squeeze`) instead of ``0``; a number's
        last digit is always written
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
    if blank_leading:
        for j in range(count - 1):  # the character of 10**power is a leading zero below it
            power = count - 1 - j
            rows[numbers < 10**power, column + j] = 0


def put_signed(rows: np.ndarray, column: int, numbers: np.ndarray, width: int) -> None:
    """Each integer right-aligned in ``rows[:, column:column + width]``, NUL-padded on the left,
    with ``-`` before a negative one. ``width`` must hold the longest value with its sign
    (see :func:`text_width`)."""
    magnitude = np.abs(numbers).astype(np.uint64)
    put_digits(rows, column, magnitude, width, blank_leading=True)
    negative = np.flatnonzero(numbers < 0)
    if len(negative):
        digits = np.ones(len(negative), dtype=np.int64)
        for power in range(1, width):
            digits += magnitude[negative] >= 10**power
        rows[negative, column + width - 1 - digits] = ord("-")


def text_width(numbers: np.ndarray) -> int:
    """Characters of the longest decimal form among ``numbers`` (int64), sign included."""
    if not len(numbers):
        return 1
    return max(len(str(int(numbers.max()))), len(str(int(numbers.min()))))


def squeeze(rows: np.ndarray) -> bytes:
    """The matrix as bytes, row after row, without its NUL bytes."""
    flat = rows.reshape(-1)
    return flat[flat != 0].tobytes()
