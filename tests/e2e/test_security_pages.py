"""Browser test: under the strict Content-Security-Policy every page still works (Socket.IO, the
uPlot trend chart, the fleet table's filters), with no policy violation reported; a lock-out after
repeated wrong passwords and sign-out are shown as their user sees them. Screenshots at 1440 and
390 px go to ``var/screenshots/security-*.png``."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET  # noqa: E402

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
#: Injected through the DevTools protocol (which the policy does not govern): collects every
#: violation the page reports.
RECORD_VIOLATIONS = ("window.__cspViolations = [];"
                     "document.addEventListener('securitypolicyviolation', e =>"
                     " window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")


def sign_in(page, base_url, email, password):
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_pages_work_under_the_policy_and_lock_out_is_explained(served_app):
    from playwright.sync_api import expect, sync_playwright

    base_url, _provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width, label in ((1440, "desktop"), (390, "phone")):
                context = browser.new_context(viewport={"width": width, "height": 900})
                context.add_init_script(RECORD_VIOLATIONS)
                page = context.new_page()
                errors = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                sign_in(page, base_url, ENGINEER, DEMO_PASSWORD)
                page.wait_for_url(f"{base_url}/console/")
                expect(page.locator("#live-status.on")).to_have_count(1, timeout=30_000)  # Socket.IO up
                # ... over a WebSocket, which connect-src 'self' must allow (not a polling fallback)
                assert page.evaluate("window.ironwatchSocket.io.engine.transport.name") == "websocket"
                page.click('[data-status-filter="all"]')  # the fleet script runs
                page.goto(f"{base_url}/console/machines/{FAULTY_GENSET}")
                expect(page.locator("#trend canvas")).to_have_count(1, timeout=30_000)  # uPlot drew
                expect(page.locator("#live-status.on")).to_have_count(1, timeout=30_000)
                page.screenshot(path=str(SCREENSHOTS / f"security-machine-{label}.png"), full_page=True)
                for path in ("/console/", f"/console/machines/{FAULTY_GENSET}", "/console/work-orders", "/api/docs"):
                    page.goto(base_url + path)
                    assert page.evaluate("window.__cspViolations") == [], path
                if page.locator(".nav-toggle").is_visible():  # on a phone the menu is folded
                    page.click(".nav-toggle")
                page.click("text=Sign out")
                page.wait_for_url(f"{base_url}/login")
                page.goto(f"{base_url}/console/")
                page.wait_for_url(f"{base_url}/login**")  # the session really ended
                assert errors == [], errors
                context.close()

            # Five wrong passwords: the sixth attempt, even with the right one, is refused and explained.
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            for _ in range(5):
                sign_in(page, base_url, "admin@ironwatch.example", "wrong password")
            sign_in(page, base_url, "admin@ironwatch.example", DEMO_PASSWORD)
            expect(page.locator(".flash-msg.error")).to_contain_text("Too many failed sign-ins")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(SCREENSHOTS / "security-locked-phone.png"), full_page=True)
            context.close()
        finally:
            browser.close()
