"""A deploy of the technicians' app while a phone has it open: one consistent set of scripts.

The server serves the app's own files from a copy (``served_tech_copy``); each script of the copy
ends with a line recording its build ("1") in ``window.ironwatchBuild``. The phone stores the set;
then the copy is "deployed" again with build "deploy-2" in every script. The service worker used to
serve each script stale-while-revalidate, so after My day had revalidated queue.js and app.js a job
page ran them beside the old job.js. Now the page runs build 1 throughout until the technician
presses "Reload" on "A new version of the app is ready", and build deploy-2 throughout after it,
with no signal even, the queued steps and the half-typed finishing form kept, and the old set's
cache gone.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from field_helpers import open_job  # noqa: E402
from tech_app_helpers import DESKTOP, PHONE, phone_context, shoot, sign_in_with_day_stored, wait_until, watched_page  # noqa: E402

pytestmark = pytest.mark.e2e

#: The scripts a job page runs from the app's own folder (and viewer.js).
JOB_PAGE_SCRIPTS = ("queue.js", "app.js", "form_help.js", "job.js")
BUILDS = "JSON.stringify(window.ironwatchBuild || {})"


def stamp(tech_dir: Path, build: str) -> None:
    """Give every script of the app's folder a last line recording ``build`` (replacing an earlier one)."""
    for script in (tech_dir / "js").glob("*.js"):
        text = re.sub(r"\n// build stamp.*\Z", "", script.read_text(encoding="utf-8"), flags=re.S)
        script.write_text(text + f"\n// build stamp (test)\nwindow.ironwatchBuild = Object.assign("
                                 f"window.ironwatchBuild || {{}}, {{{script.name!r}: {build!r}}});\n",
                          encoding="utf-8")


def served_version(base_url: str) -> str:
    return requests.get(f"{base_url}/tech/sw.js", timeout=10).headers["X-Ironwatch-Asset-Version"]


def shell_caches(page) -> list[str]:
    return sorted(name for name in page.evaluate("caches.keys()") if name.startswith("ironwatch-tech-shell-"))


def assert_one_build(page, build: str) -> None:
    """Every script the job page ran is of ``build``: one set, never a mix of two deploys."""
    import json

    builds = json.loads(page.evaluate(BUILDS))
    assert set(JOB_PAGE_SCRIPTS) <= set(builds), builds
    assert set(builds.values()) == {build}, f"a mix of two deploys: {builds}"


def test_a_deploy_gives_the_phone_one_consistent_set_and_reload_keeps_the_work(served_tech_copy, session_factory):
    from playwright.sync_api import expect, sync_playwright

    from fleet.models import WorkOrder
    from fleet.notify import NullNotifier

    base_url, _, tech_dir = served_tech_copy
    stamp(tech_dir, "1")
    first = served_version(base_url)
    job = open_job(session_factory, NullNotifier(), due_days=1.5)
    with sync_playwright() as playwright, phone_context(playwright) as context:
        page, errors = watched_page(context)
        sign_in_with_day_stored(page, base_url)
        page.goto(f"{base_url}/tech/jobs/{job}")
        assert_one_build(page, "1")

        stamp(tech_dir, "deploy-2")  # the deploy
        second = served_version(base_url)
        assert second != first
        # My day first (the old worker revalidated queue.js and app.js here), then the job
        page.goto(f"{base_url}/tech/")
        expect(page.locator("body[data-sw=ready]")).to_have_count(1, timeout=30_000)
        page.goto(f"{base_url}/tech/jobs/{job}")
        assert_one_build(page, "1")
        # the new set is stored beside the running one, and the page says it is ready
        expect(page.locator("body[data-update=ready]")).to_have_count(1, timeout=30_000)
        notice = page.locator("#app-notice")
        expect(notice).to_contain_text("A new version of the app is ready")
        expect(page.locator("#app-notice-reload")).to_be_visible()
        assert_one_build(page, "1")
        assert shell_caches(page) == sorted([f"ironwatch-tech-shell-{first}", f"ironwatch-tech-shell-{second}"])
        shoot(page, "tech-update-ready")
        page.set_viewport_size(DESKTOP)
        shoot(page, "tech-update-ready")
        page.set_viewport_size(PHONE)

        # with no signal, work is taken and a form half filled in; then Reload
        context.set_offline(True)
        page.click("form[data-action=accept] button")
        page.click("form[data-action=start] button")
        expect(page.locator("body[data-queue='2']")).to_have_count(1)
        page.click("#complete-box summary")
        page.check("input[name=fault_confirmed][value=yes]")
        page.fill("#notes", "Outer race pitted, as the picture said.")
        expect(page.locator("#complete-form[data-draft=saved]")).to_have_count(1)
        page.click("#app-notice-reload")
        page.wait_for_load_state()
        expect(page.locator("#complete-form[data-draft=restored]")).to_have_count(1, timeout=30_000)
        assert_one_build(page, "deploy-2")
        assert page.input_value("#notes") == "Outer race pitted, as the picture said."
        assert page.is_checked("input[name=fault_confirmed][value=yes]")
        expect(page.locator("body[data-queue='2']")).to_have_count(1)
        expect(notice).to_be_hidden()
        # the old set goes on activation (the worker's activate step may still be deleting it)
        wait_until(lambda: shell_caches(page) == [f"ironwatch-tech-shell-{second}"], what="the old set deleted")

        context.set_offline(False)
        expect(page.locator("body[data-queue='0']")).to_have_count(1, timeout=30_000)
        assert errors == [], errors
    with session_factory() as session:
        assert session.get(WorkOrder, job).status == "in_progress"
