"""The InfluxDB schema of Ironwatch: measurements, retention policies, continuous queries and
the line-protocol encoding of everything the service writes.

Layout (documented with its sizing arithmetic in ``docs/telemetry.md``):

======================  ========  ======================================  ==========================
measurement             RP        tags                                    fields
======================  ========  ======================================  ==========================
``vibration``           ``raw``   machine, component, sensor, axis        ``a`` (sample, burst units)
``bursts``              ``life``  machine, component, sensor, axis        burst_id, upload_id, n_samples,
                                                                          sample_rate_hz, shaft_rpm,
                                                                          units, encoding, scale,
                                                                          hour_meter_h (optional)
``operating``           ``life``  machine                                 the ``OPERATING_FIELDS``
``operating_1m``/``1h`` ``life``  machine                                 ``mean_<field>`` (CQ output)
``faults``              ``life``  machine                                 lamps, active_count, codes,
                                                                          upload_id
``fault_codes``         ``life``  machine, spn                            fmi, occurrence_count, upload_id
``features``            ``life``  machine, component, sensor, axis        one float per feature, burst_id,
                                                                          iso_zone, hour_meter_h (optional)
``diagnoses``           ``life``  machine, component, fault_mode,         severity, confidence, score,
                                  location                                summary, evidence and detail
                                                                          (JSON), burst_id
``rul``                 ``life``  machine, component                      p10_h, p50_h, p90_h, model_version
======================  ========  ======================================  ==========================

Raw samples are one point per sample, timestamped ``start_ns + round(i * 1e9 / fs)``, so that any
InfluxQL tool (Grafana, the ``influx`` shell) can read a waveform.
"""
from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from telemetry.textmatrix import put_digits, template_rows

DEFAULT_DATABASE = "ironwatch"

RP_RAW = "raw"
RP_LIFE = "life"

M_VIBRATION = "vibration"
M_BURSTS = "bursts"
M_OPERATING = "operating"
M_OPERATING_1M = "operating_1m"
M_OPERATING_1H = "operating_1h"
M_FAULTS = "faults"
M_FAULT_CODES = "fault_codes"
M_FEATURES = "features"
M_DIAGNOSES = "diagnoses"
M_RUL = "rul"

G_M_S2 = 9.80665  # standard gravity: 1 g in m/s²


@dataclass(frozen=True)
class OperatingField:
    """One operating-data field: its unit and the physically plausible range a gateway may send."""

    unit: str
    description: str
    minimum: float
    maximum: float


#: Operating data fields (snake_case, unit suffix). Ranges are wide plausibility bounds: a value
#: outside them is a broken sensor or a broken gateway, never a real reading.
OPERATING_FIELDS: dict[str, OperatingField] = {
    "engine_speed_rpm": OperatingField("rpm", "engine crankshaft speed", 0.0, 5000.0),
    "engine_load_pct": OperatingField("%", "engine percent load at current speed", 0.0, 125.0),
    "coolant_temp_c": OperatingField("°C", "engine coolant temperature", -60.0, 200.0),
    "oil_temp_c": OperatingField("°C", "engine oil temperature", -60.0, 200.0),
    "oil_pressure_kpa": OperatingField("kPa", "engine oil pressure", 0.0, 2000.0),
    "fuel_rate_l_h": OperatingField("L/h", "fuel consumption rate", 0.0, 2000.0),
    "fuel_level_pct": OperatingField("%", "fuel tank level", 0.0, 100.0),
    "battery_v": OperatingField("V", "battery / system voltage", 0.0, 60.0),
    "intake_air_temp_c": OperatingField("°C", "intake manifold air temperature", -60.0, 200.0),
    "boost_pressure_kpa": OperatingField("kPa", "turbo boost pressure", 0.0, 1000.0),
    "exhaust_temp_c": OperatingField("°C", "exhaust gas temperature", -60.0, 1200.0),
    "hour_meter_h": OperatingField("h", "engine hour meter", 0.0, 1.0e6),
    "hydraulic_pressure_bar": OperatingField("bar", "main hydraulic pump pressure", 0.0, 700.0),
    "hydraulic_oil_temp_c": OperatingField("°C", "hydraulic oil temperature", -60.0, 200.0),
    "pump_flow_l_min": OperatingField("L/min", "hydraulic pump flow", 0.0, 5000.0),
    "swing_speed_rpm": OperatingField("rpm", "upper-structure swing speed", -50.0, 50.0),
    "travel_speed_km_h": OperatingField("km/h", "travel speed", -50.0, 50.0),
    "ambient_temp_c": OperatingField("°C", "ambient air temperature", -60.0, 70.0),
    "power_kw": OperatingField("kW", "generator active power output", -10000.0, 10000.0),
    "voltage_v": OperatingField("V", "generator line-to-line voltage", 0.0, 50000.0),
    "current_a": OperatingField("A", "generator line current", 0.0, 50000.0),
    "frequency_hz": OperatingField("Hz", "generator output frequency", 0.0, 500.0),
    "power_factor": OperatingField("1", "generator power factor", -1.0, 1.0),
    "winding_temp_c": OperatingField("°C", "alternator stator winding temperature", -60.0, 300.0),
    "lat": OperatingField("°", "GNSS latitude (WGS 84)", -90.0, 90.0),
    "lon": OperatingField("°", "GNSS longitude (WGS 84)", -180.0, 180.0),
}


assert all(name.replace("_", "").isalnum() and name.isascii() for name in OPERATING_FIELDS), \
    "operating field names must need no line-protocol escaping"


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    duration: str  # InfluxQL duration literal, "INF" for forever
    shard_duration: str
    default: bool


def raw_retention_days() -> int:
    """Days raw waveforms are kept (``IRONWATCH_RAW_RETENTION_DAYS``, default 30, at least 1)."""
    days = int(os.environ.get("IRONWATCH_RAW_RETENTION_DAYS", "30"))
    if days < 1:
        raise ValueError("IRONWATCH_RAW_RETENTION_DAYS must be at least 1")
    return days


def retention_policies(raw_days: int | None = None) -> list[RetentionPolicy]:
    """The retention policies of an Ironwatch database.

    ``raw`` holds vibration samples for ``raw_days`` (1-day shards, so expiry frees space daily);
    ``life`` is the default and keeps everything else for the machine's life (30-day shards).
    """
    days = raw_retention_days() if raw_days is None else raw_days
    return [
        RetentionPolicy(RP_RAW, f"{days}d", "1d", False),
        RetentionPolicy(RP_LIFE, "INF", "30d", True),
    ]


@dataclass(frozen=True)
class ContinuousQuery:
    name: str
    statement: str  # the full CREATE CONTINUOUS QUERY ... END


def continuous_queries(database: str) -> list[ContinuousQuery]:
    """Continuous queries that keep downsampled operating data (1-minute and 1-hour means).

    ``RESAMPLE FOR`` makes each CQ recompute recent intervals, so batches that a gateway buffered
    through a coverage gap (and uploads minutes to hours late) still land in the downsampled series.
    """
    db = quote_ident(database)
    life = quote_ident(RP_LIFE)
    return [
        ContinuousQuery(
            "cq_operating_1m",
            f"CREATE CONTINUOUS QUERY cq_operating_1m ON {db} RESAMPLE EVERY 1m FOR 2h BEGIN "
            f"SELECT mean(*) INTO {db}.{life}.{M_OPERATING_1M} FROM {db}.{life}.{M_OPERATING} "
            f"GROUP BY time(1m), * END",
        ),
        ContinuousQuery(
            "cq_operating_1h",
            f"CREATE CONTINUOUS QUERY cq_operating_1h ON {db} RESAMPLE EVERY 1h FOR 1d BEGIN "
            f"SELECT mean(*) INTO {db}.{life}.{M_OPERATING_1H} FROM {db}.{life}.{M_OPERATING} "
            f"GROUP BY time(1h), * END",
        ),
    ]


# --------------------------------------------------------------------------- InfluxQL quoting


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes (``"my db"``)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


# --------------------------------------------------------------------------- line protocol


#: Characters no identifier (measurement, tag key or value, field key) may hold: line protocol
#: cannot carry a newline there, and a backslash is read differently by InfluxDB 1.x (kept as
#: written, so ``a\\b`` is stored with two) and 2.x/3.x (unescaped), and before a space, comma
#: or the end it breaks the line. Identifiers are validated where they are made; this is the last
#: guard, found by the property test of the encoding. (NUL: InfluxQL cannot quote it to read it back.)
UNWRITABLE_IN_IDENTIFIERS = frozenset("\\\n\r\x00")


def _escape_key(text: str) -> str:
    # measurement names, tag keys/values and field keys: comma, equals and space are escaped
    if not UNWRITABLE_IN_IDENTIFIERS.isdisjoint(text):
        raise ValueError(f"identifier {text!r} holds a backslash, line break or NUL, which line protocol "
                         f"cannot carry")
    return text.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_string_field(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_tags(tags: Mapping[str, str]) -> str:
    """``,k=v,...`` sorted by key (InfluxDB indexes sorted tag sets fastest); empty values dropped."""
    return "".join(f",{_escape_key(k)}={_escape_key(str(v))}" for k, v in sorted(tags.items()) if v != "")


def encode_field_value(value: object) -> str:
    """One field value: floats as shortest exact repr, ints with ``i``, bools, strings quoted.

    Raises ``ValueError`` for a non-finite float (line protocol has no NaN/Inf).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return f"{int(value)}i"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"non-finite field value {number!r}")
        return repr(number)
    if isinstance(value, str):
        return _escape_string_field(value)
    raise TypeError(f"unsupported field value type {type(value).__name__}")


def encode_point(measurement: str, tags: Mapping[str, str], fields: Mapping[str, object], t_ns: int) -> str:
    """One line of line protocol (without the newline). ``fields`` must not be empty."""
    if not fields:
        raise ValueError("a point needs at least one field")
    field_text = ",".join(f"{_escape_key(k)}={encode_field_value(v)}" for k, v in fields.items())
    return f"{_escape_key(measurement)}{encode_tags(tags)} {field_text} {int(t_ns)}"


def sample_times_ns(start_ns: int, n_samples: int, sample_rate_hz: float) -> np.ndarray:
    """Timestamps of a burst's samples: ``start_ns + round(i * 1e9 / fs)``, int64 ns, shape (n,).

    Rounding is half-to-even, as Python's ``round``.
    """
    offsets = np.rint(np.arange(n_samples, dtype=np.float64) * (1e9 / sample_rate_hz))
    return offsets.astype(np.int64) + np.int64(start_ns)


def encode_vibration_block(
    tags: Mapping[str, str], samples: np.ndarray, start_ns: int, sample_rate_hz: float
) -> tuple[bytes, int]:
    """Line protocol for a burst's raw samples as one block: ``(utf-8 bytes, line_count)``.

    Parameters
    ----------
    tags : machine, component, sensor, axis
    samples : float32 array, shape (n,), in the burst's units (m/s² or g)
    start_ns : time of sample 0, ns since the Unix epoch (UTC)
    sample_rate_hz : sampling rate in Hz

    Each value is written as a 9-significant-digit integer mantissa and a decimal exponent
    (``a=3771906500e-10``, ``a=-377190650e-09``), which reproduces every float32 bit for bit after
    InfluxDB parses it to float64 and a reader casts back to float32: the 9-digit decimal is within
    5e-9 (relative) of the value, while the nearest float32 rounding boundary is at least 3e-8
    away, so the float64 parse cannot cross it. The mantissa field is always ten characters —
    ten digits for a positive value (the nine digits times ten), a minus sign and nine digits for
    a negative one, ``0.00000000`` / ``-0.0000000`` for zeros — in ordinary float syntax with no
    leading zero, so every line of a burst has the same width and the whole block is written
    digit by digit into one byte matrix with NumPy (no Python object per sample). Timestamps
    outside 19 digits (before 2001) take a ``%``-formatted path that writes the same text.
    """
    prefix = f"{M_VIBRATION}{encode_tags(tags)} a="
    values = np.asarray(samples, dtype=np.float32)
    times = sample_times_ns(start_ns, len(values), sample_rate_hz)
    mantissas, exponents = _decimal_9(values.astype(np.float64))
    negative = np.signbit(values)  # keeps -0.0 negative
    mantissas = np.abs(mantissas)
    if len(values) and (times.min() < 10**18 or mantissas.max() >= 10**9):
        template = prefix.replace("%", "%%") + "%se%+03d %d\n"  # a tag value may hold a literal %
        texts = [_mantissa_text(bool(neg), int(m)) for neg, m in zip(negative, mantissas)]
        columns = zip(texts, _field_exponents(negative, mantissas, exponents).tolist(), times.tolist())
        return ((template * len(values)) % tuple(itertools.chain.from_iterable(columns))).encode(), len(values)
    return _fixed_width_lines(prefix.encode(), negative, mantissas, exponents, times), len(values)


def _mantissa_text(negative: bool, mantissa: int) -> str:
    """The ten-character mantissa field of one value (see :func:`encode_vibration_block`)."""
    if mantissa == 0:
        return "-0.0000000" if negative else "0.00000000"
    return f"-{mantissa:09d}" if negative else f"{mantissa * 10:010d}"


def _field_exponents(negative: np.ndarray, mantissas: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Exponents that go with the ten-character mantissas: a positive value's mantissa carries
    one more digit (times ten), so its exponent is one less; zeros take 0."""
    shifted = np.where(negative, exponents, exponents - 1)
    return np.where(mantissas == 0, 0, shifted)


def _fixed_width_lines(prefix: bytes, negative: np.ndarray, mantissas: np.ndarray, exponents: np.ndarray,
                       times: np.ndarray) -> bytes:
    """``prefix`` + ten-character mantissa + ``e[+|-]dd ttttttttttttttttttt\\n`` per row, as one block.

    negative : bool, shape (n,); mantissas : non-negative int64 < 10**9, shape (n,) (nine digits, or
    0); exponents : int64 in [-98, 99], of the nine-digit mantissas;
    times : int64 ns with 19 digits.
    """
    at = len(prefix)
    rows = template_rows(len(mantissas), prefix + b"0000000000e+00 0000000000000000000\n")
    # ten digits of m * 10 for positives; for negatives m < 10**9 leaves a leading 0, replaced by "-"
    put_digits(rows, at, np.where(negative, mantissas, mantissas * 10).astype(np.uint64), 10)
    rows[negative, at] = ord("-")
    zero = mantissas == 0
    if zero.any():
        for sign, text in ((False, b"0.00000000"), (True, b"-0.0000000")):
            rows[zero & (negative == sign), at:at + 10] = np.frombuffer(text, dtype=np.uint8)
    exponents = _field_exponents(negative, mantissas, exponents)
    rows[exponents < 0, at + 11] = ord("-")
    put_digits(rows, at + 12, np.abs(exponents), 2)
    _put_times(rows, at + 15, times)
    return rows.tobytes()


def _put_times(rows: np.ndarray, column: int, times: np.ndarray) -> None:
    """The 19 digits of each ns timestamp: the nine of the ns within the second per row; the ten
    of the second once per run of equal seconds (a 1 s burst spans one or two)."""
    seconds, nanoseconds = np.divmod(times, 10**9)
    put_digits(rows, column + 10, nanoseconds, 9)
    starts = np.flatnonzero(np.diff(seconds)) + 1
    if not len(times) or len(starts) > 64:  # not a burst-like run of times: every row on its own
        put_digits(rows, column, seconds, 10)
        return
    for begin, end in zip([0, *starts.tolist()], [*starts.tolist(), len(times)]):
        rows[begin:end, column:column + 10] = np.frombuffer(b"%010d" % seconds[begin], dtype=np.uint8)


def _decimal_9(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values ≈ m * 10**e`` with ``|m|`` of exactly 9 digits (zero: ``m = e = 0``), int64, shape (n,).

    ``floor(log10|v|)`` can be one off next to powers of ten; the digit count of ``m`` is checked
    and the few such values recomputed with the corrected exponent.
    """
    magnitude = np.abs(values)
    nonzero = magnitude > 0
    exponents = np.zeros(len(values), dtype=np.int64)
    exponents[nonzero] = np.floor(np.log10(magnitude[nonzero])).astype(np.int64) - 8
    mantissas = np.rint(values * np.power(10.0, -exponents))
    too_short = nonzero & (np.abs(mantissas) < 1e8)
    too_long = np.abs(mantissas) >= 1e9
    exponents[too_short] -= 1
    exponents[too_long] += 1
    fix = too_short | too_long
    if fix.any():
        mantissas[fix] = np.rint(values[fix] * np.power(10.0, -exponents[fix]))
    return mantissas.astype(np.int64), exponents


def encode_vibration_lines(
    tags: Mapping[str, str], samples: np.ndarray, start_ns: int, sample_rate_hz: float
) -> list[str]:
    """The lines of :func:`encode_vibration_block`, one string (with newline) per sample."""
    body, _count = encode_vibration_block(tags, samples, start_ns, sample_rate_hz)
    return body.decode().splitlines(keepends=True)


def burst_id_for(machine: str, sensor: str, axis: str, start_ns: int) -> str:
    """The id of a burst: deterministic from where and when it was captured.

    ``<machine>:<sensor>:<axis>:<start_ns>``; the same capture uploaded twice has the same id, and
    the id alone locates the samples (tags + time) without scanning a field index.
    """
    return f"{machine}:{sensor}:{axis}:{int(start_ns)}"


def parse_burst_id(burst_id: str) -> tuple[str, str, str, int]:
    """Inverse of :func:`burst_id_for`; raises ``ValueError`` for anything else."""
    parts = burst_id.rsplit(":", 3)
    if len(parts) != 4 or not all(parts[:3]):
        raise ValueError(f"not a burst id: {burst_id!r}")
    machine, sensor, axis, start = parts
    return machine, sensor, axis, int(start)


def encode_json_field(value: object) -> str:
    """A compact JSON string for a string field (evidence lists, fault code lists)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def join_lines(lines: Iterable[str]) -> bytes:
    """Lines (each with or without a trailing newline) as one ``/write`` body."""
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode()
