"""Where a gateway keeps uploads it could not deliver yet: in memory, or as files on disk.

Both buffers are FIFO queues of :class:`~telemetry.gateway.payloads.Upload` with a byte budget. When
the budget is exceeded the oldest uploads are dropped (and counted): a gateway with bounded flash
must lose something during a very long outage, and the oldest data is the least useful to a live
service. :class:`DiskBuffer` writes each upload to its own file (written to a temporary name,
fsync'ed, then renamed, so a power cut leaves either the whole upload or none of it) and finds them
again after a restart.

An upload the server will never take (a 4xx, or a server error repeated past the retry cap) is
*set aside* with its reason: kept for inspection (bounded), out of the queue, so the uploads
behind it go on (``set_aside``/``set_aside_items``).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from collections import deque
from pathlib import Path

from ..files import replace_atomically
from .payloads import Upload

__all__ = ["MemoryBuffer", "DiskBuffer", "BufferInUse"]


class BufferInUse(RuntimeError):
    """Another process (or another DiskBuffer here) owns the folder: two owners would send and
    delete each other's files."""

_DEFAULT_BUDGET = 256 * 1024 * 1024
#: Uploads set aside that are kept (newest); older ones are deleted.
SET_ASIDE_KEPT = 200


class MemoryBuffer:
    """FIFO of uploads held in memory, at most ``max_bytes`` of bodies (bytes)."""

    def __init__(self, max_bytes: int = _DEFAULT_BUDGET):
        self.max_bytes = max_bytes
        self._items: deque[Upload] = deque()
        self.bytes = 0
        self._aside: deque[tuple[Upload, str]] = deque(maxlen=SET_ASIDE_KEPT)

    def set_aside(self, upload: Upload, reason: str) -> None:
        """Keep ``upload`` (not in the queue) with why it will not be delivered."""
        self._aside.append((upload, reason))

    def set_aside_items(self) -> list[tuple[str, str]]:
        """``[(upload_id, reason)]`` of the uploads set aside, oldest first."""
        return [(upload.upload_id, reason) for upload, reason in self._aside]

    def __len__(self) -> int:
        return len(self._items)

    def append(self, upload: Upload) -> int:
        """Queue ``upload``; return how many of the oldest uploads were dropped to stay in budget."""
        self._items.append(upload)
        self.bytes += len(upload.body)
        dropped = 0
        while self.bytes > self.max_bytes and len(self._items) > 1:
            self.bytes -= len(self._items.popleft().body)
            dropped += 1
        return dropped

    def peek(self) -> Upload:
        return self._items[0]

    def pop(self) -> Upload:
        upload = self._items.popleft()
        self.bytes -= len(upload.body)
        return upload


class DiskBuffer:
    """FIFO of uploads, one file each under ``directory``; survives a restart of the gateway.

    File format: one line of JSON (upload_id, kind, path, headers), then the body bytes.

    One owner per folder: an exclusive ``flock`` on ``<directory>/.lock``, held until
    :meth:`close` or the process ends (the kernel releases it, so a crash leaves no stale lock).
    ``lock_wait_s`` is how long to wait for a previous owner, say a simulator still draining
    after being told to stop, before :class:`BufferInUse` is raised.
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int = _DEFAULT_BUDGET, fsync: bool = True,
                 lock_wait_s: float = 0.0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._lock_file = _take_folder(self.directory, lock_wait_s)
        for leftover in self.directory.glob("*.tmp"):   # a write cut short by a crash
            leftover.unlink()
        self._files: deque[tuple[Path, int]] = deque(
            (p, p.stat().st_size) for p in sorted(self.directory.glob("*.upl")))
        self.bytes = sum(size for _, size in self._files)
        self._next_seq = int(self._files[-1][0].stem) + 1 if self._files else 0
        self._head: Upload | None = None
        self.aside_directory = self.directory / "set-aside"

    def set_aside(self, upload: Upload, reason: str) -> None:
        """Write ``upload`` and its reason under ``set-aside/`` (``<seq>.upl``, whose first line
        also holds ``"reason"``); the newest :data:`SET_ASIDE_KEPT` are kept."""
        self.aside_directory.mkdir(exist_ok=True)
        header = json.dumps({"upload_id": upload.upload_id, "kind": upload.kind, "path": upload.path,
                             "headers": dict(upload.headers), "reason": reason}, separators=(",", ":")).encode()
        existing = sorted(self.aside_directory.glob("*.upl"))
        seq = int(existing[-1].stem) + 1 if existing else 0
        replace_atomically(self.aside_directory / f"{seq:012d}.upl", header + b"\n" + upload.body, fsync=self.fsync)
        for old in existing[:max(0, len(existing) + 1 - SET_ASIDE_KEPT)]:
            old.unlink(missing_ok=True)

    def set_aside_items(self) -> list[tuple[str, str]]:
        """``[(upload_id, reason)]`` of the uploads set aside on disk, oldest first."""
        items = []
        for path in sorted(self.aside_directory.glob("*.upl")):
            with open(path, "rb") as handle:
                meta = json.loads(handle.readline())
            items.append((meta["upload_id"], meta["reason"]))
        return items

    def __len__(self) -> int:
        return len(self._files)

    def close(self) -> None:
        """Give up ownership of the folder (its files stay for the next owner)."""
        if not self._lock_file.closed:
            self._lock_file.close()

    def append(self, upload: Upload) -> int:
        """Write ``upload`` durably; return how many of the oldest uploads were dropped."""
        header = json.dumps({"upload_id": upload.upload_id, "kind": upload.kind, "path": upload.path,
                             "headers": dict(upload.headers)}, separators=(",", ":")).encode()
        path = self.directory / f"{self._next_seq:012d}.upl"
        self._next_seq += 1
        replace_atomically(path, header + b"\n" + upload.body, fsync=self.fsync)
        size = path.stat().st_size
        self._files.append((path, size))
        self.bytes += size
        dropped = 0
        while self.bytes > self.max_bytes and len(self._files) > 1:
            self.pop()
            dropped += 1
        return dropped

    def peek(self) -> Upload:
        while self._head is None:
            path, size = self._files[0]
            try:
                header, body = path.read_bytes().split(b"\n", 1)
                meta = json.loads(header)
                self._head = Upload(meta["upload_id"], meta["kind"], meta["path"], body, meta["headers"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # a file this gateway cannot read back (disk trouble): keep it aside, go on with the next
                self.aside_directory.mkdir(exist_ok=True)
                os.replace(path, self.aside_directory / f"{path.stem}.unreadable")
                self._files.popleft()
                self.bytes -= size
                if not self._files:
                    raise IndexError(f"buffer empty after setting aside unreadable {path.name}: {exc}") from exc
        return self._head

    def pop(self) -> Upload:
        upload = self.peek()
        path, size = self._files.popleft()
        path.unlink(missing_ok=True)
        self.bytes -= size
        self._head = None
        return upload


def _take_folder(directory: Path, wait_s: float):
    """An open file holding an exclusive flock on ``directory/.lock``; waits up to ``wait_s``."""
    handle = open(directory / ".lock", "w")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                raise BufferInUse(f"gateway buffer {directory} is in use by another process (another "
                                  f"simulator or gateway still running?); one owner per folder") from None
            time.sleep(0.1)
