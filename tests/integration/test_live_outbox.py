"""The live-event outbox on a real SQL database: what the scheduler process stores, a web
process's relay sends once, in order, to the right rooms; old rows are deleted."""
from __future__ import annotations

from datetime import timedelta

import pytest

from fleet.live_outbox import KEEP, LATE_COMMIT, LiveRelay, OutboxNotifier
from fleet.models import LiveEvent, utcnow

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self):
        self.sent = []

    def publish(self, event, payload, tenant_ids):
        self.sent.append(("tenants", event, payload, tuple(tenant_ids)))

    def publish_to_user(self, event, payload, user_id):
        self.sent.append(("user", event, payload, user_id))


def test_relay_sends_new_events_once_in_order_and_forgets_old_ones(session_factory):
    outbox = OutboxNotifier(session_factory)
    outbox.publish("rul", {"machine": "before-start"}, [1])
    recorder = Recorder()
    relay = LiveRelay(session_factory, recorder)
    assert relay.relay_once() == 0  # the first read only notes where the outbox stands
    outbox.publish("machine_status", {"machine": "EX-1001", "hours": 10.5}, [3, 2, 3])
    outbox.publish_to_user("work_order", {"id": 7}, 42)
    outbox.publish("nobody", {"x": 1}, [])  # no tenant: nothing stored, nothing sent
    assert relay.relay_once() == 2 and relay.relay_once() == 0  # sent once, not again
    assert recorder.sent == [("tenants", "machine_status", {"machine": "EX-1001", "hours": 10.5}, (2, 3)),
                             ("user", "work_order", {"id": 7}, 42)]
    # A second web process relays the same new rows to its own sockets.
    other = Recorder()
    second = LiveRelay(session_factory, other)
    second.relay_once()
    outbox.publish("rul", {"machine": "after"}, [1])
    assert relay.relay_once() == 1 and second.relay_once() == 1
    assert other.sent == [("tenants", "rul", {"machine": "after"}, (1,))]


def test_a_row_committed_late_below_the_cursor_is_still_sent(session_factory):
    from fleet.db import transaction

    recorder = Recorder()
    relay = LiveRelay(session_factory, recorder)
    relay.relay_once()
    now = utcnow()
    with transaction(session_factory) as session:  # id 5 becomes visible first, id 4 a moment later
        session.add(LiveEvent(id=5, created_at=now, name="second", payload={}, tenant_ids=[1]))
    relay.relay_once()
    with transaction(session_factory) as session:
        session.add(LiveEvent(id=4, created_at=now, name="first", payload={}, tenant_ids=[1]))
    assert relay.relay_once() == 1
    assert [name for _, name, _, _ in recorder.sent] == ["second", "first"]
    assert LATE_COMMIT < KEEP


def test_rows_older_than_the_retention_are_deleted(session_factory):
    clock = {"now": utcnow()}
    outbox = OutboxNotifier(session_factory, clock=lambda: clock["now"])
    relay = LiveRelay(session_factory, Recorder(), clock=lambda: clock["now"])
    relay.relay_once()
    outbox.publish("rul", {}, [1])
    relay.relay_once()
    clock["now"] += KEEP + timedelta(minutes=2)
    outbox.publish("rul", {"fresh": True}, [1])
    relay.relay_once()
    with session_factory() as session:
        assert [row.payload for row in session.query(LiveEvent)] == [{"fresh": True}]
    # ids keep growing after the newest rows were deleted (SQLite AUTOINCREMENT): no id comes back
    clock["now"] += KEEP + timedelta(minutes=2)
    relay.relay_once()
    with session_factory() as session:
        assert session.query(LiveEvent).count() == 0
    outbox.publish("rul", {"later": True}, [1])
    with session_factory() as session:
        assert session.query(LiveEvent).one().id == 3


def test_a_socket_control_goes_to_its_handler_in_every_relay_and_never_to_the_notifier(session_factory):
    outbox = OutboxNotifier(session_factory)
    applied = {"first": [], "second": []}
    relays = {name: LiveRelay(session_factory, Recorder(),
                              controls={"sockets.cut_stale": lambda payload, name=name: applied[name].append(payload)})
              for name in applied}
    for relay in relays.values():
        relay.relay_once()
    outbox.publish_control("sockets.cut_stale", {"user_id": 7})
    outbox.publish_control("sockets.unknown_to_this_release", {"x": 1})  # skipped (logged), not sent to browsers
    outbox.publish("rul", {"machine": "EX-1001"}, [1])
    for relay in relays.values():
        assert relay.relay_once() == 3 and relay.relay_once() == 0
        assert relay.notifier.sent == [("tenants", "rul", {"machine": "EX-1001"}, (1,))]
    assert applied == {"first": [{"user_id": 7}], "second": [{"user_id": 7}]}


def test_a_web_processs_event_reaches_its_sockets_at_once_and_the_others_through_the_outbox(session_factory):
    from fleet.live_outbox import SharedNotifier

    here, there = Recorder(), Recorder()
    own_relay, other_relay = LiveRelay(session_factory, here), LiveRelay(session_factory, there)
    own_relay.relay_once(), other_relay.relay_once()
    shared = SharedNotifier(here, OutboxNotifier(session_factory), own_relay)
    shared.publish("alarm", {"machine": "EX-1001", "change": "acknowledged"}, [3, 1])
    shared.publish_to_user("work_order", {"id": 9}, 42)
    assert here.sent == [("tenants", "alarm", {"machine": "EX-1001", "change": "acknowledged"}, (3, 1)),
                         ("user", "work_order", {"id": 9}, 42)]
    assert own_relay.relay_once() == 0 and len(here.sent) == 2  # its own rows: not sent twice
    assert other_relay.relay_once() == 2
    assert there.sent == [("tenants", "alarm", {"machine": "EX-1001", "change": "acknowledged"}, (1, 3)),
                          ("user", "work_order", {"id": 9}, 42)]
    OutboxNotifier(session_factory).publish("rul", {"machine": "GS-2001"}, [1])  # the scheduler's: both send it
    assert own_relay.relay_once() == 1 and other_relay.relay_once() == 1
