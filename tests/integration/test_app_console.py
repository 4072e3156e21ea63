"""The app against the real stores: sign-in, tenant scoping on pages, API and Socket.IO, and one
burst travelling from the ingest API through InfluxDB and the diagnosis worker to a live event."""
from __future__ import annotations

import pytest

from app_helpers import CUSTOMER, DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, app_config, login, outer_race_burst

pytestmark = pytest.mark.integration


def test_pages_need_a_login_and_a_wrong_password_is_refused(app):
    client = app.test_client()
    response = client.get("/console/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = login(client, ENGINEER, "not-the-password")
    assert response.status_code == 401
    assert b"E-mail or password is not right" in response.data
    assert client.get("/api/v1/machines").status_code == 401


def test_login_without_the_form_token_is_refused(app):
    client = app.test_client()
    response = client.post("/login", data={"email": ENGINEER, "password": DEMO_PASSWORD})
    assert response.status_code == 400


def test_engineer_sees_the_whole_fleet(app, provisioning):
    client = app.test_client()
    response = login(client, ENGINEER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    page = client.get("/console/").get_data(as_text=True)
    for machine in provisioning["machines"]:
        assert f'data-machine="{machine["uid"]}"' in page
    machines = client.get("/api/v1/machines").get_json()["machines"]
    assert {m["uid"] for m in machines} == {m["uid"] for m in provisioning["machines"]}
    gensets = client.get("/api/v1/machines?kind=genset").get_json()["machines"]
    assert gensets and all(m["kind"] == "genset" for m in gensets)
    page = client.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert "Alternator drive end" in page and "No vibration burst of this machine has been diagnosed yet" in page
    missing = client.get("/console/machines/NO-SUCH-MACHINE")
    assert missing.status_code == 404 and b"does not exist or is not visible to you" in missing.data


def test_customer_sees_only_own_machines_everywhere(app, provisioning):
    client = app.test_client()
    assert login(client, CUSTOMER).headers["Location"].endswith("/portal/")
    own = {m["uid"] for m in client.get("/api/v1/machines").get_json()["machines"]}
    assert own and FAULTY_GENSET not in own
    assert all(uid in client.get("/portal/").get_data(as_text=True) for uid in own)
    assert FAULTY_GENSET not in client.get("/portal/").get_data(as_text=True)
    # Another customer's machine reads as absent, and the console is not for customers.
    assert client.get(f"/api/v1/machines/{FAULTY_GENSET}").status_code == 404
    assert client.get(f"/api/v1/machines/{FAULTY_GENSET}/diagnoses").status_code == 404
    assert client.get("/console/").status_code == 403


def test_bad_api_parameters_name_the_parameter(app):
    client = app.test_client()
    login(client, ENGINEER)
    response = client.get("/api/v1/work-orders?limit=zero")
    assert response.status_code == 400
    assert response.get_json()["field"] == "limit" and "whole number" in response.get_json()["message"]
    response = client.get("/api/v1/machines?status=broken")
    assert response.status_code == 400 and response.get_json()["field"] == "status"
    response = client.get(f"/api/v1/machines/{FAULTY_GENSET}/trend?field=warp_factor")
    assert response.status_code == 400 and response.get_json()["field"] == "field"
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.is_json


def test_openapi_merges_ingest_and_read_api(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/ingest/bursts", "/api/v1/ingest/operating", "/api/v1/ingest/faults",
                 "/api/v1/machines", "/api/v1/work-orders/{id}"):
        assert path in spec["paths"], path
    page = app.test_client().get("/api/docs").get_data(as_text=True)
    assert "/api/v1/ingest/bursts" in page and "/api/v1/machines/{uid}/trend" in page


def test_outer_race_burst_becomes_a_live_alarm_for_the_oem_but_not_for_another_customer(app, provisioning):
    from app.extensions import socketio

    runtime = app.extensions["ironwatch"]
    engineer, customer = app.test_client(), app.test_client()
    login(engineer, ENGINEER)
    login(customer, CUSTOMER)
    engineer_socket = socketio.test_client(app, flask_test_client=engineer)
    customer_socket = socketio.test_client(app, flask_test_client=customer)
    anonymous_socket = socketio.test_client(app)
    assert engineer_socket.is_connected() and customer_socket.is_connected()
    assert not anonymous_socket.is_connected()

    token, body = outer_race_burst(provisioning)
    device = app.test_client()
    response = device.post("/api/v1/ingest/bursts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()

    # Drive the background by hand: the writer stores the burst in InfluxDB, then the worker diagnoses it.
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.diagnosis_queue.run_pending() == 1
    assert runtime.diagnosis_queue.failed == 0

    received = engineer_socket.get_received()
    names = [event["name"] for event in received]
    assert "diagnosis" in names and "work_order" in names and "machine_status" in names
    diagnosis = next(e["args"][0] for e in received if e["name"] == "diagnosis")
    assert diagnosis["machine"] == FAULTY_GENSET
    top = diagnosis["findings"][0]
    assert (top["fault_mode"], top["location"], top["component"]) == ("bearing_outer_race", "DE", "alternator_de")
    assert customer_socket.get_received() == []

    orders = engineer.get(f"/api/v1/work-orders?machine={FAULTY_GENSET}&status=active").get_json()["work_orders"]
    assert len(orders) == 1 and orders[0]["fault_mode"] == "bearing_outer_race"
    assert customer.get(f"/api/v1/work-orders/{orders[0]['id']}").status_code == 404

    page = engineer.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert "BPFO" in page and orders[0]["number"] in page
    image = engineer.get(f"/console/bursts/{diagnosis['burst_id']}/evidence.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:4] == b"\x89PNG"
    assert customer.get(f"/console/bursts/{diagnosis['burst_id']}/evidence.png").status_code == 403
    for client_socket in (engineer_socket, customer_socket):
        client_socket.disconnect()


def _open_order_on_faulty_genset(app, provisioning, engineer):
    """Upload the outer-race burst, store and diagnose it; return the order it opened."""
    runtime = app.extensions["ironwatch"]
    token, body = outer_race_burst(provisioning)
    response = app.test_client().post("/api/v1/ingest/bursts", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    runtime.diagnosis_queue.run_pending()
    orders = engineer.get(f"/api/v1/work-orders?machine={FAULTY_GENSET}&status=active").get_json()["work_orders"]
    assert len(orders) == 1
    return orders[0]


def test_work_order_life_cycle_through_api_and_forms(app, provisioning):
    engineer, technician, customer = app.test_client(), app.test_client(), app.test_client()
    login(engineer, ENGINEER)
    login(technician, "technician@ironwatch.example")
    login(customer, CUSTOMER)
    order = _open_order_on_faulty_genset(app, provisioning, engineer)
    actions = f"/api/v1/work-orders/{order['id']}/actions"

    # Refusals name what was wrong and change nothing.
    assert engineer.post(actions, data="start").status_code == 415
    response = engineer.post(actions, json={"action": "repaint"})
    assert response.status_code == 400 and response.get_json()["field"] == "action"
    response = engineer.post(actions, json={"action": "assign"})
    assert response.status_code == 400 and response.get_json()["field"] == "technician_id"
    assert customer.post(actions, json={"action": "cancel", "reason": "x"}).status_code in (403, 404)
    response = technician.post(actions, json={"action": "start"})
    assert response.status_code == 403 and "assigned to them" in response.get_json()["message"]
    assert engineer.get(f"/api/v1/work-orders/{order['id']}").get_json()["status"] == "open"

    # The engineer assigns through the console form (to the technician behind the demo login).
    page = engineer.get(f"/console/work-orders/{order['id']}").get_data(as_text=True)
    assert "Assign" in page and "BPFO" in page
    with app.extensions["ironwatch"].sessions() as session:
        from fleet import queries
        from fleet.models import User
        from sqlalchemy import select

        user_id = session.scalar(select(User.id).where(User.email == "technician@ironwatch.example"))
        technician_id = queries.technician_for_user(session, user_id).id
    with engineer.session_transaction() as session:
        csrf = session["_csrf"]
    response = engineer.post(f"/console/work-orders/{order['id']}/actions",
                             data={"action": "assign", "technician_id": technician_id, "csrf_token": csrf})
    assert response.status_code == 302
    assert engineer.get(f"/api/v1/work-orders/{order['id']}").get_json()["status"] == "assigned"

    # The technician sees it, accepts it through the API, starts it on the page's plain form, then
    # completes it through the API with the codes of the fault's list (the one life-cycle path).
    page = technician.get("/tech/").get_data(as_text=True)
    assert order["number"] in page
    assert "Start work" in technician.get(f"/tech/jobs/{order['id']}").get_data(as_text=True)  # the job's page
    with technician.session_transaction() as session:
        csrf = session["_csrf"]
    response = technician.post(f"/tech/orders/{order['id']}/actions", data={"action": "start", "csrf_token": csrf})
    assert response.status_code == 409  # assigned, not accepted yet: the page says what is allowed
    assert "cannot start a work order that is assigned" in response.get_data(as_text=True)
    assert technician.post(actions, json={"action": "accept"}).get_json()["status"] == "accepted"
    assert engineer.post(actions, json={"action": "start"}).status_code == 403  # only the technician starts
    response = technician.post(f"/tech/orders/{order['id']}/actions", data={"action": "start", "csrf_token": csrf})
    assert response.status_code == 302
    response = technician.post(actions, json={"action": "complete"})
    assert response.status_code == 400 and response.get_json()["field"] == "fault_confirmed"
    codes = {"problem_code": "outer_race_spalled", "cause_code": "lubrication", "remedy_code": "bearing_replaced",
             "fault_confirmed": "yes", "notes": "DE bearing outer race spalled; replaced"}
    response = technician.post(actions, json={"action": "complete", **codes, "problem_code": "tooth_broken"})
    assert response.status_code == 400 and "not in the code list" in response.get_json()["message"]
    assert engineer.get(f"/api/v1/work-orders/{order['id']}").get_json()["status"] == "in_progress"
    response = technician.post(actions, json={"action": "complete", **codes,
                                              "parts_used": [{"part_number": "6312-2RS", "quantity": 1}]})
    assert response.status_code == 400 and "catalogue" in response.get_json()["message"]
    response = technician.post(actions, json={"action": "complete", **codes})
    assert response.status_code == 200 and response.get_json()["status"] == "done"
    response = engineer.post(actions, json={"action": "cancel", "reason": "too late"})
    assert response.status_code == 409 and "completed" in response.get_json()["message"]


def test_machine_page_shows_rul_with_its_range_and_model(app):
    import time as clock

    runtime = app.extensions["ironwatch"]
    runtime.store.write_rul(FAULTY_GENSET, "alternator_de", clock.time_ns(), 410.0, 655.0, 980.0, "genset-bearing-v3")
    client = app.test_client()
    login(client, ENGINEER)
    page = client.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert "655 h" in page and "P10–P90 410–980 h" in page and "genset-bearing-v3" in page


def test_trend_and_latest_values_come_from_uploaded_operating_data(app, provisioning):
    import time as clock
    import uuid

    from app_helpers import machine_entry

    runtime = app.extensions["ironwatch"]
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    now_s = clock.time_ns() // 10**9
    samples = [{"time": (now_s - 600 + i) * 10**9, "fields": {"coolant_temp_c": 70.0 + i / 60.0, "power_kw": 800.0}}
               for i in range(0, 600, 10)]
    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET, "samples": samples}
    response = app.test_client().post("/api/v1/ingest/operating", json=body,
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()

    client = app.test_client()
    login(client, ENGINEER)
    series = client.get(f"/api/v1/machines/{FAULTY_GENSET}/trend?field=coolant_temp_c&hours=1").get_json()
    values = [v for v in series["values"] if v is not None]
    assert series["every_s"] == 60 and values
    assert 70.0 <= min(values) and max(values) <= 80.0 and values == sorted(values)
    page = client.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert "Engine coolant temperature" in page and "79.83 °C" in page  # the latest sample, 70 + 590/60


def test_logout_needs_the_form_token_and_ends_the_session(app):
    client = app.test_client()
    login(client, ENGINEER)
    assert client.post("/logout").status_code == 400
    assert client.get("/console/").status_code == 200
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/").status_code == 302
    response = client.get("/console/machines/NO-SUCH-MACHINE")
    assert response.status_code == 302  # signed out: to the login page, not a 404 that confirms anything


def test_reads_answer_503_when_influxdb_is_unreachable(influx, sql_url, tmp_path, provisioning):
    """An InfluxDB that does not answer (a closed port) gives a clear 503, not a stack trace."""
    import socket as sockets

    from app import create_app

    with sockets.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    config = app_config(influx, sql_url, tmp_path)
    config["IRONWATCH_INFLUX_URL"] = f"http://127.0.0.1:{dead_port}"
    application = create_app(config)
    try:
        client = application.test_client()
        login(client, ENGINEER)
        response = client.get(f"/api/v1/machines/{FAULTY_GENSET}/trend?field=coolant_temp_c")
        assert response.status_code == 503 and response.headers["Retry-After"] == "10"
        assert "not reachable" in response.get_json()["message"]
        # The machine page still renders from SQL, saying what is missing.
        page = client.get(f"/console/machines/{FAULTY_GENSET}")
        assert page.status_code == 200 and b"Operating data is unavailable right now" in page.data
    finally:
        application.extensions["ironwatch"].stop()


def test_machine_page_names_the_active_dm1_fault_codes(app, provisioning):
    import time as clock
    import uuid

    from app_helpers import machine_entry

    runtime = app.extensions["ironwatch"]
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET, "time": clock.time_ns() - 60 * 10**9,
            "lamps": {"mil": 0, "red_stop": 1, "amber_warning": 0, "protect": 0},
            "active": [{"spn": 110, "fmi": 0, "occurrence_count": 1}]}
    response = app.test_client().post("/api/v1/ingest/faults", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.get_json()
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    client = app.test_client()
    login(client, ENGINEER)
    page = client.get(f"/console/machines/{FAULTY_GENSET}").get_data(as_text=True)
    assert "1 active" in page and "Red stop lamp" in page
    assert "Engine coolant temperature (SPN 110): above normal, most severe (FMI 0)" in page
