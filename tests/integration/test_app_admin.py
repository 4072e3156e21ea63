"""The admin pages against the real SQL database and InfluxDB: users (invite, one-time links,
deactivate, reset; a customer's user administrator), device credentials (rotation refused at
the real ingest endpoint, the broker's accounts follow), zone limits (the next diagnosis uses
them), the model registry's refusals and the audit log the bus subscriber writes."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, app_config, outer_race_burst, seed_demo_fleet

pytestmark = pytest.mark.integration

ADMIN = "admin@ironwatch.example"


@pytest.fixture
def world(influx, sql_url, tmp_path):
    from app import create_app

    provisioning = seed_demo_fleet(sql_url, tmp_path)
    app = create_app(app_config(influx, sql_url, tmp_path))
    yield app, provisioning
    app.extensions["ironwatch"].stop()


def sign_in(app, email: str, password: str = DEMO_PASSWORD):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client)})
    return client, response


def csrf(client) -> str:
    with client.session_transaction() as session:
        return session.get("_csrf") or ""


def post(client, url: str, **data):
    if not csrf(client):  # any page with a form gives the session its token
        client.get("/account/time-zone")
    return client.post(url, data={"csrf_token": csrf(client), **data})


def audit_rows(app, subject_type: str, sign_ins: bool = False):
    """(actor, action, detail) of the audit entries about ``subject_type``, oldest first (sign-ins
    only when asked: every test signs in)."""
    from fleet.models import AuditEntry

    with app.extensions["ironwatch"].sessions() as db:
        return [(r.actor, r.action, r.detail) for r in
                db.scalars(select(AuditEntry).where(AuditEntry.subject_type == subject_type).order_by(AuditEntry.id))
                if sign_ins or not r.action.startswith("sign_in_")]


def user_id(app, email: str) -> int:
    from fleet.models import User

    with app.extensions["ironwatch"].sessions() as db:
        return db.scalar(select(User.id).where(User.email == email))


def link_path(page: bytes) -> str:
    return re.search(rb'value="http://localhost(/account/link/[^"]+)"', page).group(1).decode()


# --- users ----------------------------------------------------------------------------------------------

def test_an_invited_person_sets_a_password_through_the_one_time_link_and_signs_in(world):
    app, _ = world
    admin, _ = sign_in(app, ADMIN)
    oem_id = _tenant_id(app, "oem")
    response = post(admin, "/admin/users/invite", email="Ines.Quarry@example.com", name="Ines Quarry",
                    role="engineer", tenant_id=oem_id)
    assert response.status_code == 200 and b"shown only now" in response.data
    path = link_path(response.data)
    assert sign_in(app, "ines.quarry@example.com", "a long enough passphrase")[1].status_code == 401  # not yet

    invitee = app.test_client()
    assert b"Welcome to Ironwatch" in invitee.get(path).data
    short = invitee.post(path, data={"csrf_token": csrf(invitee), "password": "short", "password_again": "short"})
    assert short.status_code == 400 and b"at least 12 characters" in short.data
    done = invitee.post(path, data={"csrf_token": csrf(invitee), "password": "a long enough passphrase",
                                    "password_again": "a long enough passphrase"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert sign_in(app, "ines.quarry@example.com", "a long enough passphrase")[1].status_code == 302
    assert invitee.get(path).status_code == 404  # one-time
    assert [a[1] for a in audit_rows(app, "user")] == ["invited", "accepted_invite"]
    assert audit_rows(app, "user")[0][0] == ADMIN

    from fleet.models import AccountLink

    with app.extensions["ironwatch"].sessions() as db:  # only the hash is at rest
        assert path.rsplit("/", 1)[1] not in {row.token_sha256 for row in db.scalars(select(AccountLink))}


def test_bad_invitations_are_refused_with_a_message_and_change_nothing(world):
    app, _ = world
    admin, _ = sign_in(app, ADMIN)
    oem_id = _tenant_id(app, "oem")
    for data, message in ((dict(email="not-an-address", name="X", role="engineer"), b"is not an e-mail address"),
                          (dict(email="engineer@ironwatch.example", name="X", role="engineer"), b"already a user"),
                          (dict(email="new@example.com", name="X", role="overlord"), b"The role must be one of"),
                          (dict(email="new@example.com", name="", role="engineer"), b"the person&#39;s name")):
        response = post(admin, "/admin/users/invite", tenant_id=oem_id, **data)
        assert response.status_code == 400 and message in response.data, data
    assert post(admin, "/admin/users/invite", email="x@example.com", name="X", role="engineer",
                tenant_id="abc").status_code == 403
    assert audit_rows(app, "user") == [] and user_id(app, "new@example.com") is None
    assert admin.post("/admin/users/invite", data={"email": "x@example.com"}).status_code == 400  # no CSRF token


def test_deactivating_a_user_ends_their_session_at_once_and_a_reset_link_replaces_the_password(world):
    app, _ = world
    engineer, _ = sign_in(app, ENGINEER)
    assert engineer.get("/console/").status_code == 200
    admin, _ = sign_in(app, ADMIN)
    target = user_id(app, ENGINEER)

    reset = post(admin, f"/admin/users/{target}/reset")
    assert reset.status_code == 200
    path = link_path(reset.data)
    reader = app.test_client()
    reader.get(path)
    assert reader.post(path, data={"csrf_token": csrf(reader), "password": "new engineer passphrase",
                                   "password_again": "new engineer passphrase"}).status_code == 302
    assert engineer.get("/console/").status_code == 302  # setting a password ended the old sessions
    assert sign_in(app, ENGINEER)[1].status_code == 401
    engineer, response = sign_in(app, ENGINEER, "new engineer passphrase")
    assert response.status_code == 302 and engineer.get("/console/").status_code == 200

    from app.extensions import socketio

    live = socketio.test_client(app, flask_test_client=engineer)
    assert live.is_connected()
    assert post(admin, f"/admin/users/{target}/deactivate").status_code == 302
    assert engineer.get("/console/").status_code == 302
    assert not live.is_connected()  # the open live feed is cut too
    assert sign_in(app, ENGINEER, "new engineer passphrase")[1].status_code == 401
    assert post(admin, f"/admin/users/{user_id(app, ADMIN)}/deactivate").status_code == 400  # not yourself
    assert post(admin, "/admin/users/999999/deactivate").status_code == 404
    actions = [a[1] for a in audit_rows(app, "user")]
    assert actions == ["reset_link", "password_reset", "deactivated"]


def test_a_customer_user_admin_manages_only_their_own_tenants_users(world):
    app, _ = world
    from fleet import passwords
    from fleet.db import transaction
    from fleet.models import Machine, Tenant, User

    with transaction(app.extensions["ironwatch"].sessions) as db:
        owner = db.scalar(select(Tenant).join(Machine, Machine.tenant_id == Tenant.id).where(Machine.uid == FAULTY_GENSET))
        owner_id = owner.id
        db.add(User(email="boss@northbridge.example", name="Bo Ss", role="customer", tenant_id=owner.id,
                    manages_users=True, password_hash=passwords.hash_password(DEMO_PASSWORD)))
        db.add(User(email="clerk@northbridge.example", name="Cl Erk", role="customer", tenant_id=owner.id,
                    password_hash=passwords.hash_password(DEMO_PASSWORD)))
    boss, _ = sign_in(app, "boss@northbridge.example")
    page = boss.get("/admin/users")
    assert page.status_code == 200 and b"clerk@northbridge.example" in page.data
    assert b'href="/admin/users"' in boss.get("/portal/").data  # their top bar links the page
    assert ENGINEER.encode() not in page.data and b"customer@graniteridge.example" not in page.data
    assert boss.get("/admin/devices").status_code == 403
    assert post(boss, f"/admin/users/{user_id(app, ENGINEER)}/deactivate").status_code == 404
    assert post(boss, "/admin/users/invite", email="eng@example.com", name="E", role="engineer",
                tenant_id=owner_id).status_code == 400
    assert post(boss, "/admin/users/invite", email="eng@example.com", name="E", role="customer",
                tenant_id=_tenant_id(app, "oem")).status_code == 403
    assert post(boss, "/admin/users/invite", email="new@northbridge.example", name="New Hire", role="customer",
                tenant_id=owner_id).status_code == 200
    assert post(boss, f"/admin/users/{user_id(app, 'clerk@northbridge.example')}/deactivate").status_code == 302
    clerk, _ = sign_in(app, "customer@graniteridge.example")  # a plain customer user
    assert clerk.get("/admin/users").status_code == 403


def _tenant_id(app, kind: str) -> int:
    from fleet.models import Tenant

    with app.extensions["ironwatch"].sessions() as db:
        return db.scalar(select(Tenant.id).where(Tenant.kind == kind).order_by(Tenant.id).limit(1))


# --- device credentials -----------------------------------------------------------------------------------

def _operating_upload(client, token: str):
    import time
    import uuid

    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET,
            "samples": [{"time": time.time_ns() - 10**9, "fields": {"coolant_temp_c": 80.0}}]}
    return client.post("/api/v1/ingest/operating", json=body, headers={"Authorization": f"Bearer {token}"})


def test_rotating_a_device_token_shows_the_new_one_once_and_the_old_one_is_refused_at_ingest(world):
    from fleet.devices import broker_accounts

    app, provisioning = world
    old_token = next(m for m in provisioning["machines"] if m["uid"] == FAULTY_GENSET)["token"]
    device = app.test_client()
    assert _operating_upload(device, old_token).status_code == 202
    admin, _ = sign_in(app, ADMIN)
    assert FAULTY_GENSET.encode() in admin.get("/admin/devices").data

    response = post(admin, f"/admin/devices/{FAULTY_GENSET}/rotate")
    assert response.status_code == 200
    new_token = re.search(rb'value="(dev_[0-9a-f]+\.[^"]+)"', response.data).group(1).decode()
    assert new_token.encode() not in admin.get("/admin/devices").data  # shown once
    assert _operating_upload(device, old_token).status_code == 401
    assert _operating_upload(device, new_token).status_code == 202
    accounts = {a.username: a.machine for a in broker_accounts(app.extensions["ironwatch"].sessions)}
    assert accounts.get(new_token.split(".")[0]) == FAULTY_GENSET and old_token.split(".")[0] not in accounts

    assert post(admin, f"/admin/devices/{FAULTY_GENSET}/revoke", device_id="dev_nope").status_code == 400
    assert post(admin, "/admin/devices/NO-SUCH-1/rotate").status_code == 400
    assert _operating_upload(device, new_token).status_code == 202  # the refusals changed nothing
    assert post(admin, f"/admin/devices/{FAULTY_GENSET}/revoke",
                device_id=new_token.split(".")[0]).status_code == 302
    assert _operating_upload(device, new_token).status_code == 401
    assert [(a[1], a[2]["machine"]) for a in audit_rows(app, "device")] == [("rotated", FAULTY_GENSET),
                                                                           ("revoked", FAULTY_GENSET)]
    assert all(new_token not in str(a) and old_token not in str(a) for a in audit_rows(app, "device"))


# --- zone limits ------------------------------------------------------------------------------------------

def _diagnosed_zone(app, provisioning, seed: int, minutes_ago: int = 0) -> str:
    from fleet.models import BurstDiagnosis, from_ns

    runtime = app.extensions["ironwatch"]
    token, body = outer_race_burst(provisioning, seed=seed)
    body["start"] -= minutes_ago * 60 * 10**9
    assert app.test_client().post("/api/v1/ingest/bursts", json=body,
                                  headers={"Authorization": f"Bearer {token}"}).status_code == 202
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    # The writer hands a stored burst to the queue just after the spool counts it drained, so
    # poll for this burst's own diagnosis (found by its start time) rather than assume one pass.
    deadline = time.monotonic() + 30
    while True:
        runtime.diagnosis_queue.run_pending()
        with runtime.sessions() as db:
            zone = db.scalar(select(BurstDiagnosis.iso_zone)
                             .where(BurstDiagnosis.burst_at >= from_ns(body["start"] - 10**6))
                             .order_by(BurstDiagnosis.burst_at.desc()).limit(1))
        if zone is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    runtime.writer.stop()
    with runtime.sessions() as db:
        rows = db.execute(select(BurstDiagnosis.burst_id, BurstDiagnosis.burst_at, BurstDiagnosis.iso_zone)).all()
    assert zone is not None, f"the burst was not diagnosed within 30 s: {from_ns(body['start'])} {rows}"
    return zone


def test_a_changed_zone_limit_changes_the_zone_of_the_next_diagnosis(world):
    from fleet.models import Machine

    app, provisioning = world
    with app.extensions["ironwatch"].sessions() as db:
        model = db.scalar(select(Machine.model).where(Machine.uid == FAULTY_GENSET))
    before = _diagnosed_zone(app, provisioning, seed=3, minutes_ago=30)
    assert before in ("A", "B")
    admin, _ = sign_in(app, ADMIN)
    assert b"alternator de" in admin.get("/admin/zones").data

    refused = post(admin, "/admin/zones", machine_model=model, component_name="alternator_de",
                   a_b="2", b_c="1", c_d="3")
    assert refused.status_code == 400 and b"must increase" in refused.data
    assert post(admin, "/admin/zones", machine_model=model, component_name="alternator_de",
                a_b="x", b_c="1", c_d="3").status_code == 400
    assert post(admin, "/admin/zones", machine_model="No such model", component_name="alternator_de",
                a_b="1", b_c="2", c_d="3").status_code == 400
    assert audit_rows(app, "zone_limits") == []

    saved = post(admin, "/admin/zones", machine_model=model, component_name="alternator_de",
                 a_b="0.01", b_c="0.02", c_d="0.03")
    assert saved.status_code == 302
    assert _diagnosed_zone(app, provisioning, seed=4) == "D"
    [(actor, action, detail)] = audit_rows(app, "zone_limits")
    assert actor == ADMIN and detail["limits_mm_s"] == [0.01, 0.02, 0.03]


# --- models and the audit log page ------------------------------------------------------------------------

def test_the_model_page_refuses_what_the_registry_cannot_do_and_the_audit_page_filters(world):
    app, _ = world
    admin, _ = sign_in(app, ADMIN)
    assert admin.get("/admin/models").status_code == 200
    refused = post(admin, "/admin/models/promote", component_kind="diesel_engine", version="diesel_engine-v99")
    assert refused.status_code == 400 and b"Nothing was changed" in refused.data
    assert post(admin, "/admin/models/rollback", component_kind="no_such_kind").status_code == 400
    assert audit_rows(app, "model") == []

    post(admin, f"/admin/devices/{FAULTY_GENSET}/rotate")
    post(admin, f"/admin/users/{user_id(app, ENGINEER)}/reset")
    everything = admin.get("/admin/audit")
    assert everything.status_code == 200 and b"rotated" in everything.data and b"reset link" in everything.data
    devices_only = admin.get("/admin/audit?subject=device")
    assert b"rotated" in devices_only.data and b"reset link" not in devices_only.data
    assert b"rotated" not in admin.get("/admin/audit?actor=nobody").data
    assert admin.get("/admin/audit?subject=bogus").status_code == 400
    engineer, _ = sign_in(app, ENGINEER)
    assert engineer.get("/admin/audit").status_code == 403


def test_sign_ins_and_refused_ones_are_in_the_audit_log(world):
    app, _ = world
    sign_in(app, ENGINEER, "wrong password")
    sign_in(app, "nobody@example.com", "whatever")
    sign_in(app, ENGINEER)
    rows = [(actor, action) for actor, action, _ in audit_rows(app, "user", sign_ins=True)]
    assert rows == [(ENGINEER, "sign_in_refused"), ("nobody@example.com", "sign_in_refused"), (ENGINEER, "sign_in_ok")]
    admin, _ = sign_in(app, ADMIN)
    page = admin.get("/admin/audit?subject=user&actor=engineer")
    assert page.data.count(b"sign in refused") == 1 and b"sign in ok" in page.data and b"nobody@" not in page.data


# --- technicians and alarm rules ---------------------------------------------------------------------------

def test_technicians_planning_data_is_edited_and_bad_hours_change_nothing(world):
    from fleet.models import Technician, TechnicianWorkweek

    app, _ = world
    admin, _ = sign_in(app, ADMIN)
    assert admin.get("/admin/technicians").status_code == 200
    with app.extensions["ironwatch"].sessions() as db:
        technician = db.scalars(select(Technician).order_by(Technician.id)).first()
        tech_id, skills_before = technician.id, list(technician.skills)
    good = dict(skills=["engine", "vibration"], home_base="Leeds depot", home_lat="53.8", home_lon="-1.55",
                start="07:30", end="16:00", weekdays=["1", "2", "3", "4"])
    for bad, message in ((dict(good, end="07:00"), b"end after it starts"), (dict(good, start="7h"), b"HH:MM"),
                         (dict(good, skills=["juggling"]), b"Unknown skill"), (dict(good, home_lat="95"), b"latitude"),
                         (dict(good, weekdays=[]), b"at least one working day")):
        response = post(admin, f"/admin/technicians/{tech_id}", **bad)
        assert response.status_code == 400 and message in response.data, bad
    with app.extensions["ironwatch"].sessions() as db:
        assert db.get(Technician, tech_id).skills == skills_before
    assert post(admin, "/admin/technicians/999999", **good).status_code == 404
    assert post(admin, f"/admin/technicians/{tech_id}", **good).status_code == 302
    with app.extensions["ironwatch"].sessions() as db:
        technician, week = db.get(Technician, tech_id), db.get(TechnicianWorkweek, tech_id)
        assert technician.skills == ["engine", "vibration"] and technician.home_base == "Leeds depot"
        assert (week.start_minute, week.end_minute, week.weekdays) == (450, 960, [1, 2, 3, 4])
    assert [a[1] for a in audit_rows(app, "technician")] == ["changed"]


def test_an_escalation_chain_and_dm1_rules_are_replaced_only_when_valid(world):
    from fleet.models import EscalationPolicy, EscalationStep, FaultCodeRule

    app, _ = world
    admin, _ = sign_in(app, ADMIN)
    oem_id = _tenant_id(app, "oem")
    assert b"DM1 fault-code rules" in admin.get("/admin/alarm-rules").data
    engineer_id = user_id(app, ENGINEER)

    def steps():
        with app.extensions["ironwatch"].sessions() as db:
            policy = db.scalar(select(EscalationPolicy).where(EscalationPolicy.tenant_id == oem_id))
            return [(s.after_minutes, s.target_kind, s.target_role, s.target_user_id, s.channels)
                    for s in db.scalars(select(EscalationStep).where(EscalationStep.policy_id == policy.id)
                                        .order_by(EscalationStep.position))]

    before = steps()
    for bad, message in ((dict(after_0="30", target_0="on_call", channels_0="push", after_1="10", target_1="role:engineer",
                               channels_1="email"), b"order the steps by time"),
                         (dict(after_0="0", target_0="role:overlord", channels_0="push"), b"not someone"),
                         (dict(after_0="0", target_0="on_call"), b"at least one channel"),
                         (dict(after_0="soon", target_0="on_call", channels_0="push"), b"whole number")):
        response = post(admin, f"/admin/alarm-rules/{oem_id}/chain", min_severity="warning", **bad)
        assert response.status_code == 400 and message in response.data, bad
    assert steps() == before
    client = admin
    client.get("/account/time-zone")
    response = client.post(f"/admin/alarm-rules/{oem_id}/chain", data={
        "csrf_token": csrf(client), "min_severity": "alarm", "after_0": "0", "target_0": "on_call",
        "channels_0": ["push", "email"], "after_1": "20", "target_1": f"user:{engineer_id}", "channels_1": "email"})
    assert response.status_code == 302
    assert steps() == [(0, "on_call", None, None, ["push", "email"]), (20, "user", None, engineer_id, ["email"])]

    assert post(admin, f"/admin/alarm-rules/{oem_id}/fault-codes", spn="600000", severity="alarm").status_code == 400
    assert post(admin, f"/admin/alarm-rules/{oem_id}/fault-codes", spn="110", fmi="0", severity="loud").status_code == 400
    assert post(admin, f"/admin/alarm-rules/{oem_id}/fault-codes", spn="110", fmi="0", severity="alarm").status_code == 302
    assert post(admin, f"/admin/alarm-rules/{oem_id}/fault-codes", spn="110", fmi="0", severity="none").status_code == 302
    with app.extensions["ironwatch"].sessions() as db:
        [(rule_id, severity)] = db.execute(select(FaultCodeRule.id, FaultCodeRule.severity)).all()
    assert severity is None  # the second rule for the same code replaced the first
    assert post(admin, f"/admin/alarm-rules/fault-codes/{rule_id}/delete").status_code == 302
    assert post(admin, f"/admin/alarm-rules/fault-codes/{rule_id}/delete").status_code == 404
    assert [a[1] for a in audit_rows(app, "alarm_rules")] == ["chain_changed", "dm1_rule_set", "dm1_rule_set",
                                                              "dm1_rule_deleted"]


def test_an_admin_promotes_and_rolls_back_a_model_and_both_are_audited(world, tmp_path):
    from fleet.model_registry import ModelRegistry
    from test_rul_registry import tiny_estimator

    app, _ = world
    registry = ModelRegistry(app.extensions["ironwatch"].sessions, var_dir=tmp_path)  # the app's IRONWATCH_VAR
    v1 = registry.register("alternator_bearing", tiny_estimator(1), {"held_out": 1, "rmse_h": 12.5}).version
    v2 = registry.register("alternator_bearing", tiny_estimator(2), {"rmse_h": 9.5}).version
    registry.promote("alternator_bearing", v2)
    admin, _ = sign_in(app, ADMIN)
    page = admin.get("/admin/models")
    assert page.status_code == 200 and v1.encode() in page.data and b"rmse h 9.5" in page.data

    assert post(admin, "/admin/models/rollback", component_kind="alternator_bearing").status_code == 302
    assert registry.active("alternator_bearing").version == v1
    refused = post(admin, "/admin/models/rollback", component_kind="alternator_bearing")
    assert refused.status_code == 400 and b"oldest model" in refused.data  # v1 has nothing below it
    assert post(admin, "/admin/models/promote", component_kind="alternator_bearing", version=v2).status_code == 302
    assert registry.active("alternator_bearing").version == v2
    assert [(a[1], a[2]["version"], a[2]["previous"]) for a in audit_rows(app, "model")] == [
        ("rolled_back", v1, v2), ("promoted", v2, v1)]


def test_a_late_cut_keeps_the_socket_of_a_session_opened_after_the_change(world):
    """Every web process applies ``sockets.cut_stale`` from the outbox, some a second later: by then
    the user may have signed in again, and that new session's socket must stay."""
    app, _ = world
    from app.extensions import socketio

    engineer, _ = sign_in(app, ENGINEER)
    old = socketio.test_client(app, flask_test_client=engineer)
    other, _ = sign_in(app, ENGINEER)  # a second browser of theirs, not signed out
    kept = socketio.test_client(app, flask_test_client=other)
    assert old.is_connected() and kept.is_connected()
    assert post(engineer, "/logout").status_code == 302
    assert not old.is_connected() and kept.is_connected()  # only the signed-out session's socket
    again, _ = sign_in(app, ENGINEER)
    fresh = socketio.test_client(app, flask_test_client=again)
    live = app.extensions["ironwatch"].live_sessions
    assert live.apply_cut_stale(user_id(app, ENGINEER)) == 0  # the same control, applied late
    assert fresh.is_connected() and kept.is_connected()
    for client in (fresh, kept):
        client.disconnect()
