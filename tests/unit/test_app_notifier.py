"""Socket.IO rooms: who joins what, and that publish addresses exactly the tenants' rooms."""
from app.notifier import SocketIONotifier, rooms_for_user, tenant_room, user_room


class RecordingSocketIO:
    """Stands in for flask_socketio.SocketIO.emit (the transport is tested in integration)."""

    def __init__(self):
        self.emitted = []

    def emit(self, event, payload, to=None):
        self.emitted.append((event, payload, to))


def test_room_names():
    assert tenant_room(3) == "tenant:3"
    assert user_room(7) == "user:7"


def test_customer_joins_only_own_tenant_and_user_room():
    assert rooms_for_user(11, [4]) == ["user:11", "tenant:4"]


def test_oem_user_joins_oem_and_customer_rooms_once_each():
    assert rooms_for_user(1, [3, 1, 2, 3]) == ["user:1", "tenant:1", "tenant:2", "tenant:3"]


def test_publish_sends_once_to_the_list_of_tenant_rooms():
    socket = RecordingSocketIO()
    SocketIONotifier(socket).publish("diagnosis", {"machine": "GS-2001"}, [2, 1, 2])
    assert socket.emitted == [("diagnosis", {"machine": "GS-2001"}, ["tenant:1", "tenant:2"])]


def test_publish_to_no_tenant_sends_nothing():
    socket = RecordingSocketIO()
    SocketIONotifier(socket).publish("diagnosis", {}, [])
    assert socket.emitted == []
