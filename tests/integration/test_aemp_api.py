"""The ISO 15143-3 (AEMP 2.0) API against the real stores: a customer creates an API client in
the portal, its fleet software gets a token, reads the fleet snapshot and time series of its own
machines (validated against the schema fixture written from the standard's field list), and is
refused as RFC 6750 says: 401 without a valid token, 403 for what its scope does not cover, 404 for
another customer's machine (answered as a machine that does not exist), 429 past the rate limit."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from app_helpers import CUSTOMER, DEMO_PASSWORD, app_config
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
def app_settings():
    """A limit low enough for the rate-limit test to pass it (the ``app`` fixture adds these)."""
    return {"IRONWATCH_AEMP_RATE_PER_MINUTE": 40}


def portal_client(app):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD, "csrf_token": token}).status_code == 302
    client.get("/portal/api-clients")  # signing in starts a new session with a new form token
    with client.session_transaction() as session:
        return client, session["_csrf"]


ALL_SCOPES = ["fleet", "usage", "locations", "faults"]


def validate_error(response, status: int, error: str):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    validate(body, SCHEMA["Error"])
    assert body["error"] == error
    return body


def create_api_client(app, scopes=ALL_SCOPES) -> tuple[str, str]:
    client, csrf = portal_client(app)
    assert client.post("/portal/api-clients", data={"name": "", "scope": scopes, "csrf_token": csrf}).status_code == 400
    assert client.post("/portal/api-clients", data={"name": "No scope", "csrf_token": csrf}).status_code == 400
    assert client.post("/portal/api-clients", data={"name": "Odd", "scope": ["fleet", "passwords"],
                                                    "csrf_token": csrf}).status_code == 400
    page = client.post("/portal/api-clients", data={"name": "Quarry fleet office", "scope": scopes, "csrf_token": csrf})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    client_id = re.search(r'id="new-client-id">([^<]+)<', text).group(1)
    secret = re.search(r'id="new-client-secret">([^<]+)<', text).group(1)
    # Shown once: the list page afterwards does not carry it, nor does the database.
    assert secret not in client.get("/portal/api-clients").get_data(as_text=True)
    return client_id, secret


def get_token(app, client_id, secret, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        form["scope"] = scope
    response = app.test_client().post("/api/aemp/oauth/token", data=form)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    validate(body, SCHEMA["TokenResponse"])
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


def test_refusals_bad_input_and_the_rate_limit(app, app_settings, influx, sql_url, tmp_path):
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
    # Scopes beyond the client's, or unknown, are refused at the token endpoint (RFC 6749 invalid_scope).
    for scope in ("passwords", "fleet everything"):
        validate_error(api.post(token_url, data={"grant_type": "client_credentials", "scope": scope},
                                auth=(client_id, secret)), 400, "invalid_scope")
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
    second = create_app({**app_config(influx, sql_url, second_var), **app_settings})
    statuses = []
    try:
        # Up to twice the limit and one: even if a minute boundary falls inside, one window passes it.
        for i in range(81):
            statuses.append((app if i % 2 else second).test_client().get("/api/aemp/v2/Fleet/1", headers=auth))
            if statuses[-1].status_code != 200:
                break
    finally:
        second.extensions["ironwatch"].stop()
    limited = statuses[-1]
    assert limited.status_code == 429, f"{len(statuses)} requests passed a limit of 40 a minute"
    assert len(statuses) <= 41 + 41
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    validate_error(limited, 429, "rate_limited")
    # The count is in SQL: after the second app's requests, the first one refuses too (unless the minute just ended).
    again = app.test_client().get("/api/aemp/v2/Fleet/1", headers=auth)
    assert again.status_code == 429 or int(limited.headers["Retry-After"]) <= 2


def test_401_403_404_as_rfc_6750_says(app, influx, session_factory):
    """No, a bad or an expired token: 401 invalid_token; a token without the endpoint's scope: 403
    insufficient_scope naming it; another customer's machine: 404 exactly like a machine that does
    not exist. Every body is the schema's Error."""
    from fleet.models import ApiToken

    days = recent_days(1)
    write_operating_days(influx, OWN, days, hour_meter_start=9120.0)
    client_id, secret = create_api_client(app, scopes=["fleet", "usage"])  # no locations, no fault codes
    api = app.test_client()
    start = datetime.fromtimestamp(day_start_ns(days[0]) / 1e9, tz=timezone.utc)
    window = f"{start:%Y-%m-%dT%H:%M:%SZ}/{start + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"

    missing = validate_error(api.get("/api/aemp/v2/Fleet/1"), 401, "invalid_token")
    assert missing["message"]
    assert api.get("/api/aemp/v2/Fleet/1").headers["WWW-Authenticate"] == 'Bearer realm="ironwatch-aemp"'
    for header in ("Bearer not-a-token", "Basic " + "x" * 20, "Bearer " + "y" * 500):
        refused = api.get("/api/aemp/v2/Fleet/1", headers={"Authorization": header})
        validate_error(refused, 401, "invalid_token")
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="ironwatch-aemp", error="invalid_token"'

    token = get_token(app, client_id, secret)
    auth = {"Authorization": f"Bearer {token}"}
    fleet = api.get("/api/aemp/v2/Fleet/1", headers=auth)
    assert fleet.status_code == 200
    validate(fleet.get_json(), SCHEMA["FleetSnapshot"])
    hours = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/CumulativeOperatingHours/{window}/1", headers=auth)
    assert hours.status_code == 200
    validate_series(hours.get_json(), "CumulativeOperatingHours")
    for series, scope in (("Locations", "locations"), ("FaultCodes", "faults")):
        refused = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/{series}/{window}/1", headers=auth)
        body = validate_error(refused, 403, "insufficient_scope")
        assert scope in body["message"]
        assert refused.headers["WWW-Authenticate"] == (f'Bearer realm="ironwatch-aemp", error="insufficient_scope", '
                                                       f'scope="{scope}"')
    # A token asked for with a narrower scope reads only that, though its client may read more.
    narrow = {"Authorization": f"Bearer {get_token(app, client_id, secret, scope='usage')}"}
    validate_error(api.get("/api/aemp/v2/Fleet/1", headers=narrow), 403, "insufficient_scope")
    validate_error(api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}", headers=narrow), 403, "insufficient_scope")
    assert api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OWN}/FuelUsed/{window}/1", headers=narrow).status_code == 200

    # Another customer's machine reads exactly like one that does not exist.
    for suffix in ("", f"/CumulativeOperatingHours/{window}/1"):
        theirs = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/{OTHERS}{suffix}", headers=auth)
        nobody = api.get(f"/api/aemp/v2/Fleet/Equipment/ID/EX-9999{suffix}", headers=auth)
        assert validate_error(theirs, 404, "not_found")["message"].replace(OTHERS, "?") == \
            validate_error(nobody, 404, "not_found")["message"].replace("EX-9999", "?")
        assert set(theirs.headers) - {"Content-Length"} == set(nobody.headers) - {"Content-Length"}

    # An expired token: 401 like an unknown one.
    from fleet.api_clients import _sha256

    with session_factory() as session:
        row = session.get(ApiToken, _sha256(token))
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        session.commit()
    expired = api.get("/api/aemp/v2/Fleet/1", headers=auth)
    validate_error(expired, 401, "invalid_token")
    assert expired.headers["WWW-Authenticate"] == 'Bearer realm="ironwatch-aemp", error="invalid_token"'
