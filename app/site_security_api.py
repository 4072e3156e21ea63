"""The sites' geofence and curfew as JSON (on the ``api`` blueprint), for scripts and the owners'
fleet software: ``GET /api/v1/sites``, ``GET|PUT /api/v1/sites/<id>/security``.

Same rules as the pages (``app.site_security_pages``): owners and engineers, scoped by
``fleet.scope`` (another tenant's site is a 404 before the body is read), validated whole by
``fleet.security_rules`` (400 ``{"error", "message", "field"}``, nothing changed).
"""
from __future__ import annotations

from flask import current_app, jsonify
from flask_login import current_user

from .alarm_api import Refused, json_body
from .api import bp
from .auth import roles_required

#: Technicians work on machines; where a site's fence lies is for its owner and the engineers.
SITE_ROLES = ("admin", "engineer", "customer")


def _service():
    from fleet.site_security import SiteSecurityService

    runtime = current_app.extensions["ironwatch"]
    return SiteSecurityService(runtime.sessions, runtime.notifier)


def _site(site_id: int) -> dict:
    from fleet.site_security import SiteNotFound

    try:
        return _service().site(site_id, current_user.scope)
    except SiteNotFound as missing:
        raise Refused(404, "not_found", str(missing)) from None


def _public(view: dict) -> dict:
    return {key: view[key] for key in ("id", "name", "tenant", "timezone", "site_lat", "site_lon", "machines",
                                       "fence", "curfew", "curfew_text", "customized", "updated_by", "updated_at")}


@bp.get("/sites")
@roles_required(*SITE_ROLES)
def sites():
    return jsonify(sites=[_public(view) for view in _service().sites(current_user.scope)])


@bp.get("/sites/<int:site_id>/security")
@roles_required(*SITE_ROLES)
def site_security(site_id: int):
    return jsonify(_public(_site(site_id)))


@bp.put("/sites/<int:site_id>/security")
@roles_required(*SITE_ROLES)
def update_site_security(site_id: int):
    """Body ``{"fence": {"enabled", "lat", "lon", "radius_m"}, "curfew": null | {"mon": ["06:00",
    "20:00"] | null, ...}}``; both parts are required, so a change is always the whole setting."""
    from fleet.security_rules import WEEKDAYS, SecurityInputError, parse_curfew, parse_fence
    from fleet.site_security import SiteNotFound

    _site(site_id)
    body = json_body(required=True)
    fence, curfew = body.get("fence"), body.get("curfew", "missing")
    if not isinstance(fence, dict):
        raise Refused(400, "bad_field", 'fence must be an object {"enabled", "lat", "lon", "radius_m"}.', "fence")
    if curfew != "missing" and curfew is not None and not isinstance(curfew, dict):
        raise Refused(400, "bad_field", 'curfew must be null (no curfew) or {"mon": ["06:00", "20:00"], ...}.',
                      "curfew")
    if curfew == "missing":
        raise Refused(400, "bad_field", "curfew is required: null for no curfew.", "curfew")
    if not isinstance(fence.get("enabled", True), bool):
        raise Refused(400, "bad_field", "fence.enabled must be true or false.", "fence_enabled")
    try:
        windows = {}
        for key in WEEKDAYS:
            window = (curfew or {}).get(key)
            if window is not None and (not isinstance(window, list) or len(window) != 2):
                raise SecurityInputError(key, f'{key} must be null (no running) or ["HH:MM", "HH:MM"].')
            windows[key] = (window is not None, *(window or ("", "")))
        parsed_fence = parse_fence(fence.get("lat"), fence.get("lon"), fence.get("radius_m"),
                                   fence.get("enabled", True))
        parsed_curfew = parse_curfew(curfew is not None, windows)
    except SecurityInputError as refused:
        raise Refused(400, "bad_field", refused.message, refused.field) from None
    try:
        saved = _service().update(site_id, current_user.scope, current_user.email, parsed_fence, parsed_curfew)
    except SiteNotFound as missing:
        raise Refused(404, "not_found", str(missing)) from None
    return jsonify(_public(saved))
