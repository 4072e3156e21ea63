"""The technicians' app in Debian's Chromium at a 390 x 844 phone viewport.

The technician signs in to a day the engineer's accepted dispatch plan orders; the service worker
installs and stores the day's jobs; the browser goes offline, the app reloads from the phone's
copy, the technician accepts, starts and finishes a job with codes ("another fault found", whose
code lists the form swaps in), a note and a photo (a test image through the camera input); back
online, the queue goes out in order and the server has the completion once, with the photo on disk.
The engineer then gives the other job to someone else while the phone is offline: its queued
accept comes back as a conflict the app shows. Push messages delivered to the service worker
through the DevTools protocol show notifications whose tap opens the job (a new job) or My day (a
job moved away). Screenshots of the list, a job page, the completion form and the conflict at
390 px (the list, a job and the form also at 360 px, a small Android, and the list and a job at
1440 px) go to var/screenshots/ (test artifacts); no page is wider than the viewport, and on a phone
every control on them is at least 48 px tall (a gloved fingertip). The finishing form, half filled
in offline, survives the page being closed and opened again (a draft on the phone, photo included);
sending it incomplete lists in words what to fix.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD  # noqa: E402
from field_helpers import OTHER_TECHNICIAN_NAME, TECHNICIAN, accepted_plan, open_job, technician_id_by_name  # noqa: E402
from tech_app_helpers import (CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, SCREENSHOTS, shoot,  # noqa: E402
                              shoot_small_phone, wait_until)

pytestmark = pytest.mark.e2e


def server_state(sessions, order_id):
    from sqlalchemy import func, select

    from fleet.models import FieldAction, WorkOrder, WorkOrderFinding, WorkOrderPhoto

    with sessions() as session:
        return {"status": session.get(WorkOrder, order_id).status,
                "actions": session.scalar(select(func.count()).select_from(FieldAction)
                                          .where(FieldAction.work_order_id == order_id)),
                "findings": session.scalar(select(func.count()).select_from(WorkOrderFinding)
                                           .where(WorkOrderFinding.work_order_id == order_id)),
                "photos": [p.relative_path for p in session.scalars(
                    select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order_id))],
                "notes": session.get(WorkOrder, order_id).resolution, "parts": session.get(WorkOrder, order_id).parts,
                "finding": next(((f.fault_confirmed, f.found_fault_mode, f.problem_code) for f in session.scalars(
                    select(WorkOrderFinding).where(WorkOrderFinding.work_order_id == order_id))), None)}


def alarm_told_to(sessions, uid: str, email: str) -> None:
    """A fault-code alarm on ``uid`` whose push went to ``email``: it shows on that person's My day."""
    from sqlalchemy import select

    from fleet.alarm_service import record_conditions
    from fleet.alarms import AlarmCondition
    from fleet.db import transaction
    from fleet.models import Delivery, Machine, User

    now = datetime.now(timezone.utc)
    with transaction(sessions) as session:
        machine = session.scalar(select(Machine).where(Machine.uid == uid))
        (alarm,) = record_conditions(session, machine, [AlarmCondition(
            machine.id, "", "dm1", "spn110:fmi0", "alarm", "Coolant temperature above range", now)], now)
        session.flush()
        user = session.scalar(select(User).where(User.email == email))
        session.add(Delivery(alarm_id=alarm.id, user_id=user.id, channel="push", status="sent", sent_at=now))


def test_the_day_works_offline_syncs_once_and_a_push_opens_the_job(served_app, session_factory, tmp_path):
    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from fleet.job_alerts import job_push_payload, moved_push_payload
    from fleet.notify import NullNotifier
    from fleet.lifecycle import Actor
    from fleet.order_actions import perform
    from fleet.queries import work_order_view
    from fleet.models import WorkOrder

    base_url, _ = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    job = open_job(session_factory, NullNotifier(), due_days=1.5)
    later = open_job(session_factory, NullNotifier(), uid="EX-1001", component="swing_gearbox",
                     fault_mode="gear_wear", location="stage1", due_days=4.0)
    sam = technician_id_by_name(session_factory, "Sam Okafor")
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    accepted_plan(session_factory, NullNotifier(), [(sam, tomorrow, [job], 9 * 60), (sam, tomorrow, [later], 13 * 60)],
                  tomorrow)
    alarm_told_to(session_factory, "GS-2001", TECHNICIAN)
    picture = tmp_path / "bearing.jpg"
    Image.new("RGB", (3000, 2000), (90, 80, 70)).save(picture, "JPEG")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, permissions=["notifications"], timezone_id="Europe/London",
                                          has_touch=True, is_mobile=True, device_scale_factor=2)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base_url}/login")
            page.fill("#email", TECHNICIAN)
            page.fill("#password", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/tech/")
            # the service worker installs and stores the list and both job pages (the page's CSP
            # forbids eval, so the test waits on attributes the app sets, not wait_for_function)
            expect(page.locator("body[data-sw=ready][data-jobs-cached='2']")).to_have_count(1, timeout=30_000)
            assert page.evaluate("navigator.serviceWorker.controller !== null")
            expect(page.locator("#push-state")).not_to_have_text("Alerts for new jobs: checking…")
            expect(page.locator('.visit-card[data-visit="1"] .plan-text')).to_contain_text(
                "Planned by dispatch for tomorrow")
            expect(page.locator('.visit-card[data-visit="2"] .plan-text')).to_contain_text("2nd visit")
            expect(page.locator("#tech-alarms .tech-alarm")).to_contain_text("Coolant temperature above range")
            shoot(page, "tech-my-day")
            shoot_small_phone(page, "tech-my-day")

            context.set_offline(True)
            page.reload()
            expect(page.locator(f'[data-job="{job}"]')).to_be_visible()
            expect(page.locator(f'[data-job="{later}"]')).to_be_visible()
            expect(page.locator("#net-state")).to_contain_text("Offline")
            assert page.locator(".visit").first.inner_text() == "1"
            # acknowledging from My day posts to the server: with no signal the app says so, in place
            page.click("#tech-alarms .ack-form button")
            expect(page.locator("#tech-alarms .offline-note")).to_contain_text("No signal: this needs a connection")
            shoot(page, "tech-offline-my-day")
            page.click(f'a[href="/tech/jobs/{job}"]')
            page.wait_for_url(f"**/tech/jobs/{job}")
            expect(page.locator("h1.headline")).to_contain_text("Alternator drive end: bearing outer-race defect")
            expect(page.locator("#job-map[data-basemap=ready]")).to_have_count(1, timeout=15_000)
            shoot(page, "tech-job")
            shoot_small_phone(page, "tech-job")

            page.click("form[data-action=accept] button")
            page.click("form[data-action=start] button")
            page.click("#complete-box summary")
            # sent with nothing filled in: the form says, in words that stay, what is missing
            page.click("#complete-form button[type=submit]")
            errors_box = page.locator("#complete-form .form-errors")
            expect(errors_box).to_contain_text("Was the predicted fault there? Tick one answer.")
            expect(errors_box).to_contain_text("What was wrong? Choose one from the list.")
            expect(page.locator("body[data-queue='2']")).to_have_count(1)  # accept, start; nothing more
            shoot(page, "tech-form-errors")
            # the bearing was fine; the coupling was out: another fault, whose codes the form swaps in
            page.check("input[name=fault_confirmed][value=other]")
            expect(page.locator("#other-fault")).to_be_visible()
            page.select_option("#found_fault_mode", "misalignment")
            expect(page.locator("#problem_code option[value=outer_race_spalled]")).to_have_count(0)
            page.select_option("#problem_code", "shaft_misaligned")
            page.select_option("#cause_code", "installation")
            page.select_option("#remedy_code", "realigned")
            page.fill("#notes", "Bearing fine; coupling 0.4 mm out, realigned and regreased.")
            page.select_option("#extra_part", "6312-2Z-C3")  # not planned: picked from the machine's list
            page.fill("#labour_h", "2.5")
            page.set_input_files("#photo", str(picture))
            expect(page.locator("#photo-preview[data-ready=yes]")).to_have_count(1, timeout=15_000)
            expect(errors_box).to_have_count(0)  # the list followed the fixes and is gone
            expect(page.locator("#complete-form[data-draft=saved]")).to_have_count(1)
            shoot(page, "tech-complete-form")
            shoot_small_phone(page, "tech-complete-form")

            # the app closed half way (still no signal): the form comes back as it was, photo too
            page.reload()
            expect(page.locator("#complete-form[data-draft=restored]")).to_have_count(1, timeout=15_000)
            expect(page.locator("#complete-box")).to_have_attribute("open", "")
            assert page.is_checked("input[name=fault_confirmed][value=other]")
            assert page.input_value("#found_fault_mode") == "misalignment"
            assert page.input_value("#problem_code") == "shaft_misaligned"
            assert page.input_value("#remedy_code") == "realigned"
            assert page.input_value("#notes").startswith("Bearing fine; coupling")
            assert page.input_value("#extra_part") == "6312-2Z-C3" and page.input_value("#labour_h") == "2.5"
            expect(page.locator("#photo-preview[data-ready=yes]")).to_have_count(1)
            shoot(page, "tech-draft-restored")
            page.click("#complete-form button[type=submit]")
            expect(page.locator("body[data-queue='4']")).to_have_count(1)  # accept, start, photo, complete
            expect(page.locator("#job-state")).to_contain_text("completed (not sent yet)")
            expect(page.locator("#sync-state")).to_contain_text("Not sent yet: 4 steps saved on this phone")
            assert server_state(session_factory, job)["actions"] == 0  # nothing left the phone
            shoot(page, "tech-offline-queued")

            context.set_offline(False)
            expect(page.locator("body[data-queue='0']")).to_have_count(1, timeout=30_000)
            state = wait_until(lambda: (s := server_state(session_factory, job))["status"] == "done" and s,
                               what="the completion on the server")
            assert state["actions"] == 4 and state["findings"] == 1 and len(state["photos"]) == 1
            assert state["notes"].startswith("Bearing fine; coupling")
            assert state["finding"] == ("other", "misalignment", "shaft_misaligned")
            assert state["parts"] == [{"part_number": "6312-2Z-C3", "quantity": 1}]
            assert (tmp_path / "photos" / state["photos"][0]).read_bytes()[:2] == b"\xff\xd8"
            # the page loads itself again once its steps are in (the stored copy is fresh then)
            expect(page.locator("#job-state")).to_have_text("completed", timeout=30_000)
            page.reload()
            assert page.evaluate(f"IronQueue.loadDraft({job}, 'complete').then(d => d === undefined)")  # draft gone
            expect(page.locator("#sync-state.done")).to_contain_text("All your work is sent")
            shoot(page, "tech-synced")  # a second sync finds nothing to send: still exactly once
            expect(page.locator("body[data-queue='0']")).to_have_count(1)
            assert server_state(session_factory, job)["actions"] == 4
            assert page.evaluate("document.body.dataset.problems") == "0"

            # desktop width too (a technician's tablet, an office check)
            page.set_viewport_size(DESKTOP)
            page.goto(f"{base_url}/tech/")
            shoot(page, "tech-my-day")
            page.goto(f"{base_url}/tech/jobs/{later}")
            shoot(page, "tech-job")
            page.set_viewport_size(PHONE)

            # the engineer gives the other job to Priya while the phone has no signal: the accept
            # queued there comes back as a conflict the app shows, never lost
            page.goto(f"{base_url}/tech/jobs/{later}")
            expect(page.locator("form[data-action=accept] button")).to_be_visible()
            with session_factory() as session:
                tenants = [session.get(WorkOrder, later).tenant_id]
            perform(session_factory, NullNotifier(), later, "reassign", Actor("engineer@ironwatch.example", "engineer"),
                    tenants, technician_id=technician_id_by_name(session_factory, OTHER_TECHNICIAN_NAME),
                    reason="Priya is at the quarry anyway")
            context.set_offline(True)
            page.click("form[data-action=accept] button")
            expect(page.locator("body[data-queue='1']")).to_have_count(1)
            context.set_offline(False)
            expect(page.locator("#conflicts")).to_be_visible(timeout=30_000)
            expect(page.locator("#conflict-list")).to_contain_text(OTHER_TECHNICIAN_NAME)
            expect(page.locator("#conflict-list")).to_contain_text(f"Accept on job WO-{later:06d}, done ")
            expect(page.locator("#conflict-list")).to_contain_text("was reassigned meanwhile")
            expect(page.locator(".notice.error")).to_contain_text("no longer yours", timeout=30_000)
            expect(page.locator("#job-state")).to_have_text(f"now {OTHER_TECHNICIAN_NAME}'s")
            expect(page.locator("#sync-state")).to_be_hidden()  # no "all sent" beside "not applied"
            shoot(page, "tech-conflict")
            page.click("#conflict-list button")
            expect(page.locator("#conflicts")).to_be_hidden()
            page.goto(f"{base_url}/tech/")
            expect(page.locator(f'[data-job="{later}"]')).to_have_count(0)  # off Sam's day
            shoot(page, "tech-my-day-after")

            # push: the service worker shows a job notification; a tap opens that job
            # push: the service worker shows a job notification; a tap opens that job
            with session_factory() as session:
                payload = job_push_payload(work_order_view(session.get(WorkOrder, later)), "updated", base_url)
            cdp = context.new_cdp_session(page)
            registrations: list[dict] = []
            cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
            cdp.send("ServiceWorker.enable")
            wait_until(lambda: registrations or page.wait_for_timeout(100), what="the registration id")
            registration = next(r for r in registrations if r["scopeURL"].endswith("/tech/"))
            cdp.send("ServiceWorker.deliverPushMessage", {"origin": base_url, "registrationId":
                                                          registration["registrationId"], "data": json.dumps(payload)})
            titles = wait_until(lambda: page.evaluate(
                "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.map(x => x.title))"),
                what="the notification")
            assert titles == [payload["title"]]
            worker = context.service_workers[0]
            worker.evaluate("self.registration.getNotifications().then(function (shown) {"
                            "  self.dispatchEvent(new NotificationEvent('notificationclick', {notification: shown[0]}));"
                            "})")
            page.wait_for_url(f"**/tech/jobs/{later}", timeout=15_000)
            expect(page.locator("h1.headline")).to_contain_text("Swing gearbox")
            shoot(page, "tech-push-job")

            # a "job moved" push: its tap opens My day, not the job that is no longer Sam's
            worker.evaluate("self.registration.getNotifications().then(s => s.forEach(n => n.close()))")
            with session_factory() as session:
                moved = moved_push_payload(work_order_view(session.get(WorkOrder, later)), True, base_url)
            cdp.send("ServiceWorker.deliverPushMessage", {"origin": base_url, "registrationId":
                                                          registration["registrationId"], "data": json.dumps(moved)})
            wait_until(lambda: page.evaluate(
                "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(n => n.map(x => x.title))"
            ) == [moved["title"]], what="the job-moved notification (alone)")
            worker.evaluate("self.registration.getNotifications().then(function (shown) {"
                            "  self.dispatchEvent(new NotificationEvent('notificationclick', {notification: shown[0]}));"
                            "})")
            page.wait_for_url(f"{base_url}/tech/", timeout=15_000)
            expect(page.locator("h1")).to_have_text("My day")
            assert errors == [], errors
            context.close()
        finally:
            browser.close()
