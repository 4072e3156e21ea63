"""Linux process settings for the processes that crunch vibration bursts and models.

Used by the serving worker (``app/server.py``) and by the benchmarks, so a benchmark measures the
code under the settings it runs with in service. They live here, in the package every other one
imports, because ``diagnostics`` may not import the web layer.
"""
from __future__ import annotations

import ctypes
import os
import logging
import signal

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h> mallopt parameters


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (``PR_SET_PDEATHSIG``).

    A worker busy with a long task would otherwise notice a dead parent only when it hands back
    its result: a gunicorn worker would keep the spool open, a benchmark worker would keep both
    cores busy for minutes.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed (errno %d): this process may outlive its parent",
                    ctypes.get_errno())


def parent_death_requested(sig: int = signal.SIGTERM) -> bool:
    """:func:`die_with_parent`, asked for by a child process itself (its parent may have threads,
    so it cannot be done between fork and exec); False when the parent already died before the
    request took effect, so the caller should exit at once."""
    parent = os.getppid()
    die_with_parent(sig)
    return os.getppid() == parent


def keep_large_buffers() -> None:
    """Let glibc reuse freed large buffers instead of returning them to the kernel at once.

    By default glibc serves allocations above 128 kB (rising with use) with fresh ``mmap``
    pages and gives them back on free, so every burst's 2.8 MB byte matrix, every 1 MB
    ``/write`` body, every request body and every diagnosis's spectra paid page faults and kernel
    zeroing again: encoding a 25,600-sample burst took 4.3 ms, 1.8 ms with the buffers kept;
    cutting four encoded bursts into ``/write`` bodies 2.9 ms, 0.4 ms; a whole diagnosis paid
    about 280 page faults. Up to 32 MB per allocation now comes from the heap, and up to 256 MB of
    free heap top is kept for reuse (resident memory stays that much above the working set at
    most). No-op where the C library has no ``mallopt`` (musl).
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return
    if not (mallopt(M_MMAP_THRESHOLD, 32 * 1024**2) and mallopt(M_TRIM_THRESHOLD, 256 * 1024**2)):
        log.warning("mallopt refused the large-buffer settings: large allocations stay mmap'd")
