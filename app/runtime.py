"""The composition root's product: every adapter and service of one running Ironwatch.

:func:`build_runtime` wires the real adapters from the settings (InfluxDB client and store, the
durable spool and its writer, the SQL device directory, the ingest and diagnosis services, the
scheduler); :class:`Runtime` holds them for the views (``current_app.extensions["ironwatch"]``) and
starts and stops the background threads. Nothing here depends on Flask, so a worker process or a
test can build the same graph.
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
    notifier : app.notifier.SocketIONotifier
    diagnosis : fleet.diagnosis_service.DiagnosisService
    diagnosis_queue : app.worker.DiagnosisQueue
    scheduler : apscheduler BackgroundScheduler or None
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
    scheduler: Any = None
    worker: DiagnosisWorker | None = None
    started: bool = field(default=False)

    def start(self) -> None:
        """Start the spool writer, the diagnosis worker and the scheduler (once)."""
        if self.started:
            return
        self.prepare_influx()
        self.writer.start()
        self.worker = DiagnosisWorker(self.diagnosis_queue)
        self.worker.start()
        if self.scheduler is not None:
            self.scheduler.start()
        self.started = True
        log.info("background started: spool writer, diagnosis worker%s",
                 ", scheduler" if self.scheduler is not None else "")

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
        if self.scheduler is not None and self.started:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:  # already stopped
                log.debug("scheduler shutdown", exc_info=True)
        if self.started:
            self.writer.stop()
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
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
        ``IRONWATCH_DATABASE_URL`` and ``IRONWATCH_VAR`` (the spool lives in ``<var>/spool``).
    notifier : fleet.notify.Notifier
        Where diagnoses, work orders and status changes are published.
    """
    from fleet import db
    from fleet.devices import SqlDeviceDirectory
    from fleet.diagnosis_service import DiagnosisService
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
    spool = Spool(Path(config["IRONWATCH_VAR"]) / "spool")
    ingest = IngestService(spool, devices)
    diagnosis = DiagnosisService(store, sessions, notifier)
    diagnosis_queue = DiagnosisQueue(diagnosis.process_burst)
    writer = SpoolWriter(spool, influx, on_stored=diagnosis_queue.on_stored)
    scheduler = _build_scheduler(store, sessions, notifier, diagnosis_queue, config)
    return Runtime(config=config, influx=influx, store=store, spool=spool, writer=writer,
                   devices=devices, ingest=ingest, engine=engine, sessions=sessions,
                   notifier=notifier, diagnosis=diagnosis, diagnosis_queue=diagnosis_queue,
                   scheduler=scheduler)


def _build_scheduler(store, sessions, notifier, diagnosis_queue, config):
    """The fleet engineer's APScheduler set-up (sweeps, RUL scoring, escalation, nightly backup)."""
    from fleet import jobs
    from fleet.backup import NightlyBackup, Sources

    backup = NightlyBackup(Sources.from_settings(config["IRONWATCH_VAR"], config["IRONWATCH_DATABASE_URL"],
                                                 config["IRONWATCH_INFLUX_URL"], config["IRONWATCH_INFLUX_DB"]))
    return jobs.build_scheduler(store=store, session_factory=sessions, notifier=notifier,
                                submit_burst=diagnosis_queue.submit, backup=backup)
