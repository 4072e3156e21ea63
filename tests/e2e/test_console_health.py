"""Browser test of the admin's service-health page (issue 20): threads, spool backlog, the stores
and the scheduler process at desktop and phone width, screenshots under var/screenshots/."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD  # noqa: E402

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_admin_sees_threads_backlog_and_stores_at_desktop_and_phone_width(served_app, scheduler_process):
    from playwright.sync_api import expect, sync_playwright

    base_url, _ = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width in (1440, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"{base_url}/login")
                page.fill("#email", "admin@ironwatch.example")
                page.fill("#password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"{base_url}/console/health")
                for thread in ("spool writer", "diagnosis worker", "live relay"):
                    expect(page.locator(f'tr[data-thread="{thread}"] .pill')).to_have_text("running")
                # the scheduled jobs' own process, as its lease in the SQL database says
                expect(page.locator('tr[data-check="scheduler"] .pill')).to_have_text("running")
                expect(page.locator('tr[data-check="scheduler"]')).to_contain_text(f":{scheduler_process.pid}:")
                expect(page.locator('tr[data-check="influxdb"] .pill')).to_have_text("reachable")
                expect(page.locator("#health-ready")).to_have_text("Ready")
                # both tables across their whole panel, also on a phone
                for table in ("#health-thread-table", "#health-checks"):
                    widths = page.evaluate(f"[document.querySelector('{table}').getBoundingClientRect().width, "
                                           f"document.querySelector('{table}').closest('.panel').clientWidth]")
                    assert widths[0] >= widths[1] - 1, f"{table} is {widths[0]} px in a {widths[1]} px panel"
                page.screenshot(path=str(SCREENSHOTS / f"console-health-{width}.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.close()
        finally:
            browser.close()
