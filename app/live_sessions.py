"""Changes to open live sockets that every web process must make, not only the one that served
the request.

A browser's Socket.IO connection lives in one web process, and only that process knows it. When
an account is deactivated, a password is set, a session signs out, or what a user may see changes
(their sites, or a machine moving between sites), the request that made the change is served by
one process, but the user's sockets may be open in any of them. So the change is stored as a socket
control in the SQL outbox (``fleet.live_outbox``), which every web process's relay applies to its
own sockets within a second; the serving process applies it at once as well.

Both controls are idempotent and read the truth from SQL when they are applied, so applying one
twice, or late, does no harm: ``cut_stale`` cuts only the sockets whose session is no longer valid
(a session opened after the change keeps its socket), ``refresh_rooms`` puts a user's sockets into
the rooms their scope gives them now.
"""
from __future__ import annotations

import logging
from typing import Iterable

from flask_socketio import SocketIO

from .notifier import refresh_user_rooms, rooms_for_principal, session_room_of_digest, user_room

log = logging.getLogger(__name__)

#: Control names in the outbox (``live_event.name`` of a row with no tenants and no user).
CUT_STALE = "sockets.cut_stale"
REFRESH_ROOMS = "sockets.refresh_rooms"


class LiveSessions:
    """Socket controls: applied here at once, stored for every other web process.

    Parameters
    ----------
    socketio : flask_socketio.SocketIO
        This process's Socket.IO server (the sockets it holds).
    sessions : sqlalchemy.orm.sessionmaker
        The SQL database every process shares (users, sessions, sites, the outbox).
    outbox : fleet.live_outbox.OutboxNotifier
        Where controls are stored for the other processes.
    """

    def __init__(self, socketio: SocketIO, sessions, outbox):
        self.socketio = socketio
        self.sessions = sessions
        self.outbox = outbox

    def controls(self) -> dict:
        """The relay's ``controls``: control name -> how this process applies it."""
        return {CUT_STALE: lambda payload: self.apply_cut_stale(int(payload["user_id"])),
                REFRESH_ROOMS: lambda payload: self.apply_refresh_rooms(int(u) for u in payload["user_ids"])}

    # --- what a request calls ------------------------------------------------------------------

    def cut_stale(self, user_id: int) -> int:
        """After ``user_id``'s sessions were ended (sign-out, deactivation, password set): cut their
        sockets whose session is no longer valid, in every process; returns how many here."""
        self.outbox.publish_control(CUT_STALE, {"user_id": int(user_id)})
        return self.apply_cut_stale(user_id)

    def refresh_rooms(self, user_ids: Iterable[int]) -> int:
        """After what these users may see changed: move their open sockets to the rooms their scope
        gives them now, in every process; returns how many sockets moved here."""
        ids = sorted({int(u) for u in user_ids})
        if not ids:
            return 0
        self.outbox.publish_control(REFRESH_ROOMS, {"user_ids": ids})
        return self.apply_refresh_rooms(ids)

    # --- what each process does with its own sockets -------------------------------------------

    def _sids_of(self, user_id: int) -> list[str]:
        return [sid for sid, _eio_sid in self.socketio.server.manager.get_participants("/", user_room(user_id))]

    def apply_cut_stale(self, user_id: int) -> int:
        """Disconnect this process's sockets of ``user_id`` that were opened under a session that is
        now revoked or expired (all of them if the account is deactivated); how many."""
        sids = self._sids_of(user_id)
        if not sids:
            return 0
        valid = valid_session_rooms(self.sessions, user_id)
        server = self.socketio.server
        cut = 0
        for sid in sids:
            if not valid.intersection(server.rooms(sid, namespace="/")):
                server.disconnect(sid, namespace="/")
                cut += 1
        return cut

    def apply_refresh_rooms(self, user_ids: Iterable[int]) -> int:
        """Put this process's sockets of each user into the rooms their scope gives them now (a user
        who can no longer sign in loses them); how many sockets were moved."""
        from .auth import load_principal

        moved = 0
        for user_id in user_ids:
            if not self._sids_of(user_id):
                continue  # no socket of theirs here: nothing to read
            principal = load_principal(self.sessions, user_id)
            if principal is None:
                self.apply_cut_stale(user_id)
                continue
            moved += refresh_user_rooms(self.socketio, user_id, rooms_for_principal(principal, self.sessions))
        return moved


def valid_session_rooms(sessions, user_id: int) -> set[str]:
    """The session rooms of ``user_id``'s live sessions (none if the account is deactivated)."""
    from sqlalchemy import select

    from fleet.models import User, UserSession, utcnow

    with sessions() as db:
        user = db.get(User, user_id)
        if user is None or not user.active:
            return set()
        digests = db.scalars(select(UserSession.token_sha256).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > utcnow()))
        return {session_room_of_digest(d) for d in digests}


def live_sessions():
    """The running app's :class:`LiveSessions` (inside a request or app context)."""
    from flask import current_app

    return current_app.extensions["ironwatch"].live_sessions
