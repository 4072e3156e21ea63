"""Small file-system helpers shared by the spool, the gateway buffer, the seed and the model registry."""
from __future__ import annotations

import os
from pathlib import Path


def replace_atomically(path: Path, data: bytes | str, *, mode: int = 0o666, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and a rename.

    A reader, or a crash, sees the old file or the new one, never part of one. ``mode`` is the
    permission of a newly created file (before the umask): 0o600 for files that hold secrets.
    With ``fsync`` the data is on disk before the rename. Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
        if fsync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
