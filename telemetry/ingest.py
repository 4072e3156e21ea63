"""The ingest service: authenticate the device, validate the upload, make it idempotent, spool it.

Transport-neutral: the Flask blueprint (``app.ingest``) and the MQTT bridge (``telemetry.mqtt``)
both call it. A :class:`Receipt` means the upload is fsync'd in the spool; an :class:`IngestError`
means nothing of it was stored.
"""
from __future__ import annotations

import threading
import time
import logging
from dataclasses import dataclass, replace
from typing import Callable, Mapping

from telemetry.devices import DeviceDirectory, DeviceIdentity
from telemetry.fault_codes import FaultCodeRegister, MemoryFaultCodeRegister
from telemetry.operating_payloads import parse_operating
from telemetry.payloads import (
    FaultReport,
    IngestError,
    Limits,
    Upload,
    binary_burst_metadata,
    decode_body,
    media_type,
    parse_burst,
    parse_faults,
    parse_json_object,
    require_json,
)
from telemetry.records import to_record
from telemetry.schema import raw_retention_days
from telemetry.spool import Spool, SpoolFull
from telemetry.upload_ledger import UploadLedger

__all__ = ["IngestError", "IngestService", "Limits", "Receipt"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """An accepted upload: its id, whether it had been accepted before, and its InfluxDB points."""

    upload_id: str
    duplicate: bool
    points: int

    def to_dict(self) -> dict:
        status = "duplicate" if self.duplicate else "accepted"
        return {"status": status, "upload_id": self.upload_id, "points": self.points}


class IngestService:
    """Accepts the three upload kinds.

    Parameters
    ----------
    spool : the durable spool
    devices : the device directory (token → identity)
    limits : validation bounds
    clock : UTC ns now (for the timestamp window)
    fault_codes : the register bounding distinct SPNs per machine (default: in this process's
        memory; the app passes ``fleet.fault_codes.SqlFaultCodeRegister``)
    ledger : the accepted uploads of every process (:mod:`telemetry.upload_ledger`; the app passes
        ``fleet.upload_ledger.SqlUploadLedger``); default none: duplicates are those of this spool
    """

    def __init__(
        self,
        spool: Spool,
        devices: DeviceDirectory,
        limits: Limits | None = None,
        clock: Callable[[], int] = time.time_ns,
        fault_codes: FaultCodeRegister | None = None,
        ledger: UploadLedger | None = None,
    ):
        self.spool = spool
        self.devices = devices
        self.limits = limits or Limits()
        # a burst older than the raw retention would be dropped by InfluxDB after the 2xx: refuse it
        raw_window_s = raw_retention_days() * 86400.0 - 3600.0
        self.burst_limits = replace(self.limits, max_past_s=min(self.limits.max_past_s, raw_window_s))
        self.clock = clock
        self.fault_codes = fault_codes if fault_codes is not None else MemoryFaultCodeRegister()
        self.ledger = ledger
        # Uploads decided by this spool alone since the ledger last failed (None: it works). An
        # unreachable database would otherwise log a warning per upload, hundreds a second.
        self._ledger_outage: int | None = None
        self._ledger_outage_lock = threading.Lock()  # requests arrive on many threads

    # ------------------------------------------------------------------ the three kinds

    def accept_operating(self, token: str | None, body: bytes, headers: Mapping[str, str]) -> Receipt:
        identity = self._authenticate(token)
        obj = self._json_body(body, headers)
        return self._spool(parse_operating(obj, identity, self.limits, self.clock()))

    def accept_faults(self, token: str | None, body: bytes, headers: Mapping[str, str]) -> Receipt:
        identity = self._authenticate(token)
        obj = self._json_body(body, headers)
        return self._spool(parse_faults(obj, identity, self.limits, self.clock()))

    def accept_burst(
        self, token: str | None, body: bytes, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> Receipt:
        """A burst as JSON (base64 samples) or ``application/octet-stream`` (metadata in
        ``X-Ironwatch-*`` headers or query parameters)."""
        identity = self._authenticate(token)
        kind = media_type(headers)
        if kind == "application/octet-stream":
            raw = decode_body(body, headers, self.limits)
            meta = binary_burst_metadata(headers, query or {})
            upload = parse_burst(meta, raw, identity, self.burst_limits, self.clock())
        else:
            obj = self._json_body(body, headers)
            upload = parse_burst(obj, None, identity, self.burst_limits, self.clock())
        return self._spool(upload)

    def accept_object(self, kind: str, token: str | None, obj: Mapping) -> Receipt:
        """An already-decoded JSON upload with its device token: ``kind`` is operating|bursts|faults."""
        return self.accept_object_as(self._authenticate(token), kind, obj)

    def accept_object_as(self, identity: DeviceIdentity, kind: str, obj: Mapping) -> Receipt:
        """An already-decoded JSON upload from a device the transport authenticated (the MQTT
        broker checked its credential and ACL): ``kind`` is operating|bursts|faults."""
        if not isinstance(obj, Mapping):
            raise IngestError(422, "invalid", "payload", "json_object", "payload must be a JSON object")
        now = self.clock()
        if kind == "operating":
            upload: Upload = parse_operating(obj, identity, self.limits, now)
        elif kind == "faults":
            upload = parse_faults(obj, identity, self.limits, now)
        elif kind in ("bursts", "burst"):
            upload = parse_burst(obj, None, identity, self.burst_limits, now)
        else:
            raise IngestError(404, "not_found", "kind", "known_kind", f"unknown upload kind {kind!r}")
        return self._spool(upload)

    # ------------------------------------------------------------------ steps

    def _authenticate(self, token: str | None) -> DeviceIdentity:
        if not token or not isinstance(token, str):
            raise IngestError(401, "unauthorized", "Authorization", "bearer_token",
                              "send the device token as 'Authorization: Bearer <device_id>.<secret>'")
        identity = self.devices.authenticate(token)
        if identity is None:
            raise IngestError(401, "unauthorized", "Authorization", "valid_token",
                              "the device token is unknown, revoked or malformed")
        return identity

    def _json_body(self, body: bytes, headers: Mapping[str, str]) -> dict:
        require_json(headers)
        return parse_json_object(decode_body(body, headers, self.limits))

    def _admit_fault_codes(self, upload: FaultReport) -> None:
        """Refuse an upload whose new SPNs would take its machine past the register's bound
        (each distinct SPN is an InfluxDB series). Checked last, so only valid uploads count."""
        refused = self.fault_codes.admit(upload.machine, (code["spn"] for code in upload.active))
        if refused:
            limit = self.fault_codes.limit
            raise IngestError(422, "invalid", "active", "max_spns_per_machine",
                              f"machine {upload.machine!r} may report at most {limit} distinct SPNs; this upload "
                              f"adds {len(refused)} new ones (first: {refused[0]}) beyond that bound. Nothing was "
                              f"stored; an administrator can raise IRONWATCH_MAX_SPNS_PER_MACHINE.")

    def _spool(self, upload: Upload) -> Receipt:
        """Make ``upload`` durable once: ledger first looked at, spool written, ledger recorded.

        The order is what keeps acknowledged data: the ledger row is written only after the fsync
        (a row never stands for data a crash lost), and a copy spooled by two processes at once
        is harmless to write twice (see :mod:`telemetry.upload_ledger`).
        """
        if isinstance(upload, FaultReport):
            self._admit_fault_codes(upload)
        if self._ledger_has(upload):
            return Receipt(upload.upload_id, duplicate=True, points=upload.points)
        header, body = to_record(upload)
        try:
            # idempotency per device: ids are the gateway's own, so they are only unique within what
            # it may write (its machine; scoped by machine rather than device id so that a gateway
            # re-sending its buffer after a credential rotation is still recognised)
            fresh = self.spool.append(upload.upload_id, header, body, scope=upload.machine)
        except SpoolFull as exc:
            raise IngestError(503, "spool_full", "upload", "spool_capacity",
                              f"{exc}; nothing was stored, retry later", retry_after=exc.retry_after) from exc
        except OSError as exc:  # disk full or failing: refuse rather than acknowledge
            raise IngestError(503, "spool_unavailable", "upload", "spool_writable",
                              f"the spool could not be written ({exc.strerror or exc}); nothing was "
                              f"acknowledged, retry later", retry_after=self.spool.retry_after_s) from exc
        # Also for a repeat this spool knew (a crash between its fsync and its row): the row is
        # then added late, so the other processes recognise the next retry too.
        first = self._ledger_record(upload)
        return Receipt(upload.upload_id, duplicate=not (fresh and first), points=upload.points)

    def _ledger_has(self, upload: Upload) -> bool:
        """True when some process already made ``upload`` durable; False also when the ledger
        cannot be reached (the spool's own memory then decides, as with no ledger)."""
        if self.ledger is None:
            return False
        try:
            seen = self.ledger.seen(upload.machine, upload.upload_id)
        except Exception as exc:  # noqa: BLE001 - an unreachable database must not refuse durable-able data
            self._ledger_failed("unreadable", exc, upload)
            return False
        self._ledger_worked()
        return seen

    def _ledger_record(self, upload: Upload) -> bool:
        """Record the durable ``upload``; True unless another process recorded it first. A
        ledger that cannot be written leaves the upload accepted: it is durable in the spool."""
        if self.ledger is None:
            return True
        try:
            first = self.ledger.record(upload.machine, upload.upload_id)
        except Exception as exc:  # noqa: BLE001 - the data is fsync'd: acknowledge it regardless
            self._ledger_failed("unwritable", exc, upload)
            return True
        self._ledger_worked()
        return first

    def _ledger_failed(self, what: str, exc: Exception, upload: Upload) -> None:
        """One warning when the ledger starts failing; the uploads after it are counted, not logged."""
        with self._ledger_outage_lock:
            if self._ledger_outage is None:
                log.warning("upload ledger %s (%s); from %s/%s on, duplicates are judged by this spool only "
                            "until it works again", what, exc, upload.machine, upload.upload_id)
                self._ledger_outage = 0
            self._ledger_outage += 1

    def _ledger_worked(self) -> None:
        if self._ledger_outage is None:  # the usual case, read without the lock
            return
        with self._ledger_outage_lock:
            if self._ledger_outage is not None:
                log.warning("upload ledger works again; %d ledger calls failed meanwhile (those uploads "
                            "are known to this spool only)", self._ledger_outage)
                self._ledger_outage = None
