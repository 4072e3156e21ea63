"""Socket.IO rooms: who joins what, and that publish addresses exactly the tenants' rooms."""
from app.notifier import SocketIONotifier, machine_room, rooms_for_user, tenant_room, user_room
from fleet.scope import Scope


class RecordingSocketIO:
    """Stands in for flask_socketio.SocketIO.emit (the transport is tested in integration)."""

    def __init__(self):
        self.emitted = []

    def emit(self, event, payload, to=None):
        self.emitted.append((event, payload, to))


def test_room_names():
    assert tenant_room(3) == "tenant:3"
    assert user_room(7) == "user:7"
    assert machine_room("GS-2001") == "machine:GS-2001"


def test_customer_joins_only_own_tenant_and_user_room():
    assert rooms_for_user(11, [4]) == ["user:11", "tenant:4"]


def test_oem_user_joins_oem_and_customer_rooms_once_each():
    assert rooms_for_user(1, [3, 1, 2, 3]) == ["user:1", "tenant:1", "tenant:2", "tenant:3"]


def test_site_limited_viewer_joins_its_machines_rooms_and_no_tenant_room():
    limited = Scope((4,), site_ids=(9,))
    assert rooms_for_user(11, limited, ["GS-2005", "GS-2004"]) == ["user:11", "machine:GS-2004", "machine:GS-2005"]
    assert rooms_for_user(11, Scope((4,), site_ids=()), []) == ["user:11"]  # every site gone: nothing
    assert rooms_for_user(11, Scope((4,)), ["GS-2004"]) == ["user:11", "tenant:4"]  # every site: the tenant


def test_publish_sends_once_to_the_tenant_rooms_and_the_machine_room():
    socket = RecordingSocketIO()
    SocketIONotifier(socket).publish("diagnosis", {"machine": "GS-2001"}, [2, 1, 2])
    assert socket.emitted == [("diagnosis", {"machine": "GS-2001"}, ["tenant:1", "tenant:2", "machine:GS-2001"])]
    SocketIONotifier(socket).publish("probe", {"principal": "x"}, [1])  # about no machine: tenants only
    assert socket.emitted[-1][2] == ["tenant:1"]


def test_publish_to_no_tenant_sends_nothing():
    socket = RecordingSocketIO()
    SocketIONotifier(socket).publish("diagnosis", {}, [])
    assert socket.emitted == []
