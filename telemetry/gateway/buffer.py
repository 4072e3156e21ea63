"""Where a gateway keeps uploads it could not deliver yet: in memory, or as files on disk.

Both buffers are FIFO queues of :class:`~telemetry.gateway.payloads.Upload` with a byte budget. When
the budget is exceeded the oldest uploads are dropped (and counted): a gateway with bounded flash
must lose something during a very long outage, and the oldest data is the least useful to a live
service. :class:`DiskBuffer` writes each upload to its own file (written to a temporary name,
fsync'ed, then renamed, so a power cut leaves either the whole upload or none of it) and finds them
again after a restart.
"""
from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

from ..files import replace_atomically
from .payloads import Upload

__all__ = ["MemoryBuffer", "DiskBuffer"]

_DEFAULT_BUDGET = 256 * 1024 * 1024


class MemoryBuffer:
    """FIFO of uploads held in memory, at most ``max_bytes`` of bodies (bytes)."""

    def __init__(self, max_bytes: int = _DEFAULT_BUDGET):
        self.max_bytes = max_bytes
        self._items: deque[Upload] = deque()
        self.bytes = 0

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
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int = _DEFAULT_BUDGET, fsync: bool = True):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.fsync = fsync
        for leftover in self.directory.glob("*.tmp"):   # a write cut short by a crash
            leftover.unlink()
        self._files: deque[tuple[Path, int]] = deque(
            (p, p.stat().st_size) for p in sorted(self.directory.glob("*.upl")))
        self.bytes = sum(size for _, size in self._files)
        self._next_seq = int(self._files[-1][0].stem) + 1 if self._files else 0
        self._head: Upload | None = None

    def __len__(self) -> int:
        return len(self._files)

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
        if self._head is None:
            path, _ = self._files[0]
            data = path.read_bytes()
            header, body = data.split(b"\n", 1)
            meta = json.loads(header)
            self._head = Upload(meta["upload_id"], meta["kind"], meta["path"], body, meta["headers"])
        return self._head

    def pop(self) -> Upload:
        upload = self.peek()
        path, size = self._files.popleft()
        path.unlink(missing_ok=True)
        self.bytes -= size
        self._head = None
        return upload
