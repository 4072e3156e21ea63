"""Operating-data uploads: two JSON layouts of one batch, validated into an :class:`OperatingBatch`.

Rows, one object per time::

    {"upload_id": "…", "machine": "EX-1",
     "samples": [{"time": 1764064800000000000, "fields": {"engine_speed_rpm": 1500.0, ...}}, ...]}

Columns, one array per field (what the simulator's gateways send, and what we recommend)::

    {"upload_id": "…", "machine": "EX-1",
     "times": [1764064800000000000, ...],
     "fields": {"engine_speed_rpm": [1500.0, 1501.5, ...], "lat": [53.8, null, ...]}}

Both give the same batch (``null`` in a column: that field was not sampled at that time). Columns
name each field once instead of once per sample: a minute of 20 fields at 1 Hz is 12 kB of JSON
instead of 35 kB, 4.9 kB gzipped instead of 7.5 kB (a third less cellular data), and the server
checks each column as one array instead of one object per sample.

The usual upload of either layout is checked per upload with NumPy; anything else (RFC 3339 times,
absent values, a value to refuse) takes the per-value path, which names the offending value's
path, e.g. ``samples[3].fields.coolant_temp_c`` or ``fields.coolant_temp_c[3]``.
"""
from __future__ import annotations

import itertools
import operator
from typing import Any, Mapping

import numpy as np

from telemetry.devices import DeviceIdentity
from telemetry.payloads import (
    IngestError,
    Limits,
    OperatingBatch,
    check_machine,
    check_time_window,
    check_upload_id,
    invalid,
    number,
    parse_time_ns,
    require,
    time_window,
)
from telemetry.schema import OPERATING_FIELDS, OperatingField

Dense = tuple[tuple[str, ...], np.ndarray, np.ndarray]  # (names, times_ns int64 (n,), values float64 (n, k))


def parse_operating(obj: Mapping[str, Any], identity: DeviceIdentity, limits: Limits, now_ns: int) -> OperatingBatch:
    """An operating upload in either layout, validated; raises :class:`IngestError` naming the
    field and the rule it broke."""
    upload_id = check_upload_id(require(obj, "upload_id"))
    machine = check_machine(require(obj, "machine"), identity)
    as_rows, as_columns = "samples" in obj, "times" in obj or "fields" in obj
    if as_rows and as_columns:
        raise invalid("samples", "one_layout",
                      "send either samples (one object per time) or times and fields (one array per field), not both")
    if as_columns:
        return _parse_columns(obj, upload_id, machine, limits, now_ns)
    if not as_rows:
        raise invalid("samples", "required",
                      "samples (one object per time) or times and fields (one array per field) are required")
    return _parse_rows(obj, upload_id, machine, limits, now_ns)


def _out_of_range(path: str, value: float, spec: OperatingField) -> IngestError:
    return invalid(path, "range", f"{path}={value} {spec.unit} is outside [{spec.minimum}, {spec.maximum}]")


def _check_count(key: str, count: int, limits: Limits) -> None:
    if count > limits.max_operating_samples:
        raise IngestError(413, "too_large", key, "max_operating_samples",
                          f"{count} samples; at most {limits.max_operating_samples} per upload")


def _in_ranges(names: tuple[str, ...], values: np.ndarray) -> bool:
    """Every value of ``values`` (n, len(names)) within its field's range (NaN is not)."""
    low = np.array([OPERATING_FIELDS[name].minimum for name in names])
    high = np.array([OPERATING_FIELDS[name].maximum for name in names])
    return bool(np.all((values >= low) & (values <= high)))


def _int_times(times: list, window: tuple[int, int]) -> np.ndarray | None:
    """Integer ns times inside ``window`` as int64, else None (the per-value path words the refusal)."""
    if set(map(type, times)) != {int}:
        return None
    try:
        times_ns = np.array(times, dtype=np.int64)
    except OverflowError:
        return None
    if times_ns.min() < window[0] or times_ns.max() > window[1]:
        return None
    return times_ns


# --------------------------------------------------------------------------- rows


def _parse_rows(obj: Mapping[str, Any], upload_id: str, machine: str, limits: Limits, now_ns: int) -> OperatingBatch:
    samples = obj["samples"]
    if not isinstance(samples, list) or not samples:
        raise invalid("samples", "non_empty_list", "samples must be a non-empty list")
    _check_count("samples", len(samples), limits)
    dense = _dense_rows(samples, time_window(now_ns, limits))
    if dense is not None:
        return OperatingBatch(upload_id, machine, *dense)
    parsed = []
    for i, sample in enumerate(samples):
        path = f"samples[{i}]"
        if not isinstance(sample, dict):
            raise invalid(path, "object", f"{path} must be an object with time and fields")
        t_ns = check_time_window(parse_time_ns(require(sample, "time", path + "."), path + ".time"),
                                 path + ".time", now_ns, limits)
        fields = require(sample, "fields", path + ".")
        if not isinstance(fields, dict) or not fields:
            raise invalid(path + ".fields", "non_empty_object", f"{path}.fields must be a non-empty object")
        values = {}
        for name, raw in fields.items():
            spec = OPERATING_FIELDS.get(name)
            kind = type(raw)
            value = raw if kind is float else float(raw) if kind is int and -1e300 < raw < 1e300 else None
            if spec is None or value is None or not spec.minimum <= value <= spec.maximum:
                fpath = f"{path}.fields.{name}"
                if spec is None:
                    raise invalid(fpath, "known_field", f"unknown operating field {name!r}; see telemetry.schema.OPERATING_FIELDS")
                raise _out_of_range(fpath, number(raw, fpath), spec)  # number() refuses non-numbers and non-finite
            values[name] = value
        parsed.append((t_ns, values))
    return OperatingBatch.from_samples(upload_id, machine, parsed)


def _dense_rows(samples: list, window: tuple[int, int]) -> Dense | None:
    """The usual row upload, checked per upload: every sample an object with an integer ``time``
    inside ``window`` and the same two or more known fields, every value a float (JSON number with
    a fraction or exponent) within its field's range. None for anything else (NaN and infinities
    fail the range comparison, so they always take the per-value path)."""
    try:
        times = [sample["time"] for sample in samples]
        rows = [sample["fields"] for sample in samples]
    except (TypeError, KeyError):  # a sample that is no object, or lacks a key
        return None
    first = rows[0]
    if type(first) is not dict or len(first) < 2 or not first.keys() <= OPERATING_FIELDS.keys():
        return None
    names = tuple(sorted(first))
    row_of = operator.itemgetter(*names)
    try:  # every name in every row (KeyError otherwise) and nothing else (same length)
        cells = [row_of(row) for row in rows]
    except (KeyError, TypeError):
        return None
    if any(type(row) is not dict or len(row) != len(names) for row in rows):
        return None
    if set(map(type, itertools.chain.from_iterable(cells))) != {float}:
        return None
    values = np.array(cells, dtype=np.float64)
    if not _in_ranges(names, values):
        return None
    times_ns = _int_times(times, window)
    return None if times_ns is None else (names, times_ns, values)


# --------------------------------------------------------------------------- columns


def _parse_columns(obj: Mapping[str, Any], upload_id: str, machine: str, limits: Limits, now_ns: int) -> OperatingBatch:
    times, fields = require(obj, "times"), require(obj, "fields")
    if not isinstance(times, list) or not times:
        raise invalid("times", "non_empty_list", "times must be a non-empty list")
    _check_count("times", len(times), limits)
    if not isinstance(fields, dict) or not fields:
        raise invalid("fields", "non_empty_object", "fields must be an object of one array per field")
    dense = _dense_columns(times, fields, time_window(now_ns, limits))
    if dense is not None:
        return OperatingBatch(upload_id, machine, *dense)
    names = tuple(sorted(fields))
    for name in names:
        if name not in OPERATING_FIELDS:
            raise invalid(f"fields.{name}", "known_field", f"unknown operating field {name!r}; see telemetry.schema.OPERATING_FIELDS")
        if not isinstance(fields[name], list) or len(fields[name]) != len(times):
            raise invalid(f"fields.{name}", "same_length",
                          f"fields.{name} must be an array of {len(times)} values, one per time (null where not sampled)")
    times_ns = np.array([check_time_window(parse_time_ns(t, f"times[{i}]"), f"times[{i}]", now_ns, limits)
                         for i, t in enumerate(times)], dtype=np.int64)
    values = np.full((len(times), len(names)), np.nan)
    for j, name in enumerate(names):
        spec = OPERATING_FIELDS[name]
        for i, raw in enumerate(fields[name]):
            if raw is not None:
                path = f"fields.{name}[{i}]"
                value = number(raw, path)
                if not spec.minimum <= value <= spec.maximum:
                    raise _out_of_range(path, value, spec)
                values[i, j] = value
    empty = np.flatnonzero(np.isnan(values).all(axis=1))
    if len(empty):
        path = f"times[{empty[0]}]"
        raise invalid(path, "some_field", f"no field has a value at {path}; leave that time out")
    return OperatingBatch(upload_id, machine, names, times_ns, values)


def _dense_columns(times: list, fields: dict, window: tuple[int, int]) -> Dense | None:
    """The usual column upload, checked per upload: integer times inside ``window``, known field
    names, each column a list of as many numbers (no ``null``) within the field's range. None for
    anything else."""
    names = tuple(sorted(fields))
    if not fields.keys() <= OPERATING_FIELDS.keys():
        return None
    columns = [fields[name] for name in names]
    if any(type(column) is not list or len(column) != len(times) for column in columns):
        return None
    if not set(map(type, itertools.chain.from_iterable(columns))) <= {float, int}:  # bool is neither
        return None
    try:
        values = np.array(columns, dtype=np.float64).T.copy()
    except OverflowError:  # an integer too large for a float: the per-value path says "finite"
        return None
    if not _in_ranges(names, values):
        return None
    times_ns = _int_times(times, window)
    return None if times_ns is None else (names, times_ns, values)
