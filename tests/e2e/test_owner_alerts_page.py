"""Browser test of a customer's Notifications page with its owner alerts, at 1440 and 390 px, offline.

The real app (``python -m app serve``) with the demo fleet; Debian's Chromium signs in as Granite
Ridge's customer, sees the defaults (machine security on, faults not sent), changes them, saves,
and sees them stored; a bad value forced into the form answers 400 with the field named. Screenshots
go to var/screenshots/owner-alerts-<width>.png and owner-alerts-refused-390.png.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import CUSTOMER, DEMO_PASSWORD  # noqa: E402
from test_console_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, check_and_shoot, only_the_app, sign_in  # noqa: E402

pytestmark = pytest.mark.e2e


def test_the_customer_chooses_owner_alerts_at_desktop_and_phone_width(served_app):
    from playwright.sync_api import expect, sync_playwright

    base_url, _ = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                refused, errors = [], []
                page.route("**/*", only_the_app(base_url, refused))
                page.on("pageerror", lambda error: errors.append(str(error)))
                sign_in(page, base_url, CUSTOMER)
                page.goto(f"{base_url}/profile")
                alerts = page.locator("#owner-alerts")
                expect(alerts).to_contain_text("Machine security")
                expect(alerts.locator('input[name="owner_security"]')).to_be_checked()
                expect(alerts.locator('input[name="owner_faults"][value="off"]')).to_be_checked()
                check_and_shoot(page, "owner-alerts", size)
                assert errors == [], errors
                context.close()

            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            sign_in(page, base_url, CUSTOMER)
            page.goto(f"{base_url}/profile")
            page.check('#owner-alerts input[name="owner_faults"][value="alarm"]')
            page.click("#preferences button[type=submit]")
            expect(page.locator(".flash-msg")).to_contain_text("saved")
            expect(page.locator('#owner-alerts input[name="owner_faults"][value="alarm"]')).to_be_checked()
            expect(page.locator('#owner-alerts input[name="owner_security"]')).to_be_checked()

            # a value no radio offers (a stale or tampered form): the page again, 400, the field named
            page.evaluate("document.querySelector('#owner-alerts input[value=\"warning\"]').value = 'everything'")
            page.check('#owner-alerts input[name="owner_faults"][value="everything"]')
            with page.expect_response(lambda r: r.url.endswith("/profile") and r.request.method == "POST") as answer:
                page.click("#preferences button[type=submit]")
            assert answer.value.status == 400
            expect(page.locator("#preferences-error")).to_have_attribute("data-field", "owner_alerts.faults")
            expect(page.locator('#owner-alerts input[name="owner_faults"][value="alarm"]')).to_be_checked()
            check_and_shoot(page, "owner-alerts-refused", "phone")
            context.close()
        finally:
            browser.close()

    session = requests.Session()  # what was stored, through the API
    login_page = session.get(f"{base_url}/login", timeout=30)
    assert login_page.status_code == 200
    token = login_page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert session.post(f"{base_url}/login", data={"email": CUSTOMER, "password": DEMO_PASSWORD, "csrf_token": token},
                        timeout=30).status_code == 200
    stored = session.get(f"{base_url}/api/v1/me/preferences", timeout=30).json()
    assert stored["owner_alerts"] == {"security": True, "faults": "alarm"}
