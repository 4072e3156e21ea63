"""Helpers of the fault drills (issue 20): a small real filesystem to fill, and counting."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(path: Path, size: str = "1m"):
    """A tmpfs of ``size`` mounted at ``path`` (needs root: the drills run as root in CI and here);
    skips the test, saying why, where it cannot be mounted. A real filesystem that fills up, so
    ENOSPC comes from the kernel, not from a patched ``os.write``."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("the disk-full drill needs root to mount a small tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until the filesystem refuses (ENOSPC); returns it."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as handle:
        chunk = b"\0" * 4096
        try:
            while True:
                handle.write(chunk)
        except OSError:
            pass
    return filler
