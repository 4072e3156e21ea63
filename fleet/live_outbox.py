"""Live events across processes through the SQL database: an outbox table and a relay.

The scheduled jobs run in a process of their own (``python -m app scheduler``), which has no
browsers connected, and there may be several web processes, each holding only its own sockets. So
the scheduler's live channel is an :class:`OutboxNotifier`, which writes each event (``fleet.notify``
name, payload, tenants or one user) as a row of ``live_event``, and a web process's is a
:class:`SharedNotifier`: its own sockets at once, and a row for the others. Every web process runs a
:class:`LiveRelay`, which reads the rows newer than the last one it sent, in ``id`` order, about
once a second, and publishes them through its own notifier (Socket.IO), skipping the rows it wrote
itself. So several web processes behind a load balancer each reach their own browsers with every
event, wherever it was raised.

Why a table and not a message broker: Flask-SocketIO can fan out through Redis or RabbitMQ, but a
fresh machine has neither, and the SQL database is already shared by every process. The cost is up
to ``poll_s`` of delay and one small indexed query per second per web process. Rows are deleted
after :data:`KEEP` (a relay that was stopped longer than that does not replay old news: a relay
starts from the newest row there is).

Besides events for browsers, the outbox carries *socket controls*: rows with neither tenants nor a
user, whose name is a command every web process applies to its own open sockets (cut the sockets
of sessions that are no longer valid, re-join a user's rooms after their scope changed;
``app.live_sessions``). State about open sockets lives only in the process holding them, so a
change made through one web process reaches the others this way, within ``poll_s``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from .db import transaction
from .models import LiveEvent, utcnow

log = logging.getLogger(__name__)

#: Rows older than this are deleted (by any relay, at most every :data:`TIDY_EVERY`).
KEEP = timedelta(minutes=10)
TIDY_EVERY = timedelta(minutes=1)
POLL_S = 1.0
#: Rows sent per poll at most (a burst of events is sent over a few polls, in order).
BATCH = 500
#: Rows this young are read again even below the cursor: on PostgreSQL a transaction that took
#: id 10 may commit after the one that took id 11 (the scheduler runs jobs on several threads).
LATE_COMMIT = timedelta(seconds=10)


OnStored = Callable[[int, datetime], None]


class OutboxNotifier:
    """``fleet.notify.Notifier`` that stores each event for the web processes to send.

    Parameters
    ----------
    session_factory : sessionmaker
    clock : callable
        Aware UTC now.
    """

    def __init__(self, session_factory: sessionmaker, clock: Callable[[], datetime] = utcnow):
        self.sessions = session_factory
        self.clock = clock

    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int], on_stored: OnStored | None = None) -> None:
        """Store ``event`` for every socket of the tenants' rooms (``on_stored``: see :meth:`_store`)."""
        tenants = sorted({int(t) for t in tenant_ids})
        if tenants:
            self._store(event, payload, tenants, None, on_stored)

    def publish_to_user(self, event: str, payload: dict, user_id: int, on_stored: OnStored | None = None) -> None:
        """Store ``event`` for one user's sockets only."""
        self._store(event, payload, [], int(user_id), on_stored)

    def publish_control(self, command: str, payload: dict) -> None:
        """Store a socket control ``command`` (a row for no tenant and no user) for every web
        process's relay to apply to its own sockets (:class:`LiveRelay` ``controls``)."""
        self._store(command, payload, [], None)

    def _store(self, event: str, payload: dict, tenants: list[int], user_id: int | None,
               on_stored: OnStored | None = None) -> None:
        """One row; ``on_stored(id, created_at)`` is called before it commits, so a relay told of it
        (:meth:`LiveRelay.note_sent`) knows the row before it can read it."""
        with transaction(self.sessions) as session:
            row = LiveEvent(created_at=self.clock(), name=event[:64], payload=payload, tenant_ids=tenants,
                            user_id=user_id)
            session.add(row)
            if on_stored is not None:
                session.flush()
                on_stored(row.id, row.created_at)


class LiveRelay:
    """Sends the outbox's new rows through ``notifier`` (a thread, or :meth:`relay_once` by hand).

    Parameters
    ----------
    session_factory : sessionmaker
    notifier : object
        ``publish(event, payload, tenant_ids)`` and, for user events, ``publish_to_user(event,
        payload, user_id)`` (``app.notifier.SocketIONotifier``).
    poll_s : float
        Seconds between reads.
    clock : callable
        Aware UTC now (the retention).
    controls : dict, optional
        Socket control name -> ``callable(payload)``, for rows with neither tenants nor a user
        (:meth:`OutboxNotifier.publish_control`). Settable after construction (the app wires
        them once its Socket.IO server exists).
    """

    def __init__(self, session_factory: sessionmaker, notifier, poll_s: float = POLL_S,
                 clock: Callable[[], datetime] = utcnow, controls: dict[str, Callable[[dict], None]] | None = None):
        self.sessions = session_factory
        self.notifier = notifier
        self.controls = dict(controls or {})
        self.poll_s = poll_s
        self.clock = clock
        self.cursor: int | None = None  # newest id sent; None until the first read
        self.sent = 0
        self._seen: dict[int, datetime] = {}  # ids already sent (or old at start) that are still young
        self._seen_lock = threading.Lock()  # note_sent comes from request threads
        self._tidied_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def relay_once(self) -> int:
        """Send the rows stored since the last call (the first call only notes where the outbox
        stands: events from before this process started are old news); returns how many."""
        now = self.clock()
        recent = now - LATE_COMMIT
        if self.cursor is None:
            with self.sessions() as session:
                self.cursor = session.scalar(select(func.max(LiveEvent.id))) or 0
                young = session.execute(select(LiveEvent.id, LiveEvent.created_at).where(LiveEvent.created_at >= recent))
                with self._seen_lock:
                    self._seen.update(dict(young.all()))
            return 0
        with self.sessions() as session:
            rows = list(session.scalars(select(LiveEvent)
                                        .where((LiveEvent.id > self.cursor) | (LiveEvent.created_at >= recent))
                                        .order_by(LiveEvent.id).limit(BATCH)))
        sent = 0
        for row in rows:
            with self._seen_lock:
                self.cursor = max(self.cursor, row.id)
                if row.id in self._seen:
                    continue
                self._seen[row.id] = row.created_at
            try:
                self._send(row)
                sent += 1
            except Exception:  # one broken event must not block the ones after it
                log.exception("live relay: event %s (%s) could not be sent", row.id, row.name)
        with self._seen_lock:
            self._seen = {i: at for i, at in self._seen.items() if at >= recent - LATE_COMMIT}
        self.sent += sent
        self._tidy()
        return sent

    def note_sent(self, row_id: int, created_at: datetime) -> None:
        """Row ``row_id`` was sent to this process's sockets already (by :class:`SharedNotifier`):
        do not send it again."""
        with self._seen_lock:
            self._seen[row_id] = created_at

    def _send(self, row: LiveEvent) -> None:
        if row.user_id is not None:
            self.notifier.publish_to_user(row.name, row.payload, row.user_id)
        elif row.tenant_ids:
            self.notifier.publish(row.name, row.payload, list(row.tenant_ids))
        elif row.name in self.controls:
            self.controls[row.name](row.payload or {})
        else:  # a control this process does not know (an older release beside a newer one)
            log.warning("live relay: event %s (%s) has no audience and is no known control", row.id, row.name)

    def _tidy(self) -> None:
        now = self.clock()
        if self._tidied_at is not None and now - self._tidied_at < TIDY_EVERY:
            return
        self._tidied_at = now
        with transaction(self.sessions) as session:
            session.execute(delete(LiveEvent).where(LiveEvent.created_at < now - KEEP))

    # --- the thread -----------------------------------------------------------------------------

    def start(self) -> "LiveRelay":
        if self.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ironwatch-live-relay", daemon=True)
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.relay_once()
                failing = False
            except Exception:  # the database away: said once, tried again at the next poll
                if not failing:
                    log.exception("live relay: cannot read the outbox; retrying every %.0f s", self.poll_s)
                failing = True
            self._stop.wait(self.poll_s)


class SharedNotifier:
    """A web process's live channel: its own sockets at once, every other web process's through
    the outbox (the row its own relay is told it already sent).

    An event raised while serving a request or by this process's diagnosis worker (an alarm
    acknowledged, a work order moved, a burst diagnosed) must reach the browsers connected to the
    other web processes too. Storing it costs one small insert; if that fails (the database away)
    the local sockets still had it and the failure is logged.

    Parameters
    ----------
    local : object
        This process's notifier (``app.notifier.SocketIONotifier``).
    outbox : OutboxNotifier
    relay : LiveRelay
        This process's relay (told of each row stored here).
    """

    def __init__(self, local, outbox: OutboxNotifier, relay: LiveRelay):
        self.local, self.outbox, self.relay = local, outbox, relay

    def publish(self, event: str, payload: dict, tenant_ids: Iterable[int]) -> None:
        tenants = list(tenant_ids)
        self.local.publish(event, payload, tenants)
        self._share(self.outbox.publish, event, payload, tenants)

    def publish_to_user(self, event: str, payload: dict, user_id: int) -> None:
        self.local.publish_to_user(event, payload, user_id)
        self._share(self.outbox.publish_to_user, event, payload, user_id)

    def _share(self, store, event: str, payload: dict, audience) -> None:
        try:
            store(event, payload, audience, on_stored=self.relay.note_sent)
        except Exception:  # the local sockets had it; the other processes' miss this one
            log.exception("live event %s could not be stored for the other web processes", event)
