"""Browser test of the customers' portal (issue 18) at desktop and phone width, offline.

The real app (``python -m app serve``) with the demo fleet; three days of known operating data for
Granite Ridge's EX-1001 written into InfluxDB and the PM plans projected by the real PM run.
Debian's Chromium signs in as Granite Ridge's customer: the map and every list hold only their
machines, the machine page draws the utilization and fuel charts, the CSV download is parsed and a
day's hours checked against InfluxDB (a query written here), the PDF's text holds the month's
figures. Then the dealer's engineer sees its two customers and no other, and the company's user
administrator limits a viewer to Holloway Top Pit, whose map and list then hold that site's
machines only. Screenshots of each page at 1440 and 390 px and the PDF's first page go to
var/screenshots/.
"""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import CUSTOMER  # noqa: E402
from portal_helpers import day_start_ns, recent_days, write_operating_days  # noqa: E402
from test_console_pages import (CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, check_and_shoot,  # noqa: E402
                                only_the_app, sign_in)

pytestmark = pytest.mark.e2e

MACHINE = "EX-1001"  # an IW-500 of Granite Ridge: working from 22 % load
DEALER = "service@pennineplant.example"
USER_ADMIN, VIEWER = "it@graniteridge.example", "holloway.foreman@graniteridge.example"
VIEWER_SITE = "Holloway Top Pit"


def add_granite_ridge_users(sql_url) -> None:
    """Granite Ridge's user administrator and a viewer (everything else is the demo's)."""
    from sqlalchemy import select

    from fleet import db, passwords
    from fleet.models import Tenant, User

    engine = db.make_engine(sql_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            company = session.scalar(select(Tenant).where(Tenant.name == "Granite Ridge Quarries"))
            for email, name, admin in ((USER_ADMIN, "Rhian Ellis", True), (VIEWER, "Karen Shaw", False)):
                session.add(User(email=email, name=name, role="customer", tenant_id=company.id, manages_users=admin,
                                 password_hash=passwords.hash_password("ironwatch-demo")))
    finally:
        engine.dispose()


def customer_machines(customer_names: set[str]) -> set[str]:
    from fleet import demo_fleet

    sites = {key for key, (customer, _) in demo_fleet.site_index().items() if customer in customer_names}
    return {m.uid for m in demo_fleet.MACHINES if m.site in sites}


def site_machines(site_key: str) -> set[str]:
    from fleet import demo_fleet

    return {m.uid for m in demo_fleet.MACHINES if m.site == site_key}


def influx_day_hours(influx, day) -> tuple[float, float]:
    """Engine (running) and working hours of MACHINE on ``day`` (UTC) counted in InfluxDB itself:
    one-minute buckets at or above 400 rpm, and of those at or above 22 % load."""
    start, end = day_start_ns(day), day_start_ns(day) + 86400 * 10**9
    where = f"machine = '{MACHINE}' AND time >= {start} AND time < {end}"
    minutes = influx.query(f'SELECT mean("engine_speed_rpm") AS rpm, mean("engine_load_pct") AS load '
                           f'FROM "life"."operating" WHERE {where} GROUP BY time(1m) fill(none)')
    rows = minutes[0]["values"] if minutes else []
    running = [r for r in rows if r[1] is not None and r[1] >= 400]
    working = [r for r in running if r[2] is not None and r[2] >= 22]
    return len(running) / 60, len(working) / 60


def test_portal_for_a_customer_and_a_dealer(served_app, influx, sql_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    from pypdf import PdfReader

    from fleet import db, preventive_service
    from fleet.notify import NullNotifier
    from telemetry.store import TelemetryStore

    base_url, provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    days = recent_days(3)
    write_operating_days(influx, MACHINE, days, hour_meter_start=9120.0)
    engine = db.make_engine(sql_url)
    try:
        preventive_service.run_pm(db.session_factory(engine), TelemetryStore(influx), NullNotifier())
    finally:
        engine.dispose()
    add_granite_ridge_users(sql_url)
    own = customer_machines({"Granite Ridge Quarries"})
    viewer_sees = site_machines("holloway")
    dealer_sees = customer_machines({"Granite Ridge Quarries", "Meridian Civil Engineering"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                              timezone_id="Europe/London")
                refused: list[str] = []
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                sign_in(page, base_url, CUSTOMER)
                assert page.url.endswith("/portal/")

                # Fleet overview: the map and every list hold their machines only.
                expect(page.locator("#fleet-map[data-machines]")).to_have_count(1, timeout=30_000)
                assert int(page.get_attribute("#fleet-map", "data-machines")) == len(own)
                listed = set(page.eval_on_selector_all("[data-machine]", "rows => rows.map(r => r.dataset.machine)"))
                assert listed and listed <= own, listed - own
                assert set(page.eval_on_selector_all("#fleet-table tr[data-machine]",
                                                     "rows => rows.map(r => r.dataset.machine)")) == own
                expect(page.locator("#fleet-table")).to_contain_text("Not checked yet")  # status in words
                check_and_shoot(page, "portal-fleet", size)

                # Machine page: utilization and fuel charts from the known days.
                page.goto(f"{base_url}/portal/machines/{MACHINE}")
                expect(page.locator("#usage-plot canvas")).to_have_count(1, timeout=30_000)
                expect(page.locator("#fuel-plot canvas")).to_have_count(1)
                assert int(page.get_attribute("#usage-plot", "data-points")) == 14
                expect(page.locator("#usage-note")).to_contain_text("18 h working")
                expect(page.locator("#usage-table")).to_contain_text("6 h")
                expect(page.locator("#usage-table")).to_contain_text("L/h")
                expect(page.locator("#upcoming")).to_contain_text("falls due around")
                body = page.inner_text("main")
                assert "proposed" not in body.lower() and "proposal" not in body.lower()
                check_and_shoot(page, "portal-machine", size)

                page.goto(f"{base_url}/portal/machines/GS-2001")  # Northbridge's: hidden
                assert "does not exist or is not one of yours" in page.inner_text("main")

                page.goto(f"{base_url}/portal/reports")
                check_and_shoot(page, "portal-reports", size)
                if size == "desktop":
                    # CSV of the three days; a day's hours as InfluxDB counts them.
                    page.fill("#csv-form input[name=from]", days[0].isoformat())
                    page.fill("#csv-form input[name=to]", days[-1].isoformat())
                    with page.expect_download() as download:
                        page.click("#csv-download")
                    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
                    assert {r["machine"] for r in rows} == own
                    day_row = next(r for r in rows if r["machine"] == MACHINE and r["day"] == days[1].isoformat())
                    engine_h, working_h = influx_day_hours(influx, days[1])
                    assert float(day_row["engine_h"]) == pytest.approx(engine_h, abs=0.02)
                    assert float(day_row["working_h"]) == pytest.approx(working_h, abs=0.02)
                    assert float(day_row["working_h"]) == pytest.approx(6.0) and float(day_row["idle_h"]) == pytest.approx(1.0)

                    # The month's PDF: its text holds the month and EX-1001's working hours.
                    month_days = [d for d in days if d.month == days[-1].month]
                    page.fill("#pdf-form input[name=month]", days[-1].strftime("%Y-%m"))
                    with page.expect_download() as download:
                        page.click("#pdf-download")
                    pdf_path = Path(download.value.path())
                    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf_path)).pages)
                    assert f"Fleet report {days[-1]:%B %Y}" in text
                    assert "Granite Ridge Quarries" in text and "Meridian" not in text
                    assert f"{6.0 * len(month_days):.1f} h" in text
                    assert "EX-1007" not in text and MACHINE in text
                    if shutil.which("pdftoppm"):
                        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
                                        str(SCREENSHOTS / "portal-report-pdf-page1")], check=True)

                page.goto(f"{base_url}/portal/api-clients")
                page.fill("#create-client input[name=name]", f"Fleet office ({size})")
                page.click("#create-client button")
                expect(page.locator("#new-client-secret")).to_be_visible()
                # one line in one control, copied whole by its button
                secret_box = page.locator("#new-client-secret").bounding_box()
                assert secret_box["height"] < 40, f"the secret wraps: {secret_box}"
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
                page.click("button[data-copy-from=new-client-secret]")
                expect(page.locator("button[data-copy-from=new-client-secret]")).to_have_text("Copied")
                assert page.evaluate("navigator.clipboard.readText()") == page.inner_text("#new-client-secret").strip()
                check_and_shoot(page, "portal-api-clients", size)
                context.close()

                # The dealer: its two customers on the console, nobody else's.
                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London")
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                sign_in(page, base_url, DEALER)
                expect(page.locator("#fleet-map[data-machines]")).to_have_count(1, timeout=30_000)
                assert int(page.get_attribute("#fleet-map", "data-machines")) == len(dealer_sees)
                assert set(page.eval_on_selector_all("#fleet-table tr[data-machine]",
                                                     "rows => rows.map(r => r.dataset.machine)")) == dealer_sees
                table = page.inner_text("#fleet-table")
                assert "Granite Ridge" in table and "Meridian" in table and "Northbridge" not in table
                check_and_shoot(page, "dealer-fleet", size)
                context.close()

                # The user administrator limits a viewer to one site; the viewer's map and list follow.
                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London")
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                sign_in(page, base_url, USER_ADMIN)
                page.goto(f"{base_url}/admin/users")
                page.click(f"tr[data-user='{VIEWER}'] a:has-text('Choose sites')")
                expect(page.locator("#sites-form")).to_contain_text(VIEWER_SITE)
                if size == "desktop":
                    page.check("#sites-form input[name=access][value=some]")
                    page.check(f"#sites-form label:has-text('{VIEWER_SITE}') input[type=checkbox]")
                    check_and_shoot(page, "admin-user-sites", size)
                    page.click("#sites-form button[type=submit]")
                    expect(page.locator(f"tr[data-user='{VIEWER}']")).to_contain_text(VIEWER_SITE)
                else:
                    check_and_shoot(page, "admin-user-sites", size)
                context.close()
                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London")
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                sign_in(page, base_url, VIEWER)
                expect(page.locator("#fleet-map[data-machines]")).to_have_count(1, timeout=30_000)
                assert int(page.get_attribute("#fleet-map", "data-machines")) == len(viewer_sees)
                assert set(page.eval_on_selector_all("#fleet-table tr[data-machine]",
                                                     "rows => rows.map(r => r.dataset.machine)")) == viewer_sees
                assert set(page.eval_on_selector_all("[data-machine]", "rows => rows.map(r => r.dataset.machine)")) <= viewer_sees
                check_and_shoot(page, "portal-fleet-site-viewer", size)
                page.goto(f"{base_url}/portal/machines/{MACHINE}")  # Blackstone's: not theirs
                assert "does not exist or is not one of yours" in page.inner_text("main")
                context.close()
                assert not errors, errors
                assert not refused, refused
        finally:
            browser.close()
