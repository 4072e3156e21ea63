"""A customer's user chooses their owner alerts on the Notifications page and through the API, on
the real SQL store: the defaults show, a good form is stored, every bad input answers 400 naming
the field and stores nothing; the OEM's people have no such setting."""
from __future__ import annotations

import pytest

from app_helpers import CUSTOMER, ENGINEER, login_for_forms

pytestmark = pytest.mark.integration
GOOD_FORM = {"channels": ["email"], "quiet_start": "22:00", "quiet_end": "07:00", "timezone": "Europe/London",
             "owner_security": "on", "owner_faults": "alarm"}


def stored(client) -> dict:
    return client.get("/api/v1/me/preferences").get_json()


def test_the_customer_form_shows_the_defaults_and_refuses_bad_input_changing_nothing(app):
    customer = app.test_client()
    token = login_for_forms(customer, CUSTOMER)
    page = customer.get("/profile").get_data(as_text=True)
    assert "Alerts about my machines" in page
    assert 'name="owner_security" checked' in page and 'value="off" checked' in page
    assert stored(customer)["owner_alerts"] == {"security": True, "faults": "off"}

    before = stored(customer)
    for change, field in (({"owner_faults": "everything"}, "owner_alerts.faults"),
                          ({"owner_security": "yes please"}, "owner_alerts.security"),
                          ({"quiet_start": "25:99"}, "quiet_start"), ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
                          ({"channels": ["sms"]}, "channels")):
        response = customer.post("/profile", data={**GOOD_FORM, **change, "csrf_token": token})
        assert response.status_code == 400, change
        text = response.get_data(as_text=True)
        assert f'data-field="{field}"' in text and "Not saved" in text, change
        assert stored(customer) == before, change

    unticked = {k: v for k, v in GOOD_FORM.items() if k != "owner_security"}  # a box left unticked sends nothing
    assert customer.post("/profile", data={**unticked, "csrf_token": token}).status_code == 302
    assert stored(customer)["owner_alerts"] == {"security": False, "faults": "alarm"}
    assert customer.post("/profile", data={**GOOD_FORM, "csrf_token": token}).status_code == 302
    assert stored(customer) == {"channels": ["email"], "quiet_start": "22:00", "quiet_end": "07:00",
                                "timezone": "Europe/London", "owner_alerts": {"security": True, "faults": "alarm"}}
    page = customer.get("/profile").get_data(as_text=True)
    assert 'name="owner_security" checked' in page and 'value="alarm" checked' in page


def test_the_api_takes_part_of_the_owner_alerts_and_refuses_what_it_does_not_know(app):
    customer, engineer = app.test_client(), app.test_client()
    login_for_forms(customer, CUSTOMER)
    login_for_forms(engineer, ENGINEER)
    saved = customer.put("/api/v1/me/preferences", json={"owner_alerts": {"faults": "warning"}}).get_json()
    assert saved["owner_alerts"] == {"security": True, "faults": "warning"}  # the other setting kept
    before = stored(customer)
    for body, field in (({"owner_alerts": "all"}, "owner_alerts"),
                        ({"owner_alerts": {"maintenance": True}}, "owner_alerts.maintenance"),
                        ({"owner_alerts": {"security": "on"}}, "owner_alerts.security"),
                        ({"owner_alerts": {"faults": "watch"}}, "owner_alerts.faults")):
        response = customer.put("/api/v1/me/preferences", json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field, body
    assert stored(customer) == before

    # the OEM's people are reached through escalation chains: no owner alerts on their page or API
    assert "owner_alerts" not in stored(engineer)
    assert "Alerts about my machines" not in engineer.get("/profile").get_data(as_text=True)
    response = engineer.put("/api/v1/me/preferences", json={"owner_alerts": {"security": True}})
    assert response.status_code == 400 and response.get_json()["field"] == "owner_alerts"
