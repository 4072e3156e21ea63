"""Each user's notification page (``/profile``): which channels, quiet hours, time zone, and the
devices subscribed to Web Push (the page's ``push.js`` subscribes this browser through the
service worker ``/push-sw.js``, which shows the notifications)."""
from __future__ import annotations

from zoneinfo import available_timezones

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user

from .auth import check_csrf, roles_required

bp = Blueprint("profile", __name__)
ALL_ROLES = ("admin", "engineer", "technician", "customer")
#: Offered first in the zone list: where the demo fleet and its people are.
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/Chicago", "Asia/Tokyo")


@bp.get("/profile")
@roles_required(*ALL_ROLES)
def index():
    from sqlalchemy import select

    from fleet.models import PushSubscription
    from fleet.queries import iso

    from .alarm_api import load_preferences

    with current_app.extensions["ironwatch"].sessions() as session:
        devices = [{"id": s.id, "device": s.device or "unknown browser", "created_at": iso(s.created_at),
                    "last_success_at": iso(s.last_success_at)}
                   for s in session.scalars(select(PushSubscription).where(PushSubscription.user_id == current_user.id)
                                            .order_by(PushSubscription.created_at))]
    zones = list(COMMON_ZONES) + sorted(z for z in available_timezones() if z not in COMMON_ZONES and "/" in z)
    return render_template("profile.html", prefs=load_preferences(current_user.id), devices=devices, zones=zones)


@bp.post("/profile")
@roles_required(*ALL_ROLES)
def save():
    from .alarm_api import Refused, preferences_from, save_preferences

    check_csrf()
    body = {"channels": request.form.getlist("channels"), "quiet_start": request.form.get("quiet_start") or None,
            "quiet_end": request.form.get("quiet_end") or None, "timezone": request.form.get("timezone") or "UTC"}
    try:
        save_preferences(current_user.id, preferences_from(body))
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for("profile.index"))
    flash("Notification preferences saved.", "info")
    return redirect(url_for("profile.index"))


@bp.get("/push-sw.js")
def service_worker():
    """Served from the root so its scope covers every page (a worker's scope is its own path)."""
    response = send_from_directory(current_app.static_folder, "js/push-sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    return response
