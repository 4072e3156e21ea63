"""Browser test: an alarm arrives live on the fleet page of one engineer and on the alarm list of a
second session; the first acknowledges it from the feed and the second sees the acknowledgement
live. Screenshots of the alarm list at desktop and phone width go to var/screenshots/."""
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
MANAGER = "admin@ironwatch.example"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def sign_in(browser, base_url, email, width, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/console/")
    return context, page, errors


def test_alarm_arrives_live_is_acknowledged_and_the_ack_shows_in_another_session(served_app):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            _, engineer, engineer_errors = sign_in(browser, base_url, ENGINEER, 1440)
            _, manager, manager_errors = sign_in(browser, base_url, MANAGER, 1440)
            manager.goto(f"{base_url}/console/alarms")
            expect(manager.locator("#alarm-list-empty")).to_be_visible()
            for page in (engineer, manager):
                expect(page.locator("#live-status.on")).to_have_count(1, timeout=30_000)
                page.evaluate("window.__sameDocument = true")

            token, body = outer_race_burst(provisioning)
            response = requests.post(f"{base_url}/api/v1/ingest/bursts", json=body, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 202, response.text

            # the engineer's fleet feed gets the alarm with an acknowledge button
            item = engineer.locator(f'#live-events li[data-event="alarm"][data-machine="{FAULTY_GENSET}"]')
            expect(item.first).to_be_visible(timeout=90_000)
            outer = item.filter(has_text="outer")
            expect(outer).to_have_count(1)
            alarm_id = outer.get_attribute("data-alarm-id")
            # ... and the manager's alarm list a new row, without a reload
            row = manager.locator(f'#alarm-list tr[data-alarm-id="{alarm_id}"]')
            expect(row).to_have_attribute("data-state", "active", timeout=30_000)
            expect(row).to_contain_text(FAULTY_GENSET)
            expect(manager.locator("#alarm-list-empty")).to_be_hidden()
            manager.screenshot(path=str(SCREENSHOTS / "alarm-list-active-1440.png"), full_page=True)

            outer.locator("button.ack-button").click()
            expect(outer.locator(".ack-by")).to_contain_text(f"acknowledged by {ENGINEER}")
            expect(row).to_have_attribute("data-state", "acknowledged", timeout=30_000)
            expect(row.locator(".ack-by")).to_contain_text(ENGINEER)
            for page in (engineer, manager):
                assert page.evaluate("window.__sameDocument === true"), "a page was reloaded"
            manager.screenshot(path=str(SCREENSHOTS / "alarm-list-1440.png"), full_page=True)
            engineer.screenshot(path=str(SCREENSHOTS / "fleet-feed-acknowledged-1440.png"))

            # the same list on a phone: cards, nothing wider than the screen
            _, phone, phone_errors = sign_in(browser, base_url, MANAGER, 390, 844)
            phone.goto(f"{base_url}/console/alarms?state=all")
            expect(phone.locator(f'#alarm-list tr[data-alarm-id="{alarm_id}"]')).to_be_visible()
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            phone.screenshot(path=str(SCREENSHOTS / "alarm-list-390.png"), full_page=True)
            phone.goto(f"{base_url}/console/machines/{FAULTY_GENSET}")
            expect(phone.locator("#machine-alarms")).to_be_visible()
            phone.goto(f"{base_url}/profile")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            phone.screenshot(path=str(SCREENSHOTS / "profile-390.png"), full_page=True)
            assert engineer_errors == [] and manager_errors == [] and phone_errors == [], \
                (engineer_errors, manager_errors, phone_errors)
        finally:
            browser.close()
