"""Scheduled work (APScheduler 3 ``BackgroundScheduler``): the sweeps that keep the fleet current.

=======================  =========  ==================================================================
job                      every      what
=======================  =========  ==================================================================
``burst_sweep``          60 s       bursts in InfluxDB with no diagnosis yet (missed event, crash,
                                    worker failure) are submitted for diagnosis
``operating_sync``       60 s       each machine's hour meter, position and last-seen time from its
                                    latest operating data (``machine_status`` event when it changed)
``rul_scoring``          15 min     ``fleet.rul_scoring.score_fleet`` (the prognostics package), then
                                    each estimate through the work-order rules
``overdue_escalation``   10 min     overdue active work orders go up one priority level
``alarm_escalation``     30 s       the next step of each unacknowledged alarm's escalation chain
                                    (``fleet.escalation``)
``reporting_check``      60 s       "not reporting" alarms for silent machines, cleared when data
                                    resumes (``fleet.alarm_sources``)
``fault_code_alarms``    60 s       DM1 fault-code alarms from each machine's latest DM1 message
``security_check``       60 s       geofence exits and running outside the site's allowed hours
                                    (``fleet.security_alarms``), cleared when back / stopped
``delivery_retry``       30 s       push and e-mail deliveries whose back-off has passed
``delivery_digest``      5 min      one e-mail per person for alarms held back by the rate limit
``nightly_backup``       02:30 UTC  ``fleet.backup.NightlyBackup``: InfluxDB, SQL, instance files;
                                    then the retention in days (when the caller passes ``backup``)
``monthly_reports``      1st-3rd,   last month's fleet report (PDF) e-mailed to subscribed customer
                         06:00 UTC  users (``fleet.report_mail``; a failed send retried the next day)
``pm_projection``        1 h        ``fleet.preventive_service.run_pm``: each machine's PM plans
                                    projected from its hour meter, due orders opened (idempotent)
``dispatch_proposal``    01:00 UTC  ``fleet.dispatch_service.propose``: the next working week's plan
                                    stored for the dispatch board (re-planned on demand there too)
``dispatch_recovery``    60 s       ``fleet.dispatch_claims.recover_stale``: a week whose first plan or
                                    re-plan stopped (claim or lock older than 60 s) is planned again
``upload_ledger_prune``  1 h        ``fleet.upload_ledger.prune_upload_ledger``: accepted uploads
                                    older than the retention (8 days) leave the duplicate ledger
=======================  =========  ==================================================================

Each job is also a plain function, so tests and the CLI call them directly.

**One scheduler.** The jobs run in exactly one process, the scheduler process (``python -m app
scheduler``, :mod:`app.scheduler`; web processes run none): it wraps the scheduler in
:class:`fleet.scheduler_lease.LeasedScheduler`, which starts it only while the process holds the
lease row in the SQL database, and a second scheduler process refuses to start (or waits). With ``jobstore_engine`` the jobs are kept in that database
(APScheduler's ``SQLAlchemyJobStore``, table ``apscheduler_jobs``), so the process that takes over
finds each job's next run time where the previous holder left it: a nightly job missed during the
hand-over runs once (coalesced), not never and not twice. The store can only hold picklable jobs, so
what it stores is :func:`run_job` with the job's id; the functions themselves, bound to this
process's adapters, are looked up in :data:`RUNNERS`.
"""
from __future__ import annotations

import importlib
import logging
import time
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .handlers import as_bus
from .models import BurstDiagnosis, Component, Machine, from_ns, utcnow
from .notify import NullNotifier, Notifier, safe_publish
from .queries import active_order_counts, machine_status_view
from .upload_ledger import prune_upload_ledger
from .alarm_sources import evaluate_onset_alarms
from .work_order_service import apply_rul_estimate, clear_rul_alarm, escalate_overdue, publish

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 60
#: The first sweep after start-up looks back this far (catch-up after downtime); later ones less.
SWEEP_FIRST_LOOKBACK = timedelta(days=7)
SWEEP_LOOKBACK = timedelta(hours=6)
#: Bursts younger than this are left to the normal event path (the writer's callback).
SWEEP_GRACE = timedelta(seconds=30)
#: A burst that failed this many sweeps is not submitted again (its error is in the log).
SWEEP_MAX_ATTEMPTS = 3
#: When the sweep runs in another process than the diagnosis worker (``python -m app scheduler``),
#: a burst is diagnosed by the sweep only once it has been found undiagnosed for this long: the
#: web process's worker, which had it from the writer, may just have a backlog (a backfill).
SWEEP_SETTLE_ELSEWHERE = timedelta(minutes=5)
OPERATING_SYNC_INTERVAL_S = 60
RUL_SCORING_INTERVAL_S = 15 * 60
ESCALATION_INTERVAL_S = 10 * 60
DELIVERY_RETRY_INTERVAL_S = 30
DIGEST_INTERVAL_S = 5 * 60
BACKUP_HOUR_UTC, BACKUP_MINUTE_UTC = 2, 30
MONTHLY_REPORT_HOUR_UTC = 6
PM_PROJECTION_INTERVAL_S = 60 * 60
UPLOAD_LEDGER_PRUNE_INTERVAL_S = 60 * 60
DISPATCH_HOUR_UTC = 1
#: How often the scheduler looks for a stopped dispatch plan (fleet.dispatch_claims.STALE_AFTER is 60 s).
DISPATCH_RECOVERY_INTERVAL_S = 60
#: APScheduler's table in the SQL database (created by the job store itself).
JOBSTORE_TABLE = "apscheduler_jobs"

#: job id → the function that runs it in this process (bound to this process's adapters). The
#: persistent job store keeps ``run_job(job_id)``, which finds the function here.
RUNNERS: dict[str, Callable[[], object]] = {}


def run_job(job_id: str):
    """Run the job ``job_id`` with this process's adapters (what the SQL job store schedules)."""
    runner = RUNNERS.get(job_id)
    if runner is None:  # a job stored by a version or configuration that had it (backup off, say)
        log.warning("scheduled job %s has no function in this process; skipped", job_id)
        return None
    return runner()


class BurstSweep:
    """Finds stored bursts without a diagnosis and submits them.

    Parameters
    ----------
    store : telemetry.store.TelemetryStore
    session_factory : sessionmaker
    submit_burst : callable
        ``submit_burst(burst_id)``: queue for diagnosis (the app's worker) or diagnose at once.
    clock : callable
        Aware UTC now.
    settle : timedelta
        Submit a burst only once this sweep has seen it undiagnosed for this long (0: at once).
    """

    def __init__(self, store, session_factory: sessionmaker, submit_burst: Callable[[str], object],
                 clock: Callable[[], datetime] = utcnow, settle: timedelta = timedelta(0)):
        self.store = store
        self.sessions = session_factory
        self.submit_burst = submit_burst
        self.clock = clock
        self.settle = settle
        self.attempts: dict[str, int] = {}
        self.first_seen: dict[str, datetime] = {}
        self._first = True

    def __call__(self) -> list[str]:
        """Run one sweep; returns the burst ids submitted."""
        now = self.clock()
        lookback = SWEEP_FIRST_LOOKBACK if self._first else SWEEP_LOOKBACK
        metas = self.store.bursts_since(int((now - lookback).timestamp() * 1e9))
        self._first = False
        cutoff_ns = int((now - SWEEP_GRACE).timestamp() * 1e9)
        candidates = [m.burst_id for m in metas if m.start_ns + int(m.duration_s * 1e9) <= cutoff_ns]
        done = self._diagnosed(candidates)
        submitted = []
        for burst_id in candidates:
            if burst_id in done:
                self.attempts.pop(burst_id, None)
                self.first_seen.pop(burst_id, None)
                continue
            if now - self.first_seen.setdefault(burst_id, now) < self.settle:
                continue
            if self.attempts.get(burst_id, 0) >= SWEEP_MAX_ATTEMPTS:
                continue
            self.attempts[burst_id] = self.attempts.get(burst_id, 0) + 1
            try:
                self.submit_burst(burst_id)
                submitted.append(burst_id)
            except Exception:  # one bad burst must not end the sweep
                log.exception("sweep: diagnosing burst %s failed", burst_id)
        if submitted:
            log.info("sweep: %d undiagnosed bursts submitted", len(submitted))
        return submitted

    def _diagnosed(self, burst_ids: list[str]) -> set[str]:
        done: set[str] = set()
        with self.sessions() as session:
            for i in range(0, len(burst_ids), 500):  # keep IN lists modest
                chunk = burst_ids[i:i + 500]
                done.update(session.scalars(select(BurstDiagnosis.burst_id).where(BurstDiagnosis.burst_id.in_(chunk))))
        return done


def sync_operating_state(store, session_factory: sessionmaker, notifier: Notifier) -> int:
    """Copy each machine's latest hour meter, position and time from InfluxDB to SQL.

    Returns the number of machines whose state changed (each gets a ``machine_status`` event).
    """
    with session_factory() as session:
        uids = list(session.scalars(select(Machine.uid)))
    latest = {}
    for uid in uids:
        try:
            latest[uid] = store.latest(uid)
        except Exception:
            log.exception("operating sync: latest(%s) failed", uid)
    changed = []
    with transaction(session_factory) as session:
        for machine in session.scalars(select(Machine).where(Machine.uid.in_(list(latest)))):
            state = latest[machine.uid]
            if not state.get("time"):
                continue
            fields = state.get("fields", {})
            seen = from_ns(state["time"])
            before = (machine.hours, machine.lat, machine.lon, machine.last_seen_at)
            if fields.get("hour_meter_h") is not None:
                machine.hours = float(fields["hour_meter_h"])
            if fields.get("lat") is not None and fields.get("lon") is not None:
                machine.lat, machine.lon = float(fields["lat"]), float(fields["lon"])
            if machine.last_seen_at is None or seen > machine.last_seen_at:
                machine.last_seen_at = seen
            if (machine.hours, machine.lat, machine.lon, machine.last_seen_at) != before:
                changed.append(machine)
        session.flush()
        counts = active_order_counts(session, [m.id for m in changed])
        events = [(machine_status_view(m, counts.get(m.id, 0)), m.tenant.audience()) for m in changed]
    for payload, audience in events:
        safe_publish(notifier, "machine_status", payload, audience)
    return len(events)


def run_rul_scoring(store, session_factory: sessionmaker, notifier: Notifier) -> list:
    """Score every component's RUL (``fleet.rul_scoring.score_fleet``, which writes the estimates to
    InfluxDB and publishes ``rul`` events), then let each estimate drive the work orders
    (:func:`fleet.work_order_service.apply_rul_estimate`: due dates from P10, new orders when P10 is
    short). Estimates at the model's cap mean "healthy, at least this long" and are not planned on.

    Imported lazily: the prognostics package pulls in LightGBM. Returns the ``RulResult`` list.
    """
    try:
        rul_scoring = importlib.import_module("fleet.rul_scoring")
    except ModuleNotFoundError as exc:
        if exc.name != "fleet.rul_scoring":
            raise
        log.info("RUL scoring skipped: fleet.rul_scoring is not installed")
        return []
    from .model_registry import ModelRegistry

    started = time.monotonic()
    results = rul_scoring.score_fleet(store, session_factory, ModelRegistry(session_factory), notifier)
    record_rul_notes(session_factory, results)
    try:
        publish(notifier, evaluate_onset_alarms(session_factory, results))
    except Exception:  # the alarms must not stop the planning below
        log.exception("bearing onset alarms failed")
    planned = 0
    for result in results:
        if result.scored and result.at_cap:
            clear_rul_alarm(session_factory, notifier, result.machine, result.component)
        if not result.scored or result.at_cap:
            continue
        try:
            apply_rul_estimate(session_factory, notifier, result.machine, result.component, result.p10_h,
                               result.p50_h, result.p90_h, result.model_version, publish_rul=False)
            planned += 1
        except Exception:  # one component's bookkeeping must not stop the others
            log.exception("RUL planning for %s/%s failed", result.machine, result.component)
    log.info("RUL scoring: %d components scored, %d planned on, %.1f s",
             sum(r.scored for r in results), planned, time.monotonic() - started)
    return results


#: Said first when a standby set has too little history: why it takes weeks, not days.
STANDBY_HISTORY_NOTE = ("standby set, so vibration is measured only while it runs (load-bank tests, "
                        "exercise runs, mains outages)")


def rul_note(reason: str | None, standby: bool) -> str | None:
    """The note a component without an RUL number keeps (None once it has one), at most 240 characters.

    A standby set's "too little history" is expected: it runs for an hour a month and half an hour
    a week, so its bursts reach the model's observations only over weeks; the note says so first.
    """
    if reason is None:
        return None
    if standby and reason.startswith("too little history"):
        reason = f"{STANDBY_HISTORY_NOTE}; {reason}"
    return reason[:240]


def record_rul_notes(session_factory: sessionmaker, results: Sequence) -> None:
    """Keep each component's reason for having no RUL number, or what its number is (a bearing
    before its onset: the population's life, not a forecast); cleared otherwise."""
    reasons = {(r.machine, r.component): ((getattr(r, "note", None) or None) if r.scored else (r.reason or ""))
               for r in results}
    with transaction(session_factory) as session:
        rows = session.execute(select(Component, Machine.uid, Machine.reporting)
                               .join(Machine, Component.machine_id == Machine.id))
        for component, uid, reporting in rows:
            if (uid, component.name) in reasons:
                component.rul_note = rul_note(reasons[(uid, component.name)], bool((reporting or {}).get("standby")))


def build_scheduler(store, session_factory: sessionmaker, notifier: Notifier | None = None,
                    submit_burst: Callable[[str], object] | None = None, start_delay_s: float = 5.0,
                    clock: Callable[[], datetime] = utcnow, describe_code: Callable[[int, int], str] | None = None,
                    backup: Callable[[], object] | None = None, jobstore_engine=None,
                    sweep_settle: timedelta = timedelta(0)):
    """A configured, not yet started ``BackgroundScheduler`` with the fleet's jobs.

    Parameters
    ----------
    store : telemetry.store.TelemetryStore
    session_factory : sessionmaker
    notifier : Notifier, optional
    submit_burst : callable, optional
        Where the sweep sends undiagnosed bursts; default: diagnose on the scheduler's thread with
        a :class:`fleet.diagnosis_service.DiagnosisService`.
    start_delay_s : float
        Seconds before the first run of each job (lets the app finish starting).
    clock : callable
        Aware UTC now for the alarm jobs (escalation, stale data, deliveries).
    describe_code : callable, optional
        ``describe_code(spn, fmi)``: the fault-code alarms' titles.
    backup : callable, optional
        The nightly backup (``fleet.backup.NightlyBackup``); none scheduled when omitted.
    jobstore_engine : sqlalchemy.Engine, optional
        Keep the jobs in this database (``SQLAlchemyJobStore``); default: in memory.
    sweep_settle : timedelta
        The sweep's ``settle`` (:data:`SWEEP_SETTLE_ELSEWHERE` when ``submit_burst`` diagnoses in
        another process than the one the writer hands new bursts to).
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    notifier = notifier or NullNotifier()
    if submit_burst is None:
        from .diagnosis_service import DiagnosisService

        submit_burst = DiagnosisService(store, session_factory, notifier).process_burst
    jobstores = {}
    if jobstore_engine is not None:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        jobstores["default"] = SQLAlchemyJobStore(engine=jobstore_engine, tablename=JOBSTORE_TABLE)
    scheduler = BackgroundScheduler(timezone="UTC", jobstores=jobstores, job_defaults={
        # One run at a time per job; a late run is merged, not queued up behind a slow one.
        "max_instances": 1, "coalesce": True, "misfire_grace_time": 60})
    first = utcnow() + timedelta(seconds=start_delay_s)
    add = _job_adder(scheduler, jobstore_engine)
    add("burst_sweep", BurstSweep(store, session_factory, submit_burst, settle=sweep_settle), "interval", seconds=SWEEP_INTERVAL_S,
        next_run_time=first)
    add("operating_sync", partial(sync_operating_state, store, session_factory, notifier), "interval",
        seconds=OPERATING_SYNC_INTERVAL_S, next_run_time=first)
    add("rul_scoring", partial(run_rul_scoring, store, session_factory, notifier), "interval",
        seconds=RUL_SCORING_INTERVAL_S, next_run_time=first + timedelta(seconds=60))
    add("overdue_escalation", partial(escalate_overdue, session_factory, notifier), "interval",
        seconds=ESCALATION_INTERVAL_S, next_run_time=first)
    add("upload_ledger_prune", partial(prune_upload_ledger, session_factory, clock), "interval",
        seconds=UPLOAD_LEDGER_PRUNE_INTERVAL_S, next_run_time=first)
    add_alarm_jobs(scheduler, store, session_factory, as_bus(notifier, session_factory), clock, first, describe_code)
    add_planning_jobs(scheduler, store, session_factory, notifier, first, jobstore_engine)
    if backup is not None:
        # A night missed while the app was down is made up within the hour, not skipped or doubled.
        add("nightly_backup", backup, "cron", hour=BACKUP_HOUR_UTC, minute=BACKUP_MINUTE_UTC,
            misfire_grace_time=3600)
    return scheduler


def _job_adder(scheduler, jobstore_engine=None) -> Callable:
    """``add(job_id, function, trigger, **trigger_args)``: register ``function`` as this process's
    runner of ``job_id`` and schedule ``run_job(job_id)`` (replacing a stored job of that id).

    A cron job already in the SQL job store keeps its stored next run time: a night missed while
    no process held the lease is then run once on take-over (within its misfire grace time)
    instead of being pushed to the next night by the fresh schedule.
    """

    def add(job_id: str, function: Callable[[], object], trigger: str, **options) -> None:
        RUNNERS[job_id] = function
        if trigger == "cron" and "next_run_time" not in options:
            stored = stored_next_run_time(jobstore_engine, job_id)
            if stored is not None:
                options["next_run_time"] = stored
        scheduler.add_job(run_job, trigger, args=(job_id,), id=job_id, replace_existing=True, **options)

    return add


def stored_next_run_time(jobstore_engine, job_id: str) -> datetime | None:
    """When the SQL job store has ``job_id`` due next (None: no store, no table yet, no such job)."""
    if jobstore_engine is None:
        return None
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with jobstore_engine.connect() as connection:
            value = connection.execute(text(f"SELECT next_run_time FROM {JOBSTORE_TABLE} WHERE id = :id"),
                                       {"id": job_id}).scalar()
    except SQLAlchemyError:  # the job store creates its table on its first start
        return None
    return datetime.fromtimestamp(value, timezone.utc) if value is not None else None


def add_planning_jobs(scheduler, store, session_factory: sessionmaker, notifier: Notifier, first: datetime,
                      jobstore_engine=None) -> None:
    """PM projection (hourly: hour meters move slowly, the projection is idempotent) and the nightly
    dispatch proposal for the next working week."""
    from . import dispatch_claims, dispatch_service, preventive_service

    add = _job_adder(scheduler, jobstore_engine)
    add("pm_projection", partial(preventive_service.run_pm, session_factory, store, notifier), "interval",
        seconds=PM_PROJECTION_INTERVAL_S, next_run_time=first + timedelta(seconds=30))
    # Missed while no process held the lease: made up within the morning, once.
    add("dispatch_proposal", partial(dispatch_service.propose, session_factory), "cron", hour=DISPATCH_HOUR_UTC,
        minute=0, misfire_grace_time=6 * 3600)
    # A first plan or re-plan whose process died (its claim or lock older than STALE_AFTER) is planned again.
    add("dispatch_recovery", partial(dispatch_claims.recover_stale, session_factory, notifier), "interval",
        seconds=DISPATCH_RECOVERY_INTERVAL_S, next_run_time=first + timedelta(seconds=45))


def add_alarm_jobs(scheduler, store, session_factory: sessionmaker, bus, clock: Callable[[], datetime],
                   first: datetime, describe_code: Callable[[int, int], str] | None = None) -> None:
    """The alarm jobs of the table above; the delivery jobs only when the bus has a delivery service."""
    from .alarm_sources import (FAULT_SWEEP_INTERVAL_S, REPORTING_CHECK_INTERVAL_S, check_reporting,
                                sweep_fault_codes)
    from .escalation import ESCALATION_INTERVAL_S as ALARM_ESCALATION_INTERVAL_S
    from .escalation import run_escalation

    add = _job_adder(scheduler)
    add("alarm_escalation", partial(run_escalation, session_factory, bus, clock), "interval",
        seconds=ALARM_ESCALATION_INTERVAL_S, next_run_time=first)
    add("reporting_check", partial(check_reporting, session_factory, bus, clock), "interval",
        seconds=REPORTING_CHECK_INTERVAL_S, next_run_time=first + timedelta(seconds=30))
    from .security_alarms import SECURITY_CHECK_INTERVAL_S, check_security

    add("security_check", partial(check_security, store, session_factory, bus, clock), "interval",
        seconds=SECURITY_CHECK_INTERVAL_S, next_run_time=first + timedelta(seconds=40))
    kwargs = {"describe": describe_code} if describe_code else {}
    add("fault_code_alarms", partial(sweep_fault_codes, store, session_factory, bus, clock, **kwargs), "interval",
        seconds=FAULT_SWEEP_INTERVAL_S, next_run_time=first)
    delivery = bus.deps.delivery
    if delivery is not None:
        add("delivery_retry", delivery.retry_due, "interval", seconds=DELIVERY_RETRY_INTERVAL_S, next_run_time=first)
        add("delivery_digest", delivery.send_digests, "interval", seconds=DIGEST_INTERVAL_S,
            next_run_time=first + timedelta(seconds=DIGEST_INTERVAL_S))
        from .report_mail import send_monthly_reports

        add("monthly_reports", partial(send_monthly_reports, session_factory, store, delivery.mailer,
                                       base_url=delivery.base_url),
            "cron", day="1-3", hour=MONTHLY_REPORT_HOUR_UTC, misfire_grace_time=6 * 3600)
