"""The durable spool: an append-only, fsync'd log of accepted uploads between the API and InfluxDB.

Guarantees
----------
- :meth:`Spool.append` returns only once the record is on disk (``fsync``); concurrent appends
  share one ``fsync`` (group commit), which is what keeps many small uploads fast.
- Upload ids are remembered across restarts (the records themselves, then ``ids.log`` once their
  segment is drained and deleted), so a
  repeated upload is recognised as a duplicate; a duplicate is answered only once the original is
  durable.
- The total size of undrained segments is bounded; when full, :class:`SpoolFull` says when to retry.
- A crash can leave a torn record at the end of the last segment; opening the spool truncates it
  (that upload was never acknowledged, because its fsync had not returned).
- The reader (the writer thread) sees only fsync'd records and marks progress with :meth:`commit`,
  durably (atomic rename of the cursor file); segments behind the cursor are deleted.

On-disk record: ``b"IWR1" | header_len u32 | body_len u32 | crc32 u32 | header JSON | body``.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from .files import replace_atomically

log = logging.getLogger(__name__)

MAGIC = b"IWR1"
FRAME = struct.Struct("<4sIII")
SEGMENT_GLOB = "seg-*.log"


def id_key(upload_id: str, scope: str = "") -> str:
    """The key duplicates are recognised by: ``"<scope>/<upload_id>"`` (upload ids never hold
    ``/``), the bare id without a scope (and for records spooled before scopes existed)."""
    return f"{scope}/{upload_id}" if scope else upload_id


class SpoolFull(Exception):
    """The spool holds its maximum of undrained bytes; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, order=True)
class Position:
    """A place in the spool: segment number and byte offset within it."""

    segment: int
    offset: int


@dataclass(frozen=True)
class Entry:
    header: dict
    body: bytes
    end: Position  # position just after this record


def _segment_path(directory: Path, seq: int) -> Path:
    return directory / f"seg-{seq:012d}.log"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def frame(header: dict, body: bytes) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    crc = zlib.crc32(body, zlib.crc32(head))
    return FRAME.pack(MAGIC, len(head), len(body), crc) + head + body


def _read_record(handle, verify: bool) -> tuple[dict, bytes, int] | None:
    """The next record at the handle's position, or None at a clean end / torn or corrupt tail."""
    prefix = handle.read(FRAME.size)
    if len(prefix) < FRAME.size:
        return None
    magic, head_len, body_len, crc = FRAME.unpack(prefix)
    if magic != MAGIC:
        return None
    head = handle.read(head_len)
    body = handle.read(body_len)
    if len(head) < head_len or len(body) < body_len:
        return None
    if verify and zlib.crc32(body, zlib.crc32(head)) != crc:
        return None
    try:
        header = json.loads(head)
    except ValueError:
        return None
    return header, body, FRAME.size + head_len + body_len


class Spool:
    """A directory of segment files, a cursor and the upload-id log.

    Parameters
    ----------
    directory : where segments live (created if missing)
    max_bytes : bound on undrained segment bytes; beyond it appends raise SpoolFull (default
        ``IRONWATCH_SPOOL_MAX_MB`` MiB, else 2 GiB: about 80 machine-days at the reference cadence)
    segment_bytes : size at which a new segment starts (drained segments are deleted whole)
    id_retention_s : how long upload ids are remembered for duplicate detection, seconds
    retry_after_s : the ``Retry-After`` a full spool suggests, seconds
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        max_bytes: int | None = None,
        segment_bytes: int = 64 * 1024**2,
        id_retention_s: float = 7 * 86400.0,
        retry_after_s: int = 10,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes if max_bytes is not None else int(os.environ.get("IRONWATCH_SPOOL_MAX_MB", "2048")) * 1024**2
        self.segment_bytes = segment_bytes
        self.id_retention_s = id_retention_s
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()  # appends, rotation, index
        self._sync_cond = threading.Condition()  # group commit
        self._syncing = False
        self._retired_fds: list[int] = []
        self._ids: dict[str, int] = {}  # upload id → logical end offset of its record (0 = durable)
        self._appended_total = 0  # logical bytes appended since open
        self._synced_total = 0
        self._segment_sizes: dict[int, int] = {}
        self._segment_ids: dict[int, list[str]] = {}  # upload ids per segment, for ids.log at deletion
        self.recovered_torn_bytes = 0
        self._lock_file = self._take_ownership()
        self._recover()

    def _take_ownership(self):
        """An exclusive lock on the directory: two appenders (say, several app worker processes)
        would interleave and corrupt segments, so the second one fails loudly instead."""
        handle = open(self.directory / ".lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RuntimeError(
                f"spool {self.directory} is already open (another process, or another Spool in this "
                f"one); a spool has exactly one owner: give each process its own spool directory"
            ) from None
        return handle

    # ------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        self._cursor = self._load_cursor()
        seqs = sorted(int(p.name[4:-4]) for p in self.directory.glob(SEGMENT_GLOB))
        for seq in [s for s in seqs if s < self._cursor.segment]:
            _segment_path(self.directory, seq).unlink()  # drained before a crash, not yet deleted
        seqs = [s for s in seqs if s >= self._cursor.segment]
        for index, seq in enumerate(seqs):
            self._segment_sizes[seq] = self._scan_segment(seq, verify=index == len(seqs) - 1)
        self._load_ids()
        self._seq = seqs[-1] if seqs else max(self._cursor.segment, 1)
        if not seqs:
            self._segment_sizes[self._seq] = 0
            self._segment_ids[self._seq] = []
        if self._cursor.segment < min(self._segment_sizes):
            self._cursor = Position(min(self._segment_sizes), 0)
        path = _segment_path(self.directory, self._seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _fsync_dir(self.directory)
        self._synced_pos = Position(self._seq, self._segment_sizes[self._seq])
        self._ids_file = open(self.directory / "ids.log", "a")

    def _scan_segment(self, seq: int, verify: bool) -> int:
        """Index a segment's upload ids; truncate a torn tail. Returns its valid size in bytes."""
        path = _segment_path(self.directory, seq)
        valid = 0
        ids = self._segment_ids.setdefault(seq, [])
        with open(path, "rb") as handle:
            while True:
                record = _read_record(handle, verify)
                if record is None:
                    break
                key = id_key(record[0]["upload_id"], record[0].get("scope", ""))
                self._ids[key] = 0
                ids.append(key)
                valid += record[2]
        size = path.stat().st_size
        if size > valid:
            log.warning("spool %s: dropping %d bytes of torn or corrupt tail", path.name, size - valid)
            self.recovered_torn_bytes += size - valid
            with open(path, "r+b") as handle:
                handle.truncate(valid)
                os.fsync(handle.fileno())
        return valid

    def _load_cursor(self) -> Position:
        try:
            data = json.loads((self.directory / "cursor.json").read_text())
            return Position(int(data["segment"]), int(data["offset"]))
        except (OSError, ValueError, KeyError):
            return Position(0, 0)

    def _load_ids(self) -> None:
        """Load remembered upload ids, keeping those within the retention; rewrite the file."""
        path = self.directory / "ids.log"
        cutoff = time.time() - self.id_retention_s
        kept: list[str] = []
        try:
            with open(path) as handle:
                for line in handle:
                    stamp, _, upload_id = line.rstrip("\n").partition(" ")
                    try:
                        recent = float(stamp) >= cutoff
                    except ValueError:
                        continue  # a torn line from a crash
                    if recent and upload_id:
                        kept.append(line if line.endswith("\n") else line + "\n")
                        self._ids.setdefault(upload_id, 0)
        except FileNotFoundError:
            return
        replace_atomically(path, "".join(kept))

    # ------------------------------------------------------------------ appending

    def append(self, upload_id: str, header: dict, body: bytes = b"", scope: str = "") -> bool:
        """Append a record durably; False (and nothing written) when ``upload_id`` was seen before
        in the same ``scope`` (the ingest service passes the uploading device's machine, so one
        device cannot make another's upload a "duplicate").

        Blocks until the record (or, for a duplicate, the original) is fsync'd.
        Raises SpoolFull when the bound would be exceeded.
        """
        data = frame({**header, "upload_id": upload_id, **({"scope": scope} if scope else {})}, body)
        upload_id = id_key(upload_id, scope)
        with self._lock:
            known_end = self._ids.get(upload_id)
            if known_end is None:
                if self.undrained_bytes + len(data) > self.max_bytes:
                    raise SpoolFull(
                        f"spool full ({self.undrained_bytes} of {self.max_bytes} bytes waiting for InfluxDB)",
                        self.retry_after_s,
                    )
                if self._segment_sizes[self._seq] and self._segment_sizes[self._seq] + len(data) > self.segment_bytes:
                    self._rotate()
                self._write_whole(data)
                self._segment_sizes[self._seq] += len(data)
                self._appended_total += len(data)
                end = self._appended_total
                self._ids[upload_id] = end
                self._segment_ids[self._seq].append(upload_id)
            else:
                end = known_end
        self._wait_durable(end)
        return known_end is None

    def knows(self, upload_id: str, scope: str = "") -> bool:
        """True when this spool holds (or held, within the retention) ``upload_id`` in ``scope``."""
        with self._lock:
            return id_key(upload_id, scope) in self._ids

    def _write_whole(self, data: bytes) -> None:
        """Append ``data`` entirely or not at all (caller holds ``_lock``): a short or failed write
        (disk full) is cut off again, so no torn record sits in front of later ones."""
        before = self._segment_sizes[self._seq]
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, f"short write to the spool ({written} of {len(data)} bytes)")
        except OSError:
            os.ftruncate(self._fd, before)
            raise

    def _rotate(self) -> None:
        """Start a new segment (caller holds ``_lock``): the old one is fsync'd first, whole.

        The new file is created before any state changes, so a full disk (ENOSPC on create)
        leaves the spool appending to the old segment, as if no rotation had been due."""
        os.fsync(self._fd)
        new_fd = os.open(_segment_path(self.directory, self._seq + 1), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._retired_fds.append(self._fd)
        with self._sync_cond:
            self._synced_total = max(self._synced_total, self._appended_total)
            self._synced_pos = Position(self._seq, self._segment_sizes[self._seq])
            self._sync_cond.notify_all()
        self._seq += 1
        self._segment_sizes[self._seq] = 0
        self._segment_ids[self._seq] = []
        self._fd = new_fd
        _fsync_dir(self.directory)

    def _wait_durable(self, end: int) -> None:
        """Group commit: one thread fsyncs everything appended so far, the others wait for it."""
        while True:
            with self._sync_cond:
                while self._synced_total < end and self._syncing:
                    self._sync_cond.wait()
                if self._synced_total >= end:
                    return
                self._syncing = True
            synced = False
            try:
                with self._lock:
                    fd, target_total = self._fd, self._appended_total
                    target_pos = Position(self._seq, self._segment_sizes[self._seq])
                    retired, self._retired_fds = self._retired_fds, []
                for old in retired:
                    os.close(old)  # fsync'd at rotation; no other leader can hold it now
                os.fsync(fd)
                synced = True
            finally:
                with self._sync_cond:
                    self._syncing = False
                    if synced and target_total > self._synced_total:
                        self._synced_total = target_total
                        self._synced_pos = max(self._synced_pos, target_pos)
                    self._sync_cond.notify_all()

    # ------------------------------------------------------------------ reading (writer side)

    @property
    def cursor(self) -> Position:
        return self._cursor

    @property
    def undrained_bytes(self) -> int:
        return sum(self._segment_sizes.values()) - self._cursor.offset

    def durable_end(self) -> Position:
        with self._sync_cond:
            return self._synced_pos

    def wait_for_data(self, after: Position, timeout: float) -> bool:
        """Wait until durable records exist after ``after``; True if there are."""
        with self._sync_cond:
            return self._sync_cond.wait_for(lambda: self._synced_pos > after, timeout)

    def read(self, start: Position, max_bytes: int = 8 * 1024**2, max_records: int = 10_000) -> list[Entry]:
        """Durable records from ``start`` on, at least one if any, until ``max_bytes``/``max_records``."""
        entries: list[Entry] = []
        position = start
        total = 0
        end = self.durable_end()
        while position < end and total < max_bytes and len(entries) < max_records:
            segment_end = end.offset if position.segment == end.segment else self._segment_sizes.get(position.segment, 0)
            if position.offset >= segment_end:
                if position.segment >= end.segment:
                    break
                position = Position(position.segment + 1, 0)
                continue
            with open(_segment_path(self.directory, position.segment), "rb") as handle:
                handle.seek(position.offset)
                while position.offset < segment_end and total < max_bytes and len(entries) < max_records:
                    record = _read_record(handle, verify=False)
                    if record is None:
                        raise RuntimeError(f"spool segment {position.segment} unreadable at {position.offset}")
                    header, body, size = record
                    position = Position(position.segment, position.offset + size)
                    total += size
                    entries.append(Entry(header, body, position))
        return entries

    def commit(self, position: Position) -> None:
        """Mark everything before ``position`` as stored in InfluxDB (durably); free drained segments."""
        if position <= self._cursor:
            return
        with self._lock:
            drained = [s for s in self._segment_sizes if s < position.segment and s != self._seq]
            if drained:
                # the ids of records about to be deleted must survive them: into ids.log, durably.
                # (Only drained records go there: an id in ids.log always has durable data behind it.)
                stamp = f"{time.time():.0f}"
                self._ids_file.writelines(f"{stamp} {i}\n" for s in drained for i in self._segment_ids[s])
                self._ids_file.flush()
                os.fsync(self._ids_file.fileno())
        replace_atomically(self.directory / "cursor.json",
                           json.dumps({"segment": position.segment, "offset": position.offset}))
        _fsync_dir(self.directory)
        with self._lock:
            self._cursor = position
            for seq in drained:
                _segment_path(self.directory, seq).unlink(missing_ok=True)
                del self._segment_sizes[seq]
                del self._segment_ids[seq]

    def backlog(self) -> dict:
        """``{"undrained_bytes", "segments", "cursor", "durable_end"}`` for status pages and tests."""
        with self._lock:
            return {
                "undrained_bytes": self.undrained_bytes,
                "segments": len(self._segment_sizes),
                "cursor": self._cursor,
                "durable_end": self.durable_end(),
            }

    def is_drained(self) -> bool:
        return self._cursor >= self.durable_end() and self.durable_end() == Position(self._seq, self._segment_sizes[self._seq])

    def close(self) -> None:
        with self._lock:
            os.fsync(self._fd)
            os.close(self._fd)
            for fd in self._retired_fds:
                os.close(fd)
            self._retired_fds = []
            self._ids_file.flush()
            os.fsync(self._ids_file.fileno())
            self._ids_file.close()
            self._lock_file.close()  # releases the ownership lock
