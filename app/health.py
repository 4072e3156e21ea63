"""Health endpoints: ``GET /healthz`` (liveness) and ``GET /readyz`` (readiness), JSON.

- ``/healthz``: the process serves requests and its background threads run (or are being
  restarted by the supervisor). 503 when a thread has stayed down for ``STUCK_AFTER_S`` despite
  the restarts, or the supervisor itself stopped: restarting the process is the remedy.
- ``/readyz``: everything an upload and a page need: the SQL database answers, InfluxDB answers,
  the spool takes uploads (not full, disk space left) and its writer saves progress. 503 names
  the failing checks. Uploads are still accepted while only InfluxDB is away (they wait in the
  spool, whose backlog is reported): readiness says the service is degraded, not that it refuses.

The scheduler runs in a process of its own (``python -m app scheduler``): its state, read from the
scheduler lease in the SQL database (who holds it, last heartbeat), is reported under
``"scheduler"`` in ``/readyz`` for information, and counts neither for readiness nor for liveness: a
web process serves the same whether the scheduler runs or not, and restarting it would not help.

No sign-in, as probes of an orchestrator or load balancer have none; they carry states and
numbers, never error texts, paths or data. The admin's console page (``/console/health``) shows
the same report with the errors.
"""
from __future__ import annotations

import shutil
import time

from flask import Blueprint, current_app, jsonify, render_template

from .auth import roles_required

bp = Blueprint("health", __name__)

#: A thread down this long although restarted with back-off makes the process unhealthy, s.
STUCK_AFTER_S = 300.0
#: Free space on the spool's disk below which the spool is reported as not taking uploads, bytes.
MIN_SPOOL_FREE_BYTES = 1024 * 1024


def thread_report(runtime) -> dict:
    """``{"ok", "supervisor", "threads": [...]}`` of the runtime's supervised threads."""
    supervisor = runtime.supervisor
    if supervisor is None:  # background not started (tests with START_BACKGROUND=False)
        return {"ok": True, "supervisor": "not started", "threads": []}
    threads = supervisor.status()
    stuck = [t for t in threads if t["down_for_s"] is not None and t["down_for_s"] >= STUCK_AFTER_S]
    return {"ok": supervisor.running and not stuck, "supervisor": "running" if supervisor.running else "stopped",
            "threads": threads}


def scheduler_report(runtime) -> dict:
    """``{"ok", "state", "owner", "heartbeat_age_s"}`` of the scheduler process, from its lease row:
    running while the lease is held and unexpired (the holder renews it every 10 s)."""
    from fleet.models import utcnow
    from fleet.scheduler_lease import Lease

    try:
        row = Lease(runtime.sessions).holder()
    except Exception as exc:  # noqa: BLE001 - the database is reported by the sql check
        return {"ok": False, "state": "unknown", "error": f"{type(exc).__name__}: {exc}"[:300]}
    now = utcnow()
    if row is None or row.expires_at <= now:
        return {"ok": False, "state": "not running",
                "heartbeat_age_s": round((now - row.heartbeat_at).total_seconds()) if row is not None else None}
    return {"ok": True, "state": "running", "owner": row.owner,
            "heartbeat_age_s": round((now - row.heartbeat_at).total_seconds(), 1)}


def readiness_report(runtime) -> dict:
    """Every readiness check: ``{"ok", "checks": {"sql", "influxdb", "spool", "threads"}}``, each
    check a dict with ``ok`` and its numbers (and ``error`` for the admin page)."""
    checks = {"sql": _check_sql(runtime), "influxdb": _check_influx(runtime), "spool": _check_spool(runtime)}
    threads = thread_report(runtime)
    checks["threads"] = {"ok": threads["ok"], "down": [t["name"] for t in threads["threads"] if not t["alive"]]}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def _timed(probe) -> dict:
    start = time.perf_counter()
    try:
        probe()
        return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 1)}
    except Exception as exc:  # noqa: BLE001 - any failure of the probe is "not reachable"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _check_sql(runtime) -> dict:
    from sqlalchemy import text

    def probe():
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return _timed(probe)


def _check_influx(runtime) -> dict:
    return _timed(runtime.influx.ping)


def _check_spool(runtime) -> dict:
    spool, writer = runtime.spool, runtime.writer
    backlog = spool.backlog()
    try:
        free = shutil.disk_usage(spool.directory).free
    except OSError:
        free = 0
    committing = getattr(writer, "committing", True)
    report = {"undrained_bytes": backlog["undrained_bytes"], "max_bytes": spool.max_bytes,
              "segments": backlog["segments"], "disk_free_bytes": free, "writer_saving_progress": committing,
              "written_lines": writer.stats.acked_lines}
    report["ok"] = bool(committing and free >= MIN_SPOOL_FREE_BYTES
                        and backlog["undrained_bytes"] < spool.max_bytes)
    if writer.stats.last_error:
        report["error"] = writer.stats.last_error[:300]
    return report


def public(report: dict) -> dict:
    """The report without error texts (probes are answered without sign-in)."""
    if isinstance(report, dict):
        return {k: public(v) for k, v in report.items() if k not in ("error", "last_error")}
    if isinstance(report, list):
        return [public(v) for v in report]
    return report


@bp.get("/healthz")
def healthz():
    report = thread_report(current_app.extensions["ironwatch"])
    body = {"status": "ok" if report["ok"] else "unhealthy", **public(report)}
    return jsonify(body), 200 if report["ok"] else 503


@bp.get("/readyz")
def readyz():
    report = readiness_report(current_app.extensions["ironwatch"])
    failing = sorted(name for name, check in report["checks"].items() if not check["ok"])
    body = {"status": "ready" if report["ok"] else "not_ready", "failing": failing, **public(report),
            "scheduler": public(scheduler_report(current_app.extensions["ironwatch"]))}
    return jsonify(body), 200 if report["ok"] else 503


@bp.get("/console/health")
@roles_required("admin")
def console_page():
    """The admin's view of the same reports, with the errors (``/console/health``)."""
    runtime = current_app.extensions["ironwatch"]
    return render_template("console/health.html", threads=thread_report(runtime),
                           readiness=readiness_report(runtime), scheduler=scheduler_report(runtime), live=False)
