"""Two tabs of the technicians' app in one browser when the phone's database version goes up.

IndexedDB lets a page open a newer version of a database only once every other tab has closed its
connection to the older one. A tab of the version-1 app (which never let go) used to make the
version-2 app hang with no word; now the new tab says "Close other Ironwatch tabs" while it waits,
carries on once the old tab is gone, and sends the step the old version had queued. And an open
tab of this app, when a newer version opens the database elsewhere, writes the draft being typed,
lets go and says to reload, with its queued step and draft kept. Two pages in one context share
the origin's IndexedDB, as two tabs on a phone do.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from field_helpers import open_job  # noqa: E402
from tech_app_helpers import DESKTOP, PHONE, phone_context, shoot, sign_in, sign_in_with_day_stored, watched_page  # noqa: E402

pytestmark = pytest.mark.e2e

#: What the version-1 app did on a page (app/static/tech/js/queue.js at 597e0d9): open the database
#: at version 1, with no onversionchange handler, and queue a step; the connection stays open.
VERSION_1_TAB = """orderId => new Promise((resolve, reject) => {
  const request = indexedDB.open('ironwatch-field', 1);
  request.onupgradeneeded = () => {
    request.result.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
    request.result.createObjectStore('problems', { keyPath: 'client_action_id' });
  };
  request.onsuccess = () => {
    window.versionOneDb = request.result;
    const tx = request.result.transaction('outbox', 'readwrite');
    tx.objectStore('outbox').add({ client_action_id: 'queued-by-version-1-' + orderId, order_id: orderId,
                                   action: 'accept', fields: {}, photo: null, taken_at: new Date().toISOString() });
    tx.oncomplete = () => resolve(request.result.version);
    tx.onerror = () => reject(tx.error);
  };
  request.onerror = () => reject(request.error);
})"""

#: A newer app version in another tab: open the database at version 3. Resolves with whether it had
#: to wait (blocked), the queued steps and the drafts it finds.
VERSION_3_TAB = """() => new Promise((resolve, reject) => {
  let blocked = false;
  const request = indexedDB.open('ironwatch-field', 3);
  request.onblocked = () => { blocked = true; };
  request.onsuccess = () => {
    const db = request.result;
    const tx = db.transaction(['outbox', 'drafts'], 'readonly');
    const steps = tx.objectStore('outbox').getAll(), drafts = tx.objectStore('drafts').getAll();
    tx.oncomplete = () => {
      resolve({ blocked, steps: steps.result.map(s => [s.order_id, s.action]),
                drafts: drafts.result.map(d => [d.key, Object.fromEntries(d.fields.filter(f => f[2]).map(f => [f[0], f[1]]))]) });
      db.close();
    };
  };
  request.onerror = () => reject(request.error);
})"""


def test_a_new_tab_says_close_the_old_one_and_sends_its_step_once_it_is_closed(served_app, session_factory):
    from playwright.sync_api import expect, sync_playwright

    from fleet.models import WorkOrder
    from fleet.notify import NullNotifier

    base_url, _ = served_app
    job = open_job(session_factory, NullNotifier(), due_days=1.5)
    with sync_playwright() as playwright, phone_context(playwright) as context:
        old_tab = context.new_page()
        old_tab.goto(f"{base_url}/login")  # the origin's database, held as the version-1 app held it
        assert old_tab.evaluate(VERSION_1_TAB, job) == 1

        new_tab, errors = watched_page(context)
        sign_in(new_tab, base_url)
        notice = new_tab.locator("#app-notice")
        expect(notice).to_contain_text("Close other Ironwatch tabs", timeout=15_000)
        expect(notice).to_be_visible()
        expect(new_tab.locator("body[data-db=blocked]")).to_have_count(1)
        expect(notice).to_contain_text("Nothing saved is lost")
        expect(new_tab.locator("#app-notice-reload")).to_be_hidden()  # a reload would not help
        shoot(new_tab, "tech-db-blocked")
        new_tab.set_viewport_size(DESKTOP)
        shoot(new_tab, "tech-db-blocked")
        new_tab.set_viewport_size(PHONE)
        with session_factory() as session:
            assert session.get(WorkOrder, job).status == "assigned"

        old_tab.close()  # the technician closes the old tab: the upgrade goes ahead by itself
        expect(new_tab.locator("body[data-db=open]")).to_have_count(1, timeout=15_000)
        expect(notice).to_be_hidden()
        # the step the old version queued survived the upgrade and goes out
        expect(new_tab.locator("body[data-queue='0'][data-synced='1']")).to_have_count(1, timeout=30_000)
        assert errors == [], errors
    with session_factory() as session:
        assert session.get(WorkOrder, job).status == "accepted"


def test_an_open_tab_lets_a_newer_version_in_and_keeps_its_queued_step_and_draft(served_app, session_factory):
    from playwright.sync_api import expect, sync_playwright

    from fleet.notify import NullNotifier

    base_url, _ = served_app
    job = open_job(session_factory, NullNotifier(), due_days=1.5)
    with sync_playwright() as playwright, phone_context(playwright) as context:
        tab, errors = watched_page(context)
        # the worker stores My day and the job, so both open with no signal
        sign_in_with_day_stored(tab, base_url)
        tab.goto(f"{base_url}/tech/jobs/{job}")
        expect(tab.locator("body[data-queue='0']")).to_have_count(1)  # the database is open
        context.set_offline(True)
        tab.click("form[data-action=accept] button")
        expect(tab.locator("body[data-queue='1']")).to_have_count(1)
        # start work, then begin a pause reason: typed, not sent
        tab.click("form[data-action=start] button")
        expect(tab.locator("body[data-queue='2']")).to_have_count(1)
        tab.click("details.sub[data-when=in_progress] summary >> text=Pause")
        tab.fill("#hold-details", "Waiting for the crane")

        # another tab of the origin (with no signal, the stored My day) opens a newer version
        newer = context.new_page()
        newer.goto(f"{base_url}/tech/")
        found = newer.evaluate(VERSION_3_TAB)
        # the open tab let go at once (no wait), and nothing it had was lost on the way
        assert found["blocked"] is False
        assert found["steps"] == [[job, "accept"], [job, "start"]]
        assert found["drafts"] == [[f"{job}:hold", {"hold_details": "Waiting for the crane"}]]

        notice = tab.locator("#app-notice")
        expect(notice).to_contain_text("Ironwatch was updated in another tab")
        expect(tab.locator("body[data-db=stale]")).to_have_count(1)
        expect(notice).to_contain_text("your saved steps and what you typed are kept on this phone")
        expect(tab.locator("#app-notice-reload")).to_be_visible()
        # its forms wait for the reload: a step taken now could not be kept
        assert tab.evaluate("document.querySelector('form[data-action=hold]').closest('[inert]') !== null")
        shoot(tab, "tech-db-stale")

        # reloaded with its (older) code, the page says so again instead of failing quietly
        tab.click("#app-notice-reload")
        expect(tab.locator("body[data-db=stale]")).to_have_count(1, timeout=15_000)
        expect(tab.locator("#app-notice")).to_contain_text("This page is older than the Ironwatch app on this phone")
        assert errors == [], errors
