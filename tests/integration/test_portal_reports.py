"""The portal's usage API and report downloads against the real stores: known days give known
hours and fuel, in the customer's zone; bad input is a 4xx JSON naming what was wrong."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from app_helpers import CUSTOMER, DEMO_PASSWORD, app_config, seed_demo_fleet
from portal_helpers import recent_days, write_operating_days

pytestmark = pytest.mark.integration


@pytest.fixture
def portal(influx, sql_url, tmp_path):
    from app import create_app

    seed_demo_fleet(sql_url, tmp_path)
    application = create_app(app_config(influx, sql_url, tmp_path))
    client = application.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["_csrf"]
    assert client.post("/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD, "csrf_token": token}).status_code == 302
    yield client
    application.extensions["ironwatch"].stop()


def test_usage_days_csv_tables_and_pdf(portal, influx):
    days = recent_days(2)
    write_operating_days(influx, "EX-1001", days)
    body = portal.get(f"/api/v1/machines/EX-1001/usage?from={days[0]}&to={days[-1]}").get_json()
    assert [d["day"] for d in body["days"]] == [d.isoformat() for d in days]
    assert all((d["working_h"], d["idle_h"], d["off_h"], d["fuel_l"], d["fuel_l_per_working_h"]) == (6.0, 1.0, 17.0, 186.0, 31.0)
               for d in body["days"])
    assert body["totals"]["idle_pct"] == pytest.approx(14.3) and body["units"]["fuel"] == "L"
    assert portal.get("/api/v1/machines/EX-1007/usage").status_code == 404  # Meridian's

    machines = list(csv.DictReader(io.StringIO(portal.get(f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}"
                                                          "&table=machines").get_data(as_text=True))))
    ex = next(r for r in machines if r["machine"] == "EX-1001")
    assert (float(ex["working_h"]), float(ex["fuel_l"])) == (12.0, 372.0)
    orders = portal.get(f"/portal/reports/fleet.csv?from={days[0] - timedelta(days=30)}&to={days[-1]}&table=work_orders")
    assert orders.status_code == 200 and orders.get_data(as_text=True).startswith("number,machine,title")
    pdf = portal.get(f"/portal/reports/monthly.pdf?month={days[-1]:%Y-%m}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize("path, field", [
    ("/portal/reports/fleet.csv?from=2026-13-01", "from"),
    ("/portal/reports/fleet.csv?from=2026-11-10&to=2026-11-01", "to"),
    ("/portal/reports/fleet.csv?from=2020-01-01&to=2026-11-01", "from"),
    ("/portal/reports/fleet.csv?from=2999-01-01&to=2999-01-02", "from"),
    ("/portal/reports/fleet.csv?table=passwords", "table"),
    ("/portal/reports/monthly.pdf?month=November", "month"),
    ("/portal/reports/monthly.pdf?month=2999-01", "month"),
    ("/api/v1/machines/EX-1001/usage?to=yesterday", "to"),
])
def test_bad_ranges_are_4xx_json_naming_the_field(portal, path, field):
    response = portal.get(path)
    assert response.status_code == 400 and response.is_json
    body = response.get_json()
    assert body["field"] == field and body["message"]


def test_csv_times_are_in_the_viewers_zone_with_their_offset(portal, influx):
    """A customer in Chicago reads 03:30 local (-06:00) for a work order created 09:30 UTC; the file
    name says the zone; the value is still the same instant for a program."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from fleet.db import transaction
    from fleet.models import Machine, WorkOrder

    runtime = portal.application.extensions["ironwatch"]
    days = recent_days(2)
    created = datetime(days[-1].year, days[-1].month, days[-1].day, 9, 30, tzinfo=timezone.utc)
    with transaction(runtime.sessions) as db:
        machine = db.scalar(select(Machine).where(Machine.uid == "EX-1001"))
        db.add(WorkOrder(tenant_id=machine.tenant_id, machine_id=machine.id, title="Grease the slew ring",
                         source="manual", status="open", created_at=created))
    portal.get("/account/time-zone")
    with portal.session_transaction() as session:
        token = session["_csrf"]
    assert portal.post("/account/time-zone", data={"timezone": "America/Chicago", "csrf_token": token}).status_code == 302

    answer = portal.get(f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}&table=work_orders")
    assert answer.status_code == 200
    assert f'filename="ironwatch-work_orders-{days[0]}-to-{days[-1]}-America_Chicago.csv"' in answer.headers["Content-Disposition"]
    row = next(r for r in csv.DictReader(io.StringIO(answer.get_data(as_text=True))) if r["title"] == "Grease the slew ring")
    local = created.astimezone(ZoneInfo("America/Chicago"))
    assert row["created_at"] == local.isoformat(timespec="seconds") and row["created_at"].endswith(("-06:00", "-05:00"))
    assert datetime.fromisoformat(row["created_at"]) == created and row["due_at"] == "" and row["completed_at"] == ""
    days_csv = portal.get(f"/portal/reports/fleet.csv?from={days[0]}&to={days[-1]}")
    assert days_csv.headers["Content-Disposition"].endswith('-America_Chicago.csv"')
