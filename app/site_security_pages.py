"""The sites' security pages, shared by the portal (``/portal/sites…``, the owner) and the console
(``/console/sites…``, engineers): the list of sites with their geofence and curfew, and one site's
editing page (Leaflet map with the circle, radius, centre by click or coordinates, allowed hours).

The routes in each blueprint are one line each; what they share is here. Scoping is the signed-in
person's ``fleet.scope`` (another tenant's site is a 404, as one that does not exist); a bad field
answers 400 with the page, the message naming the field, and changes nothing.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .auth import check_csrf


def _service():
    from fleet.site_security import SiteSecurityService

    runtime = current_app.extensions["ironwatch"]
    return SiteSecurityService(runtime.sessions, runtime.notifier)


def sites_page(area: str):
    """The visible sites and their settings (``area``: ``portal`` or ``console``)."""
    return render_template("sites.html", sites=_service().sites(current_user.scope), area=area)


def site_page(area: str, site_id: int, status: int = 200, form: dict | None = None, error=None):
    """One site's editing page; ``form`` keeps what was typed when it was refused."""
    from fleet.security_rules import (CONSECUTIVE_MINUTES, GNSS_TOLERANCE_M, MAX_RADIUS_M, MIN_RADIUS_M, WEEKDAYS,
                                      WEEKDAY_WORDS)
    from fleet.site_security import SiteNotFound

    try:
        site = _service().site(site_id, current_user.scope)
    except SiteNotFound as missing:
        abort(404, description=str(missing))
    values = form or _form_of(site)
    return render_template("site_security.html", site=site, area=area, values=values, error=error,
                           days=list(zip(WEEKDAYS, WEEKDAY_WORDS)), min_radius=MIN_RADIUS_M, max_radius=MAX_RADIUS_M,
                           tolerance_m=GNSS_TOLERANCE_M, minutes=CONSECUTIVE_MINUTES), status


def save_site(area: str, site_id: int):
    """Validate the whole form, then save; a refusal re-renders the page (400) with the message."""
    from fleet.security_rules import SecurityInputError
    from fleet.site_security import SiteNotFound

    try:
        _service().site(site_id, current_user.scope)  # another tenant's site: 404 before anything else
    except SiteNotFound as missing:
        abort(404, description=str(missing))
    check_csrf()
    form = request.form
    try:
        fence, curfew = parse_form(form)
    except SecurityInputError as refused:
        flash(f"{refused.message} Nothing was changed.", "error")
        return site_page(area, site_id, 400, form=_typed(form), error=refused)
    try:
        saved = _service().update(site_id, current_user.scope, current_user.email, fence, curfew)
    except SiteNotFound as missing:
        abort(404, description=str(missing))
    fence_words = f"{saved['fence']['radius_m']:.0f} m fence" if fence.enabled else "no fence"
    flash(f"Saved: {fence_words}, {saved['curfew_text']}. The next check (within a minute) uses it.", "info")
    return redirect(url_for(f"{area}.site_security", site_id=site_id))


def parse_form(form):
    """``(Geofence, Curfew | None)`` from the page's fields; raises ``SecurityInputError``."""
    from fleet.security_rules import WEEKDAYS, parse_curfew, parse_fence

    fence = parse_fence(form.get("fence_lat"), form.get("fence_lon"), form.get("fence_radius_m"),
                        form.get("fence_enabled") == "on")
    windows = {key: (form.get(f"{key}_allowed") == "on", form.get(f"{key}_start", ""), form.get(f"{key}_end", ""))
               for key in WEEKDAYS}
    return fence, parse_curfew(form.get("curfew") == "hours", windows)


def _form_of(site: dict) -> dict:
    """The page's field values from a site's saved settings."""
    fence = site["fence"]
    values = {"fence_enabled": fence["enabled"], "fence_lat": f"{fence['lat']:.6f}", "fence_lon": f"{fence['lon']:.6f}",
              "fence_radius_m": f"{fence['radius_m']:.0f}", "curfew": "hours" if site["curfew"] else "none"}
    for key, window in site["curfew_form"].items():
        values[f"{key}_allowed"] = window is not None
        start, end = window or ("06:00", "20:00")
        # a time input holds 00:00 to 23:59: the end of the day is shown as 00:00 (parse_curfew reads it so)
        values[f"{key}_start"], values[f"{key}_end"] = start, "00:00" if end == "24:00" else end
    return values


def _typed(form) -> dict:
    """What was typed, to show again with the refusal (checkboxes as booleans)."""
    values = {key: form.get(key, "") for key in form}
    for key in list(values):
        if key.endswith("_allowed") or key == "fence_enabled":
            values[key] = form.get(key) == "on"
    values.setdefault("fence_enabled", False)
    values.setdefault("curfew", "none")
    return values
