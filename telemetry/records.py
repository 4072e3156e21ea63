"""Validated uploads as spool records (bytes on disk) and as InfluxDB line protocol.

A spool record is a JSON header (kind, ids, metadata, and for operating/fault uploads the whole
content) plus a binary body (a burst's float32 samples, little-endian). Decoding a record gives
back the same dataclass the ingest path validated, so the writer never re-validates.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from telemetry.payloads import BurstUpload, FaultReport, OperatingBatch, Upload
from telemetry.schema import RP_LIFE, RP_RAW, burst_id_for, encode_vibration_block
from telemetry.operating_lines import operating_block
from telemetry.store import BurstMeta, burst_meta_line, fault_lines


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
        # columnar: field names once; the body is the int64 times then the float64 value matrix
        # (NaN = field absent at that time): a minute of 20 fields is ~10 kB instead of ~30 kB of JSON
        header = {"kind": "operating", "upload_id": upload.upload_id, "machine": upload.machine,
                  "fields": list(upload.names), "rows": upload.points}
        return header, upload.times_ns.astype("<i8").tobytes() + upload.values.astype("<f8").tobytes()
    if isinstance(upload, FaultReport):
        return {"kind": "faults", "upload_id": upload.upload_id, "machine": upload.machine, "time_ns": upload.time_ns,
                "lamps": upload.lamps, "active": list(upload.active)}, b""
    if isinstance(upload, BurstUpload):
        header = {"kind": "burst", "upload_id": upload.upload_id, "machine": upload.machine,
                  "component": upload.component, "sensor": upload.sensor, "axis": upload.axis,
                  "sample_rate_hz": upload.sample_rate_hz, "start_ns": upload.start_ns, "units": upload.units,
                  "shaft_rpm": upload.shaft_rpm, "encoding": upload.encoding, "scale": upload.scale}
        if upload.hour_meter_h is not None:
            header["hour_meter_h"] = upload.hour_meter_h
        return header, upload.samples.astype("<f4").tobytes()
    raise TypeError(f"not an upload: {type(upload).__name__}")


def _operating_columns(header: dict, body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``(times_ns int64 (n,), values float64 (n, fields))`` of an operating record.

    Records spooled before the times moved into the body carry them in the header as a list;
    they are still read, so an upgrade loses nothing that was acknowledged before it.
    """
    names = header["fields"]
    if "times" in header:
        times = np.array(header["times"], dtype=np.int64)
        return times, np.frombuffer(body, dtype="<f8").reshape(len(times), len(names))
    rows = int(header["rows"])
    times = np.frombuffer(body, dtype="<i8", count=rows)
    return times, np.frombuffer(body, dtype="<f8", offset=8 * rows).reshape(rows, len(names))


def from_record(header: dict, body: bytes) -> Upload:
    """Inverse of :func:`to_record`."""
    kind = header["kind"]
    if kind == "operating":
        times, values = _operating_columns(header, body)
        return OperatingBatch(header["upload_id"], header["machine"], tuple(header["fields"]), times, values)
    if kind == "faults":
        return FaultReport(header["upload_id"], header["machine"], int(header["time_ns"]), header["lamps"],
                           tuple(header["active"]))
    if kind == "burst":
        samples = np.frombuffer(body, dtype="<f4").astype(np.float32)
        return BurstUpload(header["upload_id"], header["machine"], header["component"], header["sensor"],
                           header["axis"], float(header["sample_rate_hz"]), int(header["start_ns"]), header["units"],
                           float(header["shaft_rpm"]), header["encoding"], header["scale"], samples,
                           header.get("hour_meter_h"))  # absent in records spooled before it existed
    raise ValueError(f"unknown record kind {kind!r}")


def encode_header(header: dict) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode()


def burst_meta(upload: BurstUpload) -> BurstMeta:
    return BurstMeta(
        burst_id=burst_id_for(upload.machine, upload.sensor, upload.axis, upload.start_ns),
        machine=upload.machine, component=upload.component, sensor=upload.sensor, axis=upload.axis,
        sample_rate_hz=upload.sample_rate_hz, start_ns=upload.start_ns, n_samples=len(upload.samples),
        units=upload.units, shaft_rpm=upload.shaft_rpm, encoding=upload.encoding, scale=upload.scale,
        upload_id=upload.upload_id, hour_meter_h=upload.hour_meter_h,
    )


#: Line protocol as one block of text: ``(bytes, line_count)``, each line ending in a newline.
Block = tuple[bytes, int]


def blocks_by_rp(upload: Upload) -> dict[str, list[Block]]:
    """Line protocol of an upload per retention policy, as blocks of text with their line counts.

    A burst's metadata point comes after its samples in the same record, so a reader that finds
    the metadata also finds every sample once the record is acknowledged.
    """
    if isinstance(upload, OperatingBatch):
        return {RP_LIFE: [operating_block(upload.machine, upload.names, upload.times_ns, upload.values)]}
    if isinstance(upload, FaultReport):
        return {RP_LIFE: [_block(fault_lines(upload.machine, upload.time_ns, upload.upload_id, upload.lamps,
                                             list(upload.active)))]}
    meta = burst_meta(upload)
    return {RP_RAW: [encode_vibration_block(meta.tags(), upload.samples, upload.start_ns, upload.sample_rate_hz)],
            RP_LIFE: [_block([burst_meta_line(meta)])]}


def records_blocks(records: Iterable[tuple[dict, bytes]]) -> dict[str, list[Block]]:
    """:func:`blocks_by_rp` of many spool records at once.

    Operating records of one machine with the same fields are encoded together, as one block:
    a minute of operating data is too small for NumPy to pay off on its own, an hour of them is
    not. Points are independent in InfluxDB, so the order of lines within a write does not matter.
    """
    by_rp: dict[str, list[Block]] = {}
    operating: dict[tuple, list[tuple[np.ndarray, np.ndarray]]] = {}
    for header, body in records:
        if header["kind"] == "operating":
            key = (header["machine"], tuple(header["fields"]))
            operating.setdefault(key, []).append(_operating_columns(header, body))
            continue
        for rp, blocks in blocks_by_rp(from_record(header, body)).items():
            by_rp.setdefault(rp, []).extend(blocks)
    for (machine, names), columns in operating.items():
        times = np.concatenate([t for t, _ in columns])
        values = np.concatenate([v for _, v in columns])
        by_rp.setdefault(RP_LIFE, []).append(operating_block(machine, names, times, values))
    return by_rp


def record_line_count(header: dict, body: bytes) -> int:
    """How many lines of line protocol a spool record becomes (without encoding it)."""
    kind = header["kind"]
    if kind == "operating":
        return int(header["rows"]) if "rows" in header else len(header["times"])
    if kind == "burst":
        return len(body) // 4 + 1  # float32 samples and the metadata point
    return 1 + len(header["active"])


def record_event(header: dict, body: bytes) -> StoredEvent:
    """What a spool record becomes once stored, from its header alone (the writer has already
    decoded the body once to encode it)."""
    burst_id = None
    if header["kind"] == "burst":
        burst_id = burst_id_for(header["machine"], header["sensor"], header["axis"], int(header["start_ns"]))
    return StoredEvent(header["kind"], header["machine"], header["upload_id"], burst_id)


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
                    ends = _line_ends(body, count)
                begin = int(ends[line - 1]) if line else 0
                pieces.append(body[begin:int(ends[line + take - 1])])
            line += take
            have += take
            if have == size:
                yield b"".join(pieces), have
                pieces, have = [], 0
    if have:
        yield b"".join(pieces), have


def _line_ends(body: bytes, count: int) -> np.ndarray:
    """Byte offset after each of the ``count`` lines of ``body``, shape (count,).

    Bursts and operating blocks are written with lines of one width (``textmatrix``): when every
    width-th byte is a newline, those are the block's ``count`` newlines and nothing is scanned.
    """
    data = np.frombuffer(body, dtype=np.uint8)
    width, rest = divmod(len(body), count)
    if not rest and width and np.all(data[width - 1::width] == 10):
        return np.arange(width, len(body) + 1, width)
    return np.flatnonzero(data == 10) + 1
