"""Live notifications over Socket.IO: the app's implementation of ``fleet.notify.Notifier``.

Rooms are ``tenant:<id>`` and ``user:<id>``. A browser is put into rooms by the server when it
connects, from its logged-in user, never on the client's request, so a customer's socket can only
ever receive events published to its own tenant (ARCHITECTURE.md: "A customer sees only their own
machines, on every page, API route and live channel").
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Iterable

from flask import session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, SocketIO, join_room

log = logging.getLogger(__name__)


def tenant_room(tenant_id: int) -> str:
    """Name of the room every user of ``tenant_id`` (and of its OEM) listens to."""
    return f"tenant:{int(tenant_id)}"


def user_room(user_id: int) -> str:
    """Name of the room for events addressed to one user (e.g. a technician's assignment)."""
    return f"user:{int(user_id)}"


def session_room(session_token: str) -> str:
    """Name of the room of one signed-in browser session's sockets (closed at its sign-out)."""
    return "session:" + hashlib.sha256(session_token.encode()).hexdigest()[:32]


def disconnect_session(socketio: SocketIO, session_token: str | None) -> int:
    """Disconnect every socket opened under ``session_token`` (at sign-out: a revoked session must
    not keep hearing live events on a socket it opened before); returns how many."""
    if not session_token:
        return 0
    return _disconnect_room(socketio, session_room(session_token))


def disconnect_user(socketio: SocketIO, user_id: int) -> int:
    """Disconnect every socket of ``user_id`` (account deactivated, password reset); how many."""
    return _disconnect_room(socketio, user_room(user_id))


def _disconnect_room(socketio: SocketIO, room: str) -> int:
    server = socketio.server
    sids = [sid for sid, _eio_sid in server.manager.get_participants("/", room)]
    for sid in sids:
        server.disconnect(sid, namespace="/")
    return len(sids)


def rooms_for_user(user_id: int, visible_tenant_ids: Iterable[int]) -> list[str]:
    """The rooms a connected user joins: their own room and one per tenant they may see.

    Parameters
    ----------
    user_id : int
        The SQL id of the logged-in user.
    visible_tenant_ids : iterable of int
        The tenants whose machines the user may see: a customer user only its own tenant, an OEM
        user the OEM and all of its customers (see :mod:`app.auth`).
    """
    return [user_room(user_id)] + [tenant_room(t) for t in sorted(set(visible_tenant_ids))]


class SocketIONotifier:
    """Publish fleet events to the Socket.IO rooms of the tenants concerned.

    Implements ``fleet.notify.Notifier``; safe to call from any thread (the diagnosis worker,
    scheduler jobs), since ``SocketIO.emit`` needs no request context.
    """

    def __init__(self, socketio: SocketIO):
        self._socketio = socketio

    def publish(self, event: str, payload: dict[str, Any], tenant_ids: Iterable[int]) -> None:
        """Send ``event`` with ``payload`` once to every socket in any of the tenants' rooms.

        A socket in several of the rooms (an OEM user sees the OEM and each customer) gets the
        event once: python-socketio de-duplicates recipients of a list of rooms.
        """
        rooms = [tenant_room(t) for t in sorted(set(tenant_ids))]
        if not rooms:
            return
        try:
            self._socketio.emit(event, payload, to=rooms)
        except Exception:  # a broken socket must not fail the diagnosis that triggered it
            log.exception("could not publish %s to %s", event, rooms)

    def publish_to_user(self, event: str, payload: dict[str, Any], user_id: int) -> None:
        """Send ``event`` to one user's sockets only."""
        self._socketio.emit(event, payload, to=user_room(user_id))


def register_socket_handlers(socketio: SocketIO) -> None:
    """Install the connect handler that authenticates the socket and joins its rooms."""

    @socketio.on("connect")
    def on_connect(auth=None):  # noqa: ARG001 - the session cookie authenticates, not ``auth``
        if not current_user.is_authenticated:
            # The client gets a connect_error with this message and joins no room.
            raise ConnectionRefusedError("sign in first")
        for room in rooms_for_user(current_user.id, current_user.visible_tenant_ids):
            join_room(room)
        if session.get("_sid"):
            join_room(session_room(session["_sid"]))
        return True
