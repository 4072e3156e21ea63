"""Live notifications over Socket.IO: the app's implementation of ``fleet.notify.Notifier``.

Rooms are ``tenant:<id>``, ``machine:<uid>`` and ``user:<id>``. A browser is put into rooms by the
server when it connects, from its logged-in user's scope (:mod:`fleet.scope`), never on the client's
request, so a customer's socket can only ever receive events published to its own tenant
(ARCHITECTURE.md: "A customer sees only their own machines, on every page, API route and live
channel"). A site-limited viewer joins no tenant room, only the rooms of the machines at its sites;
every event about a machine (its payload's ``machine``) goes to that machine's room as well.
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


def machine_room(uid: str) -> str:
    """Name of the room of one machine's events (what a site-limited viewer listens to)."""
    return f"machine:{uid}"


def user_room(user_id: int) -> str:
    """Name of the room for events addressed to one user (e.g. a technician's assignment)."""
    return f"user:{int(user_id)}"


def session_room(session_token: str) -> str:
    """Name of the room of one signed-in browser session's sockets (closed at its sign-out)."""
    return session_room_of_digest(hashlib.sha256(session_token.encode()).hexdigest())


def session_room_of_digest(token_sha256: str) -> str:
    """:func:`session_room` from the token's SHA-256 (hex), as SQL keeps it (``user_session``): any
    process can tell from SQL which session rooms are still valid (``app.live_sessions``)."""
    return "session:" + token_sha256[:32]


def rooms_for_user(user_id: int, scope, machine_uids: Iterable[str] = ()) -> list[str]:
    """The rooms a connected user joins: their own room, and one per tenant they may see or, for a
    site-limited viewer, one per machine at their sites.

    Parameters
    ----------
    user_id : int
        The SQL id of the logged-in user.
    scope : fleet.scope.Scope or iterable of int
        What the user may see: a customer user only its own tenant, an OEM user the OEM and all of
        its customers (see :mod:`fleet.scope`); a plain list of tenant ids sees every site.
    machine_uids : iterable of str
        For a site-limited scope, the visible machines (``fleet.scope.visible_machine_uids``).
    """
    from fleet.scope import as_scope

    scope = as_scope(scope)
    if scope.site_limited:
        return [user_room(user_id)] + [machine_room(uid) for uid in sorted(set(machine_uids))]
    return [user_room(user_id)] + [tenant_room(t) for t in scope.tenant_ids]


def refresh_user_rooms(socketio: SocketIO, user_id: int, rooms: list[str]) -> int:
    """Put every open socket of ``user_id`` into exactly ``rooms`` (plus its session room), leaving
    the tenant and machine rooms it had: after a change of what the user may see, the sockets they
    already opened hear only what they may now see. Returns how many sockets were moved."""
    server = socketio.server
    sids = [sid for sid, _eio_sid in server.manager.get_participants("/", user_room(user_id))]
    for sid in sids:
        for room in list(server.rooms(sid, namespace="/")):
            if room.startswith(("tenant:", "machine:")) and room not in rooms:
                server.leave_room(sid, room, namespace="/")
        for room in rooms:
            server.enter_room(sid, room, namespace="/")
    return len(sids)


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
        machine = payload.get("machine") if isinstance(payload, dict) else None
        if isinstance(machine, str) and machine:
            rooms.append(machine_room(machine))
        try:
            self._socketio.emit(event, payload, to=rooms)
        except Exception:  # a broken socket must not fail the diagnosis that triggered it
            log.exception("could not publish %s to %s", event, rooms)

    def publish_to_user(self, event: str, payload: dict[str, Any], user_id: int) -> None:
        """Send ``event`` to one user's sockets only."""
        self._socketio.emit(event, payload, to=user_room(user_id))


def rooms_for_principal(principal, sessions) -> list[str]:
    """The rooms of ``principal`` (``app.auth.Principal``), read from SQL (``sessions``) for a
    site-limited viewer (the machines now at their sites)."""
    uids: list[str] = []
    if principal.site_limited:
        from fleet.scope import visible_machine_uids

        with sessions() as session:
            uids = visible_machine_uids(session, principal.scope)
    return rooms_for_user(principal.id, principal.scope, uids)


def rooms_of(principal) -> list[str]:
    """:func:`rooms_for_principal` with the running app's SQL database."""
    from flask import current_app

    return rooms_for_principal(principal, current_app.extensions["ironwatch"].sessions)


def register_socket_handlers(socketio: SocketIO) -> None:
    """Install the connect handler that authenticates the socket and joins its rooms."""

    @socketio.on("connect")
    def on_connect(auth=None):  # noqa: ARG001 - the session cookie authenticates, not ``auth``
        if not current_user.is_authenticated:
            # The client gets a connect_error with this message and joins no room.
            raise ConnectionRefusedError("sign in first")
        for room in rooms_of(current_user):
            join_room(room)
        if session.get("_sid"):
            join_room(session_room(session["_sid"]))
        return True
