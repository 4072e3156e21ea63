"""Alarms through the app on the real stores: a DM1 red stop lamp from the ingest API becomes an
alarm and the fleet status; acknowledging through the API and the console forms; every bad input
answers a clear 4xx JSON and changes nothing."""
from __future__ import annotations

import time
import uuid

import pytest

from app_helpers import CUSTOMER, ENGINEER, FAULTY_GENSET, login_for_forms, machine_entry
from push_receiver import BrowserKeys, wait_for

pytestmark = pytest.mark.integration
TECHNICIAN = "technician@ironwatch.example"
GRANITE_MACHINE = "EX-1001"  # Granite Ridge Quarries', the customer user's own


def send_dm1(app, provisioning, uid, lamps, active):
    runtime = app.extensions["ironwatch"]
    token = machine_entry(provisioning, uid)["token"]
    body = {"upload_id": str(uuid.uuid4()), "machine": uid, "time": time.time_ns() - 30 * 10**9,
            "lamps": {"mil": 0, "red_stop": 0, "amber_warning": 0, "protect": 0, **lamps}, "active": active}
    response = app.test_client().post("/api/v1/ingest/faults", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()


def alarms(client, query=""):
    return client.get(f"/api/v1/alarms{query}").get_json()["alarms"]


def test_red_stop_lamp_upload_alarms_on_every_page_and_clears_when_inactive(app, provisioning):
    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    send_dm1(app, provisioning, FAULTY_GENSET, {"red_stop": 1}, [{"spn": 110, "fmi": 0, "occurrence_count": 1}])
    (alarm,) = wait_for(lambda: alarms(engineer, f"?machine={FAULTY_GENSET}"), what="the DM1 alarm")
    assert (alarm["source"], alarm["severity"], alarm["state"]) == ("dm1", "alarm", "active")
    assert alarm["title"] == "Engine coolant temperature (SPN 110): above normal, most severe (FMI 0)"

    fleet = engineer.get("/console/").get_data(as_text=True)
    assert f'<tr data-machine="{FAULTY_GENSET}" data-status="alarm">' in fleet  # status on the fleet table
    assert f'data-alarm-id="{alarm["id"]}"' in fleet  # and in the feed, with its acknowledge button
    machine = engineer.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert alarm["title"] in machine and "Acknowledge all" in machine
    (row,) = [m for m in engineer.get("/api/v1/machines").get_json()["machines"] if m["uid"] == FAULTY_GENSET]
    assert row["status"] == "alarm"

    send_dm1(app, provisioning, FAULTY_GENSET, {}, [])
    wait_for(lambda: alarms(engineer, f"?machine={FAULTY_GENSET}&state=cleared"), what="the alarm cleared")
    (cleared,) = alarms(engineer, f"?machine={FAULTY_GENSET}&state=all")
    assert (cleared["state"], cleared["clear_reason"]) == ("cleared", "condition_gone")
    (row,) = [m for m in engineer.get("/api/v1/machines").get_json()["machines"] if m["uid"] == FAULTY_GENSET]
    assert row["status"] == "unknown"


def test_acknowledge_through_api_forms_and_bulk_and_the_bad_inputs(app, provisioning):
    engineer, customer, technician = app.test_client(), app.test_client(), app.test_client()
    csrf = login_for_forms(engineer, ENGINEER)
    login_for_forms(customer, CUSTOMER)
    login_for_forms(technician, TECHNICIAN)
    send_dm1(app, provisioning, FAULTY_GENSET, {"amber_warning": 1},
             [{"spn": 100, "fmi": 1, "occurrence_count": 1}, {"spn": 175, "fmi": 0, "occurrence_count": 1}])
    send_dm1(app, provisioning, GRANITE_MACHINE, {"red_stop": 1}, [{"spn": 110, "fmi": 0, "occurrence_count": 1}])
    wait_for(lambda: len(alarms(engineer)) == 3, what="three alarms")
    first, second = alarms(engineer, f"?machine={FAULTY_GENSET}")
    granite = alarms(engineer, f"?machine={GRANITE_MACHINE}")[0]

    def unchanged():
        assert {a["state"] for a in alarms(engineer)} == {"active"}

    # another customer's alarm is absent for the customer user; reading and answering refused
    assert [a["machine"] for a in alarms(customer)] == [GRANITE_MACHINE]
    assert customer.get(f"/api/v1/alarms/{first['id']}").status_code == 404
    refused = customer.post(f"/api/v1/alarms/{first['id']}/acknowledge", json={})
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    refused = customer.post(f"/api/v1/alarms/{granite['id']}/acknowledge", json={})
    assert refused.status_code == 403  # customers see their alarms; answering is the OEM's job
    for response, status, error in (
            (engineer.post("/api/v1/alarms/999999/acknowledge", json={}), 404, "not_found"),
            (engineer.post(f"/api/v1/alarms/{first['id']}/acknowledge", data="not json",
                           content_type="application/json"), 400, "bad_body"),
            (engineer.post(f"/api/v1/alarms/{first['id']}/acknowledge", json=["comment"]), 400, "bad_body"),
            (engineer.post(f"/api/v1/alarms/{first['id']}/acknowledge", json={"comment": 42}), 400, "bad_field"),
            (engineer.post(f"/api/v1/alarms/{first['id']}/acknowledge", json={"comment": "x" * 501}), 400, "bad_field"),
            (engineer.post(f"/api/v1/alarms/{first['id']}/clear", json={}), 400, "missing_field"),
            (engineer.get("/api/v1/alarms?state=sleeping"), 400, "bad_parameter"),
            (engineer.get("/api/v1/alarms?limit=0"), 400, "bad_parameter"),
            (engineer.post("/api/v1/machines/NOPE-1/alarms/acknowledge", json={}), 404, "not_found")):
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"] == error and response.get_json()["message"]
    unchanged()

    # the technician on call for the hospital sees GS-2001's alarms on his phone page
    phone_page = technician.get("/tech/").get_data(as_text=True)
    assert f'data-alarm-id="{first["id"]}"' in phone_page and f'data-alarm-id="{granite["id"]}"' not in phone_page
    tech_csrf = login_for_forms(technician, TECHNICIAN)
    assert technician.post(f"/tech/alarms/{first['id']}/acknowledge", data={"comment": "x"}).status_code == 400
    assert technician.post("/tech/alarms/999999/acknowledge", data={"csrf_token": tech_csrf}).status_code == 302
    unchanged()  # neither the missing form token nor the unknown alarm changed anything

    # the technician's phone acknowledges through the API, with a comment
    view = technician.post(f"/api/v1/alarms/{first['id']}/acknowledge", json={"comment": "driving there"}).get_json()
    assert (view["state"], view["acknowledged_by"], view["ack_comment"]) == ("acknowledged", TECHNICIAN, "driving there")
    again = engineer.post(f"/api/v1/alarms/{first['id']}/acknowledge", json={})
    assert again.status_code == 409 and again.get_json()["error"] == "not_allowed"

    # the console's form, then bulk for the machine
    response = engineer.post(f"/console/alarms/{granite['id']}/acknowledge",
                             data={"csrf_token": csrf, "comment": "seen", "next": "/console/alarms"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/alarms")
    assert engineer.post(f"/console/alarms/{second['id']}/acknowledge", data={"comment": "no token"}).status_code == 400
    bulk = engineer.post(f"/api/v1/machines/{FAULTY_GENSET}/alarms/acknowledge", json={"comment": "all seen"})
    assert [a["id"] for a in bulk.get_json()["acknowledged"]] == [second["id"]]
    assert {a["state"] for a in alarms(engineer)} == {"acknowledged"}
    detail = engineer.get(f"/api/v1/alarms/{granite['id']}").get_json()
    assert detail["ack_comment"] == "seen" and detail["acknowledged_by"] == ENGINEER and "deliveries" in detail

    page = engineer.get("/console/alarms?state=acknowledged&source=dm1").get_data(as_text=True)
    assert page.count('data-state="acknowledged"') == 3 and "driving there" in page
    assert engineer.get("/console/alarms?state=sleeping").status_code == 400
    assert customer.get("/console/alarms").status_code == 403


def test_push_subscriptions_and_preferences_refuse_malformed_input(app):
    user = app.test_client()
    login_for_forms(user, ENGINEER)
    keys = BrowserKeys()
    good = {"endpoint": "https://push.example.net/send/abc", "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    for body, field in (({"endpoint": "ftp://x/y", "keys": good["keys"]}, "endpoint"),
                        ({"keys": good["keys"]}, "endpoint"),
                        ({"endpoint": good["endpoint"]}, "keys"),
                        ({"endpoint": good["endpoint"], "keys": {"p256dh": "!!", "auth": keys.auth}}, "keys.p256dh"),
                        ({"endpoint": good["endpoint"], "keys": {"p256dh": keys.auth, "auth": keys.auth}}, "keys.p256dh"),
                        ({"endpoint": good["endpoint"], "keys": {"p256dh": keys.p256dh, "auth": keys.p256dh}},
                         "keys.auth")):
        response = user.post("/api/v1/push-subscriptions", json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field, response.get_json()
    assert user.post("/api/v1/push-subscriptions", data="{", content_type="application/json").status_code == 400
    assert user.get("/api/v1/push-subscriptions").get_json()["subscriptions"] == []
    created = user.post("/api/v1/push-subscriptions", json=good)
    assert created.status_code == 201
    assert user.post("/api/v1/push-subscriptions", json=good).status_code == 200  # same device again
    (device,) = user.get("/api/v1/push-subscriptions").get_json()["subscriptions"]
    assert device["push_service"] == "push.example.net"
    other = app.test_client()
    login_for_forms(other, TECHNICIAN)
    assert other.delete(f"/api/v1/push-subscriptions/{device['id']}").status_code == 404  # not theirs
    assert len(user.get("/api/v1/push-subscriptions").get_json()["subscriptions"]) == 1
    key = user.get("/api/v1/push/key").get_json()["public_key"]
    assert len(key) == 87  # base64url of a 65-byte uncompressed P-256 point

    before = user.get("/api/v1/me/preferences").get_json()
    for body, field in (({"channels": ["sms"]}, "channels"), ({"channels": "push"}, "channels"),
                        ({"quiet_start": "25:99"}, "quiet_start"), ({"quiet_end": 7}, "quiet_end"),
                        ({"timezone": "Mars/Olympus_Mons"}, "timezone")):
        response = user.put("/api/v1/me/preferences", json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field
    assert user.get("/api/v1/me/preferences").get_json() == before
    saved = user.put("/api/v1/me/preferences", json={"channels": ["email"], "quiet_start": "22:00",
                                                       "quiet_end": "06:30", "timezone": "Europe/London"}).get_json()
    assert saved == {"channels": ["email"], "quiet_start": "22:00", "quiet_end": "06:30", "timezone": "Europe/London"}
    page = user.get("/profile").get_data(as_text=True)
    assert 'value="22:00"' in page and "Enable push on this device" in page
    worker = user.get("/push-sw.js")
    assert worker.status_code == 200 and worker.headers["Service-Worker-Allowed"] == "/"
    spec = user.get("/api/openapi.json").get_json()
    assert "/api/v1/alarms/{id}/acknowledge" in spec["paths"] and "Alarm" in spec["components"]["schemas"]


def test_the_demo_mail_sink_keeps_messages_the_outbox_page_shows(app, tmp_path):
    from app import mailsink
    from app_helpers import free_port
    from fleet.delivery import SmtpMailer

    port = free_port()
    sink = mailsink.start(tmp_path / "mail", port=port)
    try:
        SmtpMailer("127.0.0.1", port, "alarms@ironwatch.example").send(
            ENGINEER, "[Ironwatch] ALARM GS-2001: test", "plain text body\n", "<p>html body</p>")
    finally:
        sink.stop()
    (stored,) = list((tmp_path / "mail").glob("*.eml"))
    assert b"plain text body" in stored.read_bytes()
    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    page = engineer.get("/console/outbox").get_data(as_text=True)
    assert "[Ironwatch] ALARM GS-2001: test" in page and "plain text body" in page
