"""Parsing and validation of the three upload kinds (operating data, vibration bursts, DM1 faults).

Pure functions: bytes/dicts in, frozen dataclasses out, or :class:`IngestError` naming the field
and the rule that refused the upload. Formats are those of ``docs/contracts.md``.
"""
from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import numpy as np

from telemetry.devices import DeviceIdentity
from telemetry.json_input import JsonRefused, loads_untrusted
from telemetry.schema import OPERATING_FIELDS

KINDS = ("operating", "burst", "faults")
UNITS = ("m/s2", "g")
ENCODINGS = {"float32le": np.dtype("<f4"), "int16le": np.dtype("<i2")}
AXES = ("radial", "axial", "tangential", "vertical", "horizontal", "x", "y", "z")
LAMP_NAMES = ("mil", "red_stop", "amber_warning", "protect")
BURST_KEYS = ("upload_id", "machine", "sensor", "axis", "sample_rate_hz", "start", "units", "shaft_rpm", "encoding", "scale",
              "hour_meter_h")
#: The engine hour meter's plausible range (h), the operating field's: a burst may carry its reading.
HOUR_METER_FIELD = "hour_meter_h"
# Patterns are matched whole (fullmatch: ``$`` would accept a final newline) and in ASCII only
# (``\d`` and ``str.isdigit`` accept "²" and "٣", which ``int`` then refuses or reads differently).
_UPLOAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", re.ASCII)
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,25}", re.ASCII)
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


class IngestError(Exception):
    """An upload refused: HTTP ``status``, machine-readable ``code``, the offending ``field``
    (a JSON path such as ``samples[3].fields.coolant_temp_c``), the ``rule`` it broke and a
    sentence for people. ``retry_after`` (seconds) is set for 503."""

    def __init__(self, status: int, code: str, field: str, rule: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
        self.rule = rule
        self.message = message
        self.retry_after = retry_after

    def to_dict(self) -> dict:
        return {"error": self.code, "field": self.field, "rule": self.rule, "message": self.message}


def invalid(field_path: str, rule: str, message: str) -> IngestError:
    return IngestError(422, "invalid", field_path, rule, message)


@dataclass(frozen=True)
class Limits:
    """Configured bounds of what an upload may contain.

    Sizes in bytes, rates in Hz, times in seconds relative to server time.
    """

    max_request_bytes: int = 16 * 1024 * 1024  # as received (compressed or not)
    max_decoded_bytes: int = 64 * 1024 * 1024  # after gunzip
    max_operating_samples: int = 10_000
    min_sample_rate_hz: float = 256.0
    max_sample_rate_hz: float = 102_400.0
    min_burst_samples: int = 256
    max_burst_samples: int = 1_048_576
    max_past_s: float = 7 * 86400.0  # gateways buffer through coverage gaps, but not for ever
    max_future_s: float = 300.0  # clock skew allowed
    max_shaft_rpm: float = 100_000.0
    max_active_faults: int = 256


# --------------------------------------------------------------------------- upload dataclasses


@dataclass(frozen=True, eq=False)
class OperatingBatch:
    """Validated operating data, columnar.

    ``values[i, j]`` is field ``names[j]`` at ``times_ns[i]``: float64, shape
    ``(len(times_ns), len(names))``, NaN where that sample lacks the field (validated values are
    finite, so NaN only ever means absent). ``names`` are sorted; ``times_ns`` is int64 UTC ns.
    Columns are what both the spool record and the line-protocol encoder want, so no per-sample
    objects are made after validation.
    """

    upload_id: str
    machine: str
    names: tuple[str, ...]
    times_ns: np.ndarray
    values: np.ndarray
    kind: str = field(default="operating", init=False)

    @classmethod
    def from_samples(cls, upload_id: str, machine: str,
                     samples: Iterable[tuple[int, Mapping[str, float]]]) -> "OperatingBatch":
        """A batch from ``(t_ns, {field: value})`` pairs (samples may carry different fields)."""
        samples = list(samples)
        names = tuple(sorted({name for _, fields in samples for name in fields}))
        column = {name: j for j, name in enumerate(names)}
        values = np.full((len(samples), len(names)), np.nan)
        for i, (_, fields) in enumerate(samples):
            for name, value in fields.items():
                values[i, column[name]] = value
        times = np.array([int(t) for t, _ in samples], dtype=np.int64)
        return cls(upload_id, machine, names, times, values)

    @property
    def samples(self) -> tuple[tuple[int, dict[str, float]], ...]:
        """The batch as ``(t_ns, {field: value})`` pairs, absent fields left out."""
        return tuple((t, {name: v for name, v in zip(self.names, row) if v == v})  # NaN: absent
                     for t, row in zip(self.times_ns.tolist(), self.values.tolist()))

    @property
    def points(self) -> int:
        return len(self.times_ns)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, OperatingBatch) and (self.upload_id, self.machine, self.names)
                == (other.upload_id, other.machine, other.names) and np.array_equal(self.times_ns, other.times_ns)
                and np.array_equal(self.values, other.values, equal_nan=True))


@dataclass(frozen=True)
class BurstUpload:
    """A validated burst. ``samples`` are float32 in ``units`` (int16 uploads already scaled)."""

    upload_id: str
    machine: str
    component: str
    sensor: str
    axis: str
    sample_rate_hz: float
    start_ns: int
    units: str
    shaft_rpm: float
    encoding: str
    scale: float | None
    samples: np.ndarray = field(compare=False)
    #: The engine hour meter at capture (h), when the gateway sends it: the burst's place on the
    #: machine's operating-hour axis (RUL ages on it). None for gateways that do not send it.
    hour_meter_h: float | None = None
    kind: str = field(default="burst", init=False)

    @property
    def points(self) -> int:
        return len(self.samples) + 1  # one per sample plus the metadata point


@dataclass(frozen=True)
class FaultReport:
    upload_id: str
    machine: str
    time_ns: int
    lamps: dict[str, int]
    active: tuple[dict[str, int], ...]
    kind: str = field(default="faults", init=False)

    @property
    def points(self) -> int:
        return 1 + len(self.active)


Upload = OperatingBatch | BurstUpload | FaultReport


# --------------------------------------------------------------------------- body handling


def decode_body(body: bytes, headers: Mapping[str, str], limits: Limits) -> bytes:
    """The request body, gunzipped when ``Content-Encoding: gzip``; enforces both size limits."""
    if len(body) > limits.max_request_bytes:
        raise IngestError(413, "too_large", "body", "max_request_bytes",
                          f"request body is {len(body)} bytes; the limit is {limits.max_request_bytes}")
    encoding = header(headers, "Content-Encoding").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise IngestError(415, "unsupported_media_type", "Content-Encoding", "gzip_or_identity",
                          f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    # bounded decompression: a small gzip bomb must not exhaust memory
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, limits.max_decoded_bytes + 1)
    except zlib.error as exc:
        raise invalid("body", "gzip", f"body is not valid gzip: {exc}") from exc
    if len(data) > limits.max_decoded_bytes or decompressor.unconsumed_tail:
        raise IngestError(413, "too_large", "body", "max_decoded_bytes",
                          f"decompressed body exceeds {limits.max_decoded_bytes} bytes")
    if not decompressor.eof:
        raise invalid("body", "gzip", "gzip body is truncated")
    return data


def header(headers: Mapping[str, str], name: str) -> str:
    """A header value by case-insensitive name ('' when absent); works for dicts and Werkzeug."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value or ""


def media_type(headers: Mapping[str, str]) -> str:
    return header(headers, "Content-Type").split(";")[0].strip().lower()


def require_json(headers: Mapping[str, str]) -> None:
    kind = media_type(headers)
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise IngestError(415, "unsupported_media_type", "Content-Type", "application_json",
                          f"Content-Type {kind!r} is not accepted here; send application/json")


def parse_json_object(data: bytes) -> dict:
    """A JSON object from bytes, through the bounded parser (:mod:`telemetry.json_input`)."""
    try:
        value = loads_untrusted(data)
    except JsonRefused as refused:
        raise invalid("body", refused.rule, refused.message) from None
    if not isinstance(value, dict):
        raise invalid("body", "json_object", "body must be a JSON object")
    return value


# --------------------------------------------------------------------------- scalar rules


def require(obj: Mapping[str, Any], key: str, path: str = "") -> Any:
    if key not in obj or obj[key] is None:
        raise invalid(path + key, "required", f"{path + key} is required")
    return obj[key]


def check_upload_id(value: Any) -> str:
    if not isinstance(value, str) or not _UPLOAD_ID.fullmatch(value):
        raise invalid("upload_id", "format",
                      "upload_id must be 1-64 characters of letters, digits and . _ : - (a UUID is typical)")
    return value


def check_machine(value: Any, identity: DeviceIdentity) -> str:
    if not isinstance(value, str) or not value:
        raise invalid("machine", "type", "machine must be a non-empty string")
    if value != identity.machine:
        raise IngestError(403, "forbidden", "machine", "own_machine",
                          f"this device may only upload data of machine {identity.machine!r}, not {value!r}")
    return value


def number(value: Any, path: str) -> float:
    """A finite JSON number (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(path, "number", f"{path} must be a number")
    try:
        result = float(value)
    except OverflowError:  # a JSON integer too large for a float
        result = math.inf
    if not math.isfinite(result):
        raise invalid(path, "finite", f"{path} must be finite")
    return result


def integer(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(path, "range", f"{path} must be an integer in [{low}, {high}]")
    return value


def parse_time_ns(value: Any, path: str) -> int:
    """RFC 3339 (with zone; up to 9 fraction digits) or integer ns since the epoch → UTC ns."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise invalid(path, "time", f"{path} must be an RFC 3339 string or integer nanoseconds")
    text = value.strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    match = _RFC3339.fullmatch(text)
    if not match:
        raise invalid(path, "time", f"{path} {value!r} is not RFC 3339 with a time zone (e.g. 2026-11-25T10:00:00Z)")
    date, clock, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{'+00:00' if zone in 'Zz' else zone}")
    except ValueError as exc:
        raise invalid(path, "time", f"{path} {value!r}: {exc}") from exc
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds())
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def time_window(now_ns: int, limits: Limits) -> tuple[int, int]:
    """The accepted timestamps ``[low, high]`` in UTC ns at server time ``now_ns``."""
    return now_ns - int(limits.max_past_s * 1e9), now_ns + int(limits.max_future_s * 1e9)


def check_time_window(t_ns: int, path: str, now_ns: int, limits: Limits) -> int:
    low, high = time_window(now_ns, limits)
    if not low <= t_ns <= high:
        raise invalid(path, "time_window",
                      f"{path} is outside the accepted window (from {limits.max_past_s:.0f} s before to "
                      f"{limits.max_future_s:.0f} s after server time)")
    return t_ns


# --------------------------------------------------------------------------- faults


def parse_faults(obj: Mapping[str, Any], identity: DeviceIdentity, limits: Limits, now_ns: int) -> FaultReport:
    upload_id = check_upload_id(require(obj, "upload_id"))
    machine = check_machine(require(obj, "machine"), identity)
    t_ns = check_time_window(parse_time_ns(require(obj, "time"), "time"), "time", now_ns, limits)
    lamps_raw = obj.get("lamps", {})
    if not isinstance(lamps_raw, dict):
        raise invalid("lamps", "object", "lamps must be an object")
    unknown = set(lamps_raw) - set(LAMP_NAMES)
    if unknown:
        raise invalid(f"lamps.{sorted(unknown)[0]}", "known_lamp", f"lamps may only hold {', '.join(LAMP_NAMES)}")
    lamps = {name: integer(lamps_raw.get(name, 0), f"lamps.{name}", 0, 3) for name in LAMP_NAMES}
    active_raw = obj.get("active", [])
    if not isinstance(active_raw, list):
        raise invalid("active", "list", "active must be a list of {spn, fmi, occurrence_count}")
    if len(active_raw) > limits.max_active_faults:
        raise IngestError(413, "too_large", "active", "max_active_faults",
                          f"{len(active_raw)} active codes; at most {limits.max_active_faults}")
    active = []
    for i, code in enumerate(active_raw):
        path = f"active[{i}]"
        if not isinstance(code, dict):
            raise invalid(path, "object", f"{path} must be an object")
        active.append({
            "spn": integer(require(code, "spn", path + "."), path + ".spn", 0, 524_287),  # 19-bit SPN
            "fmi": integer(require(code, "fmi", path + "."), path + ".fmi", 0, 31),
            "occurrence_count": integer(code.get("occurrence_count", 0), path + ".occurrence_count", 0, 126),
        })
    return FaultReport(upload_id, machine, t_ns, lamps, tuple(active))


# --------------------------------------------------------------------------- bursts


def burst_header_name(key: str) -> str:
    """``sample_rate_hz`` → ``X-Ironwatch-Sample-Rate-Hz``."""
    return "X-Ironwatch-" + "-".join(part.capitalize() for part in key.split("_"))


def binary_burst_metadata(headers: Mapping[str, str], query: Mapping[str, str]) -> dict:
    """Metadata of an octet-stream burst from ``X-Ironwatch-*`` headers, else query parameters.

    Numbers arrive as text; they are converted here (a bad one is refused by name).
    """
    meta: dict[str, Any] = {}
    for key in BURST_KEYS:
        text = header(headers, burst_header_name(key)) or (query.get(key) or "")
        if not text:
            continue
        if key in ("sample_rate_hz", "shaft_rpm", "scale", HOUR_METER_FIELD):
            # a decimal number as ASCII text: float() alone would take "nan", "1_0" and "١٢"
            if not _DECIMAL_TEXT.fullmatch(text.strip()):
                raise invalid(key, "number", f"{key} {text!r} is not a decimal number")
            meta[key] = float(text)
        elif key == "start" and _INTEGER_TEXT.fullmatch(text.strip()):
            meta[key] = int(text)
        else:
            meta[key] = text
    return meta


def parse_burst(
    meta: Mapping[str, Any], raw: bytes | None, identity: DeviceIdentity, limits: Limits, now_ns: int
) -> BurstUpload:
    """Validate a burst. ``raw`` is the binary body (octet-stream); for JSON it is None and the
    samples come base64-encoded in ``meta["samples"]``."""
    upload_id = check_upload_id(require(meta, "upload_id"))
    machine = check_machine(require(meta, "machine"), identity)
    sensor_name = require(meta, "sensor")
    sensor = identity.sensors.get(sensor_name) if isinstance(sensor_name, str) else None
    if sensor is None:
        raise IngestError(404, "not_found", "sensor", "known_sensor",
                          f"machine {machine!r} has no sensor {sensor_name!r}")
    axis = require(meta, "axis")
    if axis not in AXES:
        raise invalid("axis", "known_axis", f"axis must be one of {', '.join(AXES)}")
    fs = number(require(meta, "sample_rate_hz"), "sample_rate_hz")
    if not limits.min_sample_rate_hz <= fs <= limits.max_sample_rate_hz:
        raise invalid("sample_rate_hz", "range",
                      f"sample_rate_hz={fs} is outside [{limits.min_sample_rate_hz}, {limits.max_sample_rate_hz}] Hz")
    start_ns = check_time_window(parse_time_ns(require(meta, "start"), "start"), "start", now_ns, limits)
    units = require(meta, "units")
    if units not in UNITS:
        raise invalid("units", "known_units", f"units must be one of {', '.join(UNITS)}")
    shaft_rpm = number(require(meta, "shaft_rpm"), "shaft_rpm")
    if not 0.0 <= shaft_rpm <= limits.max_shaft_rpm:
        raise invalid("shaft_rpm", "range", f"shaft_rpm={shaft_rpm} is outside [0, {limits.max_shaft_rpm}]")
    encoding = meta.get("encoding") or "float32le"
    if not isinstance(encoding, str) or encoding not in ENCODINGS:
        raise invalid("encoding", "known_encoding", f"encoding must be one of {', '.join(ENCODINGS)}")
    scale = None
    if encoding == "int16le":
        scale = number(require(meta, "scale"), "scale")
        if scale <= 0:
            raise invalid("scale", "positive", "scale (physical units per count) must be positive")
    hour_meter = check_hour_meter(meta.get(HOUR_METER_FIELD))
    if raw is None:
        text = require(meta, "samples")
        if not isinstance(text, str):
            raise invalid("samples", "base64", "samples must be a base64 string")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid("samples", "base64", f"samples is not valid base64: {exc}") from exc
    dtype = ENCODINGS[encoding]
    if len(raw) % dtype.itemsize:
        raise invalid("samples", "whole_samples", f"{len(raw)} bytes is not a whole number of {encoding} samples")
    n = len(raw) // dtype.itemsize
    if not limits.min_burst_samples <= n <= limits.max_burst_samples:
        raise invalid("samples", "burst_length",
                      f"{n} samples; a burst has {limits.min_burst_samples} to {limits.max_burst_samples}")
    counts = np.frombuffer(raw, dtype=dtype)
    if encoding == "int16le":
        samples = (counts.astype(np.float64) * scale).astype(np.float32)
    else:
        samples = counts.astype(np.float32)  # native-endian copy of the little-endian input
    finite = np.isfinite(samples)
    if not finite.all():
        first = int(np.argmin(finite))
        raise invalid(f"samples[{first}]", "finite", f"sample {first} is {samples[first]}; samples must be finite")
    return BurstUpload(upload_id, machine, sensor.component, sensor.name, axis, fs, start_ns, units,
                       shaft_rpm, encoding, scale, samples, hour_meter)


def check_hour_meter(value: Any) -> float | None:
    """The burst's optional engine hour meter (h): absent (None) or a finite number within the
    operating field's range (``telemetry.schema.OPERATING_FIELDS["hour_meter_h"]``)."""
    if value is None:
        return None
    hours = number(value, HOUR_METER_FIELD)
    bounds = OPERATING_FIELDS[HOUR_METER_FIELD]
    if not bounds.minimum <= hours <= bounds.maximum:
        raise invalid(HOUR_METER_FIELD, "range",
                      f"{HOUR_METER_FIELD}={hours} is outside [{bounds.minimum:g}, {bounds.maximum:g}] h "
                      f"(the engine hour meter at capture)")
    return hours
