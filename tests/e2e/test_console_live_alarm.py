"""Browser test: an engineer signed in to the console sees an outer-race alarm arrive live.

The real app runs as ``python -m app serve`` in a subprocess against the test's own InfluxDB
database and SQLite file; Debian's Chromium (never a downloaded browser) drives the page; the
burst goes through the real ingest API with the seeded device token.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, outer_race_burst  # noqa: E402

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_engineer_sees_outer_race_alarm_arrive_without_reload(served_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors = []
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.goto(f"{base_url}/login")
            page.fill("#email", ENGINEER)
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base_url}/console/")
            row = page.locator(f'tr[data-machine="{FAULTY_GENSET}"]')
            expect(row).to_have_attribute("data-status", "unknown")
            # Only upload once the live channel is up, so the event cannot be missed.
            expect(page.locator("#live-status.on")).to_have_count(1, timeout=30_000)
            page.evaluate("window.__sameDocument = true")

            token, body = outer_race_burst(provisioning)
            response = requests.post(f"{base_url}/api/v1/ingest/bursts", json=body, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 202, response.text

            alarm = page.locator(f'#live-events li[data-event="diagnosis"][data-machine="{FAULTY_GENSET}"]')
            expect(alarm).to_have_count(1, timeout=90_000)
            expect(alarm).to_contain_text("outer-race")
            expect(alarm).to_contain_text("drive-end bearing")  # the part in words, not "bearing DE"
            order = page.locator(f'#live-events li[data-event="work_order"][data-machine="{FAULTY_GENSET}"]')
            expect(order.first).to_contain_text("WO-")
            assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
            expect(row).not_to_have_attribute("data-status", "unknown")
            page.screenshot(path=str(tmp_path / "fleet-after-alarm.png"), full_page=True)

            # The table filter narrows the fleet without a round trip.
            page.fill("#fleet-search", FAULTY_GENSET)
            expect(page.locator("#fleet-table tbody tr:not(.filtered-out)")).to_have_count(1)
            page.fill("#fleet-search", "")
            page.click('[data-status-filter="ok"]')
            expect(page.locator(f'tr[data-machine="{FAULTY_GENSET}"].filtered-out')).to_have_count(1)
            page.click('[data-status-filter="all"]')

            # The alarm links to the machine page, whose evidence plot is drawn from the stored burst.
            alarm.locator("a").first.click()
            page.wait_for_url(f"{base_url}/console/machines/{FAULTY_GENSET}")
            expect(page.locator("#latest-diagnosis")).to_contain_text("outer-race")
            plot = page.locator("img.evidence-plot")
            plot.scroll_into_view_if_needed()
            page.wait_for_function("() => { const i = document.querySelector('img.evidence-plot');"
                                   " return i && i.complete && i.naturalWidth > 800; }", timeout=60_000)
            expect(page.locator("#trend canvas")).to_have_count(1)
            assert console_errors == [], console_errors
        finally:
            browser.close()
