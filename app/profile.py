"""Each user's notification page (``/profile``): which channels, quiet hours, time zone, for a
customer's user which alarms on their machines reach them (``fleet.owner_alerts``), and the devices
subscribed to Web Push (the page's ``push.js`` subscribes this browser through the
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


def _page(error=None, status: int = 200):
    """The page with the stored preferences (a refused form shows ``error``, a ``Refused``)."""
    from sqlalchemy import select

    from fleet.models import PushSubscription
    from fleet.owner_alerts import ALERT_KINDS, FAULT_LEVEL_WORDS, OWNER_ROLES
    from fleet.queries import iso

    from .alarm_api import load_preferences

    with current_app.extensions["ironwatch"].sessions() as session:
        devices = [{"id": s.id, "device": s.device or "unknown browser", "created_at": iso(s.created_at),
                    "last_success_at": iso(s.last_success_at)}
                   for s in session.scalars(select(PushSubscription).where(PushSubscription.user_id == current_user.id)
                                            .order_by(PushSubscription.created_at))]
    zones = list(COMMON_ZONES) + sorted(z for z in available_timezones() if z not in COMMON_ZONES and "/" in z)
    owner = current_user.role in OWNER_ROLES
    return render_template("profile.html", prefs=load_preferences(current_user.id, owner), devices=devices,
                           zones=zones, owner=owner, alert_kinds=ALERT_KINDS, fault_levels=FAULT_LEVEL_WORDS,
                           error=error), status


@bp.get("/profile")
@roles_required(*ALL_ROLES)
def index():
    return _page()


def form_body(form, owner: bool) -> dict:
    """The form as the preferences API's body; a customer's form carries their owner alerts
    (an unticked box sends nothing, so a missing ``owner_security`` is "off")."""
    from fleet.owner_alerts import FAULT_LEVEL_WORDS

    from .alarm_api import Refused

    body = {"channels": form.getlist("channels"), "quiet_start": form.get("quiet_start") or None,
            "quiet_end": form.get("quiet_end") or None, "timezone": form.get("timezone") or "UTC"}
    if owner:
        security = form.get("owner_security")
        if security not in (None, "on"):
            raise Refused(400, "bad_field", "Machine security: the box is either ticked or not.",
                          "owner_alerts.security")
        faults = form.get("owner_faults", "off")
        if faults not in FAULT_LEVEL_WORDS:  # the page's words here; the API's checks name the JSON
            raise Refused(400, "bad_field", "Machine faults: choose one of " +
                          ", ".join(f"\u201c{w}\u201d" for w in FAULT_LEVEL_WORDS.values()) + ".", "owner_alerts.faults")
        body["owner_alerts"] = {"security": security == "on", "faults": faults}
    return body


@bp.post("/profile")
@roles_required(*ALL_ROLES)
def save():
    """Bad input answers the page again with 400 saying which field, and stores nothing."""
    from fleet.owner_alerts import OWNER_ROLES

    from .alarm_api import Refused, preferences_from, save_preferences

    check_csrf()
    owner = current_user.role in OWNER_ROLES
    try:
        save_preferences(current_user.id, preferences_from(form_body(request.form, owner)), owner)
    except Refused as refused:
        return _page(refused, 400)
    flash("Notification preferences saved.", "info")
    return redirect(url_for("profile.index"))


@bp.get("/push-sw.js")
def service_worker():
    """Served from the root so its scope covers every page (a worker's scope is its own path)."""
    response = send_from_directory(current_app.static_folder, "js/push-sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    return response
