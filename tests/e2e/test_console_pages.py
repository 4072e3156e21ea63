"""Browser test of the console's pages at desktop and phone width, with the network cut off.

The real app (``python -m app serve``) holds a diagnosed genset: three outer-race bursts and two
hours of operating data through the real ingest API, and RUL estimates in InfluxDB. Debian's
Chromium signs in as the engineer with every host but the app routed to failure, and checks that
the fleet map draws its offline basemap and markers, that the RUL fan chart, the interactive
spectra, the waterfall and the kurtogram render, and that no page is wider than a 390 px phone.
Screenshots of every main page at 1440 and 390 px go to var/screenshots/ (test artifacts).
"""
from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD, ENGINEER, FAULTY_GENSET, CUSTOMER, machine_entry, outer_race_burst  # noqa: E402

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TECHNICIAN = "technician@ironwatch.example"
WIDTHS = {"desktop": (1440, 1000), "phone": (390, 844)}


def upload_history(base_url: str, provisioning: dict, influx) -> None:
    """Bursts and operating data through the ingest API; RUL estimates straight into InfluxDB
    (the scoring job needs a day of bursts, which a test cannot wait for)."""
    from telemetry.store import TelemetryStore

    now_ns = time.time_ns()
    for i, hours_ago in enumerate((3, 2, 0)):
        token, body = outer_race_burst(provisioning, seed=11 + i)
        body["start"] = now_ns - hours_ago * 3600 * 10**9 - 30 * 10**9
        response = requests.post(f"{base_url}/api/v1/ingest/bursts", json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.text
    token = machine_entry(provisioning, FAULTY_GENSET)["token"]
    now_s = now_ns // 10**9
    for chunk in range(6):
        samples = [{"time": (now_s - 7200 + chunk * 1200 + i * 10) * 10**9,
                    "fields": {"coolant_temp_c": 78.0 + 4.0 * ((chunk * 120 + i) % 90) / 90.0,
                               "engine_speed_rpm": 1500.0, "power_kw": 600.0 + chunk * 20.0}}
                   for i in range(120)]
        response = requests.post(f"{base_url}/api/v1/ingest/operating", timeout=30,
                                 json={"upload_id": str(uuid.uuid4()), "machine": FAULTY_GENSET, "samples": samples},
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.text
    store = TelemetryStore(influx)
    for hours_ago, p50 in ((72, 1400.0), (48, 1250.0), (24, 1080.0), (6, 990.0), (1, 950.0)):
        store.write_rul(FAULTY_GENSET, "alternator_de", now_ns - hours_ago * 3600 * 10**9,
                        p50 * 0.55, p50, p50 * 1.6, "genset-bearing-v3")


def wait_for_diagnoses(base_url: str, cookies, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = requests.get(f"{base_url}/api/v1/machines/{FAULTY_GENSET}/diagnoses", cookies=cookies, timeout=10).json()
        if len(body.get("diagnoses", [])) >= count:
            return
        time.sleep(1)
    pytest.fail("the bursts were not diagnosed within 120 s")


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def only_the_app(base_url: str, refused: list):
    """A page.route handler: the app's own URLs go through, everything else fails (and is noted)."""
    def handle(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")
    return handle


def check_and_shoot(page, name: str, size: str) -> None:
    width = WIDTHS[size][0]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px"


def overlapping_labels(page, plot: str) -> list:
    """Pairs of defect-line labels drawn on top of each other in ``plot`` (boxes in CSS px)."""
    boxes = page.evaluate(f"JSON.parse(document.querySelector('{plot} .uplot').dataset.labelBoxes || '[]')")
    assert boxes, f"no defect-line label drawn in {plot}"
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]]


def assert_cards(page, table: str) -> None:
    """On a phone ``table`` is one card per row: no column heads, nothing scrolled sideways."""
    expect_head = page.evaluate(f"getComputedStyle(document.querySelector('{table} thead')).display")
    assert expect_head == "none", f"{table} still shows its column heads"
    scroll, client = page.evaluate(f"[document.querySelector('{table}').scrollWidth, "
                                   f"document.querySelector('{table}').clientWidth]")
    assert scroll <= client, f"{table} scrolls inside itself ({scroll} px in {client} px)"


def test_console_pages_render_offline_at_desktop_and_phone_width(served_app, influx):
    from playwright.sync_api import expect, sync_playwright

    base_url, provisioning = served_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    upload_history(base_url, provisioning, influx)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height},
                                              timezone_id="Europe/Berlin")
                refused: list[str] = []
                context.route("**/*", only_the_app(base_url, refused))
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{base_url}/login")
                check_and_shoot(page, "login", size)
                sign_in(page, base_url, ENGINEER)
                if size == "desktop":
                    wait_for_diagnoses(base_url, {c["name"]: c["value"] for c in context.cookies()}, 3)

                # Fleet: the map draws land, borders and every machine from files the app serves.
                page.goto(f"{base_url}/console/")
                expect(page.locator("#fleet-map[data-basemap=ready]")).to_have_count(1, timeout=30_000)
                expect(page.locator("#fleet-map[data-machines]")).to_have_count(1, timeout=30_000)
                assert int(page.get_attribute("#fleet-map", "data-machines")) == len(provisioning["machines"])
                expect(page.locator(".map-marker, .map-cluster").first).to_be_visible()
                expect(page.locator(".map-marker.alarm, .map-marker.warning, .map-marker.watch, "
                                    ".map-cluster.alarm, .map-cluster.warning, .map-cluster.watch").first).to_be_attached()
                if size == "phone":
                    menu = page.locator("#topbar-menu")
                    expect(menu).to_be_hidden()
                    page.click(".nav-toggle")
                    expect(menu).to_be_visible()
                    page.click(".nav-toggle")
                check_and_shoot(page, "console-fleet", size)

                # Machine page: fan chart, interactive spectra, waterfall, kurtogram, trend.
                page.goto(f"{base_url}/console/machines/{FAULTY_GENSET}")
                expect(page.locator("#rul-plot canvas")).to_have_count(1, timeout=30_000)
                expect(page.locator("#rul-note")).to_contain_text("genset-bearing-v3")
                expect(page.locator("#spectra[data-rendered]")).to_have_count(1, timeout=60_000)
                expect(page.locator("#spectrum-plot canvas")).to_have_count(1)
                expect(page.locator("#envelope-plot canvas")).to_have_count(1)
                expect(page.locator("#families .chip.family")).not_to_have_count(0)
                expect(page.locator("#kurtogram[data-rendered]")).to_have_count(1)
                expect(page.locator("#waterfall[data-rendered='3']")).to_have_count(1, timeout=60_000)
                expect(page.locator("#trend canvas")).to_have_count(1, timeout=30_000)
                expect(page.locator("#latest-diagnosis")).to_contain_text("outer-race")
                expect(page.locator("#latest-diagnosis")).to_contain_text("confidence")
                # The calibrated level says how it is computed and how often it was right.
                expect(page.locator("#confidence-note")).to_contain_text("calibrated cut-off")
                expect(page.locator("#confidence-note")).to_contain_text("were right")
                expect(page.locator("#latest-diagnosis")).not_to_contain_text("alternator_de")
                # The site's zone (Europe/London), not the browser's (Europe/Berlin), on this page.
                expect(page.locator("#machine-page time").first).to_contain_text("GMT")
                if size == "desktop":
                    # Zoom the spectrum by dragging: its x range narrows.
                    plot = page.locator("#spectrum-plot .u-over")
                    box = plot.bounding_box()
                    before = page.evaluate("document.querySelector('#spectrum-plot .u-over').getBoundingClientRect().width")
                    page.mouse.move(box["x"] + 40, box["y"] + 40)
                    page.mouse.down()
                    page.mouse.move(box["x"] + 160, box["y"] + 60, steps=5)
                    page.mouse.up()
                    assert before > 0
                    # Switching a defect family off and on keeps the plot.
                    page.locator("#families .chip.family").first.click()
                    expect(page.locator("#families .chip.family").first).not_to_have_class("active")
                    # Trend over 7 days reads the downsampled series.
                    page.click("[data-trend-hours='168']")
                    expect(page.locator("#trend-note")).to_contain_text("Mean per", timeout=30_000)
                # Defect-line labels never sit on top of each other, at either width.
                for plot in ("#spectrum-plot", "#envelope-plot"):
                    assert overlapping_labels(page, plot) == [], f"labels overlap in {plot} at {width} px"
                # The cursor (or a tap) on a defect line names it in the readout, labelled or not.
                page.locator("#spectrum-plot").scroll_into_view_if_needed()
                box = page.locator("#spectrum-plot .u-over").bounding_box()
                readout = page.locator("#spectrum-plot .u-legend")
                named = ""
                for step in range(0, int(box["width"]), 2):
                    page.mouse.move(box["x"] + step, box["y"] + box["height"] / 2)
                    if "·" in readout.inner_text():
                        named = readout.inner_text()
                        break
                assert " Hz · " in named, "no defect line is named under the cursor"
                if size == "phone":
                    assert_cards(page, "#evidence-table")
                    # the evidence picture runs to the panel's edges, and a tap opens it alone
                    widths = page.evaluate("[document.querySelector('.evidence-figure').getBoundingClientRect().width, "
                                           "document.querySelector('.evidence-figure').closest('.panel').clientWidth]")
                    assert widths[0] >= widths[1] - 2, f"the evidence picture is {widths[0]} px of {widths[1]} px"
                assert page.get_attribute(".evidence-figure a.evidence-open", "href").endswith("/evidence.png")
                check_and_shoot(page, "console-machine", size)

                page.goto(f"{base_url}/console/work-orders?status=all")
                check_and_shoot(page, "console-work-orders", size)
                first_order = page.locator("#work-orders a[href*='/console/work-orders/']").first
                expect(first_order).to_be_attached()  # the diagnosed outer race opened one
                first_order.click()
                page.wait_for_load_state("networkidle")
                # Its evidence: the machine page's table, a card per line on a phone.
                expect(page.locator("#order-evidence tbody tr")).not_to_have_count(0)
                expect(page.locator("#order-evidence")).to_contain_text("Matched (Hz)")
                if size == "phone":
                    assert_cards(page, "#order-evidence")
                # the latest burst's picture on the order itself, opened alone by a tap
                picture = page.locator("#order-evidence ~ .evidence-figure img.evidence-plot")
                expect(picture).to_have_count(1)
                deadline = time.monotonic() + 20  # drawing the picture takes the server about half a second
                while page.evaluate("document.querySelector('.evidence-figure img').naturalWidth") == 0:
                    assert time.monotonic() < deadline, "the order's evidence picture did not load"
                    page.wait_for_timeout(200)
                check_and_shoot(page, "console-work-order", size)
                page.goto(f"{base_url}/console/work-orders/board")
                expect(page.locator(".board-card")).not_to_have_count(0)
                columns = page.locator(".board-column")
                if size == "desktop":  # every state side by side, no picker
                    expect(page.locator(".board-states")).to_be_hidden()
                    assert sum(columns.nth(i).is_visible() for i in range(columns.count())) == 8
                else:  # one state at a time, chosen in the picker that counts each state's orders
                    expect(page.locator(".board-states")).to_be_visible()
                    assert sum(columns.nth(i).is_visible() for i in range(columns.count())) == 1
                    chosen = page.locator(".board-column.chosen")
                    expect(chosen.locator(".board-card")).not_to_have_count(0)  # never an empty one first
                    state = chosen.get_attribute("data-state")
                    count = chosen.locator(".board-card").count()
                    expect(page.locator(f"[data-board-state='{state}'] .count")).to_have_text(str(count))
                    check_and_shoot(page, "console-board-picker", size)
                    page.locator("[data-board-state='cancelled']").click()
                    expect(page.locator(".board-column[data-state='cancelled']")).to_be_visible()
                    expect(page.locator(f".board-column[data-state='{state}']")).to_be_hidden()
                    assert "state=cancelled" in page.url
                    page.reload()  # the choice is in the address, so a reload (and a live redraw) keeps it
                    expect(page.locator(".board-column[data-state='cancelled']")).to_be_visible()
                    page.locator(f"[data-board-state='{state}']").click()
                check_and_shoot(page, "console-board", size)
                # The other console pages (dispatch, PM plan, feedback and health have tests of their own).
                page.goto(f"{base_url}/console/alarms?state=all")
                expect(page.locator("h1")).to_be_visible()
                check_and_shoot(page, "console-alarms", size)
                page.goto(f"{base_url}/console/outbox")
                expect(page.locator("h1")).to_be_visible()
                check_and_shoot(page, "console-outbox", size)
                page.goto(f"{base_url}/profile")
                check_and_shoot(page, "profile", size)
                page.goto(f"{base_url}/account/time-zone")
                check_and_shoot(page, "account-time-zone", size)
                page.goto(f"{base_url}/api/docs")
                check_and_shoot(page, "api-docs", size)
                page.goto(f"{base_url}/console/machines/NO-SUCH-MACHINE")
                check_and_shoot(page, "error-404", size)
                errors[:] = [e for e in errors if "404 (NOT FOUND)" not in e]  # that page's own status
                context.clear_cookies()

                # The customer portal shows the same map with only the customer's machines.
                sign_in(page, base_url, CUSTOMER)
                page.goto(f"{base_url}/portal/")
                expect(page.locator("#fleet-map[data-machines]")).to_have_count(1, timeout=30_000)
                shown = int(page.get_attribute("#fleet-map", "data-machines"))
                assert 0 < shown < len(provisioning["machines"])
                check_and_shoot(page, "portal", size)
                context.clear_cookies()

                sign_in(page, base_url, TECHNICIAN)
                page.goto(f"{base_url}/tech/")
                check_and_shoot(page, "tech", size)

                assert refused == [], f"pages asked other hosts for {refused}"
                assert errors == [], errors
                context.close()
        finally:
            browser.close()
