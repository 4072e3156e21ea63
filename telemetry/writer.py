"""The spool writer: drains the durable spool into InfluxDB in batches, with retry and back-off.

One thread reads durable records and encodes line protocol; a small pool posts chunks of
``batch_lines`` lines to ``/write`` concurrently (InfluxDB uses the other cores while Python
encodes the next chunk). Progress is committed to the spool, and ``on_stored`` is called, only
for a prefix of records whose every chunk InfluxDB acknowledged: a crash or an outage at any point
re-sends, never skips (re-sent points overwrite themselves: same series, same timestamp).

A commit that fails (the spool's disk full while the cursor is saved) is retried with back-off
until it succeeds, without reading further: the drain pauses and resumes by itself once there is
space again. Anything else that ends the thread is recorded (``crashed``) for the supervisor
(``telemetry.supervisor``), which restarts it; a restart re-sends from the committed cursor.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from telemetry.influx import InfluxClient, InfluxError
from telemetry.records import StoredEvent, chunk_blocks, record_event, record_line_count, records_blocks
from telemetry.schema import RP_RAW
from telemetry.spool import Position, Spool

__all__ = ["SpoolWriter", "StoredEvent"]

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    end: Position
    events: list[StoredEvent]
    futures: list[Future] = field(default_factory=list)


@dataclass
class WriterStats:
    records: int = 0
    lines: int = 0
    acked_lines: int = 0
    posts: int = 0
    retries: int = 0
    rejected_posts: int = 0
    commit_failures: int = 0
    last_error: str = ""


class SpoolWriter:
    """Background drain of ``spool`` into ``influx``.

    Parameters
    ----------
    spool : the durable spool
    influx : client of the target database
    on_stored : called with the events of records InfluxDB acknowledged (in spool order)
    batch_lines : most lines per ``/write`` (InfluxDB recommends 5,000-10,000)
    concurrency : ``/write`` requests in flight
    commit_lines : lines encoded per batch; progress is committed (and ``on_stored`` called) per
        batch, so this trades fewer, fuller ``/write`` requests against notification latency
        (at 100,000 lines: a fraction of a second of ingest at full load; at light load a batch is
        whatever the spool holds, so nothing waits)
    initial_backoff_s, max_backoff_s : retry delays, doubling from the first to the cap
    """

    def __init__(
        self,
        spool: Spool,
        influx: InfluxClient,
        on_stored: Callable[[list[StoredEvent]], None] | None = None,
        batch_lines: int = 10_000,
        concurrency: int = 2,
        commit_lines: int = 100_000,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
    ):
        self.spool = spool
        self.influx = influx
        self.on_stored = on_stored
        self.batch_lines = batch_lines
        self.concurrency = concurrency
        self.commit_lines = commit_lines
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stats = WriterStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._idle = threading.Event()
        self._commit_delay = 0.0  # > 0 while commits fail: the back-off before the next try
        self.crashed = ""  # why the thread last ended other than by stop(), for health reports

    # ------------------------------------------------------------------ lifecycle

    def is_alive(self) -> bool:
        """True while the drain thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def committing(self) -> bool:
        """False while progress cannot be saved (the spool's disk is full): the drain is paused."""
        return self._commit_delay == 0.0

    def restart(self) -> None:
        """Start again after the thread ended (the supervisor's call); resumes from the cursor."""
        if self.is_alive():
            return
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread = self._pool = None
        self.start()

    def start(self) -> "SpoolWriter":
        if self._thread is None:
            self._stop.clear()
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="influx-write")
            self._thread = threading.Thread(target=self._run_recording_crash, name="spool-writer", daemon=True)
            self._thread.start()
            # At interpreter exit the executor joins its workers, and a worker backing off from an
            # unreachable InfluxDB would hold the process for ever. Stopping is safe at any time
            # (the spool keeps whatever InfluxDB has not acknowledged), so stop before that join;
            # these hooks run newest first, i.e. before the executor's own.
            threading._register_atexit(self._stop.set)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the in-flight posts (unacknowledged records stay in the spool)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def wait_drained(self, timeout: float = 60.0) -> bool:
        """Block until every durable record is in InfluxDB (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.spool.is_drained():
                return True
            time.sleep(0.02)
        return self.spool.is_drained()

    # ------------------------------------------------------------------ the loop

    def _run_recording_crash(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - recorded for the supervisor, then the thread ends
            self.crashed = f"{type(exc).__name__}: {exc}"
            self.stats.last_error = self.crashed
            log.exception("spool writer stopped by an error; the supervisor restarts it")

    def _run(self) -> None:
        pending: deque[_Batch] = deque()
        position = self.spool.cursor
        while not self._stop.is_set():
            self._complete(pending, block=len(pending) >= 2)
            if self._commit_delay:  # progress cannot be saved: read nothing more until it can
                self._stop.wait(self._commit_delay)
                continue
            entries = self.spool.read(position, max_records=self.batch_lines)
            if not entries:
                if pending:
                    self._complete(pending, block=True, timeout=0.05)
                else:
                    self.spool.wait_for_data(position, timeout=0.2)
                continue
            position = self._submit(entries, pending)
        # leave unacknowledged batches to the next start: their records are still in the spool
        for batch in pending:
            for future in batch.futures:
                future.cancel()

    def _submit(self, entries, pending: deque[_Batch]) -> Position:
        """Encode records into batches of about ``commit_lines`` lines and post them."""
        batch: list = []
        line_count = 0
        for entry in entries:
            batch.append(entry)
            line_count += record_line_count(entry.header, entry.body)
            if line_count >= self.commit_lines:
                self._dispatch(batch, pending)
                batch, line_count = [], 0
        if batch:
            self._dispatch(batch, pending)
        return entries[-1].end

    def _dispatch(self, entries: list, pending: deque[_Batch]) -> None:
        """Encode a batch of records and post its lines in even chunks of at most ``batch_lines``
        (raw samples first, so a burst's metadata point never lands before its samples), then
        commit what is acknowledged.

        Records are encoded as blocks of text (see :func:`records_blocks`), which
        :func:`chunk_blocks` concatenates or splits at line boundaries: no per-line objects.
        """
        end = entries[-1].end
        try:
            by_rp = records_blocks((entry.header, entry.body) for entry in entries)
        except (ValueError, TypeError, KeyError):  # a record that cannot become line protocol
            entries, by_rp = self._without_unencodable(entries)
        batch = _Batch(end, [record_event(entry.header, entry.body) for entry in entries])
        self.stats.records += len(entries)
        for rp in sorted(by_rp, key=lambda name: name != RP_RAW):
            for body, count in chunk_blocks(by_rp[rp], self.batch_lines):
                batch.futures.append(self._post(rp, body, count))
        pending.append(batch)
        self._complete(pending, block=len(pending) >= 2)

    def _without_unencodable(self, entries: list) -> tuple[list, dict]:
        """Encode ``entries`` one by one; set aside (quarantine) those that fail, so one record
        that validation let through but line protocol cannot carry does not stop the drain."""
        kept, by_rp = [], {}
        for entry in entries:
            try:
                blocks = records_blocks([(entry.header, entry.body)])
            except (ValueError, TypeError, KeyError) as exc:
                self.stats.rejected_posts += 1
                self.stats.last_error = f"record {entry.header.get('upload_id')!r} cannot be encoded: {exc}"
                kept_at = self._quarantine("record", json.dumps(entry.header).encode() + b"\n" + entry.body, str(exc))
                log.error("spool record set aside in %s: %s", kept_at, exc)
                continue
            kept.append(entry)
            for rp, rp_blocks in blocks.items():
                by_rp.setdefault(rp, []).extend(rp_blocks)
        return kept, by_rp

    def _post(self, rp: str, body: bytes, line_count: int) -> Future:
        self.stats.lines += line_count
        return self._pool.submit(self._write_with_retry, rp, body, line_count)

    def _write_with_retry(self, rp: str, body: bytes, line_count: int) -> None:
        delay = self.initial_backoff_s
        while True:
            try:
                self.influx.write(body, rp=rp)
                self.stats.posts += 1
                self.stats.acked_lines += line_count
                return
            except InfluxError as exc:
                if exc.status == 404 or "retention policy not found" in str(exc):
                    # the database or its retention policies are missing (a fresh or reset
                    # InfluxDB): create them, idempotently, and retry rather than set data aside
                    self._prepare_database(exc)
                elif not exc.retryable:
                    # validation keeps bad lines out; what InfluxDB still refuses (points older than
                    # the raw retention after a very long outage) cannot succeed on retry: keep the
                    # body for inspection or replay instead of blocking the drain for ever
                    self.stats.rejected_posts += 1
                    self.stats.last_error = str(exc)
                    kept = self._quarantine(rp, body, str(exc))
                    log.error("InfluxDB refused %d bytes for rp %s, kept in %s: %s", len(body), rp, kept, exc)
                    return
                self.stats.retries += 1
                self.stats.last_error = str(exc)
                log.warning("InfluxDB write failed (retry in %.1f s): %s", delay, exc)
            if self._stop.wait(delay):
                raise InterruptedError("writer stopped before InfluxDB acknowledged")
            delay = min(delay * 2, self.max_backoff_s)

    def _prepare_database(self, cause: InfluxError) -> None:
        from telemetry.influxd import prepare_database

        log.warning("InfluxDB database %s not ready (%s): creating it and its retention policies",
                    self.influx.database, cause)
        try:
            prepare_database(self.influx)
        except InfluxError as exc:
            log.warning("could not prepare %s yet: %s", self.influx.database, exc)

    def _quarantine(self, rp: str, body: bytes, reason: str) -> Path:
        """Write a refused body to ``<spool>/rejected/`` (line protocol + the reason), fsync'd."""
        directory = self.spool.directory / "rejected"
        directory.mkdir(exist_ok=True)
        path = directory / f"{time.time_ns()}-{rp}.lp"
        with open(path, "wb") as handle:
            handle.write(f"# not stored in InfluxDB (rp={rp}): {reason}\n".encode() + body)
            handle.flush()
            os.fsync(handle.fileno())
        return path

    def _commit(self, end: Position) -> bool:
        """Save progress; on an OS error (disk full) back off, doubling, and say False."""
        try:
            self.spool.commit(end)
        except OSError as exc:
            self.stats.commit_failures += 1
            self._commit_delay = min(max(self._commit_delay * 2, self.initial_backoff_s), self.max_backoff_s)
            self.stats.last_error = f"saving spool progress failed ({exc}); retry in {self._commit_delay:.1f} s"
            log.warning("spool writer: %s", self.stats.last_error)
            return False
        if self._commit_delay:
            log.info("spool writer: progress saved again, draining resumes")
        self._commit_delay = 0.0
        return True

    def _complete(self, pending: deque[_Batch], block: bool, timeout: float | None = None) -> None:
        """Commit the acknowledged prefix of ``pending`` and report it to ``on_stored``."""
        events: list[StoredEvent] = []
        end: Position | None = None
        done: list[_Batch] = []
        while pending:
            head = pending[0]
            if block and not all(f.done() for f in head.futures):
                for future in head.futures:
                    try:
                        future.exception(timeout=timeout)
                    except Exception:  # noqa: BLE001 - timeouts and cancellations: look again later
                        pass
                block = False
            if not all(f.done() for f in head.futures):
                break
            if any(f.cancelled() or f.exception() is not None for f in head.futures):
                break  # stopping: leave it in the spool
            done.append(pending.popleft())
            events.extend(head.events)
            end = head.end
        if end is None:
            return
        if not self._commit(end):
            pending.extendleft(reversed(done))  # acknowledged, not yet committed: try again later
            return
        if self.on_stored is not None and events:
            try:
                self.on_stored(events)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the drain
                log.exception("on_stored listener failed")
