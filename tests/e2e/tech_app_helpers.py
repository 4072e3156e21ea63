"""What the technicians' app browser tests share: Debian's Chromium, the phone and desktop sizes,
signing in, and the screenshot that checks the page is no wider than the screen and that every
visible control is a 48 px target on a phone."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from app_helpers import DEMO_PASSWORD  # noqa: E402
from field_helpers import TECHNICIAN  # noqa: E402
from push_receiver import wait_for  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1440, "height": 1000}
#: Visible controls shorter than a gloved fingertip (48 px), as "tag#id.class: height".
SMALL_TARGETS = """Array.from(document.querySelectorAll('button, a, select, input, summary, textarea'))
  .filter(e => !e.closest('.leaflet-container') && !e.classList.contains('visually-hidden'))
  .map(e => [e, /^(radio|checkbox)$/.test(e.type) && e.closest('label') ? e.closest('label') : e])
  .filter(([e, target]) => { const r = target.getBoundingClientRect(); return r.width > 0 && r.height > 0
                             && r.height < 48; })
  .map(([e, target]) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ': '
       + Math.round(target.getBoundingClientRect().height))"""


def shoot(page, name: str, full_page: bool = True) -> None:
    """Screenshot at the page's viewport width; it must not scroll sideways, and on a phone every
    visible control must be a 48 px target. (Evaluated through CDP, which the page's CSP allows.)
    ``full_page=False`` for what covers the screen (a dialog), which a full-page shot stretches."""
    viewport = page.viewport_size["width"]
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # the sticky header then sits at the top of the full-page shot
    width = page.evaluate("document.documentElement.scrollWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}.png"), full_page=full_page)
    assert width <= viewport, f"{name} is {width} px wide at {viewport} px"
    if viewport <= PHONE["width"]:
        small = page.evaluate(SMALL_TARGETS)
        assert small == [], f"{name}: controls under 48 px: {small}"


def shoot_small_phone(page, name: str) -> None:
    """The same screen at 360 px (a small Android), then back to 390."""
    page.set_viewport_size(SMALL_PHONE)
    shoot(page, name)
    page.set_viewport_size(PHONE)


def sign_in(page, base_url: str, email: str = TECHNICIAN) -> None:
    """Sign in on ``page``; the technician lands on My day."""
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tech/")


@contextmanager
def phone_context(playwright, **options):
    """Debian's Chromium with one browser context shaped as a phone at 390 px (touch); closed after."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser.new_context(**{"viewport": PHONE, "has_touch": True, "is_mobile": True, **options})
    finally:
        browser.close()


def watched_page(context) -> tuple:
    """A new page of ``context`` and the list its uncaught script errors go to."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def sign_in_with_day_stored(page, base_url: str, jobs: int = 1) -> None:
    """Sign in and wait until the service worker controls My day and has stored its ``jobs`` job
    pages (the page's CSP forbids eval, so this waits on the attributes the app sets)."""
    from playwright.sync_api import expect

    sign_in(page, base_url)
    expect(page.locator(f"body[data-sw=ready][data-jobs-cached='{jobs}']")).to_have_count(1, timeout=60_000)


def wait_until(predicate, timeout_s: float = 30.0, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (returned) or ``timeout_s`` has passed (a browser on a
    loaded machine gets the generous default)."""
    return wait_for(predicate, timeout_s, what)
