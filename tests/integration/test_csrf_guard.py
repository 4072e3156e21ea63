"""Forged writes: another site's page can make a signed-in browser post a form, a ``text/plain`` body
or nothing at all to us (a "simple" request, no CORS preflight). The HTML forms refuse that without
the session's token (``app.auth.check_csrf``; tests/integration/test_access_matrix.py checks every
form route does); the JSON API refuses any write not declared ``application/json`` -- which another
site cannot send without a preflight we never grant. Either way nothing changes."""
from __future__ import annotations

import time
import uuid

import pytest

from app_helpers import ENGINEER, FAULTY_GENSET, login_for_forms, machine_entry
from field_helpers import TECHNICIAN
from push_receiver import wait_for

pytestmark = pytest.mark.integration


def raise_alarm(app, provisioning) -> int:
    runtime = app.extensions["ironwatch"]
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET, "time": time.time_ns() - 30 * 10**9,
            "lamps": {"mil": 0, "red_stop": 1, "amber_warning": 0, "protect": 0},
            "active": [{"spn": 110, "fmi": 0, "occurrence_count": 1}]}
    response = app.test_client().post("/api/v1/ingest/faults", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    client = app.test_client()
    login_for_forms(client, ENGINEER)
    (alarm,) = wait_for(lambda: client.get(f"/api/v1/alarms?machine={FAULTY_GENSET}").get_json()["alarms"],
                        what="the DM1 alarm")
    return alarm["id"]


def alarm_state(client, alarm_id: int) -> str:
    (alarm,) = [a for a in client.get(f"/api/v1/alarms?machine={FAULTY_GENSET}&state=all").get_json()["alarms"]
                if a["id"] == alarm_id]
    return alarm["state"]


FORGED = {"a form": {"data": {"comment": "forged"}},
          "text/plain": {"data": "comment=forged", "content_type": "text/plain"},
          "an empty post": {}}


def test_forged_writes_to_pages_and_the_api_are_refused_and_change_nothing(app, provisioning):
    alarm_id = raise_alarm(app, provisioning)
    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    for kind, body in FORGED.items():
        page = engineer.post(f"/console/alarms/{alarm_id}/acknowledge", **body)
        assert page.status_code == 400 and "did not come from this site" in page.get_data(as_text=True), kind
        for url in (f"/api/v1/alarms/{alarm_id}/acknowledge", f"/api/v1/machines/{FAULTY_GENSET}/alarms/acknowledge",
                    f"/api/v1/work-orders/1/actions"):
            api = engineer.post(url, **body)
            assert api.status_code in (400, 415), (kind, url, api.status_code)
            assert "application/json" in api.get_json()["message"], (kind, url)
    assert alarm_state(engineer, alarm_id) == "active"


def test_the_page_token_is_what_lets_a_form_through(app, provisioning):
    alarm_id = raise_alarm(app, provisioning)
    engineer = app.test_client()
    token = login_for_forms(engineer, ENGINEER)
    wrong = engineer.post(f"/console/alarms/{alarm_id}/acknowledge", data={"csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 400 and alarm_state(engineer, alarm_id) == "active"
    right = engineer.post(f"/console/alarms/{alarm_id}/acknowledge", data={"csrf_token": token, "comment": "seen"})
    assert right.status_code == 302 and alarm_state(engineer, alarm_id) == "acknowledged"


def test_the_console_script_s_json_write_goes_through(app, provisioning):
    alarm_id = raise_alarm(app, provisioning)
    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    response = engineer.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={})
    assert response.status_code == 200, response.get_json()
    assert alarm_state(engineer, alarm_id) == "acknowledged"


def test_a_token_with_letters_beyond_ascii_is_refused_as_any_wrong_token(app):
    """``hmac.compare_digest`` raises TypeError on a str with non-ASCII letters: a forged form or
    header must get the usual 400, not a 500."""
    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    page = engineer.post("/logout", data={"csrf_token": "jeton-forgé"})
    assert page.status_code == 400 and "did not come from this site" in page.get_data(as_text=True)
    assert engineer.get("/console/").status_code == 200  # still signed in: the logout changed nothing
    technician = app.test_client()
    login_for_forms(technician, TECHNICIAN)
    api = technician.post("/api/v1/tech/actions", data={"order_id": "1"}, headers={"X-CSRF-Token": "jeton-forg\xe9"})
    assert api.status_code == 400 and api.get_json()["field"] == "X-CSRF-Token", api.status_code
