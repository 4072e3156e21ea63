"""The ISO 15143-3 (AEMP 2.0) API against the real stores: a customer creates an API client in
the portal, its fleet software gets a token, reads the fleet snapshot and time series of its own
machines (validated against the schema fixture written from the standard's field list), and is
refused another customer's machine, bad input and requests past the rate limit."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from app_helpers import CUSTOMER, DEMO_PASSWORD, app_config, seed_demo_fleet
from portal_helpers import IDLE_H, IDLE_FUEL_L_H, WORK_FUEL_L_H, WORKING_H, day_start_ns, recent_days, write_operating_days

pytestmark = pytest.mark.integration

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "fixtures/aemp_v2_schema.json").read_text())
OWN, OTHERS = "EX-1001", "EX-1007"  # Granite Ridge's excavator; Meridian's


def validate(document, fragment):
    jsonschema.validate(document, {"$defs": SCHEMA["$defs"], **fragment})


def validate_series(document, element):
    validate(document, {"type": "object", "required": ["Links", "Version", "EquipmentHeader", element],
                        "additionalProperties": False,
                        "properties": {"Links": {"$ref": "#/$defs/Links"}, "Version": {"type": "string"},
                                       "EquipmentHeader": {"$ref": "#/$defs/EquipmentHeader"},
                                       element: {"type": "array", "items": SCHEMA["TimeSeries"][element]}}})


@pytest.fixture
def app(influx, sql_url, tmp_path):
    from app import create_app

    seed_demo_fleet(sql_url, tmp_path)
    application = create_app({**app_config(influx, sql_url, tmp_path), "IRONWATCH_AEMP_RATE_PER_MINUTE": 40})
    yield application
    application.extensions["ironwatch"].stop()


def portal_client(app):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD, "csrf_token": token}).status_code == 302
    client.get("/portal/api-clients")  # signing in starts a new session with a new form token
    with client.session_transaction() as session:
        return client, session["_csrf"]


def create_api_client(app) -> tuple[str, str]:
    client, csrf = portal_client(app)
    assert client.post("/portal/api-clients", data={"name": "", "csrf_token": csrf}).status_code == 400
    page = client.post("/portal/api-clients", data={"name": "Quarry fleet office", "csrf_token": csrf})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    client_id = re.search(r'id="new-client-id">([^<]+)<', text).group(1)
    secret = re.search(r'id="new-client-secret">([^<]+)<', text).group(1)
    # Shown once: the list page afterwards does not carry it, nor does the database.
    assert secret not in client.get("/portal/api-clients").get_data(as_text=True)
    return client_id, secret


def get_token(app, client_id, secret) -> str:
    response = app.test_client().post("/api/aemp/oauth/token", data={"grant_type": "client_credentials",
                                                                     "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return body["access_token"]


def test_token_fleet_snapshot_and_time_series_of_own_machines(app, influx, session_factory):
    from fleet.models import ApiClient

    days = recent_days(3)
    last_hours = write_operating_days(influx, OWN, days, hour_meter_start=9120.0)
    client_id, secret = create_api_client(app)
    with session_factory() as session:
        stored = session.query(ApiClient).one()
        assert stored.secret_sha256 != secret and secret not in stored.secret_sha256
    token = get_token(app, client_id, secret)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}

    fleet = api.get("/api/aemp/v2/Fleet/1", headers=auth)
    assert fleet.status_code == 200
    body = fleet.get_json()
    validate(body, SCHEMA["FleetSnapshot"])
    ids = {e["EquipmentHeader"]["EquipmentID"] for e in body["Equipment"]}
    assert OWN in ids and OTHERS not in ids and not any(i.startswith("GS-200") and i != "GS-2009" for i in ids)
    own = next(e for e in body["Equipment"] if e["EquipmentHeader"]["EquipmentID"] == OWN)
    assert own["CumulativeOperatingHours"]["Hour"] == pytest.approx(last_hours, abs=0.01)
    assert own["Location"]["Latitude"] == pytest.approx(53.2391)
    assert {link["rel"] for link in body["Links"]} >= {"self", "first", "last"}

    snapshot = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}", headers=auth).get_json()
    validate({k: v for k, v in snapshot.items() if k not in ("Links", "Version", "SnapshotTime")}, SCHEMA["$defs"]["Equipment"])
    assert snapshot["CumulativeIdleHours"]["Hour"] == pytest.approx(3 * IDLE_H)
    assert snapshot["FuelUsed"]["FuelConsumed"] == pytest.approx(3 * (WORKING_H * WORK_FUEL_L_H + IDLE_H * IDLE_FUEL_L_H), abs=0.5)

    start = datetime.fromtimestamp(day_start_ns(days[0]) / 1e9, tz=timezone.utc)
    end = start + timedelta(days=3)
    window = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    hours = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/CumulativeOperatingHours/{window}/1", headers=auth).get_json()
    validate_series(hours, "CumulativeOperatingHours")
    assert len(hours["CumulativeOperatingHours"]) == 3 * (WORKING_H + IDLE_H)  # one reading per hour with data
    assert hours["CumulativeOperatingHours"][-1]["Hour"] == pytest.approx(last_hours, abs=0.01)
    idle = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/CumulativeIdleHours/{window}/1", headers=auth).get_json()
    validate_series(idle, "CumulativeIdleHours")
    assert [p["Hour"] for p in idle["CumulativeIdleHours"]] == pytest.approx([1.0, 2.0, 3.0])
    fuel = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/FuelUsed/{window}/1", headers=auth).get_json()
    validate_series(fuel, "FuelUsed")
    assert fuel["FuelUsed"][0]["FuelConsumed"] == pytest.approx(WORKING_H * WORK_FUEL_L_H + IDLE_H * IDLE_FUEL_L_H, abs=0.5)
    where = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/Locations/{window}/1", headers=auth).get_json()
    validate_series(where, "Location")
    faults = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/FaultCodes/{window}/1", headers=auth).get_json()
    validate_series(faults, "FaultCode")


def test_refusals_bad_input_and_the_rate_limit(app, influx, sql_url, tmp_path):
    from app import create_app

    client_id, secret = create_api_client(app)
    api = app.test_client()
    token_url = "/api/aemp/oauth/token"
    assert api.post(token_url, data={"grant_type": "password", "client_id": client_id, "client_secret": secret}).get_json()["error"] == "unsupported_grant_type"
    assert api.post(token_url, data={"grant_type": "client_credentials"}).status_code == 400
    wrong = api.post(token_url, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x" * 43})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    basic = api.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert basic.status_code == 200
    token = basic.get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    assert api.get("/api/aemp/v2/Fleet/1").status_code == 401
    assert api.get("/api/aemp/v2/Fleet/1", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    other = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OTHERS}", headers=auth)
    assert other.status_code == 404 and OTHERS in other.get_json()["message"]
    series = f"/api/aemp/v2/Fleet/Equipment/ID/{OTHERS}/CumulativeOperatingHours/2026-11-01T00:00:00Z/2026-11-02T00:00:00Z/1"
    assert api.get(series, headers=auth).status_code == 404
    for path, status in [(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/CumulativeOperatingHours/yesterday/2026-11-02T00:00:00Z/1", 400),
                         (f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/FuelUsed/2026-11-02T00:00:00Z/2026-11-01T00:00:00Z/1", 400),
                         (f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/FuelUsed/2020-01-01T00:00:00Z/2026-11-01T00:00:00Z/1", 400),
                         (f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/Engine/2026-11-01T00:00:00Z/2026-11-02T00:00:00Z/1", 404),
                         ("/api/aemp/v2/Fleet/0", 400), ("/api/aemp/v2/Fleet/abc", 400), ("/api/aemp/v2/Fleet/2", 404)]:
        response = api.get(path, headers=auth)
        assert response.status_code == status, path
        assert response.is_json and response.get_json()["message"]

    # A second app on the same SQL database (another process's view) counts into the same window.
    second_var = tmp_path / "second"
    second_var.mkdir()
    second = create_app({**app_config(influx, sql_url, second_var), "IRONWATCH_AEMP_RATE_PER_MINUTE": 40})
    try:
        statuses = [(app if i % 2 else second).test_client().get("/api/aemp/v2/Fleet/1", headers=auth)
                    for i in range(40)]
    finally:
        second.extensions["ironwatch"].stop()
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "40 more requests in the minute must pass the limit of 40"
    assert int(limited[0].headers["Retry-After"]) >= 1 and limited[0].get_json()["error"] == "rate_limited"
    assert all(r.status_code == 200 for r in statuses[: len(statuses) - len(limited)])
