"""Validated uploads as spool records (bytes on disk) and as InfluxDB line protocol.

A spool record is a JSON header (kind, ids, metadata, and for operating/fault uploads the whole
content) plus a binary body (a burst's float32 samples, little-endian). Decoding a record gives
back the same dataclass the ingest path validated, so the writer never re-validates.
"""
from __future__ import annotations

import json
import operator
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from telemetry.payloads import BurstUpload, FaultReport, OperatingBatch, Upload
from telemetry.schema import RP_LIFE, RP_RAW, burst_id_for, encode_vibration_block
from telemetry.store import BurstMeta, burst_meta_line, fault_lines, operating_block


@dataclass(frozen=True)
class StoredEvent:
    """What reached InfluxDB: ``kind`` is ``"burst" | "operating" | "faults"``."""

    kind: str
    machine: str
    upload_id: str
    burst_id: str | None = None


def to_record(upload: Upload) -> tuple[dict, bytes]:
    """``(header, body)`` of an upload for the spool."""
    if isinstance(upload, OperatingBatch):
        # columnar: field names once, values as a float64 matrix (NaN = field absent at that time);
        # a minute of 20 fields is ~10 kB instead of ~30 kB of JSON, and cheaper to (de)serialise
        matrix, names = _operating_matrix(upload.samples)
        return {"kind": "operating", "upload_id": upload.upload_id, "machine": upload.machine, "fields": names,
                "times": [t for t, _ in upload.samples]}, matrix.astype("<f8").tobytes()
    if isinstance(upload, FaultReport):
        return {"kind": "faults", "upload_id": upload.upload_id, "machine": upload.machine, "time_ns": upload.time_ns,
                "lamps": upload.lamps, "active": list(upload.active)}, b""
    if isinstance(upload, BurstUpload):
        header = {"kind": "burst", "upload_id": upload.upload_id, "machine": upload.machine,
                  "component": upload.component, "sensor": upload.sensor, "axis": upload.axis,
                  "sample_rate_hz": upload.sample_rate_hz, "start_ns": upload.start_ns, "units": upload.units,
                  "shaft_rpm": upload.shaft_rpm, "encoding": upload.encoding, "scale": upload.scale}
        return header, upload.samples.astype("<f4").tobytes()
    raise TypeError(f"not an upload: {type(upload).__name__}")


def _operating_matrix(samples: tuple) -> tuple[np.ndarray, list[str]]:
    """``(values, names)``: float64 (len(samples), len(names)), NaN where a sample lacks a field;
    names sorted. Every sample with the same fields (the usual upload) takes one C-level row
    lookup per sample."""
    first = samples[0][1].keys()
    names = sorted(first)
    if len(names) > 1 and all(fields.keys() == first for _, fields in samples):
        row_of = operator.itemgetter(*names)
        return np.array([row_of(fields) for _, fields in samples], dtype=np.float64), names
    names = sorted({name for _, fields in samples for name in fields})
    column = {name: j for j, name in enumerate(names)}
    matrix = np.full((len(samples), len(names)), np.nan)
    for i, (_, fields) in enumerate(samples):
        for name, value in fields.items():
            matrix[i, column[name]] = value
    return matrix, names


def from_record(header: dict, body: bytes) -> Upload:
    """Inverse of :func:`to_record`."""
    kind = header["kind"]
    if kind == "operating":
        names, times = header["fields"], header["times"]
        rows = np.frombuffer(body, dtype="<f8").reshape(len(times), len(names)).tolist()
        samples = tuple(
            (int(t), {name: value for name, value in zip(names, row) if value == value})  # NaN: absent
            for t, row in zip(times, rows)
        )
        return OperatingBatch(header["upload_id"], header["machine"], samples)
    if kind == "faults":
        return FaultReport(header["upload_id"], header["machine"], int(header["time_ns"]), header["lamps"],
                           tuple(header["active"]))
    if kind == "burst":
        samples = np.frombuffer(body, dtype="<f4").astype(np.float32)
        return BurstUpload(header["upload_id"], header["machine"], header["component"], header["sensor"],
                           header["axis"], float(header["sample_rate_hz"]), int(header["start_ns"]), header["units"],
                           float(header["shaft_rpm"]), header["encoding"], header["scale"], samples)
    raise ValueError(f"unknown record kind {kind!r}")


def encode_header(header: dict) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode()


def burst_meta(upload: BurstUpload) -> BurstMeta:
    return BurstMeta(
        burst_id=burst_id_for(upload.machine, upload.sensor, upload.axis, upload.start_ns),
        machine=upload.machine, component=upload.component, sensor=upload.sensor, axis=upload.axis,
        sample_rate_hz=upload.sample_rate_hz, start_ns=upload.start_ns, n_samples=len(upload.samples),
        units=upload.units, shaft_rpm=upload.shaft_rpm, encoding=upload.encoding, scale=upload.scale,
        upload_id=upload.upload_id,
    )


#: Line protocol as one block of text: ``(bytes, line_count)``, each line ending in a newline.
Block = tuple[bytes, int]


def blocks_by_rp(upload: Upload) -> dict[str, list[Block]]:
    """Line protocol of an upload per retention policy, as blocks of text with their line counts.

    A burst's metadata point comes after its samples in the same record, so a reader that finds
    the metadata also finds every sample once the record is acknowledged.
    """
    if isinstance(upload, OperatingBatch):
        return record_blocks(*to_record(upload))
    if isinstance(upload, FaultReport):
        return {RP_LIFE: [_block(fault_lines(upload.machine, upload.time_ns, upload.upload_id, upload.lamps,
                                             list(upload.active)))]}
    meta = burst_meta(upload)
    return {RP_RAW: [encode_vibration_block(meta.tags(), upload.samples, upload.start_ns, upload.sample_rate_hz)],
            RP_LIFE: [_block([burst_meta_line(meta)])]}


def record_blocks(header: dict, body: bytes) -> dict[str, list[Block]]:
    """:func:`blocks_by_rp` of a spool record; an operating record is encoded straight from its
    columns (no per-sample dicts), the others through :func:`from_record`."""
    if header["kind"] != "operating":
        return blocks_by_rp(from_record(header, body))
    names, times = header["fields"], header["times"]
    values = np.frombuffer(body, dtype="<f8").reshape(len(times), len(names))
    text, count = operating_block(header["machine"], names, times, values)
    return {RP_LIFE: [(text.encode(), count)]}


def record_event(header: dict, body: bytes) -> StoredEvent:
    """:func:`stored_event` of a spool record, without decoding an operating record's samples."""
    if header["kind"] == "operating":
        return StoredEvent("operating", header["machine"], header["upload_id"])
    return stored_event(from_record(header, body))


def lines_by_rp(upload: Upload) -> dict[str, list[str]]:
    """:func:`blocks_by_rp` as one string per line (with newline), for tests and small tools."""
    return {rp: [line for body, _ in blocks for line in body.decode().splitlines(keepends=True)]
            for rp, blocks in blocks_by_rp(upload).items()}


def _block(lines: list[str]) -> Block:
    return "".join(lines).encode(), len(lines)


def chunk_blocks(blocks: Iterable[Block], max_lines: int) -> Iterator[Block]:
    """``/write`` bodies of at most ``max_lines`` lines, in order, as even as the line count allows.

    Blocks are concatenated whole where they fit and split at newline offsets (found with NumPy,
    only in blocks that straddle a chunk boundary) where they do not; even chunks keep the number
    of ``/write`` requests (each a WAL fsync in InfluxDB) at the minimum for the number of lines.
    """
    blocks = [block for block in blocks if block[1]]
    total = sum(count for _, count in blocks)
    if not total:
        return
    chunks = -(-total // max_lines)
    size = -(-total // chunks)
    pieces: list[bytes] = []
    have = 0
    for body, count in blocks:
        ends = None  # byte offset after each line, computed only if this block must be split
        line = 0
        while line < count:
            take = min(size - have, count - line)
            if line == 0 and take == count:
                pieces.append(body)
            else:
                if ends is None:
                    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
                begin = int(ends[line - 1]) if line else 0
                pieces.append(body[begin:int(ends[line + take - 1])])
            line += take
            have += take
            if have == size:
                yield b"".join(pieces), have
                pieces, have = [], 0
    if have:
        yield b"".join(pieces), have


def stored_event(upload: Upload) -> StoredEvent:
    burst_id = burst_meta(upload).burst_id if isinstance(upload, BurstUpload) else None
    return StoredEvent(upload.kind, upload.machine, upload.upload_id, burst_id)
