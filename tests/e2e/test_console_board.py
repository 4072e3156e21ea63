"""Browser test of the work-order board (Debian's Chromium): columns per state, the action panel
of one order, an engineer's action performed from it (a reassignment at 1440 px, a completion on
behalf of the technician at 390 px), and the other open boards (a second work-order board, the
dispatch board) redrawn live over Socket.IO without a reload. No page is wider than the viewport.
Screenshots go to var/screenshots/board-*.png.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import ENGINEER  # noqa: E402
from field_helpers import open_job  # noqa: E402
from fleet_helpers import EventLog  # noqa: E402
from test_console_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, only_the_app, sign_in  # noqa: E402

pytestmark = pytest.mark.e2e


def shoot(page, name: str, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"board-{name}-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px"


def prepare(sql_url) -> dict[str, int]:
    """Two assigned orders on GS-2001 (drive end and non-drive end), through the one life-cycle path."""
    from fleet import db

    engine = db.make_engine(sql_url)
    try:
        sessions = db.session_factory(engine)
        return {"desktop": open_job(sessions, EventLog()),
                "phone": open_job(sessions, EventLog(), component="alternator_nde", location="NDE")}
    finally:
        engine.dispose()


def test_board_actions_at_desktop_and_phone_width_and_live_redraw(served_app, sql_url):
    from playwright.sync_api import expect, sync_playwright

    base_url, _ = served_app
    orders = prepare(sql_url)
    board = f"{base_url}/console/work-orders/board"
    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for label, (width, height) in WIDTHS.items():
                order_id = orders[label]
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.route("**/*", only_the_app(base_url, refused))
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                sign_in(page, base_url, ENGINEER)

                # Two more open boards in the same session: they must follow the change live.
                watchers = {}
                for name, url in (("board", board), ("dispatch", f"{base_url}/console/dispatch")):
                    watcher = context.new_page()
                    watcher.route("**/*", only_the_app(base_url, refused))
                    watcher.goto(url)
                    expect(watcher.locator("#live-status.on")).to_have_count(1, timeout=15000)
                    watchers[name] = watcher

                # The filters: folded on a phone behind one line naming those in use, open on a desktop.
                page.goto(f"{board}?priority=high")
                fold = page.locator("#board-filters-fold")
                expect(fold.locator("summary")).to_contain_text("Filters (1 on)")
                expect(fold.locator("summary")).to_contain_text("Priority: high")
                if label == "phone":
                    assert fold.get_attribute("open") is None
                    assert fold.locator("summary").bounding_box()["height"] >= 44
                    expect(fold.locator("summary .filters-summary-count")).to_have_text(re.compile(r"^\d+ of \d+ orders$"))
                    shoot(page, "filters-folded", width)
                    fold.locator("summary").click()
                    expect(fold.locator("select[name=priority]")).to_be_visible()
                    shoot(page, "filters-open", width)
                else:
                    expect(fold.locator("select[name=priority]")).to_be_visible()
                    expect(fold.locator("summary")).to_be_hidden()
                page.goto(board)
                expect(page.locator("#board-filters-fold summary")).to_contain_text("none: all orders")
                card = page.locator(f".board-column[data-state='assigned'] .board-card[data-work-order='{order_id}']")
                expect(card).to_have_count(1)
                # "No dispatch proposal stored ..." or, once the dispatch board opened above has
                # planned the week in the background, "Dispatch proposal, week from ..."
                expect(page.locator("#proposal")).to_contain_text(re.compile("dispatch proposal", re.I))
                shoot(page, "columns", width)
                card.locator(".board-act").click()
                panel = page.locator("#actions")
                expect(panel).to_contain_text("Assigned")
                expect(panel.locator("details.act summary")).to_contain_text(
                    ["Reassign", "Take back (unassign)", "Complete on behalf of the technician", "Cancel"])

                if label == "desktop":
                    box = panel.locator("details.act-reassign")
                    box.locator("summary").click()
                    box.locator("select[name=technician_id]").select_option(index=0)
                    chosen = box.locator("select[name=technician_id] option:checked").inner_text()
                    box.locator("input[name=reason]").fill("Sam is needed at the quarry")
                    shoot(page, "reassign-form", width)
                    box.locator("button[type=submit]").click()
                    expect(page.locator(".flash-msg")).to_contain_text("is now assigned")
                    expect(page.locator("#actions")).to_contain_text(chosen.split(" · ")[0])
                    moved_to = "assigned"
                else:
                    box = panel.locator("details.act-complete_on_behalf")
                    box.locator("summary").click()
                    box.locator("select[name=problem_code]").select_option("outer_race_spalled")
                    box.locator("select[name=cause_code]").select_option("lubrication")
                    box.locator("select[name=remedy_code]").select_option("bearing_replaced")
                    box.locator("input[name=fault_confirmed][value=yes]").check()
                    box.locator("input[name=notes]").fill("Sam phoned it in")
                    shoot(page, "complete-form", width)
                    box.locator("button[type=submit]").click()
                    expect(page.locator(".flash-msg")).to_contain_text("is now completed")
                    expect(page.locator("#actions")).to_contain_text("Close after review")
                    moved_to = "done"
                after = page.locator(f".board-column[data-state='{moved_to}'] .board-card[data-work-order='{order_id}']")
                expect(after).to_have_count(1)
                if label == "phone":
                    # One state at a time on a phone: the one the order moved to, its count in the picker.
                    expect(after).to_be_visible()
                    expect(page.locator(".board-column[data-state='assigned']")).to_be_hidden()
                    expect(page.locator("[data-board-state='done']")).to_have_class("chip active")
                shoot(page, "after-action", width)

                # The other board moved the card without a reload; the dispatch board redrew too.
                moved = watchers["board"].locator(f".board-column[data-state='{moved_to}'] "
                                                  f".board-card[data-work-order='{order_id}']")
                expect(moved).to_have_count(1, timeout=15000)
                if label == "desktop":
                    expect(moved).to_contain_text(chosen.split(" · ")[0])
                else:  # the phone's picker recounts live, and it stays on the state it showed
                    expect(watchers["board"].locator("[data-board-state='done'] .count")).to_have_text("1")
                    expect(watchers["board"].locator(".board-column.chosen")).to_have_attribute("data-state", "assigned")
                watchers["dispatch"].wait_for_function("Number(document.body.dataset.liveRedraws || 0) >= 1",
                                                       timeout=15000)
                shoot(watchers["board"], "live", width)

                # The order's page shows the step with who and why.
                page.goto(f"{base_url}/console/work-orders/{order_id}")
                history = page.locator("table.history tbody tr").first
                expect(history).to_contain_text(ENGINEER)
                expect(history).to_contain_text("Sam is needed at the quarry" if label == "desktop" else "on behalf of")
                shoot(page, "order", width)
                assert not errors, errors
                context.close()
        finally:
            browser.close()
    assert not refused, f"pages asked other hosts: {refused}"
