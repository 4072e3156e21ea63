"""The technicians' app under ``/tech/``: an installable PWA that keeps working with no signal.

Pages are rendered here and kept by the service worker (``/tech/sw.js``, Workbox), so the day's
jobs open on a quarry floor with no network; actions taken there wait on the phone
(``static/tech/js/queue.js``, IndexedDB) and go to ``POST /api/v1/tech/actions`` (:mod:`.api`)
when the connection is back. ``My day`` lists the technician's jobs in visit order; a job page has
the finding in words, the map, the site contact, the PM tasks, planned parts and the forms.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file, url_for
from flask_login import current_user

from fleet.models import utcnow

from ..auth import roles_required

bp = Blueprint("tech", __name__, url_prefix="/tech")


def _runtime():
    return current_app.extensions["ironwatch"]


def _technician(session):
    from fleet import queries

    return queries.technician_for_user(session, current_user.id)


@bp.get("/")
@roles_required("technician")
def orders():
    """My day: the jobs assigned to me, in the order to visit them, and the alarms sent to me."""
    from fleet import field_views, queries
    from fleet.models import utcnow

    with _runtime().sessions() as session:
        technician = _technician(session)
        visits = [] if technician is None else field_views.my_day(session, technician, utcnow())
        name = technician.name if technician is not None else None
        base = technician.home_base if technician is not None else ""
        alarms = field_views.alarm_lines(session, queries.technician_alarms(
            session, current_user.id, utcnow(), current_user.scope))
    jobs = [job for visit in visits for job in visit["jobs"]]
    return render_template("tech/my_day.html", visits=visits, jobs=jobs, technician_name=name, home_base=base,
                           alarms=alarms, vapid_public_key=_runtime().vapid_public_key)


@bp.get("/jobs/<int:order_id>")
@roles_required("technician")
def job(order_id: int):
    """One job: the finding, where, who to meet, what to do, and the forms to report it."""
    from fleet import field_views
    from fleet.models import utcnow

    with _runtime().sessions() as session:
        technician = _technician(session)
        detail = None if technician is None else field_views.job_detail(
            session, order_id, technician, current_user.scope, utcnow())
    if detail is None:
        abort(404, description=f"Job {order_id} is not one of yours.")
    from fleet.lifecycle import HOLD_REASONS

    return render_template("tech/job.html", job=detail, hold_reasons=HOLD_REASONS,
                           hold_words=field_views.HOLD_WORDS)


@bp.get("/jobs/<int:order_id>/evidence.png")
@roles_required("technician")
def job_evidence(order_id: int):
    """The evidence picture of the job's latest burst (the spectrum with the fault's lines)."""
    from fleet import field_views
    from fleet.models import utcnow
    from fleet.queries import burst_diagnosis

    from ..evidence import evidence_png_for_burst

    runtime = _runtime()
    with runtime.sessions() as session:
        technician = _technician(session)
        detail = None if technician is None else field_views.job_detail(
            session, order_id, technician, current_user.scope, utcnow())
        record = (burst_diagnosis(session, detail["evidence_burst"], current_user.scope)
                  if detail and detail["evidence_burst"] else None)
    if record is None:
        abort(404, description=f"Job {order_id} has no evidence picture.")
    png = evidence_png_for_burst(runtime.store, runtime.sessions, record)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.get("/photos/<int:id>")
@roles_required("technician", "engineer", "admin")
def photo(id: int):  # noqa: A002 - the access matrix fills <id>
    from fleet.field_service import photo_file

    path = photo_file(_runtime().sessions, current_app.config["IRONWATCH_VAR"], id, current_user.scope)
    if path is None:
        abort(404, description=f"Photo {id} does not exist or is not visible to you.")
    return send_file(path, mimetype="image/jpeg", max_age=86400)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: what the phone's home-screen icon opens, and how."""
    body = {
        "name": "Ironwatch Field", "short_name": "Ironwatch",
        "description": "Your jobs for the day, with the machine, the finding and the forms, also with no signal.",
        "id": url_for("tech.orders"), "start_url": url_for("tech.orders"), "scope": url_for("tech.orders"),
        "display": "standalone", "orientation": "portrait", "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [{"src": url_for("static", filename=f"tech/icons/icon-{size}.png"), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": "any maskable"} for size in (192, 512)],
    }
    return current_app.response_class(current_app.json.dumps(body), mimetype="application/manifest+json")


def tech_static_dir() -> Path:
    """The folder of the app's own files (CSS, scripts, icons, the worker), served as /static/tech/:
    ``IRONWATCH_TECH_STATIC`` (the browser tests stage a deploy in a copy), or the app's static/tech."""
    return Path(current_app.config.get("IRONWATCH_TECH_STATIC") or Path(current_app.static_folder) / "tech")


def current_shell():
    """The app shell as it is on disk now (:mod:`.shell`): its version and each file's hash."""
    from .shell import ShellManifest

    manifest = current_app.extensions.get("ironwatch_tech_shell")
    if manifest is None:
        manifest = current_app.extensions["ironwatch_tech_shell"] = ShellManifest(
            tech_static_dir(), current_app.static_folder, current_app.static_url_path)
    return manifest.current()


def tech_static(tech_file: str):
    """/static/tech/<file> from :func:`tech_static_dir` (more specific than Flask's /static/ rule,
    so ``url_for('static', filename='tech/...')`` links stay as they are)."""
    from flask import send_from_directory

    return send_from_directory(tech_static_dir(), tech_file)


@bp.record_once
def _serve_tech_static(state) -> None:
    state.app.add_url_rule(f"{state.app.static_url_path}/tech/<path:tech_file>", endpoint="tech_static",
                           view_func=tech_static)


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from /tech/ so its scope is the app (it imports Workbox from
    /static/vendor/workbox, copied from npm by ``npm run build``), with the shell's version and
    file hashes prepended (:mod:`.shell`): any change to the shell changes the worker's bytes."""
    current = current_shell()
    body = current.worker_prelude() + (tech_static_dir() / "sw.js").read_text(encoding="utf-8")
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = url_for("tech.orders")
    response.headers["Cache-Control"] = "no-cache"  # a new version is picked up at the next visit
    response.headers["X-Ironwatch-Asset-Version"] = current.version
    return response


@bp.post("/alarms/<int:alarm_id>/acknowledge")
@roles_required("technician")
def acknowledge_alarm(alarm_id: int):
    """The phone's acknowledge button (the JSON API's ``/api/v1/alarms/<id>/acknowledge`` is the
    same for a script or an installed app)."""
    from flask import flash, redirect, url_for

    from fleet import alarm_service
    from fleet.alarms import AlarmNotFound, InvalidAlarmTransition

    from ..auth import check_csrf

    check_csrf()
    runtime = current_app.extensions["ironwatch"]
    try:
        view = alarm_service.acknowledge(runtime.sessions, runtime.notifier, alarm_id, current_user.scope,
                                         current_user.email, current_user.id,
                                         (request.form.get("comment") or "").strip()[:500])
        flash(f"{view['number']} acknowledged: the escalation stops here.", "info")
    except (AlarmNotFound, InvalidAlarmTransition) as refused:
        flash(str(refused)[:1].upper() + str(refused)[1:] + ".", "error")
    return redirect(url_for("tech.orders"))


@bp.post("/orders/<int:order_id>/actions")
@roles_required("technician")
def order_action(order_id: int):
    """The plain-form fallback (no script): start or complete through the console's action path."""
    from ..actions import form_action

    return form_action(order_id, url_for("tech.orders"))


from . import api  # noqa: E402,F401  (the JSON blueprint lives beside the pages)
