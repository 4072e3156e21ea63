"""The machine page's plot data against the real stores: RUL history, spectra, waterfall and trend
ranges; bad input answers 400 naming the parameter, unknown and other tenants' machines 404."""
from __future__ import annotations

import time

import pytest

from app_helpers import CUSTOMER, ENGINEER, FAULTY_GENSET, login, outer_race_burst

pytestmark = pytest.mark.integration


def diagnose_bursts(app, provisioning, starts_ns: list[int], uid: str = FAULTY_GENSET,
                    component: str = "alternator_de") -> list[str]:
    """Upload one burst of the machine's seeded fault (an outer race by default) per start time and
    diagnose them; their burst ids."""
    from telemetry.schema import burst_id_for

    runtime = app.extensions["ironwatch"]
    device = app.test_client()
    ids = []
    for i, start_ns in enumerate(starts_ns):
        token, body = outer_race_burst(provisioning, uid=uid, component=component, seed=7 + i)
        body["start"] = start_ns
        response = device.post("/api/v1/ingest/bursts", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.get_json()
        ids.append(burst_id_for(body["machine"], body["sensor"], body["axis"], start_ns))
    runtime.writer.start()
    assert runtime.writer.wait_drained(timeout=60)
    runtime.writer.stop()
    assert runtime.diagnosis_queue.run_pending() == len(starts_ns)
    return ids


def test_rul_history_is_the_fan_chart_and_says_why_when_empty(app):
    runtime = app.extensions["ironwatch"]
    now = time.time_ns()
    for hours_ago, p50 in ((48, 900.0), (24, 800.0), (1, 700.0)):
        runtime.store.write_rul(FAULTY_GENSET, "alternator_de", now - hours_ago * 3600 * 10**9,
                                p50 * 0.6, p50, p50 * 1.5, "genset-bearing-v3")
    client = app.test_client()
    login(client, ENGINEER)
    body = client.get(f"/api/v1/machines/{FAULTY_GENSET}/rul?component=alternator_de").get_json()
    assert body["p50_h"] == [900.0, 800.0, 700.0] and body["p10_h"][-1] == pytest.approx(420.0)
    assert body["model_version"] == "genset-bearing-v3" and body["horizon_h"] == 14 * 24.0
    assert body["component_label"] == "alternator drive end" and body["note"] is None
    assert len(body["times"]) == 3 and body["times"] == sorted(body["times"])
    # Only the range asked for.
    assert client.get(f"/api/v1/machines/{FAULTY_GENSET}/rul?component=alternator_de&days=1").get_json()["p50_h"] == [700.0]
    empty = client.get(f"/api/v1/machines/{FAULTY_GENSET}/rul?component=engine").get_json()
    assert empty["times"] == [] and empty["note"]


@pytest.mark.parametrize("query, field", [
    ("component=alternator_de&days=0", "days"), ("component=alternator_de&days=4000", "days"),
    ("component=alternator_de&days=soon", "days"), ("component=gearbox", "component"), ("", "component"),
])
def test_rul_refuses_bad_parameters(app, query, field):
    client = app.test_client()
    login(client, ENGINEER)
    response = client.get(f"/api/v1/machines/{FAULTY_GENSET}/rul?{query}")
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_plots_of_unknown_or_other_customers_machines_are_not_found(app):
    customer = app.test_client()
    login(customer, CUSTOMER)  # Granite Ridge does not own GS-2001
    for url in (f"/api/v1/machines/{FAULTY_GENSET}/rul?component=alternator_de",
                f"/api/v1/machines/{FAULTY_GENSET}/trend?field=coolant_temp_c",
                "/api/v1/machines/XX-0000/rul?component=engine"):
        response = customer.get(url)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found", url
    # Spectra and waterfalls are console tools: a customer is refused, whatever the machine.
    assert customer.get(f"/api/v1/machines/{FAULTY_GENSET}/waterfall?component=alternator_de").status_code == 403
    engineer = app.test_client()
    login(engineer, ENGINEER)
    for url in ("/api/v1/machines/XX-0000/waterfall?component=engine", "/api/v1/bursts/nonsense/spectra",
                "/api/v1/machines/XX-0000/trend?field=coolant_temp_c"):
        response = engineer.get(url)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found", url


def test_spectra_and_waterfall_of_diagnosed_bursts(app, provisioning):
    now = time.time_ns()
    ids = diagnose_bursts(app, provisioning, [now - 3 * 3600 * 10**9, now - 2 * 3600 * 10**9, now - 60 * 10**9])
    engineer, customer = app.test_client(), app.test_client()
    login(engineer, ENGINEER)
    login(customer, CUSTOMER)
    body = engineer.get(f"/api/v1/bursts/{ids[-1]}/spectra").get_json()
    assert body["component"] == "alternator_de" and body["component_label"] == "alternator drive end"
    assert len(body["spectrum"]["freqs_hz"]) == len(body["spectrum"]["amplitude_m_s2"]) > 500
    assert body["envelope"]["band_hz"][0] < body["envelope"]["band_hz"][1]
    bearing = next(f for f in body["families"] if f["key"] == "bearing:DE")
    assert bearing["label"] == "drive-end bearing"
    assert {line["label"] for line in bearing["lines"]} >= {"outer race (BPFO)", "inner race (BPFI)"}
    assert any(e["domain"] == "envelope" for e in body["evidence"])
    kurtogram = body["kurtogram"]
    assert kurtogram["chosen_window"] in kurtogram["windows"] and len(kurtogram["sk"]) == len(kurtogram["windows"])
    assert customer.get(f"/api/v1/bursts/{ids[-1]}/spectra").status_code == 403

    fall = engineer.get(f"/api/v1/machines/{FAULTY_GENSET}/waterfall?component=alternator_de&n=6").get_json()
    assert [row["burst_id"] for row in fall["rows"]] == ids  # oldest first
    assert all(max(row["freqs_hz"]) <= fall["max_hz"] for row in fall["rows"])
    for query, field in (("component=alternator_de&n=1", "n"), ("component=alternator_de&n=100", "n"),
                         ("component=rotor", "component")):
        response = engineer.get(f"/api/v1/machines/{FAULTY_GENSET}/waterfall?{query}")
        assert response.status_code == 400 and response.get_json()["field"] == field


def test_a_gear_bursts_spectra_draw_its_mesh_lines_and_not_the_gearbox_bearings_lines(app, provisioning):
    """The demo's gear job (EX-1003, swing gearbox with an input bearing, a broken stage 1 tooth):
    the spectra route draws the gear's family and lists the bearing's, off and "no finding"; the
    evidence holds the mesh line and no bearing line; the evidence picture is drawn."""
    (burst_id,) = diagnose_bursts(app, provisioning, [time.time_ns() - 60 * 10**9], uid="EX-1003",
                                  component="swing_gearbox")
    engineer = app.test_client()
    login(engineer, ENGINEER)
    body = engineer.get(f"/api/v1/bursts/{burst_id}/spectra").get_json()
    families = {f["key"]: f for f in body["families"]}
    assert (families["bearing:input"]["shown"], families["bearing:input"]["finding"]) == (False, None)
    assert (families["gear:stage1"]["shown"], families["gear:stage1"]["finding"]) == (True, "broken tooth")
    assert families["gear:stage2"]["shown"] is False
    labels = [e["label"] for e in body["evidence"]]
    assert "GMF x1" in labels and not [label for label in labels if "BPF" in label or "FTF" in label or "BSF" in label]
    picture = engineer.get(f"/console/bursts/{burst_id}/evidence.png")
    assert picture.status_code == 200 and picture.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_trend_ranges_pick_the_bucket_and_refuse_bad_ranges(app):
    client = app.test_client()
    login(client, ENGINEER)
    base = f"/api/v1/machines/{FAULTY_GENSET}/trend?field=coolant_temp_c"
    now = int(time.time())
    year = client.get(f"{base}&start={now - 365 * 86400}&end={now}").get_json()
    assert year["every_s"] == 86400 and len(year["times"]) <= 600
    week = client.get(f"{base}&start=2026-11-01T00:00:00Z&end=2026-11-08T00:00:00Z").get_json()
    assert week["every_s"] == 1800 and week["start"] == 1793491200
    assert client.get(f"{base}&hours=1").get_json()["every_s"] == 60
    for query, field in (("&start=10&end=50", "start"), (f"&start={now}&end={now - 60}", "end"),
                         (f"&start={now - 3600}", "end"), ("&start=yesterday&end=today", "start"),
                         (f"&start={now - 400 * 86400}&end={now}", "start"), ("&hours=0", "hours"),
                         (f"&start={now}&end={now + 30 * 86400}", "end")):
        response = client.get(base + query)
        assert response.status_code == 400 and response.get_json()["field"] == field, query


def test_a_user_chooses_the_time_zone_pages_show(app):
    client = app.test_client()
    login(client, ENGINEER)
    page = client.get("/account/time-zone").get_data(as_text=True)
    assert "zone (default)" in page and "data-user-timezone" not in page
    with client.session_transaction() as session:
        csrf = session["_csrf"]
    refused = client.post("/account/time-zone", data={"timezone": "Mars/Olympus_Mons", "csrf_token": csrf})
    assert refused.status_code == 400 and "not a time zone" in refused.get_data(as_text=True)
    assert client.post("/account/time-zone", data={"timezone": "America/Chicago"}).status_code == 400  # no token
    response = client.post("/account/time-zone", data={"timezone": "America/Chicago", "csrf_token": csrf})
    assert response.status_code == 302
    assert 'data-user-timezone="America/Chicago"' in client.get("/console/").get_data(as_text=True)
    client.post("/account/time-zone", data={"timezone": "", "csrf_token": csrf})
    assert "data-user-timezone" not in client.get("/console/").get_data(as_text=True)
    assert app.test_client().get("/account/time-zone").status_code == 302  # signed out: to the login
