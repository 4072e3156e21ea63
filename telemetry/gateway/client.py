"""The edge gateway client: what an excavator's or genset's telematics box does to upload its data.

It builds uploads exactly in the payload formats of ``docs/contracts.md`` (operating data, vibration
bursts, J1939 DM1 fault codes), gives each a stable ``upload_id``, and delivers them to the ingest
API in order. When an upload cannot be delivered - the machine is out of coverage, the connection
fails, the server answers 5xx, 503 or 429 - it stays in a backlog (memory, or files on disk that
survive a restart) and is retried later with exponential back-off and full jitter, never earlier than
the server's ``Retry-After``. A retry re-sends the very same bytes with the same ``upload_id``, so
the server stores it once even if an earlier attempt did arrive. Bodies above a size threshold are
gzip-compressed (``Content-Encoding: gzip``). Any other 4xx is final: the upload is set aside with
the server's JSON error as its reason (the buffer keeps it for inspection), counted as refused,
and the queue moves on. A server error that names this upload (500, 501, 505 and up, as opposed
to 502/503/504, which say the service is away) is retried at most ``RetryPolicy.max_server_errors``
times, then set aside the same way: one poison upload cannot hold back the ones queued behind it.

Library use (tests, notebooks)::

    gw = Gateway("http://127.0.0.1:8000", token, "EX-1001")
    result = gw.send_burst("engine.acc", "radial", 25600.0, start_ns, 1850.0, samples)
    result.status   # "accepted" | "duplicate" | "refused" | "queued"
    gw.drain(timeout_s=30)   # block until the backlog is delivered (or the time is up)
"""
from __future__ import annotations

import email.utils
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import requests

from .payloads import (
    Upload,
    burst_binary_upload,
    burst_json_upload,
    faults_upload,
    operating_upload,
    to_ns,
)
from .buffer import DiskBuffer, MemoryBuffer

__all__ = ["Gateway", "SendResult", "GatewayStats", "RetryPolicy", "MemoryBuffer", "DiskBuffer"]

# Answers after which trying again later can succeed; any other 4xx is final.
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# ... of which these say the service is away or busy (retried without a cap: giving up would lose
# data in every outage); other 5xx are the server failing on this upload (retried with a cap).
_SERVICE_AWAY_STATUS = frozenset({408, 425, 429, 502, 503, 504})


@dataclass(frozen=True)
class SendResult:
    """Outcome of one upload: ``status`` is accepted, duplicate, refused (set aside: a 4xx, or server
    errors past the retry cap) or queued (in the backlog)."""

    upload_id: str
    status: str
    http_status: int | None = None
    detail: Mapping | None = None


@dataclass
class GatewayStats:
    """Counters since start: HTTP attempts, outcomes, and the bytes put on the wire."""

    attempts: int = 0
    accepted: int = 0
    duplicate: int = 0
    refused: int = 0
    retried: int = 0
    dropped: int = 0
    bytes_sent: int = 0
    set_aside: int = 0      # of the refused: kept in the buffer's set-aside area with their reason
    gave_up: int = 0        # of the refused: server errors past RetryPolicy.max_server_errors
    last_error: str = ""

    def add(self, other: "GatewayStats") -> None:
        for name in ("attempts", "accepted", "duplicate", "refused", "retried", "dropped", "bytes_sent",
                     "set_aside", "gave_up"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.last_error = other.last_error or self.last_error


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter (s): attempt n waits U(0, min(cap, base * 2**n)).

    A server's ``Retry-After`` is a floor; up to ``retry_after_jitter_s`` is added so that many
    gateways told the same thing do not return in the same instant.
    """

    base_s: float = 0.5
    cap_s: float = 60.0
    retry_after_jitter_s: float = 1.0
    max_server_errors: int = 5  # attempts of one upload answered 500/501/505+ before it is set aside

    def delay_s(self, failures: int, retry_after_s: float | None, rng: random.Random) -> float:
        backoff = rng.uniform(0.0, min(self.cap_s, self.base_s * 2.0 ** max(0, failures - 1)))
        if retry_after_s is not None:
            return max(retry_after_s + rng.uniform(0.0, self.retry_after_jitter_s), backoff)
        return backoff


def parse_retry_after(value: str | None, now_epoch_s: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now_epoch_s is None else now_epoch_s
    return max(0.0, when.timestamp() - now)


@dataclass
class _Backoff:
    failures: int = 0
    not_before: float = 0.0


class Gateway:
    """Uploads one machine's data to the ingest API, buffering and retrying as a field gateway does.

    Parameters
    ----------
    base_url : str
        Ingest server, e.g. ``http://127.0.0.1:8000``.
    token : str
        The device token (``<device_id>.<secret>``) sent as ``Authorization: Bearer``.
    machine_uid : str
        The machine this gateway sits on; every payload names it.
    session : requests.Session, optional
        Shared session (connection pooling across many gateways); one is made if omitted.
    buffer : MemoryBuffer or DiskBuffer, optional
        Where undelivered uploads wait; default in memory.
    burst_transport : str
        ``"json"`` (base64 samples in JSON) or ``"binary"`` (octet-stream + X-Ironwatch headers).
    gzip_min_bytes : int
        Bodies at least this large (bytes) are gzip-compressed.
    timeout_s : (float, float)
        Connect and read time-outs (s).
    seed : int
        Seed of the retry jitter.
    clock, sleep : callables
        Monotonic clock (s) and sleep, replaceable for tests.
    """

    def __init__(self, base_url: str, token: str, machine_uid: str, *, session: requests.Session | None = None,
                 buffer: MemoryBuffer | DiskBuffer | None = None, burst_transport: str = "json",
                 gzip_min_bytes: int = 4096, timeout_s: tuple[float, float] = (3.0, 10.0),
                 retry: RetryPolicy = RetryPolicy(), seed: int = 0, max_per_flush: int = 50,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if burst_transport not in ("json", "binary"):
            raise ValueError("burst_transport must be 'json' or 'binary'")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.machine_uid = machine_uid
        self.session = session or requests.Session()
        self.buffer = buffer if buffer is not None else MemoryBuffer()
        self.burst_transport = burst_transport
        self.gzip_min_bytes = gzip_min_bytes
        self.timeout_s = timeout_s
        self.retry = retry
        self.max_per_flush = max_per_flush
        self.clock = clock
        self.sleep = sleep
        self.rng = random.Random(seed)
        self.stats = GatewayStats()
        self.online = True     # False during a (simulated) coverage gap: queue, do not transmit
        self._backoff = _Backoff()
        self._last_failed_id = ""   # an attempt of this upload again counts as a retry
        self._server_errors = 0     # consecutive server errors of the upload _last_failed_id
        self.recent_refusals: deque[tuple[str, int, Mapping]] = deque(maxlen=20)

    # ------------------------------------------------------------------ building and submitting

    def send_operating(self, samples: Sequence[tuple[int, Mapping[str, float]]],
                       upload_id: str | None = None) -> SendResult:
        """Upload a batch of operating samples ``[(time_ns, {field: value}), ...]``."""
        return self.submit(operating_upload(self.machine_uid, samples, upload_id, self.gzip_min_bytes))

    def send_burst(self, sensor: str, axis: str, sample_rate_hz: float, start, shaft_rpm: float, samples,
                   units: str = "m/s2", encoding: str = "float32le", upload_id: str | None = None,
                   hour_meter_h: float | None = None) -> SendResult:
        """Upload one vibration burst captured at ``start`` (ns, aware datetime or RFC 3339).

        ``samples``: shape (n,), in ``units`` (``"m/s2"`` or ``"g"``); ``sample_rate_hz`` in Hz;
        ``shaft_rpm`` the reference shaft speed at capture (rpm); ``encoding`` ``"float32le"`` or
        ``"int16le"`` (scaled to full range); ``hour_meter_h`` the engine hour meter at capture (h),
        which puts the burst on the machine's operating-hour axis (RUL ages on it; without it the
        server falls back to wall-clock time).
        """
        build = burst_json_upload if self.burst_transport == "json" else burst_binary_upload
        return self.submit(build(self.machine_uid, sensor, axis, sample_rate_hz, to_ns(start), shaft_rpm,
                                 samples, units=units, encoding=encoding, upload_id=upload_id,
                                 gzip_min_bytes=self.gzip_min_bytes, hour_meter_h=hour_meter_h))

    def send_faults(self, when, lamps: Mapping[str, int], active: Sequence[Mapping[str, int]],
                    upload_id: str | None = None) -> SendResult:
        """Upload the DM1 state (lamps and active SPN/FMI codes) as of ``when`` (ns, datetime or RFC 3339)."""
        return self.submit(faults_upload(self.machine_uid, to_ns(when), lamps, active, upload_id,
                                         self.gzip_min_bytes))

    def submit(self, upload: Upload) -> SendResult:
        """Send ``upload`` now if nothing is waiting ahead of it, else queue it behind the backlog."""
        if len(self.buffer) == 0 and self.online and self.clock() >= self._backoff.not_before:
            result = self._attempt(upload)
            if result is not None:
                return result
        self.stats.dropped += self.buffer.append(upload)
        return SendResult(upload.upload_id, "queued")

    # ------------------------------------------------------------------ delivery

    @property
    def backlog(self) -> int:
        """Uploads waiting for delivery."""
        return len(self.buffer)

    @property
    def next_attempt_s(self) -> float:
        """Clock time (s) before which no delivery is attempted (retry back-off)."""
        return self._backoff.not_before

    def flush(self) -> int:
        """Deliver due backlog uploads in order (at most ``max_per_flush``); return how many left it.

        Stops at the first upload that must be retried, so the order is kept.
        """
        done = 0
        while done < self.max_per_flush and len(self.buffer) and self.online \
                and self.clock() >= self._backoff.not_before:
            upload = self.buffer.peek()
            if self._attempt(upload) is None:
                break
            self.buffer.pop()
            done += 1
        return done

    def drain(self, timeout_s: float) -> bool:
        """Flush until the backlog is empty or ``timeout_s`` passed; True if everything went out."""
        deadline = self.clock() + timeout_s
        while len(self.buffer):
            if not self.online:
                return False
            self.flush()
            now = self.clock()
            if not len(self.buffer) or now >= deadline:
                break
            self.sleep(max(0.01, min(self._backoff.not_before, deadline) - now))
        return len(self.buffer) == 0

    def _attempt(self, upload: Upload) -> SendResult | None:
        """One HTTP attempt. Return the final result, or None if it must be retried later."""
        headers = {"Authorization": f"Bearer {self.token}", **upload.headers}
        self.stats.attempts += 1
        if upload.upload_id == self._last_failed_id:
            self.stats.retried += 1
        try:
            response = self.session.post(self.base_url + upload.path, data=upload.body, headers=headers,
                                         timeout=self.timeout_s)
        except requests.RequestException as exc:
            self._schedule_retry(upload, None, f"{type(exc).__name__}: {exc}")
            return None
        self.stats.bytes_sent += len(upload.body)
        status = response.status_code
        if status in _RETRYABLE_STATUS or status >= 500:
            error = f"HTTP {status} {response.text[:200]}"
            if status not in _SERVICE_AWAY_STATUS:
                same = upload.upload_id == self._last_failed_id
                self._server_errors = self._server_errors + 1 if same else 1
                if self._server_errors >= self.retry.max_server_errors:
                    self._backoff = _Backoff()
                    self.stats.gave_up += 1
                    return self._refuse(upload, status, _json_or_none(response),
                                        f"{error} on {self._server_errors} attempts: given up")
            self._schedule_retry(upload, parse_retry_after(response.headers.get("Retry-After")), error)
            return None
        self._backoff = _Backoff()
        self.stats.last_error = ""    # the link works again: the progress line shows current trouble only
        detail = _json_or_none(response)
        if 200 <= status < 300:
            duplicate = isinstance(detail, dict) and detail.get("status") == "duplicate"
            if duplicate:
                self.stats.duplicate += 1
            else:
                self.stats.accepted += 1
            return SendResult(upload.upload_id, "duplicate" if duplicate else "accepted", status, detail)
        return self._refuse(upload, status, detail, f"HTTP {status} {detail or response.text[:200]}")

    def _refuse(self, upload: Upload, status: int, detail, reason: str) -> SendResult:
        """Final: set ``upload`` aside with ``reason`` and count it; the caller moves the queue on."""
        self._last_failed_id, self._server_errors = "", 0
        self.stats.refused += 1
        self.stats.set_aside += 1
        self.stats.last_error = f"{upload.kind} refused: {reason}"
        self.recent_refusals.append((upload.upload_id, status, detail or {}))
        self.buffer.set_aside(upload, reason)
        return SendResult(upload.upload_id, "refused", status, detail)

    @property
    def set_aside(self) -> list[tuple[str, str]]:
        """``[(upload_id, reason)]`` of uploads that will not be delivered, oldest first."""
        return self.buffer.set_aside_items()

    def _schedule_retry(self, upload: Upload, retry_after_s: float | None, error: str) -> None:
        self._last_failed_id = upload.upload_id
        self._backoff.failures += 1
        delay = self.retry.delay_s(self._backoff.failures, retry_after_s, self.rng)
        self._backoff.not_before = self.clock() + delay
        self.stats.last_error = error


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None
