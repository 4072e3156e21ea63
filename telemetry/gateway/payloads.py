"""Upload payloads exactly as docs/contracts.md defines them, ready to POST (pure functions).

Each builder returns an :class:`Upload`: the final body bytes (gzip-compressed when large) and the
headers that go with them, so a retry re-sends byte-identical content. Upload ids are stable: by
default a UUID 5 of the upload's content (its kind, machine and a SHA-256 of everything it
carries), so the same data always carries the same id and the server stores it once, even across
a gateway restart, while different data for the same times (another simulator seed) is not
mistaken for a repeat.
JSON is written compactly in insertion order and gzip with ``mtime=0``: the same input gives the
same bytes.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..schema import OPERATING_FIELDS

__all__ = [
    "Upload",
    "PATH_OPERATING",
    "PATH_BURSTS",
    "PATH_FAULTS",
    "stable_upload_id",
    "content_upload_id",
    "to_ns",
    "encode_samples",
    "operating_payload",
    "burst_payload",
    "faults_payload",
    "operating_upload",
    "burst_json_upload",
    "burst_binary_upload",
    "faults_upload",
]

PATH_OPERATING = "/api/v1/ingest/operating"
PATH_BURSTS = "/api/v1/ingest/bursts"
PATH_FAULTS = "/api/v1/ingest/faults"

# Fixed namespace of Ironwatch gateway upload ids (a random UUID chosen once).
_UPLOAD_NAMESPACE = uuid.UUID("6f1c2b9e-3d4a-4c8e-9b7f-2a5d1e0c8b43")
_LAMPS = ("mil", "red_stop", "amber_warning", "protect")


@dataclass(frozen=True)
class Upload:
    """One upload as it goes on the wire: endpoint path, body bytes and content headers."""

    upload_id: str
    kind: str                      # "operating" | "burst" | "faults"
    path: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def content_upload_id(kind: str, machine: str, *content: bytes | str) -> str:
    """The default upload id: a UUID 5 of the kind, the machine and a SHA-256 of the content."""
    digest = hashlib.sha256()
    for part in content:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x1f")
    return stable_upload_id(kind, machine, digest.hexdigest())


def stable_upload_id(*parts: object) -> str:
    """A UUID 5 (string) of ``parts``: the same parts always give the same id."""
    return str(uuid.uuid5(_UPLOAD_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def to_ns(when) -> int:
    """UTC time as int ns since the epoch, from int ns, an aware datetime or an RFC 3339 string."""
    if isinstance(when, (int, np.integer)) and not isinstance(when, bool):
        return int(when)
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            raise ValueError("a datetime must carry a time zone (UTC)")
        delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    raise TypeError(f"cannot read a time from {type(when).__name__}")


def encode_samples(samples, encoding: str = "float32le", scale: float | None = None) -> tuple[bytes, float | None]:
    """Raw little-endian sample bytes and the scale used.

    Parameters
    ----------
    samples : array-like, shape (n,)
        Physical values (m/s² or g).
    encoding : str
        ``"float32le"`` (4 bytes/sample) or ``"int16le"`` (2 bytes/sample, value = count * scale).
    scale : float, optional
        Physical units per count for int16le; default: full scale = the largest magnitude.

    Returns
    -------
    (bytes, scale or None)
    """
    values = np.asarray(samples, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("a burst needs at least one sample")
    if not np.all(np.isfinite(values)):
        raise ValueError("samples must be finite")
    if encoding == "float32le":
        return values.astype("<f4").tobytes(), None
    if encoding == "int16le":
        if scale is None:
            peak = float(np.max(np.abs(values)))
            scale = peak / 32767.0 if peak > 0 else 1.0
        counts = np.clip(np.rint(values / scale), -32768, 32767).astype("<i2")
        return counts.tobytes(), float(scale)
    raise ValueError(f"encoding must be 'float32le' or 'int16le', got {encoding!r}")


def operating_payload(upload_id: str, machine: str, samples: Sequence[tuple[int, Mapping[str, float]]],
                      layout: str = "columns") -> dict:
    """The operating-data JSON object for ``(t_ns, {field: value})`` samples.

    ``layout="columns"`` (the default: each field name once, a third less data on the wire than
    rows) gives one array per field, ``null`` where a sample lacks that field; ``"rows"`` one
    object per sample. Refuses (ValueError) a field the schema does not know, or a sample without
    fields.
    """
    if not samples:
        raise ValueError("an operating upload needs at least one sample")
    names: dict[str, None] = {}
    for t_ns, fields in samples:
        if not fields:
            raise ValueError(f"the sample at {t_ns} has no fields")
        names.update(dict.fromkeys(fields))
    unknown = [name for name in names if name not in OPERATING_FIELDS]
    if unknown:
        raise ValueError(f"fields not in telemetry.schema.OPERATING_FIELDS: {', '.join(sorted(unknown))}")
    if layout == "rows":
        return {"upload_id": upload_id, "machine": machine,
                "samples": [{"time": int(t_ns), "fields": dict(fields)} for t_ns, fields in samples]}
    if layout != "columns":
        raise ValueError(f"layout must be 'columns' or 'rows', got {layout!r}")
    return {"upload_id": upload_id, "machine": machine, "times": [int(t_ns) for t_ns, _ in samples],
            "fields": {name: [fields.get(name) for _, fields in samples] for name in names}}


def burst_payload(upload_id: str, machine: str, sensor: str, axis: str, sample_rate_hz: float, start_ns: int,
                  shaft_rpm: float, raw: bytes, units: str, encoding: str, scale: float | None,
                  hour_meter_h: float | None = None) -> dict:
    """The vibration-burst JSON object, samples as base64 of the raw little-endian bytes;
    ``hour_meter_h`` (the engine hour meter at capture, h) only when given."""
    payload = {"upload_id": upload_id, "machine": machine, "sensor": sensor, "axis": axis,
               "sample_rate_hz": float(sample_rate_hz), "start": int(start_ns), "units": units,
               "shaft_rpm": round(float(shaft_rpm), 1), "encoding": encoding}
    if scale is not None:
        payload["scale"] = scale
    if hour_meter_h is not None:
        payload["hour_meter_h"] = _hour_meter(hour_meter_h)
    payload["samples"] = base64.b64encode(raw).decode("ascii")
    return payload


def faults_payload(upload_id: str, machine: str, time_ns: int, lamps: Mapping[str, int],
                   active: Sequence[Mapping[str, int]]) -> dict:
    """The DM1 fault-code JSON object (all four lamps always present)."""
    return {"upload_id": upload_id, "machine": machine, "time": int(time_ns),
            "lamps": {name: int(lamps.get(name, 0)) for name in _LAMPS},
            "active": [{"spn": int(c["spn"]), "fmi": int(c["fmi"]),
                        "occurrence_count": int(c.get("occurrence_count", 1))} for c in active]}


def _finish(upload_id: str, kind: str, path: str, body: bytes, headers: dict[str, str],
            gzip_min_bytes: int) -> Upload:
    if len(body) >= gzip_min_bytes:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Upload(upload_id, kind, path, body, headers)


_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"   # as long as any UUID string


def _json_upload(upload_id: str | None, kind: str, path: str, payload: dict, gzip_min_bytes: int) -> Upload:
    """Encode ``payload`` once; without an id, the id is a digest of the body with a placeholder id.

    ``payload["upload_id"]`` must be ``upload_id`` or, when None, :data:`_ID_PLACEHOLDER`; hashing
    the encoded body avoids encoding the samples a second time just for the digest.
    """
    body = _compact(payload).encode()
    if upload_id is None:
        upload_id = content_upload_id(kind, payload["machine"], body)
        body = body.replace(f'"upload_id":"{_ID_PLACEHOLDER}"'.encode(), f'"upload_id":"{upload_id}"'.encode(), 1)
    return _finish(upload_id, kind, path, body, {"Content-Type": "application/json"}, gzip_min_bytes)


def operating_upload(machine: str, samples: Sequence[tuple[int, Mapping[str, float]]],
                     upload_id: str | None = None, gzip_min_bytes: int = 4096, layout: str = "columns") -> Upload:
    """An operating-data upload (see :func:`operating_payload`); the default id is a digest of
    the body."""
    payload = operating_payload(upload_id or _ID_PLACEHOLDER, machine, samples, layout)
    return _json_upload(upload_id, "operating", PATH_OPERATING, payload, gzip_min_bytes)


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _hour_meter(hours: float) -> float:
    """The hour meter as sent: to 1/10,000 h (0.36 s), as the simulated ECU reports it."""
    return round(float(hours), 4)


def _burst_id(machine: str, sensor: str, axis: str, sample_rate_hz: float, start_ns: int, shaft_rpm: float,
              units: str, raw: bytes, upload_id: str | None, hour_meter_h: float | None = None) -> str:
    fields = [sensor, axis, float(sample_rate_hz), int(start_ns), round(float(shaft_rpm), 1), units]
    if hour_meter_h is not None:   # ids of bursts without a reading stay what they were
        fields.append(_hour_meter(hour_meter_h))
    return upload_id or content_upload_id("burst", machine, _compact(fields), raw)


def burst_json_upload(machine: str, sensor: str, axis: str, sample_rate_hz: float, start_ns: int,
                      shaft_rpm: float, samples, units: str = "m/s2", encoding: str = "float32le",
                      upload_id: str | None = None, gzip_min_bytes: int = 4096,
                      hour_meter_h: float | None = None) -> Upload:
    """A burst as JSON with base64 samples; the default id is a digest of metadata and samples."""
    raw, scale = encode_samples(samples, encoding)
    upload_id = _burst_id(machine, sensor, axis, sample_rate_hz, start_ns, shaft_rpm, units, raw, upload_id,
                          hour_meter_h)
    payload = burst_payload(upload_id, machine, sensor, axis, sample_rate_hz, start_ns, shaft_rpm, raw,
                            units, encoding, scale, hour_meter_h)
    return _json_upload(upload_id, "burst", PATH_BURSTS, payload, gzip_min_bytes)


def burst_binary_upload(machine: str, sensor: str, axis: str, sample_rate_hz: float, start_ns: int,
                        shaft_rpm: float, samples, units: str = "m/s2", encoding: str = "float32le",
                        upload_id: str | None = None, gzip_min_bytes: int = 4096,
                        hour_meter_h: float | None = None) -> Upload:
    """A burst as ``application/octet-stream`` with the metadata in ``X-Ironwatch-*`` headers."""
    raw, scale = encode_samples(samples, encoding)
    upload_id = _burst_id(machine, sensor, axis, sample_rate_hz, start_ns, shaft_rpm, units, raw, upload_id,
                          hour_meter_h)
    headers = {"Content-Type": "application/octet-stream", "X-Ironwatch-Upload-Id": upload_id,
               "X-Ironwatch-Machine": machine, "X-Ironwatch-Sensor": sensor, "X-Ironwatch-Axis": axis,
               "X-Ironwatch-Sample-Rate-Hz": repr(float(sample_rate_hz)), "X-Ironwatch-Start": str(int(start_ns)),
               "X-Ironwatch-Units": units, "X-Ironwatch-Shaft-Rpm": repr(round(float(shaft_rpm), 1)),
               "X-Ironwatch-Encoding": encoding}
    if scale is not None:
        headers["X-Ironwatch-Scale"] = repr(scale)
    if hour_meter_h is not None:
        headers["X-Ironwatch-Hour-Meter-H"] = repr(_hour_meter(hour_meter_h))
    return _finish(upload_id, "burst", PATH_BURSTS, raw, headers, gzip_min_bytes)


def faults_upload(machine: str, time_ns: int, lamps: Mapping[str, int], active: Sequence[Mapping[str, int]],
                  upload_id: str | None = None, gzip_min_bytes: int = 4096) -> Upload:
    """A DM1 upload; the default id is a digest of time, lamps and codes."""
    payload = faults_payload(upload_id or _ID_PLACEHOLDER, machine, time_ns, lamps, active)
    return _json_upload(upload_id, "faults", PATH_FAULTS, payload, gzip_min_bytes)
