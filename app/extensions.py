"""Flask extension singletons, bound to an app in :func:`app.create_app`.

``async_mode="threading"`` is explicit: the app runs on plain threads (the spool writer, the
diagnosis worker and APScheduler are threads too), with simple-websocket providing WebSocket
transport, so no monkey-patching library (eventlet/gevent) is involved.
"""
from __future__ import annotations

from flask_login import LoginManager
from flask_socketio import SocketIO

socketio = SocketIO(async_mode="threading")

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
