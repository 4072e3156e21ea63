"""Operating data as InfluxDB line protocol: one ``operating`` point per sample.

The writer's second-hottest encoding after the vibration samples: an hour of one machine's
operating data is 3,600 lines of about 20 fields. Validated values are written as exact short
decimals (``coolant_temp_c=-12250e-03``), composed for many uploads at once as a byte matrix.
"""
from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import numpy as np

from telemetry.schema import M_OPERATING, OPERATING_FIELDS, encode_point, encode_tags
from telemetry.textmatrix import put_digits, template_rows

# POWERS_OF_TEN[d] = 10**d: the digit count of n > 0 is the number of powers <= n
POWERS_OF_TEN = 10 ** np.arange(20, dtype=np.uint64)


def operating_lines(machine: str, samples: list[tuple[int, Mapping[str, float]]]) -> list[str]:
    """One ``operating`` point per sample ``(t_ns, {field: value})``, with newlines.

    Fast path (this is the writer's hottest loop after the vibration samples): field names are
    ``OPERATING_FIELDS`` keys, which need no escaping, and values were validated as finite floats
    by ``telemetry.payloads``, so each field is a plain ``name=repr(value)``; other field names go
    through :func:`encode_point`.
    """
    prefix = f"{M_OPERATING}{encode_tags({'machine': machine})} "
    lines = []
    for t_ns, fields in samples:
        if not fields:
            continue
        if fields.keys() <= OPERATING_FIELDS.keys():  # validated names; values validated finite floats
            lines.append(f"{prefix}{','.join([f'{name}={value!r}' for name, value in fields.items()])} {int(t_ns)}\n")
        else:
            lines.append(encode_point(M_OPERATING, {"machine": machine}, fields, t_ns) + "\n")
    return lines


def operating_block(machine: str, names: Sequence[str], times: np.ndarray, values: np.ndarray) -> tuple[bytes, int]:
    """:func:`operating_lines` of a columnar batch as one block of text: ``(bytes, line_count)``.

    ``times`` int64 ns, shape (n,); ``values`` float64, shape (n, len(names)), NaN where a field is
    absent. A dense batch of validated field names whose values are short decimals (the usual
    upload) is written as exact ``<m>e-<k>`` decimals into a byte matrix (:mod:`telemetry.textmatrix`);
    other dense batches by one C-level ``%`` over a repeated row template (``%r`` is the same
    shortest exact ``repr`` as the per-row path); anything else takes :func:`operating_lines`.
    """
    if not len(times):
        return b"", 0
    prefix = f"{M_OPERATING}{encode_tags({'machine': machine})} "
    if names and set(names) <= OPERATING_FIELDS.keys() and not np.isnan(values).any():
        time_width = len(str(int(times.max())))  # one width for every row's time (always, after 2001)
        if times.min() >= 0 and len(str(int(times.min()))) == time_width:
            decimals = _exact_decimals(values)
            if decimals is not None:
                return _decimal_matrix_lines(prefix.encode(), names, *decimals, times, time_width), len(times)
        row = prefix.replace("%", "%%") + ",".join(f"{name}=%r" for name in names) + " %d\n"
        rows = values.tolist()
        for cells, t_ns in zip(rows, times.tolist()):
            cells.append(t_ns)
        return ((row * len(rows)) % tuple(itertools.chain.from_iterable(rows))).encode(), len(rows)
    samples = [(t, {name: value for name, value in zip(names, row) if value == value})
               for t, row in zip(times.tolist(), values.tolist())]
    lines = operating_lines(machine, samples)
    return "".join(lines).encode(), len(lines)


def _decimal_matrix_lines(prefix: bytes, names: Sequence[str], mantissas: np.ndarray, places: list[int],
                          times: np.ndarray, time_width: int) -> bytes:
    """``prefix name=<digits>e-<dd>,... <t>\\n`` per row; mantissas int64 (n, len(names)), times int64
    (n,), non-negative, each of ``time_width`` digits.

    Every row has the same width, so the byte matrix is the text. A column is written at the width
    of its longest mantissa: shorter ones are padded with trailing zeros and their exponent
    lowered to match (in a column of five-digit mantissas, ``12.5`` is ``12500e-03``), a negative
    value gives one digit to its minus sign, and zero is ``0.000``. Each text is the same decimal
    as ``m·10^-k``, so InfluxDB parses the same float64 (see :func:`_exact_decimals`).
    """
    layout = [_fixed_width_mantissas(mantissas[:, j], k) for j, k in enumerate(places)]
    template = bytearray(prefix)
    slots = []
    for j, (name, (width, *_)) in enumerate(zip(names, layout)):
        template += f"{',' if j else ''}{name}=".encode()
        slots.append(len(template))
        template += b"0" * width + b"e-00"
    template += b" "
    time_slot = len(template)
    template += b"0" * time_width + b"\n"
    rows = template_rows(len(times), bytes(template))
    for slot, (width, digits, exponents, negative, zero) in zip(slots, layout):
        put_digits(rows, slot, digits, width)
        rows[negative, slot] = ord("-")
        if width > 1:
            rows[zero, slot + 1] = ord(".")  # 0.000: no leading zero before other digits
        put_digits(rows, slot + width + 2, exponents, 2)
    put_digits(rows, time_slot, times.astype(np.uint64), time_width)
    return rows.tobytes()


def _fixed_width_mantissas(mantissas: np.ndarray, places: int):
    """One column of ``_decimal_matrix_lines``: ``(width, digits uint64 (n,), exponents (n,),
    negative (n,), zero (n,))`` with ``digits·10^-exponent`` = ``mantissas·10^-places`` per row,
    ``digits`` of ``width`` digits (``width - 1`` where negative, for the sign)."""
    negative = mantissas < 0
    magnitude = np.abs(mantissas).astype(np.uint64)
    counts = np.maximum(np.searchsorted(POWERS_OF_TEN, magnitude, side="right"), 1)
    width = int(counts.max()) + int(negative.any())
    pad = np.where(negative, width - 1, width) - counts
    return width, magnitude * POWERS_OF_TEN[pad], places + pad, negative, magnitude == 0


def _exact_decimals(values: np.ndarray, max_places: int = 6) -> tuple[np.ndarray, list[int]] | None:
    """Each column as integers ``m`` with ``m / 10**k`` equal to the value, bit for bit.

    Gateways send operating values with a few decimals; written as ``<m>e-<k>`` they are integer
    formatting (C-level ``%d``) instead of a shortest-``repr`` per float, the costliest step of
    encoding operating data. Exact: ``m`` and ``10**k`` are exact doubles, so NumPy's division is
    the correctly rounded value of the decimal ``m·10^-k``, which is what InfluxDB's parser returns.
    Returns ``(mantissas int64 (rows, columns), k per column)``, or None when a column needs more
    than ``max_places`` decimals (or holds -0.0, whose sign an integer cannot carry).
    """
    if np.any(np.signbit(values) & (values == 0)):
        return None
    places = np.full(values.shape[1], -1)
    mantissas = np.zeros(values.shape, dtype=np.float64)
    for k in range(max_places + 1):
        scale = 10.0**k
        scaled = np.rint(values * scale)
        exact = np.all((np.abs(scaled) < 2.0**53) & (scaled / scale == values), axis=0) & (places < 0)
        places[exact] = k
        mantissas[:, exact] = scaled[:, exact]
        if np.all(places >= 0):
            return mantissas.astype(np.int64), places.tolist()
    return None
