"""Browser test of the admin pages as the OEM admin, with the network cut off but for the app.

Debian's Chromium rotates GS-2001's device token on the credentials page, reads the new token
the page shows once, and the real ingest endpoint then refuses the old token and takes the new
one. It invites a user (the one-time link is shown), lowers the zone limits of GS-2001's alternator
drive end on the zones page and sees the next burst's diagnosis land in zone D on the machine page
(the burst before it was in zone A or B), and visits every admin page at 1440 and 390 px:
screenshots go to var/screenshots/admin-*.png, and no page is wider than the phone.
"""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from app_helpers import FAULTY_GENSET, machine_entry, outer_race_burst
from test_console_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, check_and_shoot, only_the_app, sign_in

pytestmark = pytest.mark.e2e

ADMIN = "admin@ironwatch.example"
PAGES = ("users", "devices", "technicians", "alarm-rules", "zones", "models", "audit")


def upload_status(base_url: str, token: str) -> int:
    body = {"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET,
            "samples": [{"time": time.time_ns() - 10**9, "fields": {"coolant_temp_c": 80.0}}]}
    return requests.post(f"{base_url}/api/v1/ingest/operating", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"}).status_code


def diagnosed_zone(base_url: str, cookies: dict, provisioning: dict, token: str, seed: int, seconds_ago: int) -> str:
    """Upload an outer-race burst of GS-2001's alternator drive end through the real ingest API and
    return the ISO zone of its diagnosis (found by its start time) from the machine's API."""
    _, body = outer_race_burst(provisioning, seed=seed)
    body["start"] = time.time_ns() - seconds_ago * 10**9
    response = requests.post(f"{base_url}/api/v1/ingest/bursts", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = requests.get(f"{base_url}/api/v1/machines/{FAULTY_GENSET}/diagnoses", cookies=cookies,
                             timeout=10).json().get("diagnoses", [])
        for d in found:
            if d.get("component") == "alternator_de" and abs(_ns(d["burst_at"]) - body["start"]) < 10**9:
                return d["iso_zone"]
        time.sleep(1)
    pytest.fail(f"the burst of {seconds_ago} s ago was not diagnosed within 120 s")


def _ns(iso_time: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() * 10**9)


def test_admin_rotates_a_device_token_and_every_admin_page_fits_a_phone(served_app):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    old_token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    model = machine_entry(provisioning, FAULTY_GENSET)["model"]
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

                    # Move a machine to another of its owner's sites (the viewers' rooms: test_web_processes.py).
                    site_form = page.locator("tr[data-machine='EX-1004'] form.site-form")
                    site_form.locator("select").select_option(label="Blackstone Quarry")
                    site_form.locator("button").click()
                    expect(page.locator(".flash-msg.info")).to_contain_text("EX-1004 now works at Blackstone Quarry")
                    expect(page.locator("tr[data-machine='EX-1004'] select option:checked")).to_have_text("Blackstone Quarry")
                    check_and_shoot(page, "admin-devices-moved", size)

                    # Invite someone: the one-time link is shown; change a zone limit.
                    page.goto(f"{base_url}/admin/users")
                    page.fill("#invite-form input[name=name]", "Paula Field")
                    page.fill("#invite-form input[name=email]", "paula.field@example.com")
                    page.select_option("#invite-form select[name=role]", "engineer")
                    page.click("#invite-form button[type=submit]")
                    expect(page.locator("#issued-link input")).to_have_value(
                        re.compile(r"/account/link/[\w-]{40,}$"))
                    check_and_shoot(page, "admin-users-invited", size)
                    # A zone limit change changes the zone of the next diagnosis.
                    cookies = {c["name"]: c["value"] for c in context.cookies()}
                    before = diagnosed_zone(base_url, cookies, provisioning, new_token, seed=21, seconds_ago=1800)
                    assert before in ("A", "B"), before
                    page.goto(f"{base_url}/admin/zones")
                    row = page.locator(f"#zone-table tbody tr[data-group='{model}|alternator_de']")
                    form = row.locator("form")
                    form.locator("input[name=a_b]").fill("0.1")
                    form.locator("input[name=b_c]").fill("0.2")
                    form.locator("input[name=c_d]").fill("0.3")
                    form.locator("button").click()
                    expect(page.locator(".flash-msg.info")).to_contain_text("the next diagnosis uses them")
                    expect(row).to_contain_text("set by " + ADMIN)
                    assert diagnosed_zone(base_url, cookies, provisioning, new_token, seed=22, seconds_ago=5) == "D"
                    page.goto(f"{base_url}/console/machines/{FAULTY_GENSET}")
                    expect(page.locator("#latest-diagnosis .zone-explained")).to_contain_text("zone D")
                    check_and_shoot(page, "admin-zone-next-diagnosis", size)

                for name in PAGES:
                    page.goto(f"{base_url}/admin/{name}")
                    expect(page.locator("h1")).to_be_visible()
                    check_and_shoot(page, f"admin-{name}", size)
                audit = page.locator("#audit-table")
                expect(audit).to_contain_text("rotated")
                expect(audit).to_contain_text("invited")
                expect(audit).to_contain_text("moved")
                expect(audit).to_contain_text("changed")
                assert not refused, f"the admin pages reached outside the app: {refused}"
                assert not errors, f"script errors: {errors}"
                context.close()
        finally:
            browser.close()
