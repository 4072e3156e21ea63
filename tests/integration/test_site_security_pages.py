"""The sites' geofence and curfew pages through the app (real SQL, real InfluxDB): the owner edits
their own sites on the portal, engineers theirs on the console; another tenant's site is a 404 on
read and on write; every bad field is a 400 naming it and changes nothing; the security alarm the
job raises is on the owner's portal (home and machine page) and the console's alarm list, and on
nobody else's portal."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from fleet.handlers import as_bus
from fleet.models import AuditEntry, Machine, Site, SiteSecurity, Tenant, from_ns
from fleet.security_alarms import check_security
from telemetry import schema
from telemetry.operating_lines import operating_lines
from telemetry.store import TelemetryStore

from app_helpers import login_for_forms
from fleet_helpers import EventLog

pytestmark = pytest.mark.integration
NS = 1_000_000_000
OWNER, OTHER = "customer@graniteridge.example", "customer@meridiancivil.example"
ENGINEER, DEALER = "engineer@ironwatch.example", "service@pennineplant.example"


def sessions(app):
    return app.extensions["ironwatch"].sessions


def site_id(app, name: str) -> int:
    with sessions(app)() as session:
        return session.scalar(select(Site.id).where(Site.name == name))


def stored(app, site: int):
    with sessions(app)() as session:
        row = session.get(SiteSecurity, site)
        return None if row is None else (row.fence_enabled, row.fence_lat, row.fence_lon, row.fence_radius_m,
                                         row.curfew, row.updated_by)


def good_form(token: str, **changes) -> dict:
    form = {"csrf_token": token, "fence_enabled": "on", "fence_lat": "53.30550", "fence_lon": "-1.85200",
            "fence_radius_m": "650", "curfew": "hours"}
    for day in ("mon", "tue", "wed", "thu", "fri"):
        form.update({f"{day}_allowed": "on", f"{day}_start": "06:00", f"{day}_end": "20:00"})
    form.update({"sat_start": "06:00", "sat_end": "20:00", "sun_start": "06:00", "sun_end": "20:00"})
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_the_owner_sees_and_edits_their_own_sites_only(app):
    client = app.test_client()
    token = login_for_forms(client, OWNER)
    page = client.get("/portal/sites").get_data(as_text=True)
    assert "Holloway Top Pit" in page and "Blackstone Quarry" in page
    assert "Salford Quays Tower" not in page and "Northbridge" not in page
    assert "500 m" in page and "no curfew" in page  # the defaults, said so

    holloway = site_id(app, "Holloway Top Pit")
    editor = client.get(f"/portal/sites/{holloway}/security")
    assert editor.status_code == 200
    html = editor.get_data(as_text=True)
    assert 'id="fence-map"' in html and 'name="fence_radius_m"' in html and 'value="500"' in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()  # the basemap is the app's own

    saved = client.post(f"/portal/sites/{holloway}/security", data=good_form(token))
    assert saved.status_code == 302
    assert stored(app, holloway) == (True, 53.3055, -1.852, 650.0,
                                     {"mon": ["06:00", "20:00"], "tue": ["06:00", "20:00"], "wed": ["06:00", "20:00"],
                                      "thu": ["06:00", "20:00"], "fri": ["06:00", "20:00"], "sat": None, "sun": None},
                                     OWNER)
    listing = client.get("/portal/sites").get_data(as_text=True)
    assert "650 m" in listing and "Mon–Fri 06:00–20:00" in listing
    with sessions(app)() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.subject_type == "site_security",
                                                        AuditEntry.subject_id == holloway))
        assert audit.actor == OWNER and audit.detail["after"]["curfew"] == "Mon–Fri 06:00–20:00"

    # "until 00:00" is the end of the day; no curfew at all is possible
    client.post(f"/portal/sites/{holloway}/security", data=good_form(token, sat_allowed="on", sat_start="08:00",
                                                                     sat_end="00:00"))
    assert stored(app, holloway)[4]["sat"] == ["08:00", "24:00"]
    assert 'name="sat_end" aria-label="Sat until" value="00:00"' in \
        client.get(f"/portal/sites/{holloway}/security").get_data(as_text=True)
    client.post(f"/portal/sites/{holloway}/security", data=good_form(token, curfew="none", fence_enabled=None))
    assert stored(app, holloway)[0] is False and stored(app, holloway)[4] is None


def test_another_tenants_site_is_not_found_for_reading_or_writing(app):
    client = app.test_client()
    token = login_for_forms(client, OTHER)
    holloway = site_id(app, "Holloway Top Pit")
    assert client.get(f"/portal/sites/{holloway}/security").status_code == 404
    assert client.post(f"/portal/sites/{holloway}/security", data=good_form(token)).status_code == 404
    # a bad field on someone else's site is still a 404: nothing about the site is told
    assert client.post(f"/portal/sites/{holloway}/security",
                       data=good_form(token, fence_radius_m="0")).status_code == 404
    assert client.get(f"/portal/sites/999999/security").status_code == 404
    assert stored(app, holloway) is None
    # a customer has no console; a dealer's engineer only its own customers' sites
    assert client.get(f"/console/sites/{holloway}/security").status_code == 403

    dealer = app.test_client()
    dealer_token = login_for_forms(dealer, DEALER)
    hospital = site_id(app, "Northbridge General Hospital")  # served by the OEM directly
    assert dealer.get(f"/console/sites/{hospital}/security").status_code == 404
    assert dealer.post(f"/console/sites/{hospital}/security", data=good_form(dealer_token)).status_code == 404
    assert stored(app, hospital) is None
    assert dealer.post(f"/console/sites/{holloway}/security", data=good_form(dealer_token)).status_code == 302
    assert stored(app, holloway)[5] == DEALER


@pytest.mark.parametrize("changes, field_words", [
    ({"fence_radius_m": "0"}, "radius must be between 50 m and 20,000 m"),
    ({"fence_radius_m": "-200"}, "radius must be between"),
    ({"fence_radius_m": "500000"}, "radius must be between"),
    ({"fence_radius_m": "wide"}, "radius must be a number"),
    ({"fence_radius_m": "inf"}, "radius must be a finite number"),
    ({"fence_lat": "95"}, "latitude must lie between -90 and 90"),
    ({"fence_lon": "-181.5"}, "longitude must lie between -180 and 180"),
    ({"fence_lat": ""}, "latitude must be a number"),
    ({"mon_end": "05:00"}, "Mon: the allowed hours must end after they start"),
    ({"tue_start": "25:00"}, "25:00 is not a time of day"),
    ({"wed_start": "noon"}, "A time of day must look like 06:00"),
])
def test_bad_input_answers_400_naming_the_field_and_changes_nothing(app, changes, field_words):
    client = app.test_client()
    token = login_for_forms(client, ENGINEER)
    holloway = site_id(app, "Holloway Top Pit")
    assert client.post(f"/console/sites/{holloway}/security", data=good_form(token)).status_code == 302
    before = stored(app, holloway)
    answer = client.post(f"/console/sites/{holloway}/security", data=good_form(token, **changes))
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert field_words in page and "Nothing was changed." in page
    assert 'class="invalid"' in page  # the field is marked
    assert stored(app, holloway) == before


def test_a_security_alarm_reaches_the_owners_portal_and_the_console_not_other_customers(app, influx):
    holloway = site_id(app, "Holloway Top Pit")
    with sessions(app)() as session:
        site = session.get(Site, holloway)
        lat, lon = site.lat + 3000 / 111_320.0, site.lon
    t0 = (int(datetime.now(timezone.utc).timestamp()) // 60 - 10) * 60 * NS
    samples = [(t0 + i * 10 * NS, {"engine_speed_rpm": 0.0, "lat": lat, "lon": lon}) for i in range(4 * 6)]
    influx.write("".join(operating_lines("EX-1004", samples)), rp=schema.RP_LIFE)
    runtime = app.extensions["ironwatch"]
    check_security(TelemetryStore(influx), runtime.sessions, as_bus(EventLog(), runtime.sessions),
                   lambda: from_ns(samples[-1][0]))
    title = "EX-1004 left Holloway Top Pit: 3.0 km from the site"

    owner = app.test_client()
    login_for_forms(owner, OWNER)
    home = owner.get("/portal/").get_data(as_text=True)
    assert title in home
    # the machine's condition says what happened, not "Needs a technician now"
    row = home[home.index('id="machine-EX-1004"'):]
    assert row[:row.index("</tr>")].count(title) == 1 and "Needs a technician now" not in row[:row.index("</tr>")]
    machine_page = owner.get("/portal/machines/EX-1004").get_data(as_text=True)
    assert machine_page.count(title) == 2  # the condition under the name, and the open alarm
    assert f"/portal/sites/{holloway}/security" in machine_page

    other = app.test_client()
    login_for_forms(other, OTHER)
    assert title not in other.get("/portal/").get_data(as_text=True)

    engineer = app.test_client()
    login_for_forms(engineer, ENGINEER)
    listed = engineer.get("/console/alarms?source=security").get_data(as_text=True)
    assert title in listed
    with sessions(app)() as session:
        assert session.scalar(select(Machine.status).where(Machine.uid == "EX-1004")) == "alarm"
        assert session.scalar(select(Tenant.name).join(Machine, Machine.tenant_id == Tenant.id)
                              .where(Machine.uid == "EX-1004")) == "Granite Ridge Quarries"


GOOD_BODY = {"fence": {"enabled": True, "lat": 53.3061, "lon": -1.851, "radius_m": 700},
             "curfew": {"mon": ["06:00", "20:00"], "tue": ["06:00", "20:00"], "wed": ["06:00", "20:00"],
                        "thu": ["06:00", "20:00"], "fri": ["06:00", "18:00"], "sat": None, "sun": None}}


@pytest.mark.parametrize("body, field", [
    ({**GOOD_BODY, "fence": {**GOOD_BODY["fence"], "radius_m": 0}}, "fence_radius_m"),
    ({**GOOD_BODY, "fence": {**GOOD_BODY["fence"], "lat": -91}}, "fence_lat"),
    ({**GOOD_BODY, "fence": {**GOOD_BODY["fence"], "lon": "west"}}, "fence_lon"),
    ({**GOOD_BODY, "fence": {**GOOD_BODY["fence"], "enabled": "no"}}, "fence_enabled"),
    ({**GOOD_BODY, "fence": None}, "fence"),
    ({"fence": GOOD_BODY["fence"]}, "curfew"),
    ({**GOOD_BODY, "curfew": "nights"}, "curfew"),
    ({**GOOD_BODY, "curfew": {"mon": ["20:00", "06:00"]}}, "mon_end"),
    ({**GOOD_BODY, "curfew": {"tue": "06:00-20:00"}}, "tue"),
    ({**GOOD_BODY, "curfew": {"wed": ["6am", "20:00"]}}, "wed_start"),
])
def test_the_json_api_refuses_bad_settings_naming_the_field(app, body, field):
    client = app.test_client()
    login_for_forms(client, OWNER)
    holloway = site_id(app, "Holloway Top Pit")
    assert client.put(f"/api/v1/sites/{holloway}/security", json=GOOD_BODY).status_code == 200
    before = stored(app, holloway)
    answer = client.put(f"/api/v1/sites/{holloway}/security", json=body)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["field"] == field and answer.get_json()["message"]
    assert stored(app, holloway) == before


def test_the_json_api_reads_and_saves_for_owners_and_engineers_only(app):
    holloway = site_id(app, "Holloway Top Pit")
    owner = app.test_client()
    login_for_forms(owner, OWNER)
    listed = owner.get("/api/v1/sites").get_json()["sites"]
    assert sorted(s["name"] for s in listed) == ["Blackstone Quarry", "Holloway Top Pit"]
    assert owner.get(f"/api/v1/sites/{holloway}/security").get_json()["fence"]["radius_m"] == 500.0
    saved = owner.put(f"/api/v1/sites/{holloway}/security", json=GOOD_BODY)
    assert saved.status_code == 200
    assert saved.get_json()["curfew_text"] == "Mon–Thu 06:00–20:00, Fri 06:00–18:00"
    assert stored(app, holloway)[:4] == (True, 53.3061, -1.851, 700.0)
    # a form post is no way around the JSON API's content-type check (its CSRF defence)
    assert owner.put(f"/api/v1/sites/{holloway}/security", data={"fence": "x"}).status_code == 400

    other = app.test_client()
    login_for_forms(other, OTHER)
    assert other.get(f"/api/v1/sites/{holloway}/security").status_code == 404
    assert other.put(f"/api/v1/sites/{holloway}/security", json=GOOD_BODY).status_code == 404
    technician = app.test_client()
    login_for_forms(technician, "technician@ironwatch.example")
    assert technician.get("/api/v1/sites").status_code == 403
    assert technician.put(f"/api/v1/sites/{holloway}/security", json=GOOD_BODY).status_code == 403
    assert stored(app, holloway)[5] == OWNER
