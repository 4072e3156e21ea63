"""Browser test of the geofence and curfew editor at desktop and phone width, offline.

The real app (``python -m app serve``) with the demo fleet; Debian's Chromium signs in as Granite
Ridge's customer, opens Holloway Top Pit from the Sites list, sees the circle on the app's own
basemap (every request off the app is refused and noted), moves the centre by clicking the map,
types a radius and allowed hours, saves, and finds the values stored in SQL; a radius of 0 is
refused (400) with the message on the page and nothing stored. An engineer opens the same site on
the console. Screenshots under var/screenshots/: sites-*, site-security-*, site-security-refused-*,
console-site-security-*, and the geofence alarm on the owner's portal home and the console's
alarm list: portal-security-alarm-*, console-security-alarms-*.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_console_pages import (CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, check_and_shoot,  # noqa: E402
                                only_the_app, sign_in)

pytestmark = pytest.mark.e2e

OWNER, ENGINEER = "customer@graniteridge.example", "engineer@ironwatch.example"
SITE = "Holloway Top Pit"


def stored(session_factory, name: str = SITE):
    from sqlalchemy import select

    from fleet.models import Site, SiteSecurity

    with session_factory() as session:
        site = session.scalar(select(Site).where(Site.name == name))
        row = session.get(SiteSecurity, site.id)
        return site, (None if row is None else (row.fence_lat, row.fence_lon, row.fence_radius_m, row.curfew))


def open_editor(page, base_url: str, area: str) -> None:
    page.goto(f"{base_url}/{area}/sites")
    page.click(f"text={SITE}")
    # the page's CSP forbids eval, so the test waits on attributes the scripts set
    page.wait_for_selector("#fence-map[data-ready=true][data-basemap=ready]", state="attached", timeout=30_000)


def raise_geofence_alarm(influx, session_factory, uid: str = "EX-1004") -> str:
    """Four minutes of EX-1004 2.3 km north of Holloway Top Pit, then one security check; its title."""
    import time

    from fleet.handlers import as_bus
    from fleet.models import from_ns
    from fleet.security_alarms import check_security
    from telemetry import schema
    from telemetry.operating_lines import operating_lines
    from telemetry.store import TelemetryStore

    site, _ = stored(session_factory)
    start = (time.time_ns() // 60_000_000_000 - 5) * 60_000_000_000
    samples = [(start + i * 10**10, {"engine_speed_rpm": 0.0, "lat": site.lat + 2300 / 111_195.0, "lon": site.lon})
               for i in range(24)]
    influx.write("".join(operating_lines(uid, samples)), rp=schema.RP_LIFE)

    class Quiet:  # the served app hears of it through SQL (the page is read after)
        def publish(self, *args):
            pass

    check_security(TelemetryStore(influx), session_factory, as_bus(Quiet(), session_factory),
                   lambda: from_ns(samples[-1][0]))
    return f"{uid} left {SITE}: 2.3 km from the site"


def test_the_owner_edits_the_geofence_and_hours_on_the_map(served_app, session_factory, influx):
    from playwright.sync_api import sync_playwright

    base_url, _ = served_app
    title = raise_geofence_alarm(influx, session_factory)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    shown_radius = "500"  # the default; then what the previous width saved
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London")
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                sign_in(page, base_url, OWNER)
                page.goto(f"{base_url}/portal/")
                assert title in page.inner_text("#alarm-table")  # the owner sees the theft alarm at once
                page.locator("#alarm-table").scroll_into_view_if_needed()
                check_and_shoot(page, "portal-security-alarm", size)
                page.goto(f"{base_url}/portal/sites")
                assert page.locator("#site-table tbody tr").count() == 2  # Granite Ridge's two sites only
                check_and_shoot(page, "sites", size)
                open_editor(page, base_url, "portal")
                site, _ = stored(session_factory)
                assert page.input_value("#fence-radius") == shown_radius

                # click the map right of the centre: the centre moves east, the fields follow
                box = page.locator("#fence-map").bounding_box()
                page.mouse.click(box["x"] + box["width"] * 0.5 + 40, box["y"] + box["height"] * 0.5)
                lat, lon = float(page.input_value("#fence-lat")), float(page.input_value("#fence-lon"))
                assert lon > site.lon and math.isclose(lat, site.lat, abs_tol=2e-4)
                radius = "800" if size == "desktop" else "650"
                page.fill("#fence-radius", radius)
                page.dispatch_event("#fence-radius", "change")
                assert page.get_attribute("#fence-map", "data-radius") == radius
                page.check("input[name=curfew][value=hours]")
                page.fill("input[name=fri_end]", "16:00")
                check_and_shoot(page, "site-security", size)

                page.click("#site-security-save")
                page.wait_for_load_state("networkidle")
                assert "Saved: " in page.inner_text("main")
                _, saved = stored(session_factory)
                assert saved[:3] == (pytest.approx(lat, abs=1e-6), pytest.approx(lon, abs=1e-6), float(radius))
                assert saved[3]["fri"] == ["06:00", "16:00"] and saved[3]["sat"] is None

                # a radius of 0: refused on the page, the field marked, nothing stored
                page.fill("#fence-radius", "0")
                with page.expect_response(lambda r: r.request.method == "POST") as answer:
                    page.click("#site-security-save")
                assert answer.value.status == 400
                page.wait_for_load_state("networkidle")
                assert "The radius must be between 50 m and 20,000 m; got 0 m. Nothing was changed." in page.inner_text("main")
                assert stored(session_factory)[1] == saved
                shown_radius = radius
                check_and_shoot(page, "site-security-refused", size)
                context.close()

                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/London")
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                sign_in(page, base_url, ENGINEER)
                open_editor(page, base_url, "console")
                assert page.input_value("#fence-radius") == radius
                check_and_shoot(page, "console-site-security", size)
                page.goto(f"{base_url}/console/alarms?source=security")
                assert title in page.inner_text("main")
                check_and_shoot(page, "console-security-alarms", size)
                context.close()
        finally:
            browser.close()
    assert refused == [], f"the pages asked for something off the app: {refused[:5]}"
