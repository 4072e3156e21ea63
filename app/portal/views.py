"""Portal routes: ``/portal/`` (fleet), ``/portal/machines/<uid>`` and ``/portal/reports``."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from ..auth import roles_required
from . import PORTAL_ROLES, bp

#: The machine status in the words an owner uses.
STATUS_WORDS = {
    "alarm": "Needs a technician now",
    "warning": "Needs maintenance soon",
    "watch": "Running; a service is due or a finding is followed up",
    "ok": "Running normally",
    "unknown": "Not checked yet",
}


def _runtime():
    return current_app.extensions["ironwatch"]


def viewer_zone() -> ZoneInfo:
    """The zone the signed-in user's days are counted in (``fleet.usage.zone_of``)."""
    from fleet.usage import zone_of

    with _runtime().sessions() as session:
        return zone_of(session, current_user.timezone, current_user.tenant_id, current_user.scope)


def today_in(zone: ZoneInfo):
    return datetime.now(timezone.utc).astimezone(zone).date()


@bp.app_template_filter("status_words")
def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "unknown", STATUS_WORDS["unknown"])


@bp.get("/")
@roles_required(*PORTAL_ROLES)
def index():
    from fleet import queries

    from ..console.views import fleet_counts, sort_by_urgency

    tenants = current_user.scope
    from fleet.scope import scope_title

    with _runtime().sessions() as session:
        machines = sort_by_urgency(queries.fleet_overview(session, tenants))
        orders = queries.work_orders(session, tenants, status="active", limit=100)
        alarms = queries.alarms(session, tenants, state="open", limit=50)
        title = scope_title(session, current_user.tenant_name, tenants)
    return render_template("portal/index.html", machines=machines, orders=orders, alarms=alarms,
                           counts=fleet_counts(machines), live=True, title=title, security=security_words(alarms))


def security_words(alarms: list[dict]) -> dict[str, str]:
    """Machine uid -> the title of its open security alarm: a machine that left its site "needs a
    technician" in no sense, so the owner reads what happened instead of the status in words."""
    words: dict[str, str] = {}
    for alarm in sorted(alarms, key=lambda a: a["cause"] != "geofence_exit"):  # leaving the site says most
        if alarm["source"] == "security":
            words.setdefault(alarm["machine"], alarm["title"])
    return words


@bp.get("/machines/<uid>")
@roles_required(*PORTAL_ROLES)
def machine(uid: str):
    from fleet import queries, usage
    from fleet.models import Machine

    from ..console.views import _latest_operating

    tenants = current_user.scope
    zone = viewer_zone()
    with _runtime().sessions() as session:
        detail = queries.machine_detail(session, uid, tenants)
        if detail is None:
            abort(404, description=f"Machine {uid} does not exist or is not one of yours.")
        row = session.scalar(select(Machine).where(Machine.uid == uid))
        upcoming = usage.upcoming_maintenance(session, row, zone)
        history = usage.work_order_history(session, [row.id], limit=30)
        alarms = queries.alarms(session, tenants, state="open", machine_uid=uid, limit=50)
    latest = _latest_operating(uid)
    return render_template("portal/machine.html", machine=detail, upcoming=upcoming, history=history,
                           alarms=alarms, latest=latest, zone=zone.key, live=True,
                           security=security_words(alarms).get(uid))


@bp.get("/reports")
@roles_required(*PORTAL_ROLES)
def reports():
    from datetime import timedelta

    zone = viewer_zone()
    today = today_in(zone)
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    from fleet.models import User

    with _runtime().sessions() as session:
        subscribed = bool(session.get(User, current_user.id).monthly_report)
    return render_template("portal/reports.html", today=today.isoformat(), subscribed=subscribed,
                           first=(today - timedelta(days=13)).isoformat(), last_month=last_month,
                           this_month=today.strftime("%Y-%m"), zone=zone.key)


def _bad_input(field: str, message: str):
    from flask import jsonify

    return jsonify(error="bad_parameter", field=field, message=message), 400


@bp.get("/reports/fleet.csv")
@roles_required(*PORTAL_ROLES)
def report_csv():
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD&table=days|machines|work_orders``: a CSV download."""
    from flask import Response, request

    from fleet import reports, usage

    zone = viewer_zone()
    table = request.args.get("table") or "days"
    if table not in reports.CSV_TABLES:
        return _bad_input("table", f"table must be one of {', '.join(reports.CSV_TABLES)}; got {table!r}.")
    try:
        first, last = usage.parse_day_range(request.args.get("from"), request.args.get("to"), today_in(zone))
    except usage.RangeError as error:
        return _bad_input(error.field, error.message)
    with _runtime().sessions() as session:
        report = reports.fleet_usage(session, _runtime().store, current_user.scope, first, last, zone)
    name = reports.csv_file_name(report, table)
    return Response(reports.csv_table(report, table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/monthly.pdf")
@roles_required(*PORTAL_ROLES)
def report_pdf():
    """``?month=YYYY-MM``: the monthly fleet report of that month, as PDF."""
    from flask import Response, request

    from fleet import reports, usage
    from fleet.report_pdf import render_monthly_pdf
    from fleet.scope import scope_title

    zone = viewer_zone()
    try:
        first, last = reports.month_range(request.args.get("month") or reports.previous_month(today_in(zone)))
        if first > today_in(zone):
            raise usage.RangeError("month", f"{first:%Y-%m} has not begun yet.")
        last = min(last, today_in(zone))  # this month so far
    except usage.RangeError as error:
        return _bad_input(error.field, error.message)
    with _runtime().sessions() as session:
        report = reports.fleet_usage(session, _runtime().store, current_user.scope, first, last, zone,
                                     with_upcoming=True)
        title = scope_title(session, current_user.tenant_name, current_user.scope)
    pdf = render_monthly_pdf(report, title, f"{first:%B %Y}")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="ironwatch-fleet-report-{first:%Y-%m}.pdf"'})


# --- monthly report subscription and the fleet software's API clients ------------------------------

@bp.post("/reports/subscription")
@roles_required(*PORTAL_ROLES)
def report_subscription():
    from flask import flash, redirect, request, url_for

    from fleet.models import User

    from ..auth import check_csrf

    check_csrf()
    wanted = request.form.get("monthly_report") == "on"
    with _runtime().sessions() as session:
        session.get(User, current_user.id).monthly_report = wanted
        session.commit()
    flash("The monthly fleet report will be e-mailed to you on the 1st." if wanted
          else "You will no longer receive the monthly fleet report by e-mail.", "info")
    return redirect(url_for("portal.reports"))


def _whole_company_required() -> None:
    """API clients read the whole company's fleet: a viewer limited to some sites may not make or
    revoke them (403, before anything else is read)."""
    if current_user.site_limited:
        abort(403, description="API clients read your company's whole fleet; you see only some of its sites. "
                               "Ask your company's user administrator.")


@bp.get("/api-clients")
@roles_required(*PORTAL_ROLES)
def api_clients():
    from fleet import api_clients as clients

    if current_user.site_limited:
        return render_template("portal/api_clients.html", clients=[], created=None, scopes=clients.SCOPES)
    with _runtime().sessions() as session:
        rows = clients.clients_of(session, current_user.tenant_id)
    return render_template("portal/api_clients.html", clients=rows, created=None, scopes=clients.SCOPES)


@bp.post("/api-clients")
@roles_required(*PORTAL_ROLES)
def create_api_client():
    from flask import request

    from fleet import api_clients as clients

    from ..auth import check_csrf

    _whole_company_required()
    check_csrf()
    name = request.form.get("name", "").strip()
    problem = None if 1 <= len(name) <= 120 else "Give the client a name of 1 to 120 characters (e.g. the fleet software it is for)."
    try:
        scopes = clients.parse_scopes(request.form.getlist("scope"))
    except clients.ScopeError as error:
        scopes, problem = (), problem or str(error)
    if not scopes and problem is None:
        problem = "Tick at least one thing the client may read."
    if problem:
        from flask import flash

        with _runtime().sessions() as session:
            rows = clients.clients_of(session, current_user.tenant_id)
        flash(problem, "error")
        return render_template("portal/api_clients.html", clients=rows, created=None, scopes=clients.SCOPES), 400
    with _runtime().sessions() as session:
        created = clients.create_client(session, current_user.tenant_id, name, current_user.email, scopes)
        session.commit()
        rows = clients.clients_of(session, current_user.tenant_id)
    # The secret exists in clear only in this response; it is never stored or shown again.
    response = current_app.make_response(render_template("portal/api_clients.html", clients=rows, created=created,
                                                                        scopes=clients.SCOPES))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api-clients/<int:client_id>/revoke")
@roles_required(*PORTAL_ROLES)
def revoke_api_client(client_id: int):
    from flask import flash, redirect, url_for

    from fleet import api_clients as clients

    from ..auth import check_csrf

    _whole_company_required()
    check_csrf()
    with _runtime().sessions() as session:
        if not clients.revoke_client(session, current_user.tenant_id, client_id, datetime.now(timezone.utc)):
            abort(404, description="That API client does not exist or is not your company's.")
        session.commit()
    flash("The client is revoked; its tokens no longer work.", "info")
    return redirect(url_for("portal.api_clients"))
