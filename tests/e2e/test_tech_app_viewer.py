"""The evidence picture of a job opens in a viewer on the job page, not as a bare PNG in a new tab.

A real outer-race burst goes through the served app's ingest and diagnosis, which opens a work
order with the burst as its evidence; the engineer gives it to the demo technician. On the phone
(390 px) and a desktop (1440 px) "See the evidence picture" opens a full-screen viewer on the same
page: the picture as large as it fits, + / - buttons, a two-finger pinch (CDP touch events), Close
and Escape back to the job. My day stores the picture with the job, so with no signal the viewer
still shows it. Screenshots: tech-evidence-viewer-{390,1440}.png, -zoomed-390, tech-job-evidence-390.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import FAULTY_GENSET, outer_race_burst  # noqa: E402
from field_helpers import technician_id_by_name  # noqa: E402
from tech_app_helpers import DESKTOP, PHONE, phone_context, shoot, sign_in_with_day_stored, watched_page  # noqa: E402

pytestmark = pytest.mark.e2e

#: The picture's drawn width (object-fit: contain draws it inside its box), the frame's, and how
#: wide the page is.
GEOMETRY = """(() => { const img = document.querySelector('#evidence-viewer .viewer-picture');
  const p = img.getBoundingClientRect(), f = img.parentElement.getBoundingClientRect();
  const drawn = img.naturalWidth ? Math.min(p.width, p.height * img.naturalWidth / img.naturalHeight) : 0;
  return { picture: drawn, frame: f.width, page: document.documentElement.scrollWidth, natural: img.naturalWidth }; })()"""


def diagnosed_job(base_url: str, provisioning: dict, sessions) -> int:
    """A work order the served app's own diagnosis opened for an outer-race burst, given to the demo
    technician by the engineer; returns its id."""
    from sqlalchemy import select

    from fleet.lifecycle import Actor
    from fleet.models import Machine, WorkOrder
    from fleet.notify import NullNotifier
    from fleet.order_actions import perform

    token, body = outer_race_burst(provisioning)
    response = requests.post(f"{base_url}/api/v1/ingest/bursts", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while True:
        with sessions() as session:
            order = session.scalars(select(WorkOrder).join(Machine, WorkOrder.machine_id == Machine.id)
                                    .where(Machine.uid == FAULTY_GENSET)).first()
            if order is not None and (order.evidence or {}).get("burst_ids"):
                order_id, tenants = order.id, [order.tenant_id]
                break
        assert time.monotonic() < deadline, "the diagnosis opened no work order"
        time.sleep(0.5)
    perform(sessions, NullNotifier(), order_id, "assign", Actor("engineer@ironwatch.example", "engineer"), tenants,
            technician_id=technician_id_by_name(sessions, "Sam Okafor"))
    return order_id


def pinch(cdp, x: float, y: float, start: float, end: float, steps: int = 8) -> None:
    """Two fingers around (x, y), from ``start`` to ``end`` px apart, as the phone's touch screen sends them."""
    def fingers(gap):
        return [{"x": x - gap / 2, "y": y, "id": 1}, {"x": x + gap / 2, "y": y, "id": 2}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                              "touchPoints": fingers(start + (end - start) * i / steps)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_evidence_picture_opens_in_a_viewer_on_the_page_also_offline(served_app, session_factory):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    job = diagnosed_job(base_url, provisioning, session_factory)
    with sync_playwright() as playwright, phone_context(playwright, device_scale_factor=2) as context:
        page, errors = watched_page(context)
        # My day stores the job and its picture for the quarry
        sign_in_with_day_stored(page, base_url)
        pictures_stored = page.locator("body[data-pictures-cached='1']").count()
        page.goto(f"{base_url}/tech/jobs/{job}")
        job_url = page.url
        shoot(page, "tech-job-evidence")

        page.click("#evidence-open")
        viewer = page.locator("#evidence-viewer")
        expect(viewer).to_be_visible()
        expect(viewer).to_have_attribute("data-picture", "ready", timeout=30_000)
        assert page.url == job_url  # the same page, not the PNG
        whole = page.evaluate(GEOMETRY)
        assert whole["natural"] > 0 and abs(whole["picture"] - whole["frame"]) <= 1  # full width
        expect(viewer.locator(".viewer-scale")).to_have_text("Whole picture")
        shoot(page, "tech-evidence-viewer", full_page=False)

        page.click("#evidence-viewer [data-zoom='1']")
        page.click("#evidence-viewer [data-zoom='1']")
        expect(viewer).to_have_attribute("data-zoom", "2")
        zoomed = page.evaluate(GEOMETRY)
        assert zoomed["picture"] > 1.9 * whole["picture"] and zoomed["page"] <= PHONE["width"]
        shoot(page, "tech-evidence-viewer-zoomed", full_page=False)
        page.click("#evidence-viewer [data-zoom='-1']")
        page.click("#evidence-viewer [data-zoom='-1']")
        expect(viewer).to_have_attribute("data-zoom", "1")

        # two fingers spread on the picture zoom it in
        cdp = context.new_cdp_session(page)
        box = viewer.locator(".viewer-frame").bounding_box()
        pinch(cdp, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 80, 240)
        expect(viewer).not_to_have_attribute("data-zoom", "1")  # the touch events reached the page
        assert float(viewer.get_attribute("data-zoom")) > 2
        cdp.detach()
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        assert page.evaluate("document.activeElement.id") == "evidence-open"  # back where the finger was

        # no signal: the job and its picture come from the phone
        assert pictures_stored == 1
        context.set_offline(True)
        page.reload()
        expect(page.locator("#net-state")).to_contain_text("Offline")
        page.click("#evidence-open")
        expect(viewer).to_have_attribute("data-picture", "ready", timeout=30_000)
        assert page.evaluate(GEOMETRY)["natural"] > 0
        page.click("#evidence-viewer .viewer-close")
        expect(viewer).to_be_hidden()
        context.set_offline(False)

        page.set_viewport_size(DESKTOP)
        page.click("#evidence-open")
        expect(viewer).to_have_attribute("data-picture", "ready")
        wide = page.evaluate(GEOMETRY)
        assert wide["page"] <= DESKTOP["width"] and wide["picture"] <= wide["frame"] + 1
        shoot(page, "tech-evidence-viewer", full_page=False)
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        assert errors == [], errors
