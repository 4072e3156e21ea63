"""Two web processes on one SQL database and one InfluxDB (``python -m app serve`` twice, as behind a
load balancer): what an admin changes through process A reaches the live sockets open on process B.

Each process holds only its own sockets, so the change travels as a socket control in the SQL outbox
(``fleet.live_outbox``, ``app.live_sessions``) that B's relay applies: a deactivated user's socket on
B is cut (and their next page load refused by both), and a site-limited viewer's socket on B changes
rooms when a machine moves between sites (it stops hearing the machine moved off their site and
starts hearing the one moved onto it). Events raised in A (an alarm from an upload A took) reach
sockets on B the same way (``fleet.live_outbox.SharedNotifier``).
"""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
import socketio

from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, free_port, machine_entry, seed_demo_fleet
from drill_helpers import eventually, sign_in, start_server, stop_server

pytestmark = pytest.mark.integration

ADMIN = "admin@ironwatch.example"
VIEWER = "holloway.foreman@graniteridge.example"
SITE, OTHER_SITE = "Holloway Top Pit", "Blackstone Quarry"
ON_SITE, OFF_SITE = "EX-1004", "EX-1001"  # at Holloway Top Pit, at Blackstone Quarry


@pytest.fixture
def two_web_processes(influx, sql_url, tmp_path, session_factory):
    """Processes A and B: same SQL database, InfluxDB and var (secret key, VAPID key, photos), each
    its own spool (``IRONWATCH_SPOOL_DIR``: a spool has one owner); yields their base URLs and the
    provisioning (device tokens). A site-limited viewer of Granite Ridge is added first."""
    from sqlalchemy import select

    from fleet import passwords
    from fleet.db import transaction
    from fleet.models import Site, Tenant, User, UserSite

    var = tmp_path / "var"
    provisioning = seed_demo_fleet(sql_url, var)
    with transaction(session_factory) as db:
        company = db.scalar(select(Tenant).where(Tenant.name == "Granite Ridge Quarries"))
        viewer = User(email=VIEWER, name="Karen Shaw", role="customer", tenant_id=company.id, sites_limited=True,
                      password_hash=passwords.hash_password(DEMO_PASSWORD))
        db.add(viewer)
        db.flush()
        db.add(UserSite(user_id=viewer.id, site_id=db.scalar(select(Site.id).where(Site.name == SITE))))
    env = {"IRONWATCH_INFLUX_URL": influx.url, "IRONWATCH_INFLUX_DB": influx.database,
           "IRONWATCH_DATABASE_URL": sql_url, "IRONWATCH_VAR": str(var), "IRONWATCH_SMTP_HOST": ""}
    ports = [free_port(), free_port()]
    started = []
    try:
        for name, port in zip("ab", ports):
            started.append(start_server(port, {**env, "IRONWATCH_SPOOL_DIR": str(tmp_path / f"spool-{name}")},
                                        tmp_path / f"app-{name}.log", timeout_s=90))
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", provisioning
    finally:
        for process in started:
            stop_server(process)


def signed_in(base_url: str, email: str):
    return sign_in(base_url, email, DEMO_PASSWORD)


def page_token(browser: requests.Session, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url, timeout=10).text).group(1)


def live_socket(base_url: str, browser: requests.Session, on_event=None) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    if on_event is not None:
        client.on("*", on_event)
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.get_dict().items())
    client.connect(base_url, headers={"Cookie": cookies}, transports=["websocket"], wait_timeout=20)
    return client


def user_id(session_factory, email: str) -> int:
    from sqlalchemy import select

    from fleet.models import User

    with session_factory() as db:
        return db.scalar(select(User.id).where(User.email == email))


def test_deactivating_a_user_through_a_cuts_their_socket_on_b(two_web_processes, session_factory):
    process_a, process_b, _ = two_web_processes
    engineer = signed_in(process_a, ENGINEER)  # one var, one secret key: A's cookie opens B's socket
    assert engineer.get(f"{process_b}/console/", timeout=10, allow_redirects=False).status_code == 200
    sock = live_socket(process_b, engineer)
    bystander = live_socket(process_b, signed_in(process_b, "customer@graniteridge.example"))
    try:
        assert sock.connected and bystander.connected
        admin = signed_in(process_a, ADMIN)
        target = user_id(session_factory, ENGINEER)
        token = page_token(admin, f"{process_a}/admin/users")
        answer = admin.post(f"{process_a}/admin/users/{target}/deactivate", data={"csrf_token": token},
                            timeout=10, allow_redirects=False)
        assert answer.status_code == 302
        assert eventually(lambda: not sock.connected), "the socket on B stayed open after the deactivation on A"
        for base_url in (process_b, process_a):  # the next page load is refused by either process
            assert engineer.get(f"{base_url}/console/", timeout=10, allow_redirects=False).status_code == 302
        assert bystander.connected  # only their sockets
    finally:
        for client in (sock, bystander):
            if client.connected:
                client.disconnect()


def test_a_machine_moved_through_a_moves_a_viewers_rooms_on_b(two_web_processes, session_factory):
    from sqlalchemy import select

    from fleet.live_outbox import OutboxNotifier
    from fleet.models import Machine, Site

    process_a, process_b, _ = two_web_processes
    viewer_id = user_id(session_factory, VIEWER)
    heard: set[str] = set()  # markers of the machine_status events that reached the viewer
    probes: set[str] = set()

    def on_event(event, payload):
        if event == "machine_status":
            heard.add(payload["marker"])
        elif event == "probe":
            probes.add(payload["marker"])

    sock = live_socket(process_b, signed_in(process_b, VIEWER), on_event)
    outbox = OutboxNotifier(session_factory)  # events as the scheduler raises them: every web process relays them

    def audience(uid):
        with session_factory() as db:
            return db.scalar(select(Machine).where(Machine.uid == uid)).tenant.audience()

    def hears(uid: str) -> bool:
        """Publish a machine_status of ``uid``, then a probe to the viewer's own room: B's relay sends
        rows in order, so once the probe is there the machine's event is there too, or never comes."""
        marker = uuid.uuid4().hex
        outbox.publish("machine_status", {"machine": uid, "status": "warning", "marker": marker}, audience(uid))
        outbox.publish_to_user("probe", {"marker": marker}, viewer_id)
        assert eventually(lambda: marker in probes), "B's relay sent nothing to the viewer"
        return marker in heard

    try:
        assert sock.connected
        assert hears(ON_SITE) and not hears(OFF_SITE)
        with session_factory() as db:
            sites = {s.name: s.id for s in db.scalars(select(Site))}
        admin = signed_in(process_a, ADMIN)
        token = page_token(admin, f"{process_a}/admin/devices")
        for uid, site in ((ON_SITE, OTHER_SITE), (OFF_SITE, SITE)):
            answer = admin.post(f"{process_a}/admin/devices/{uid}/site",
                                data={"site_id": sites[site], "csrf_token": token}, timeout=10, allow_redirects=False)
            assert answer.status_code == 302
        # The controls were stored before these events: B's relay re-rooms the socket first.
        assert hears(OFF_SITE) and not hears(ON_SITE)
        assert sock.connected  # moved, not cut
    finally:
        sock.disconnect()


def test_an_alarm_raised_in_a_reaches_an_engineers_socket_on_b(two_web_processes):
    """The genset's gateway uploads a DM1 red-stop lamp to A; A's writer and fault-code follow-up
    raise the alarm; the engineer watching B's console hears it."""
    process_a, process_b, provisioning = two_web_processes
    alarms: list[dict] = []

    def on_event(event, payload):
        if event == "alarm" and payload.get("machine") == FAULTY_GENSET:
            alarms.append(payload)

    sock = live_socket(process_b, signed_in(process_b, ENGINEER), on_event)
    try:
        body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET, "time": time.time_ns() - 30 * 10**9,
                "lamps": {"mil": 0, "red_stop": 1, "amber_warning": 0, "protect": 0},
                "active": [{"spn": 110, "fmi": 0, "occurrence_count": 1}]}
        token = machine_entry(provisioning, FAULTY_GENSET)["token"]
        answer = requests.post(f"{process_a}/api/v1/ingest/faults", json=body, timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 202, answer.text
        assert eventually(lambda: any(a.get("change") == "raised" for a in alarms), 60), \
            f"no alarm for {FAULTY_GENSET} on B's socket; heard {alarms}"
    finally:
        sock.disconnect()


def test_a_burst_repeated_on_b_is_a_duplicate_stored_and_diagnosed_once(two_web_processes, session_factory, tmp_path):
    """The gateway's retry lands on the other process: A accepts (202), B answers duplicate (200)
    from the shared ledger without spooling it, and the burst is diagnosed once."""
    from sqlalchemy import func, select

    from app_helpers import outer_race_burst
    from fleet.models import AcceptedUpload, BurstDiagnosis

    process_a, process_b, provisioning = two_web_processes
    token, body = outer_race_burst(provisioning)
    headers = {"Authorization": f"Bearer {token}"}
    first = requests.post(f"{process_a}/api/v1/ingest/bursts", json=body, headers=headers, timeout=20)
    assert first.status_code == 202 and first.json()["status"] == "accepted", first.text
    again = requests.post(f"{process_b}/api/v1/ingest/bursts", json=body, headers=headers, timeout=20)
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    bad = requests.post(f"{process_b}/api/v1/ingest/bursts", json={**body, "upload_id": "fresh-1", "axis": 7},
                        headers=headers, timeout=20)
    assert bad.status_code == 422 and bad.json()["field"] == "axis", bad.text

    burst_prefix = f"{body['machine']}:{body['sensor']}:{body['axis']}:"

    def diagnoses() -> int:
        with session_factory() as db:
            return db.scalar(select(func.count()).select_from(BurstDiagnosis)
                             .where(BurstDiagnosis.burst_id.startswith(burst_prefix)))

    assert eventually(lambda: diagnoses() == 1, 90), "the burst was not diagnosed"
    with session_factory() as db:
        rows = db.scalars(select(AcceptedUpload.upload_id).where(AcceptedUpload.machine == body["machine"])).all()
    assert body["upload_id"] in rows and "fresh-1" not in rows  # the refused upload left no row
    spooled_by_b = [p for p in (tmp_path / "spool-b").glob("seg-*.log") if body["upload_id"].encode() in p.read_bytes()]
    assert spooled_by_b == []  # B did no work for the repeat
    time.sleep(2)  # B's writer and worker would have had it by now
    assert diagnoses() == 1
