"""Supervision of background threads: restart the ones that died, with back-off, and say so.

A background thread that dies (the spool writer on an unexpected error, the diagnosis worker,
the scheduler) would otherwise leave the app answering 202 while nothing moves. The supervisor
looks at each watched thread every ``check_interval_s`` seconds; one found dead is restarted
after a back-off that doubles per consecutive failure (from ``initial_backoff_s`` up to
``max_backoff_s``) and resets once the thread has stayed up for ``healthy_after_s``.
:meth:`Supervisor.status` is what ``/healthz``, ``/readyz`` and the admin's health page show.

No Flask here: the app's runtime and the MQTT bridge process use it alike.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger(__name__)


@dataclass
class Watched:
    """One supervised thread (or process) and its restart history."""

    name: str
    is_alive: Callable[[], bool]
    restart: Callable[[], None]
    why_down: Callable[[], str] = lambda: ""
    restarts: int = 0
    failures_in_a_row: int = 0
    down_since: float | None = None  # monotonic s, while found dead and not yet restarted
    up_since: float | None = None
    next_restart_at: float = 0.0
    last_error: str = ""
    last_restart_at: float | None = None  # wall-clock s (for people)
    _seen_dead: bool = field(default=False, repr=False)


class Supervisor:
    """Watches threads and restarts dead ones.

    Parameters
    ----------
    check_interval_s : how often the threads are looked at, s
    initial_backoff_s, max_backoff_s : restart delay after the first failure, and its cap, s
    healthy_after_s : up this long, a thread's failure count starts again from zero, s
    clock : monotonic seconds (injectable for tests)
    """

    def __init__(self, check_interval_s: float = 1.0, initial_backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 healthy_after_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.check_interval_s = check_interval_s
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.healthy_after_s = healthy_after_s
        self.clock = clock
        self.watched: dict[str, Watched] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, name: str, is_alive: Callable[[], bool], restart: Callable[[], None],
              why_down: Callable[[], str] = lambda: "") -> None:
        """Supervise ``name``: ``is_alive()`` says whether it runs, ``restart()`` starts it again,
        ``why_down()`` (optional) says why it ended."""
        with self._lock:
            self.watched[name] = Watched(name, is_alive, restart, why_down, up_since=self.clock())

    # ------------------------------------------------------------------ checking

    def check(self) -> list[str]:
        """Look at every watched thread once; restart those due. Returns the names restarted."""
        restarted = []
        with self._lock:
            entries = list(self.watched.values())
        now = self.clock()
        for entry in entries:
            if self._alive(entry):
                entry.down_since = None
                if entry.up_since is not None and now - entry.up_since >= self.healthy_after_s:
                    entry.failures_in_a_row = 0
                continue
            if entry.down_since is None:  # newly found dead: schedule the restart
                entry.down_since = now
                entry.up_since = None
                entry.failures_in_a_row += 1
                restart_failed = entry.last_error.startswith("restart failed")
                entry.last_error = _safe(entry.why_down) or (entry.last_error if restart_failed else "stopped")
                delay = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (entry.failures_in_a_row - 1))
                entry.next_restart_at = now + delay
                log.error("%s is not running (%s); restarting in %.1f s", entry.name, entry.last_error, delay)
            if now >= entry.next_restart_at:
                try:
                    entry.restart()
                except Exception as exc:  # noqa: BLE001 - a failed restart is retried after more back-off
                    entry.last_error = f"restart failed: {type(exc).__name__}: {exc}"
                    entry.down_since = None  # counted as another failure at the next check
                    log.exception("restarting %s failed", entry.name)
                    continue
                entry.restarts += 1
                entry.last_restart_at = time.time()
                entry.down_since = None
                entry.up_since = now
                restarted.append(entry.name)
                log.warning("%s restarted (restart %d)", entry.name, entry.restarts)
        return restarted

    @staticmethod
    def _alive(entry: Watched) -> bool:
        try:
            return bool(entry.is_alive())
        except Exception:  # noqa: BLE001 - a liveness probe that fails says "not alive"
            return False

    # ------------------------------------------------------------------ the thread

    def start(self) -> "Supervisor":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the supervisor itself must not die of a bug in a probe
                log.exception("supervisor check failed")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ reporting

    def status(self) -> list[dict]:
        """One dict per watched thread: ``name``, ``alive``, ``restarts``, ``down_for_s`` (None
        when up), ``last_error``, ``last_restart_at`` (epoch s or None)."""
        now = self.clock()
        with self._lock:
            entries = list(self.watched.values())
        return [{"name": e.name, "alive": self._alive(e), "restarts": e.restarts,
                 "down_for_s": None if e.down_since is None else round(now - e.down_since, 1),
                 "last_error": e.last_error, "last_restart_at": e.last_restart_at} for e in entries]


def _safe(call: Callable[[], str]) -> str:
    try:
        return str(call() or "")
    except Exception:  # noqa: BLE001
        return ""
