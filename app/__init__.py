"""Ironwatch web app: the composition root.

``create_app(config)`` resolves the settings (environment, then ``config``), builds the real
adapters and services (:func:`app.runtime.build_runtime`), stores them on
``app.extensions["ironwatch"]``, binds Socket.IO and Flask-Login, registers the blueprints and puts
the device ingest endpoints (plain WSGI, :mod:`app.ingest`) in front of it all.
With ``START_BACKGROUND=False`` (tests) the spool writer, the diagnosis worker and the live relay
are left stopped, so a test drives them by hand (the scheduled jobs are not here at all: they run
in ``python -m app scheduler``).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from .config import load_config
from .extensions import login_manager, socketio

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app with its services.

    Parameters
    ----------
    config : dict, optional
        Settings overriding the environment: the ``IRONWATCH_*`` keys of docs/contracts.md,
        ``TESTING``, ``SECRET_KEY`` and ``START_BACKGROUND`` (default True).
    """
    from .ingest import DeviceIngestApp
    from .notifier import SocketIONotifier
    from .runtime import build_runtime

    settings = load_config(config)
    app = Flask(__name__)
    from .security import cookie_settings

    # Flask's defaults already hold these keys (SameSite None), so set them, unless the caller did.
    app.config.update({key: value for key, value in cookie_settings(settings["IRONWATCH_BEHIND_TLS"]).items()
                       if key not in settings})
    app.config.update(settings)
    from . import input_bounds

    input_bounds.init_app(app)  # bounded JSON, body size and route ids (issue 20)
    app.json.sort_keys = False  # keep the order the read models chose

    socketio.init_app(app, async_mode="threading")
    login_manager.init_app(app)
    # init_app made a new Socket.IO server; handlers registered on an earlier one (another app in
    # the same process, as in tests) do not carry over, so register them on this one.
    from .notifier import register_socket_handlers

    register_socket_handlers(socketio)

    runtime = build_runtime(settings, SocketIONotifier(socketio))
    _wire_live_sessions(runtime)
    app.extensions["ironwatch"] = runtime
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_handlers(app)
    app.wsgi_app = DeviceIngestApp(app.wsgi_app, runtime.ingest)
    from .security import tile_origin, wrap

    tiles = tile_origin(settings.get("IRONWATCH_MAP_TILES_URL", ""))
    app.wsgi_app = wrap(app.wsgi_app, settings["IRONWATCH_BEHIND_TLS"], settings["IRONWATCH_PROXY_HOPS"],
                        (tiles,) if tiles else ())
    if settings["START_BACKGROUND"]:
        runtime.start()
    return app


def _wire_live_sessions(runtime) -> None:
    """Socket controls (cut, re-room) reach every web process through the outbox (app.live_sessions)."""
    from fleet.live_outbox import OutboxNotifier

    from .live_sessions import LiveSessions

    runtime.live_sessions = LiveSessions(socketio, runtime.sessions, OutboxNotifier(runtime.sessions))
    runtime.relay.controls.update(runtime.live_sessions.controls())


def _register_blueprints(app: Flask) -> None:
    from . import admin, aemp, api, auth, console, health, openapi, portal, profile, tech

    for blueprint in (auth.bp, console.bp, portal.bp, tech.bp, api.bp, openapi.bp, health.bp, profile.bp, aemp.bp,
                      tech.api.api_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(admin.bp)


def _register_template_helpers(app: Flask) -> None:
    from .auth import csrf_token

    @app.context_processor
    def helpers():
        return {"csrf_token": csrf_token, "nav_items": lambda: nav_items(app)}


#: Pages highlighted under another page's top-bar link.
_NAV_PARENT = {"console.machine": "console.fleet", "console.work_order": "console.work_orders",
               "portal.machine": "portal.index",
               "console.machine_pm": "console.fleet", "console.feedback_report": "console.dispatch_board",
               "console.site_security": "console.sites", "portal.site_security": "portal.sites"}


def nav_items(app: Flask) -> list[dict[str, Any]]:
    """The top-bar links the signed-in user's role may follow, marking the current section."""
    if not current_user.is_authenticated:
        return []
    role = current_user.role
    entries = []
    if role in ("admin", "engineer"):
        entries += [("console.fleet", "Fleet"), ("console.alarms", "Alarms"), ("console.work_orders", "Work orders")]
        entries += [("console.dispatch_board", "Dispatch"), ("console.sites", "Sites")]
    if role == "technician":
        entries += [("tech.orders", "My work orders")]
    if role == "customer":
        entries += [("portal.index", "My machines"), ("portal.sites", "Sites"), ("portal.reports", "Reports"),
                    ("portal.api_clients", "Fleet API")]
        entries += [("admin.users", "Users")] if getattr(current_user, "manages_users", False) else []
    entries.append(("profile.index", "Notifications"))
    if role == "admin":
        entries += [("health.console_page", "Health")]
        entries += [("admin.users", "Admin")]
    entries.append(("openapi.docs", "API"))
    current = request.endpoint or ""
    current = _NAV_PARENT.get(current, current)
    return [{"url": url_for(endpoint), "label": label, "active": current == endpoint}
            for endpoint, label in entries if endpoint in app.view_functions]


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # The JSON API always answers JSON naming what was wrong (device ingest does too, app.ingest).
        if request.path.startswith("/api/"):
            body = {"error": (error.name or "error").lower().replace(" ", "_"),
                    "message": error.description}
            return jsonify(body), error.code
        return render_template("error.html", error=error), error.code

    from telemetry.influx import InfluxUnavailable

    @app.errorhandler(InfluxUnavailable)
    def influx_unavailable(error: InfluxUnavailable):
        # Reads need InfluxDB; uploads do not (they are spooled), so only reading pages end here.
        log.warning("InfluxDB unavailable while serving %s: %s", request.path, error)
        unavailable = ServiceUnavailable("The time-series store is not reachable right now; try again shortly.")
        response = make_response(http_error(unavailable))
        response.headers["Retry-After"] = "10"
        return response
