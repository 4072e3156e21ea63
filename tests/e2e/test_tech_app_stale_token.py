"""The technicians' app keeps a queued step when the server refuses the page's CSRF token.

The token is the page's (``<meta name=csrf-token>``); a page kept on the phone from an earlier
session carries an old one. The server answers that with 400 naming ``X-CSRF-Token``: the step was
not looked at, so the app must keep it queued and say to reload, not drop it as a "problem" the
technician can only dismiss (their finished job, notes and photo gone).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD  # noqa: E402
from field_helpers import TECHNICIAN, open_job  # noqa: E402

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_a_step_refused_for_a_stale_page_token_stays_queued(served_app, session_factory):
    from playwright.sync_api import expect, sync_playwright

    from fleet.models import WorkOrder
    from fleet.notify import NullNotifier

    base_url, _ = served_app
    job = open_job(session_factory, NullNotifier(), due_days=1.5)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(f"{base_url}/login")
            page.fill("#email", TECHNICIAN)
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/tech/")
            page.goto(f"{base_url}/tech/jobs/{job}")
            page.context.set_offline(True)
            page.click("form[data-action=accept] button")
            expect(page.locator("body[data-queue='1']")).to_have_count(1)
            # the page's token is from a session that is over
            page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'from-an-old-session'")
            with page.expect_response("**/api/v1/tech/actions", timeout=15_000) as refused:
                page.context.set_offline(False)
                page.evaluate("window.dispatchEvent(new Event('online'))")
            assert refused.value.status == 400 and refused.value.json()["field"] == "X-CSRF-Token"
            page.wait_for_timeout(500)  # the app's handling of the answer (IndexedDB) settles
            expect(page.locator("body[data-queue='1']")).to_have_count(1)
            expect(page.locator("body[data-problems='0']")).to_have_count(1)
            # and the app says what to do, and keeps saying it (the queue's redraw used to replace
            # it with "Sending 1 step..." at once)
            page.wait_for_timeout(1_000)
            expect(page.locator("#sync-state")).to_contain_text("Reload the app")
            expect(page.locator("#sync-state")).to_contain_text("1 step kept on this phone")
            page.reload()  # a fresh page, its token the session's: the kept step goes out
            expect(page.locator("body[data-queue='0']")).to_have_count(1, timeout=15_000)
        finally:
            browser.close()
    with session_factory() as session:
        assert session.get(WorkOrder, job).status == "accepted"
