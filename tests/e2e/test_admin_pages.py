"""Browser test of the admin pages as the OEM admin, with the network cut off but for the app.

Debian's Chromium rotates GS-2001's device token on the credentials page, reads the new token
the page shows once, and the real ingest endpoint then refuses the old token and takes the new
one. It invites a user (the one-time link is shown), changes a zone limit, and visits every admin
page at 1440 and 390 px: screenshots go to var/screenshots/admin-*.png, and no page is wider
than the phone.
"""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from app_helpers import FAULTY_GENSET, machine_entry
from test_console_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, check_and_shoot, only_the_app, sign_in

pytestmark = pytest.mark.e2e

ADMIN = "admin@ironwatch.example"
PAGES = ("users", "devices", "technicians", "alarm-rules", "zones", "models", "audit")


def upload_status(base_url: str, token: str) -> int:
    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET,
            "samples": [{"time": time.time_ns() - 10**9, "fields": {"coolant_temp_c": 80.0}}]}
    return requests.post(f"{base_url}/api/v1/ingest/operating", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"}).status_code


def test_admin_rotates_a_device_token_and_every_admin_page_fits_a_phone(served_app):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    old_token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    assert upload_status(base_url, old_token) == 202
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height}, timezone_id="Europe/Berlin")
                refused: list[str] = []
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                sign_in(page, base_url, ADMIN)

                if size == "desktop":
                    # Rotate: the new token is shown once; the old one is refused at ingest at once.
                    page.goto(f"{base_url}/admin/devices")
                    page.click(f"tr[data-machine='{FAULTY_GENSET}'] form[action$='/rotate'] button")
                    expect(page.locator("#new-token-value")).to_be_visible()
                    new_token = page.input_value("#new-token-value")
                    check_and_shoot(page, "admin-devices-new-token", size)
                    assert new_token.startswith("dev_") and new_token != old_token
                    assert upload_status(base_url, old_token) == 401
                    assert upload_status(base_url, new_token) == 202
                    page.goto(f"{base_url}/admin/devices")
                    expect(page.locator("#new-token-value")).to_have_count(0)

                    # Invite someone: the one-time link is shown; change a zone limit.
                    page.goto(f"{base_url}/admin/users")
                    page.fill("#invite-form input[name=name]", "Paula Field")
                    page.fill("#invite-form input[name=email]", "paula.field@example.com")
                    page.select_option("#invite-form select[name=role]", "engineer")
                    page.click("#invite-form button[type=submit]")
                    expect(page.locator("#issued-link input")).to_have_value(
                        re.compile(r"/account/link/[\w-]{40,}$"))
                    check_and_shoot(page, "admin-users-invited", size)
                    page.goto(f"{base_url}/admin/zones")
                    form = page.locator("#zone-table tbody tr form").first
                    form.locator("input[name=a_b]").fill("2.5")
                    form.locator("input[name=b_c]").fill("5.0")
                    form.locator("input[name=c_d]").fill("9.0")
                    form.locator("button").click()
                    expect(page.locator(".flash-msg.info")).to_contain_text("the next diagnosis uses them")
                    expect(page.locator("#zone-table tbody tr").first).to_contain_text("set by " + ADMIN)

                for name in PAGES:
                    page.goto(f"{base_url}/admin/{name}")
                    expect(page.locator("h1")).to_be_visible()
                    check_and_shoot(page, f"admin-{name}", size)
                audit = page.locator("#audit-table")
                expect(audit).to_contain_text("rotated")
                expect(audit).to_contain_text("invited")
                expect(audit).to_contain_text("changed")
                assert not refused, f"the admin pages reached outside the app: {refused}"
                assert not errors, f"script errors: {errors}"
                context.close()
        finally:
            browser.close()
