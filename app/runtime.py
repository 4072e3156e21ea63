"""The composition root's product: every adapter and service of one running Ironwatch.

:func:`build_runtime` wires the real adapters from the settings (InfluxDB client and store, the
durable spool and its writer, the SQL device directory, the ingest and diagnosis services, the
live channel shared with the other processes through the SQL outbox); :class:`Runtime` holds them for the views (``current_app.extensions["ironwatch"]``) and
starts and stops the background threads. Nothing here depends on Flask, so a worker process or a
test can build the same graph. The scheduled jobs are not here: they run in the scheduler process
(:mod:`app.scheduler`, ``python -m app scheduler``), and a web process only serves.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .worker import DiagnosisQueue, DiagnosisWorker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The adapters and services of one app instance.

    Attributes
    ----------
    influx : telemetry.influx.InfluxClient
    store : telemetry.store.TelemetryStore
    spool : telemetry.spool.Spool
    writer : telemetry.writer.SpoolWriter
        Drains the spool to InfluxDB; its ``on_stored`` feeds :attr:`diagnosis_queue`.
    devices : fleet.devices.SqlDeviceDirectory
    ingest : telemetry.ingest.IngestService
    engine : sqlalchemy.Engine
    sessions : sqlalchemy.orm.sessionmaker
    notifier : fleet.handlers.MessageBus
        The message bus (Socket.IO, push, e-mail, delivery and audit logs subscribe); it also
        implements ``fleet.notify.Notifier`` for services that publish by name.
    delivery : fleet.delivery.DeliveryService
    background : concurrent.futures.Executor
        Delivery and fault-code work off the ingest and diagnosis threads.
    vapid_public_key : str
        The VAPID key browsers subscribe to Web Push with.
    diagnosis : fleet.diagnosis_service.DiagnosisService
    diagnosis_queue : app.worker.DiagnosisQueue
    contact : fleet.contact.ContactRecorder
        Keeps each machine's last contact (any upload stored) for the "not reporting" rule.
    relay : fleet.live_outbox.LiveRelay
        Sends the live events the scheduler process and the other web processes stored in the SQL
        outbox to this process's Socket.IO rooms, and applies the socket controls stored there.
        This process's own events go to its sockets at once and into the outbox for the others
        (``fleet.live_outbox.SharedNotifier``, the bus's live channel).
    live_sessions : app.live_sessions.LiveSessions
        Cuts and re-rooms open sockets in every web process (set by ``create_app``, which holds
        the Socket.IO server).
    supervisor : telemetry.supervisor.Supervisor
        Restarts the background threads above when they die (with back-off) and reports them.
    """

    config: dict[str, Any]
    influx: Any
    store: Any
    spool: Any
    writer: Any
    devices: Any
    ingest: Any
    engine: Any
    sessions: Any
    notifier: Any
    diagnosis: Any
    diagnosis_queue: DiagnosisQueue
    delivery: Any = None
    background: Any = None
    vapid_public_key: str = ""
    relay: Any = None
    contact: Any = None
    live_sessions: Any = None
    worker: DiagnosisWorker | None = None
    supervisor: Any = None
    started: bool = field(default=False)

    def start(self) -> None:
        """Start the spool writer, the diagnosis worker and the live relay (once), supervised."""
        if self.started:
            return
        self.prepare_influx()
        self.writer.start()
        self._start_worker()
        if self.relay is not None:
            self.relay.start()
        self._supervise()
        self.started = True
        log.info("background started: spool writer, diagnosis worker%s (scheduled jobs: python -m app scheduler)",
                 ", live relay" if self.relay is not None else "")

    def _start_worker(self) -> None:
        self.worker = DiagnosisWorker(self.diagnosis_queue)
        self.worker.start()

    def _supervise(self) -> None:
        """Watch the background threads (restart with back-off; :mod:`telemetry.supervisor`)."""
        from telemetry.supervisor import Supervisor

        self.supervisor = self.supervisor or Supervisor()
        self.supervisor.watch("spool writer", self.writer.is_alive, self.writer.restart,
                              lambda: self.writer.crashed)
        self.supervisor.watch("diagnosis worker", lambda: self.worker is not None and self.worker.is_alive(),
                              self._start_worker)
        if self.relay is not None:
            self.supervisor.watch("live relay", self.relay.is_alive, self.relay.start)
        self.supervisor.start()

    def prepare_influx(self) -> bool:
        """Create the InfluxDB database and retention policies if missing (idempotent).

        An unreachable InfluxDB does not stop the app: uploads are still accepted into the spool
        and the writer retries until InfluxDB is back. Returns False (and logs) in that case.
        """
        from telemetry.influx import InfluxError
        from telemetry.influxd import prepare_database

        try:
            prepare_database(self.influx, self.config.get("IRONWATCH_RAW_RETENTION_DAYS"))
            return True
        except (InfluxError, OSError) as error:
            log.warning("InfluxDB at %s not ready (%s); uploads are spooled until it is",
                        self.config["IRONWATCH_INFLUX_URL"], error)
            return False

    def stop(self) -> None:
        """Stop the background threads in dependency order and release the stores."""
        if self.supervisor is not None:
            self.supervisor.stop()  # first, so that nothing stopped below is restarted
        if self.relay is not None:
            self.relay.stop()
        if self.started:
            self.writer.stop()
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.background is not None:
            self.background.shutdown(wait=False, cancel_futures=True)
        close = getattr(self.spool, "close", None)
        if close is not None:
            close()
        self.engine.dispose()
        self.started = False


def build_runtime(config: dict[str, Any], notifier) -> Runtime:
    """Wire the real adapters and services from resolved settings (see :func:`app.config.load_config`).

    Parameters
    ----------
    config : dict
        Resolved settings: ``IRONWATCH_INFLUX_URL``, ``IRONWATCH_INFLUX_DB``,
        ``IRONWATCH_DATABASE_URL``, ``IRONWATCH_VAR`` and ``IRONWATCH_SPOOL_DIR`` (default ``<var>/spool``).
    notifier : fleet.notify.Notifier
        Where diagnoses, work orders and status changes are published.
    """
    from concurrent.futures import ThreadPoolExecutor

    from fleet import db
    from fleet.delivery import DeliveryService, WebPushSender, ensure_vapid_keys, mailer_from_env
    from fleet.devices import SqlDeviceDirectory
    from fleet.handlers import Dependencies, MessageBus
    from fleet.diagnosis_service import DiagnosisService
    from fleet.fault_codes import SqlFaultCodeRegister
    from fleet.upload_ledger import SqlUploadLedger
    from telemetry.influx import InfluxClient
    from telemetry.ingest import IngestService
    from telemetry.spool import Spool
    from telemetry.store import TelemetryStore
    from telemetry.writer import SpoolWriter

    influx = InfluxClient(config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"])
    store = TelemetryStore(influx)
    engine = db.make_engine(config["IRONWATCH_DATABASE_URL"])
    sessions = db.session_factory(engine)
    devices = SqlDeviceDirectory(sessions)
    spool = Spool(Path(config["IRONWATCH_SPOOL_DIR"]))
    ingest = IngestService(spool, devices, fault_codes=SqlFaultCodeRegister(sessions, max_spns_per_machine()),
                           ledger=SqlUploadLedger(sessions))
    background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ironwatch-background")
    vapid = ensure_vapid_keys(Path(config["IRONWATCH_VAR"]))
    delivery = DeliveryService(sessions, background, WebPushSender(vapid), mailer_from_env(config),
                               base_url=config["IRONWATCH_PUBLIC_URL"])
    from fleet.live_outbox import LiveRelay, OutboxNotifier, SharedNotifier

    # Other processes' events (the scheduler's, other web processes') to this process's sockets, and
    # this process's to its own sockets at once and to the others' through the outbox.
    relay = LiveRelay(sessions, notifier)
    live = SharedNotifier(notifier, OutboxNotifier(sessions), relay)
    bus = MessageBus(Dependencies(notifier=live, sessions=sessions, delivery=delivery))
    diagnosis = DiagnosisService(store, sessions, bus)
    diagnosis_queue = DiagnosisQueue(diagnosis.process_burst)
    fault_codes = FaultCodeFollowUp(store, sessions, bus, background)
    from fleet.contact import ContactRecorder

    contact = ContactRecorder(sessions, background)

    def on_stored(events) -> None:
        # bursts to the diagnosis queue, DM1 uploads to their alarms, every upload to the
        # machine's contact time (what "not reporting" judges: fleet.contact)
        diagnosis_queue.on_stored(events)
        fault_codes.on_stored(events)
        contact.on_stored(events)

    writer = SpoolWriter(spool, influx, on_stored=on_stored)
    return Runtime(config=config, influx=influx, store=store, spool=spool, writer=writer,
                   devices=devices, ingest=ingest, engine=engine, sessions=sessions,
                   notifier=bus, diagnosis=diagnosis, diagnosis_queue=diagnosis_queue,
                   delivery=delivery, background=background, vapid_public_key=vapid.public_key,
                   relay=relay, contact=contact)


class FaultCodeFollowUp:
    """After the writer stored a DM1 upload, bring that machine's fault-code alarms up to date on
    the background executor (the writer's thread only enqueues)."""

    def __init__(self, store, sessions, bus, executor):
        self.store, self.sessions, self.bus, self.executor = store, sessions, bus, executor

    def on_stored(self, events) -> None:
        from fleet.alarm_sources import sweep_fault_codes

        from .j1939 import describe_code

        machines = sorted({e.machine for e in events if getattr(e, "kind", None) == "faults"})
        if machines:
            self.executor.submit(sweep_fault_codes, self.store, self.sessions, self.bus, describe=describe_code,
                                 machine_uids=machines)


def max_spns_per_machine() -> int:
    """``IRONWATCH_MAX_SPNS_PER_MACHINE``: distinct J1939 SPNs one machine may report (default 128)."""
    import os

    from telemetry.fault_codes import DEFAULT_MAX_SPNS_PER_MACHINE

    return int(os.environ.get("IRONWATCH_MAX_SPNS_PER_MACHINE") or DEFAULT_MAX_SPNS_PER_MACHINE)
