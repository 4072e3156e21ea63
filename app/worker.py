"""The diagnosis worker: a thread that diagnoses each burst once InfluxDB has it.

The spool writer calls :meth:`DiagnosisQueue.on_stored` after InfluxDB acknowledged a batch; the
queue keeps the burst ids, and :class:`DiagnosisWorker` feeds them one by one to
``DiagnosisService.process_burst``, which reads the burst back from InfluxDB (the source of truth).
Tests that start the app with ``START_BACKGROUND=False`` call :meth:`DiagnosisQueue.run_pending`
by hand instead of starting the thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Iterable

log = logging.getLogger(__name__)


class DiagnosisQueue:
    """Burst ids waiting for diagnosis, fed by the writer's ``on_stored`` callback.

    Parameters
    ----------
    process_burst : callable
        ``process_burst(burst_id)``, normally ``DiagnosisService.process_burst``.
    """

    def __init__(self, process_burst: Callable[[str], object]):
        self._process_burst = process_burst
        self._queue: "queue.Queue[str]" = queue.Queue()
        self.processed = 0
        self.failed = 0

    def on_stored(self, events: Iterable[object]) -> None:
        """Queue the bursts among ``events`` (``telemetry.writer.StoredEvent``); others are ignored.

        Runs on the writer's thread, so it only enqueues: diagnosis is slow and must not hold up
        the drain to InfluxDB.
        """
        for event in events:
            burst_id = getattr(event, "burst_id", None)
            if getattr(event, "kind", None) == "burst" and burst_id:
                self._queue.put(burst_id)

    def submit(self, burst_id: str) -> None:
        """Queue one burst id (for example found by the scheduler's sweep)."""
        self._queue.put(burst_id)

    @property
    def pending(self) -> int:
        """Number of burst ids queued and not yet taken by the worker."""
        return self._queue.qsize()

    def process_one(self, timeout: float | None = None) -> bool:
        """Diagnose the next queued burst; False when none arrived within ``timeout`` seconds."""
        try:
            burst_id = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return False
        try:
            self._process_burst(burst_id)
            self.processed += 1
        except Exception:
            # One bad burst must not stop the worker; the scheduler's sweep retries bursts that
            # never got a diagnosis.
            self.failed += 1
            log.exception("diagnosis of burst %s failed", burst_id)
        finally:
            self._queue.task_done()
        return True

    def run_pending(self) -> int:
        """Diagnose every queued burst on the calling thread; return how many were taken."""
        count = 0
        while self.process_one():
            count += 1
        return count


class DiagnosisWorker(threading.Thread):
    """Daemon thread draining a :class:`DiagnosisQueue` until :meth:`stop` is called."""

    def __init__(self, diagnosis_queue: DiagnosisQueue, poll_seconds: float = 0.5):
        super().__init__(name="ironwatch-diagnosis", daemon=True)
        self._diagnosis_queue = diagnosis_queue
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._diagnosis_queue.process_one(timeout=self._poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current burst and exit; wait up to ``timeout`` s."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
