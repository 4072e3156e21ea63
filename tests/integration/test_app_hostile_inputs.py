"""Issue 20, defect 3 through the whole app: deep JSON on every ingest endpoint and on the
work-order actions endpoint, and ids past a SQL BIGINT, answer a 4xx JSON and store nothing."""
from __future__ import annotations

import pytest

from app_helpers import ENGINEER, FAULTY_GENSET, login, machine_entry

pytestmark = pytest.mark.integration

DEEP = "[" * 5000 + "]" * 5000
HUGE_IDS = (2**63, 2**64 + 5, 10**30)


def assert_clear_refusal(response, statuses=(400, 404, 413, 415, 422)):
    assert response.status_code in statuses, (response.status_code, response.data[:300])
    body = response.get_json()
    assert body["error"] and body["message"], body


@pytest.mark.parametrize("kind", ["operating", "bursts", "faults"])
def test_deep_json_on_every_ingest_endpoint_is_a_422(app, provisioning, kind):
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    body = '{"upload_id": "deep-1", "machine": "%s", "samples": %s}' % (FAULTY_GENSET, DEEP)
    response = app.test_client().post(f"/api/v1/ingest/{kind}", data=body, content_type="application/json",
                                      headers={"Authorization": f"Bearer {token}"})
    assert_clear_refusal(response, (422,))
    assert response.get_json()["rule"] == "max_depth"
    assert app.extensions["ironwatch"].spool.undrained_bytes == 0


def test_deep_json_on_work_order_actions_is_a_4xx(app):
    client = app.test_client()
    login(client, ENGINEER)
    for order_id in (1, 999):
        response = client.post(f"/api/v1/work-orders/{order_id}/actions", data=DEEP,
                               content_type="application/json")
        assert_clear_refusal(response)
    response = client.post("/api/v1/work-orders/1/actions", data='{"action": "assign", "parts": %s}' % DEEP,
                           content_type="application/json")
    assert_clear_refusal(response)


@pytest.mark.parametrize("order_id", HUGE_IDS)
def test_work_order_ids_past_bigint_are_not_found(app, order_id):
    client = app.test_client()
    login(client, ENGINEER)
    assert_clear_refusal(client.get(f"/api/v1/work-orders/{order_id}"), (404,))
    assert_clear_refusal(client.post(f"/api/v1/work-orders/{order_id}/actions", json={"action": "start"}), (404,))
    assert client.get(f"/console/work-orders/{order_id}").status_code == 404


def test_technician_id_past_bigint_or_in_other_digits_is_refused(app):
    client = app.test_client()
    login(client, ENGINEER)
    for technician_id in (2**63, "²", "١٢", -1, True, [1]):
        response = client.post("/api/v1/work-orders/1/actions", json={"action": "assign", "technician_id": technician_id})
        assert_clear_refusal(response, (400,))
        assert response.get_json()["field"] == "technician_id"
