"""Browser test of the planning pages: a machine's PM plan, the week's dispatch board (re-plan,
lock a job to another day, accept the proposal) and the repair feedback report, at 1440 and 390 px.

The demo fleet is projected once (``preventive_service.run_pm``, what the scheduler's hourly job
does) and one outer-race order is diagnosed, repaired and coded, so every page has real content.
Screenshots go to var/screenshots/planning-*.png.
"""
from __future__ import annotations

import time

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD, ENGINEER  # noqa: E402
from fleet_helpers import T0, EventLog, write_burst  # noqa: E402
from test_console_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, WIDTHS, only_the_app, sign_in  # noqa: E402

pytestmark = pytest.mark.e2e


def prepare(influx, sql_url) -> dict:
    """PM projected, one corrective order completed with codes; returns ids the test looks for."""
    from fleet import db, dispatch_service, lifecycle, order_actions, preventive_service
    from fleet.diagnosis_service import DiagnosisService
    from fleet.handlers import as_bus
    from fleet.models import Technician, Tenant, utcnow
    from telemetry.store import TelemetryStore

    engine = db.make_engine(sql_url)
    sessions = db.session_factory(engine)
    try:
        store = TelemetryStore(influx)
        preventive_service.run_pm(sessions, store, EventLog())
        bus = as_bus(EventLog(), sessions)
        meta = write_burst(influx, "GS-2002", "alternator_de", 1500.0, T0, "bearing_outer_race", "DE", 0.003, seed_=4)
        (order_id,) = DiagnosisService(store, sessions, bus).process_burst(meta.burst_id).opened
        with sessions() as session:
            everyone = list(session.scalars(select(Tenant.id)))
            technician = next(t for t in session.scalars(select(Technician)) if "bearings" in (t.skills or []))
        completion = lifecycle.Completion("outer_race_spalled", "lubrication", "bearing_replaced", "yes",
                                          component_replaced=True, labour_h=3.0, notes="outer race spalled")
        engineer = lifecycle.Actor("test", "engineer")
        me = lifecycle.Actor(technician.name, "technician", technician.id)
        for action, actor, kwargs in (("assign", engineer, {"technician_id": technician.id}), ("accept", me, {}),
                                      ("start", me, {}), ("complete", me, {"completion": completion})):
            order_actions.perform(sessions, bus, order_id, action, actor, everyone, **kwargs)
        start = dispatch_service.next_working_day(utcnow().date() + timedelta(days=2))
        while start.isoweekday() != 1:
            start += timedelta(days=1)
        # One planned order booked for the Tuesday and accepted by its technician: the board keeps it there.
        first = dispatch_service.plan_week(sessions, start).assignments[0]
        accepted, tuesday = first.job_ids[0], start + timedelta(days=1)
        dispatch_service.lock(sessions, accepted, first.technician_id, tuesday, "test", bus)
        order_actions.perform(sessions, bus, accepted, "assign", engineer, everyone, technician_id=first.technician_id)
        order_actions.perform(sessions, bus, accepted, "accept",
                              lifecycle.Actor(first.technician_name, "technician", first.technician_id), everyone)
        return {"start": start.isoformat(), "repaired": order_id, "accepted": accepted, "tuesday": tuesday.isoformat()}
    finally:
        engine.dispose()


def lock_without_replan(sql_url, start: str) -> None:
    """Lock the week's first unaccepted visit's first order where it is, through the service
    alone: the stored proposal is then older than a lock, as while the board's re-plan runs."""
    from datetime import date

    from fleet import db, dispatch_service
    from fleet.models import DispatchProposal

    engine = db.make_engine(sql_url)
    try:
        sessions = db.session_factory(engine)
        with sessions() as session:
            plan = session.scalar(select(DispatchProposal).where(
                DispatchProposal.start_day == date.fromisoformat(start))).plan
        visit = next(a for a in plan["assignments"] if not a["accepted"])
        dispatch_service.lock(sessions, visit["work_order_ids"][0], visit["technician_id"],
                              date.fromisoformat(visit["day"]), "test")
    finally:
        engine.dispose()


def claim_week(sql_url, start: str) -> None:
    """Claim the week's first plan as the board does, without starting the plan: the board then
    shows the "being planned" state for as long as the test needs."""
    from datetime import date

    from fleet import db, dispatch_claims

    engine = db.make_engine(sql_url)
    try:
        assert dispatch_claims.claim_first_plan(db.session_factory(engine), date.fromisoformat(start), 5)
    finally:
        engine.dispose()


def replan(sql_url, start: str) -> None:
    """The background re-plan's work, without its live event (the board must notice by itself)."""
    from datetime import date

    from fleet import db, dispatch_service

    engine = db.make_engine(sql_url)
    try:
        dispatch_service.replan_after_lock(db.session_factory(engine), date.fromisoformat(start), 5, EventLog())
    finally:
        engine.dispose()


def check_at_every_width(page, name: str, back_to: tuple[int, int]) -> None:
    """``check_page`` at each of WIDTHS, then the viewport back to ``back_to`` (width, height)."""
    for each_width, each_height in WIDTHS.values():
        page.set_viewport_size({"width": each_width, "height": each_height})
        check_page(page, name, each_width)
    page.set_viewport_size({"width": back_to[0], "height": back_to[1]})


def check_page(page, name: str, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"planning-{name}-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px"


def test_pm_plan_dispatch_board_and_feedback_pages(served_app, influx, sql_url):
    from playwright.sync_api import expect, sync_playwright

    base_url, _ = served_app
    facts = prepare(influx, sql_url)
    board_url = f"{base_url}/console/dispatch?start={facts['start']}"
    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for label, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.route("**/*", only_the_app(base_url, refused))
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                sign_in(page, base_url, ENGINEER)

                # PM plan, linked from the machine page: the 500-h service of EX-1001 is due soon.
                page.goto(f"{base_url}/console/machines/EX-1001")
                page.click("#pm-plan-link")
                plan = page.locator(".pm-plan[data-plan='PM-500']")
                expect(plan).to_contain_text("h/day")
                expect(plan.locator("table.data tbody tr").first).to_be_visible()
                expect(plan.locator(".pm-tasks li").first).to_be_visible()
                check_page(page, "pm", width)

                if label == "desktop":
                    # The week's first board load: no stored proposal, so the page answers at once
                    # saying it is being planned (claimed here, the plan run below) and redraws by itself.
                    claim_week(sql_url, facts["start"])
                    page.goto(board_url)
                    expect(page.locator("#replanning")).to_contain_text("Planning this week for the first time")
                    expect(page.locator("#accept-proposal")).to_have_count(0)
                    expect(page.locator("#replan")).to_have_count(1)
                    check_at_every_width(page, "dispatch-first-plan", (width, height))
                    replan(sql_url, facts["start"])
                    expect(page.locator("#replanning")).to_have_count(0, timeout=15000)
                else:
                    page.goto(board_url)
                expect(page.locator(".dispatch-visit").first).to_be_visible()
                # The order its technician accepted stays on its Tuesday, marked, with no lock form.
                kept = page.locator(f".dispatch-cell[data-day='{facts['tuesday']}'] .dispatch-visit.accepted").filter(
                    has=page.locator(f".dispatch-job[data-work-order='{facts['accepted']}']"))
                expect(kept).to_have_count(1)
                expect(kept).to_contain_text("· accepted")
                kept.locator("summary").click()
                expect(kept.locator(".dispatch-why")).to_contain_text("accepted by the technician, kept where it is")
                expect(kept.locator("form.dispatch-lock")).to_have_count(0)
                kept.scroll_into_view_if_needed()
                check_page(page, "dispatch-accepted", width)
                kept.locator("summary").click()
                if label == "desktop":
                    expect(page.locator("#proposal-state")).to_contain_text("not accepted yet")
                    page.click("#replan")
                    expect(page.locator("#proposal-state")).to_contain_text("not accepted yet")
                    # A lock stored but its week not re-planned yet (the background re-plan still
                    # running): the board says so, offers no accept, and redraws once it is stored.
                    lock_without_replan(sql_url, facts["start"])
                    page.reload()
                    expect(page.locator("#replanning")).to_contain_text("Re-planning around 1 lock")
                    expect(page.locator("#accept-proposal")).to_have_count(0)
                    check_at_every_width(page, "dispatch-replanning", (width, height))
                    replan(sql_url, facts["start"])
                    expect(page.locator("#replanning")).to_have_count(0, timeout=15000)
                    expect(page.locator("#accept-proposal")).to_have_count(1)
                    # Move the first visit's first job to Friday and lock it there.
                    visit = page.locator(".dispatch-visit:not(.accepted)").first
                    job_id = visit.locator(".dispatch-job").first.get_attribute("data-work-order")
                    visit.locator("summary").click()
                    form = visit.locator("form.dispatch-lock").first
                    friday = (page.locator(".dispatch-day-head").nth(4).get_attribute("data-day"))
                    form.locator("select[name=day]").select_option(friday)
                    form.locator("button").click()
                    expect(page.locator(".flash-msg")).to_contain_text("locked")
                    moved = page.locator(f".dispatch-cell[data-day='{friday}'] .dispatch-job[data-work-order='{job_id}']")
                    expect(moved).to_have_count(1)
                    expect(moved.locator("xpath=ancestor::article")).to_contain_text("locked")
                    check_page(page, "dispatch", width)
                    page.click("#accept-proposal")
                    expect(page.locator(".flash-msg")).to_contain_text("Proposal accepted")
                    expect(page.locator("#proposal-state")).to_contain_text("Accepted by " + ENGINEER)
                else:
                    expect(page.locator("#proposal-state")).to_contain_text("Accepted by")
                    check_page(page, "dispatch", width)
                page.locator(".dispatch-why").first.evaluate("d => d.open = true")
                check_page(page, "dispatch-why", width)

                page.goto(f"{base_url}/console/feedback")
                expect(page.locator("#feedback-orders")).to_have_text("1")
                expect(page.locator("#feedback-modes")).to_contain_text("100 %")
                check_page(page, "feedback", width)
                assert not errors, errors
                context.close()
        finally:
            browser.close()
    assert not refused, f"pages asked other hosts: {refused}"


def test_bad_planning_input_is_refused_and_changes_nothing(served_app, influx, sql_url):
    import requests

    from fleet import db, preventive_service
    from telemetry.store import TelemetryStore

    base_url, _ = served_app
    engine = db.make_engine(sql_url)
    preventive_service.run_pm(db.session_factory(engine), TelemetryStore(influx), EventLog())  # orders to plan
    engine.dispose()
    session = requests.Session()
    session.get(f"{base_url}/login")
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{base_url}/login").text).group(1)
    session.post(f"{base_url}/login", data={"email": ENGINEER, "password": DEMO_PASSWORD, "csrf_token": csrf})
    board = session.get(f"{base_url}/console/dispatch")
    assert board.status_code == 200
    for _ in range(300):  # the week's first load plans it in the background: wait until it is stored
        if 'data-work-order="' in board.text:
            break
        time.sleep(0.1)
        board = session.get(f"{base_url}/console/dispatch")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', board.text).group(1)
    state = re.compile(r'id="proposal-state".*?</p>', re.S)
    stored = state.search(board.text).group(0)  # the background plan's proposal, as the board says it
    order = re.search(r'data-work-order="(\d+)"', board.text).group(1)  # a real, visible order
    assert session.get(f"{base_url}/console/dispatch?start=next-week").status_code == 400
    for form, expected in (({"work_order_id": "x", "technician_id": "1", "start": "2026-12-07"}, "work_order_id"),
                           ({"work_order_id": "1", "technician_id": "-3", "start": "2026-12-07"}, "technician_id"),
                           ({"work_order_id": "1", "technician_id": "1", "start": "2026-12-07", "day": "2027-02-01"},
                            "not in the week"),
                           ({"work_order_id": order, "technician_id": "99999", "start": "2026-12-07"}, "does not exist or is inactive"),
                           ({"work_order_id": "99999", "technician_id": "1", "start": "2026-12-07"}, "not visible")):
        answer = session.post(f"{base_url}/console/dispatch/lock", data={**form, "csrf_token": csrf})
        assert answer.status_code in (400, 404) and expected in answer.text, (form, answer.status_code)
    # Without the session's CSRF token nothing is stored (a forged cross-site post).
    for path, form in (("/console/dispatch/propose", {"start": "2026-12-07"}),
                       ("/console/dispatch/lock", {"work_order_id": order, "technician_id": "1", "start": "2026-12-07"}),
                       ("/console/dispatch/1/accept", {})):
        answer = session.post(f"{base_url}{path}", data=form)
        assert answer.status_code == 400 and "did not come from this site" in answer.text, path
    assert session.post(f"{base_url}/console/dispatch/9999/accept", data={"csrf_token": csrf}).status_code == 404
    assert session.get(f"{base_url}/console/machines/NOPE-1/pm").status_code == 404
    after = state.search(session.get(f"{base_url}/console/dispatch").text).group(0)
    assert after == stored and "not accepted yet" in after, "nothing was stored"
