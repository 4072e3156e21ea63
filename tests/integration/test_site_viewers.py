"""Site-limited viewers against the real stores (issue 18): a customer's user administrator limits
a viewer to one of the company's sites on the users page (audit-logged, bad input refused and
nothing changed); the viewer then sees exactly that site's machines on the map, in every list, the
REST API, the CSV and PDF reports, gets 404 for the others' pages, and hears live events of their
site's machines only, also on a socket opened before the change."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from app_helpers import DEMO_PASSWORD, app_config, seed_demo_fleet
from portal_helpers import recent_days, write_operating_days

pytestmark = pytest.mark.integration

COMPANY = "Granite Ridge Quarries"
ADMIN = "it@graniteridge.example"  # the company's user administrator
VIEWER = "holloway.foreman@graniteridge.example"
SITE, OTHER_SITE = "Holloway Top Pit", "Blackstone Quarry"
SITE_MACHINES = {"EX-1004", "EX-1005", "EX-1006"}
OTHER = "EX-1001"  # at Blackstone


@pytest.fixture
def world(influx, sql_url, tmp_path):
    from app import create_app
    from fleet import passwords
    from fleet.alarm_service import record_conditions
    from fleet.alarms import AlarmCondition
    from fleet.db import transaction
    from fleet.models import Machine, Site, Tenant, User, WorkOrder
    from sqlalchemy import select

    seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    runtime = app.extensions["ironwatch"]
    now = datetime.now(timezone.utc)
    with transaction(runtime.sessions) as db:
        company = db.scalar(select(Tenant).where(Tenant.name == COMPANY))
        for email, name, admin in ((ADMIN, "Rhian Ellis", True), (VIEWER, "Karen Shaw", False)):
            db.add(User(email=email, name=name, role="customer", tenant_id=company.id, manages_users=admin,
                        password_hash=passwords.hash_password(DEMO_PASSWORD)))
        for uid in (OTHER, "EX-1004"):  # an open work order and an alarm on a machine of each site
            machine = db.scalar(select(Machine).where(Machine.uid == uid))
            db.add(WorkOrder(tenant_id=machine.tenant_id, machine_id=machine.id, title=f"Check {uid}'s track tension",
                             source="manual", status="open"))
            record_conditions(db, machine, [AlarmCondition(machine.id, "", "stale", "not_reporting", "warning",
                                                           f"{uid} stopped reporting", now)], now)
        sites = {s.name: s.id for s in db.scalars(select(Site))}
    write_operating_days(influx, OTHER, recent_days(2))
    write_operating_days(influx, "EX-1004", recent_days(2), lat=53.3050, lon=-1.8530)
    yield app, sites
    runtime.stop()


def signed_in(app, email: str):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["_csrf"]
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf}).status_code == 302
    client.get("/account/time-zone")
    with client.session_transaction() as session:
        return client, session["_csrf"]


def user_id(app, email: str) -> int:
    from fleet.models import User
    from sqlalchemy import select

    with app.extensions["ironwatch"].sessions() as db:
        return db.scalar(select(User.id).where(User.email == email))


def stored_limit(app, email: str):
    from fleet.models import User, UserSite
    from sqlalchemy import select

    with app.extensions["ironwatch"].sessions() as db:
        user = db.scalar(select(User).where(User.email == email))
        return user.sites_limited, sorted(db.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id)))


def test_the_user_admin_limits_a_viewer_and_bad_input_changes_nothing(world):
    from fleet.models import AuditEntry
    from sqlalchemy import select

    app, sites = world
    admin, csrf = signed_in(app, ADMIN)
    viewer_id = user_id(app, VIEWER)
    users = admin.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{viewer_id}/sites" in users and f"/admin/users/{user_id(app, ADMIN)}/sites" not in users
    page = admin.get(f"/admin/users/{viewer_id}/sites")
    assert page.status_code == 200 and SITE in page.get_data(as_text=True) and "Salford" not in page.get_data(as_text=True)

    url = f"/admin/users/{viewer_id}/sites"
    refused = [
        ({"access": "some", "site_id": str(sites[SITE])}, 400),                                        # no CSRF token
        ({"access": "some", "csrf_token": csrf}, 400),                                                 # no site ticked
        ({"access": "some", "site_id": str(sites["Salford Quays Tower"]), "csrf_token": csrf}, 400),   # Meridian's site
        ({"access": "maybe", "csrf_token": csrf}, 400),
    ]
    for form, status in refused:
        assert admin.post(url, data=form).status_code == status, form
    assert admin.post(f"/admin/users/{user_id(app, ADMIN)}/sites",
                      data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": csrf}).status_code == 400
    meridian = user_id(app, "customer@meridiancivil.example")
    assert admin.post(f"/admin/users/{meridian}/sites", data={"access": "all", "csrf_token": csrf}).status_code == 404
    assert admin.get(f"/admin/users/{meridian}/sites").status_code == 404
    assert stored_limit(app, VIEWER) == (False, [])

    plain, plain_csrf = signed_in(app, "customer@graniteridge.example")  # not a user administrator
    assert plain.post(url, data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": plain_csrf}).status_code == 403
    assert stored_limit(app, VIEWER) == (False, [])

    done = admin.post(url, data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": csrf})
    assert done.status_code == 302 and stored_limit(app, VIEWER) == (True, [sites[SITE]])
    assert SITE in admin.get("/admin/users").get_data(as_text=True)
    with app.extensions["ironwatch"].sessions() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.subject_type == "user", AuditEntry.subject_id == viewer_id,
                                                   AuditEntry.action == "sites_limited"))
        assert entry is not None and entry.actor == ADMIN and entry.detail["sites"] == [SITE]
        assert entry.detail["before"] is None
    assert admin.post(url, data={"access": "all", "csrf_token": csrf}).status_code == 302
    assert stored_limit(app, VIEWER) == (False, [])
    with app.extensions["ironwatch"].sessions() as db:
        assert db.scalar(select(AuditEntry.detail).where(AuditEntry.action == "sites_all")) == {
            "email": VIEWER, "sites": None, "before": [SITE]}


def test_a_site_limited_viewer_sees_exactly_their_sites_machines_everywhere(world):
    from pypdf import PdfReader

    app, sites = world
    admin, csrf = signed_in(app, ADMIN)
    assert admin.post(f"/admin/users/{user_id(app, VIEWER)}/sites",
                      data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": csrf}).status_code == 302
    viewer, viewer_csrf = signed_in(app, VIEWER)

    fleet = viewer.get("/portal/").get_data(as_text=True)
    assert 'data-machines-url="/api/v1/machines"' in fleet  # the map draws what that API gives (checked below)
    assert all(f'data-machine="{uid}"' in fleet for uid in SITE_MACHINES) and f'data-machine="{OTHER}"' not in fleet
    assert "Check EX-1004" in fleet and "Check EX-1001" not in fleet
    assert "EX-1004 stopped reporting" in fleet and "EX-1001 stopped reporting" not in fleet
    assert viewer.get("/portal/machines/EX-1004").status_code == 200
    for path in (f"/portal/machines/{OTHER}", f"/api/v1/machines/{OTHER}", f"/api/v1/machines/{OTHER}/usage",
                 f"/api/v1/machines/{OTHER}/diagnoses", f"/api/v1/machines/{OTHER}/rul"):
        assert viewer.get(path).status_code == 404, path

    assert {m["uid"] for m in viewer.get("/api/v1/machines").get_json()["machines"]} == SITE_MACHINES
    orders = viewer.get("/api/v1/work-orders").get_json()["work_orders"]
    assert {o["machine"] for o in orders} == {"EX-1004"}
    assert viewer.get(f"/api/v1/work-orders/{next(o['id'] for o in orders)}").status_code == 200
    alarms = viewer.get("/api/v1/alarms").get_json()["alarms"]
    assert {a["machine"] for a in alarms} == {"EX-1004"}

    days = recent_days(2)
    machines = list(csv.DictReader(io.StringIO(viewer.get(
        f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}&table=machines").get_data(as_text=True))))
    assert {r["machine"] for r in machines} == SITE_MACHINES
    day_rows = list(csv.DictReader(io.StringIO(viewer.get(
        f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}&table=days").get_data(as_text=True))))
    assert {r["machine"] for r in day_rows} == SITE_MACHINES
    assert float(next(r for r in day_rows if r["machine"] == "EX-1004" and r["day"] == days[0].isoformat())["working_h"]) == 6.0
    work = list(csv.DictReader(io.StringIO(viewer.get(
        f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}&table=work_orders").get_data(as_text=True))))
    assert {r["machine"] for r in work} <= SITE_MACHINES
    pdf = viewer.get(f"/portal/reports/monthly.pdf?month={days[-1]:%Y-%m}")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert f"{COMPANY} · {SITE}" in text and "EX-1004" in text and OTHER not in text and OTHER_SITE not in text

    # API clients read the whole company: not for a viewer of some sites.
    page = viewer.get("/portal/api-clients").get_data(as_text=True)
    assert "ask your company's user administrator" in page and 'id="create-client"' not in page
    assert viewer.post("/portal/api-clients", data={"name": "Site office", "scope": "fleet",
                                                    "csrf_token": viewer_csrf}).status_code == 403


def heard(app, sock, uid: str) -> bool:
    """Publish a ``machine_status`` of ``uid`` to its owner's audience (as the app does) and say
    whether ``sock`` (a Socket.IO test client) received it."""
    from app.extensions import socketio
    from app.notifier import SocketIONotifier
    from fleet.models import Machine
    from sqlalchemy import select

    with app.extensions["ironwatch"].sessions() as db:
        audience = db.scalar(select(Machine).where(Machine.uid == uid)).tenant.audience()
    sock.get_received()
    SocketIONotifier(socketio).publish("machine_status", {"machine": uid, "uid": uid, "status": "warning"}, audience)
    return any(e["name"] == "machine_status" and e["args"][0]["machine"] == uid for e in sock.get_received())


def test_live_events_of_another_site_do_not_reach_the_viewer(world):
    from app.extensions import socketio

    app, sites = world
    admin, csrf = signed_in(app, ADMIN)
    viewer_id = user_id(app, VIEWER)
    assert admin.post(f"/admin/users/{viewer_id}/sites",
                      data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": csrf}).status_code == 302
    viewer, _ = signed_in(app, VIEWER)
    sock = socketio.test_client(app, flask_test_client=viewer)
    company, _ = signed_in(app, "customer@graniteridge.example")  # sees every site: hears both
    whole = socketio.test_client(app, flask_test_client=company)
    try:
        assert sock.is_connected() and whole.is_connected()
        assert heard(app, sock, "EX-1004") and not heard(app, sock, OTHER)
        assert heard(app, whole, "EX-1004") and heard(app, whole, OTHER)
        # Given every site again, the socket already open hears the other site too; limited again, it does not.
        assert admin.post(f"/admin/users/{viewer_id}/sites", data={"access": "all", "csrf_token": csrf}).status_code == 302
        assert heard(app, sock, OTHER) and heard(app, sock, "EX-1004")
        assert admin.post(f"/admin/users/{viewer_id}/sites", data={"access": "some", "site_id": str(sites[SITE]),
                                                                    "csrf_token": csrf}).status_code == 302
        assert not heard(app, sock, OTHER) and heard(app, sock, "EX-1004")
    finally:
        sock.disconnect()
        whole.disconnect()


def test_moving_a_machine_between_sites_moves_the_viewers_open_sockets(world):
    """The OEM admin moves a machine on /admin/devices: a viewer limited to a site stops hearing a
    machine moved off it and starts hearing one moved onto it, on the socket already open (the
    other web processes get the same through the outbox: tests/integration/test_web_processes.py)."""
    from app.extensions import socketio
    from fleet.models import AuditEntry, LiveEvent, Machine
    from sqlalchemy import select

    app, sites = world
    company_admin, csrf = signed_in(app, ADMIN)
    viewer_id = user_id(app, VIEWER)
    assert company_admin.post(f"/admin/users/{viewer_id}/sites",
                              data={"access": "some", "site_id": str(sites[SITE]), "csrf_token": csrf}).status_code == 302
    viewer, _ = signed_in(app, VIEWER)
    oem_admin, oem_csrf = signed_in(app, "admin@ironwatch.example")
    sessions = app.extensions["ironwatch"].sessions

    def move(uid, site_id):
        return oem_admin.post(f"/admin/devices/{uid}/site", data={"site_id": str(site_id), "csrf_token": oem_csrf})

    def site_of(uid):
        with sessions() as db:
            return db.scalar(select(Machine.site_id).where(Machine.uid == uid))

    page = oem_admin.get("/admin/devices")
    assert page.status_code == 200 and f'action="/admin/devices/{OTHER}/site"'.encode() in page.data
    sock = socketio.test_client(app, flask_test_client=viewer)
    try:
        assert heard(app, sock, "EX-1004") and not heard(app, sock, OTHER)
        assert move("EX-1004", sites[OTHER_SITE]).status_code == 302 and move(OTHER, sites[SITE]).status_code == 302
        assert not heard(app, sock, "EX-1004") and heard(app, sock, OTHER)
        assert OTHER.encode() in viewer.get("/portal/").data  # their pages follow the same rule
        with sessions() as db:  # stored for the other web processes' relays
            controls = [row.payload for row in db.scalars(select(LiveEvent).where(LiveEvent.name == "sockets.refresh_rooms"))]
            moves = [a.detail for a in db.scalars(select(AuditEntry).where(AuditEntry.subject_type == "machine")
                                                     .order_by(AuditEntry.id))]
        assert {"user_ids": [viewer_id]} in controls
        assert moves == [{"machine": "EX-1004", "from": SITE, "to": OTHER_SITE},
                         {"machine": OTHER, "from": OTHER_SITE, "to": SITE}]

        # Refused, nothing changed: another customer's site, no site, garbage, an unknown machine, no token.
        with sessions() as db:
            foreign = db.scalar(select(Machine.site_id).where(Machine.uid == "EX-1007"))  # Meridian's
        for uid, site_id in ((OTHER, foreign), (OTHER, ""), (OTHER, "x"), (OTHER, "9" * 30), ("EX-9999", sites[SITE])):
            assert move(uid, site_id).status_code == 400
        assert oem_admin.post(f"/admin/devices/{OTHER}/site", data={"site_id": str(sites[OTHER_SITE])}).status_code == 400
        assert site_of(OTHER) == sites[SITE] and heard(app, sock, OTHER)
        assert company_admin.post(f"/admin/devices/{OTHER}/site",  # a customer's user admin configures no machine
                                  data={"site_id": str(sites[OTHER_SITE]), "csrf_token": csrf}).status_code == 403
        assert move(OTHER, sites[SITE]).status_code == 302  # already there: nothing to do
        with sessions() as db:
            assert len(list(db.scalars(select(AuditEntry).where(AuditEntry.subject_type == "machine")))) == 2
    finally:
        sock.disconnect()
