"""Operating data as InfluxDB line protocol: one ``operating`` point per sample.

The writer's second-hottest encoding after the vibration samples: an hour of one machine's
operating data is 3,600 lines of about 20 fields. Validated values are written as exact short
decimals (``coolant_temp_c=-1225e-2``), composed for many uploads at once as a byte matrix.
"""
from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import numpy as np

from telemetry.schema import M_OPERATING, OPERATING_FIELDS, encode_point, encode_tags
from telemetry.textmatrix import put_signed, squeeze, template_rows, text_width


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
        decimals = _exact_decimals(values)
        if decimals is not None and "\0" not in prefix:
            return _decimal_matrix_lines(prefix.encode(), names, *decimals, times), len(times)
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
                          times: np.ndarray) -> bytes:
    """``prefix name=<m>e-<k>,... <t>\\n`` per row; mantissas int64 (n, len(names)), times int64 (n,).

    Each number gets a slot as wide as its column's widest value, NUL-padded, squeezed at the end.
    """
    widths = [text_width(mantissas[:, j]) for j in range(len(names))]
    time_width = text_width(times)
    template = bytearray(prefix)
    slots = []
    for j, (name, k) in enumerate(zip(names, places)):
        template += f"{',' if j else ''}{name}=".encode()
        slots.append(len(template))
        template += b"\0" * widths[j] + f"e{-k}".encode()
    template += b" "
    time_slot = len(template)
    template += b"\0" * time_width + b"\n"
    rows = template_rows(len(times), bytes(template))
    for j, slot in enumerate(slots):
        put_signed(rows, slot, mantissas[:, j], widths[j])
    put_signed(rows, time_slot, times, time_width)
    return squeeze(rows)


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
