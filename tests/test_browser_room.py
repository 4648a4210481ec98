"""End to end in headless Chromium: a phone-sized page draws a digit on Join, and the wall on
a projector-sized page shows it. Screenshots go to ``test-artifacts/browser-room/``."""

from __future__ import annotations

import pytest
from browser import AppServer, no_exception, require_browser, screenshot_dir, wait_idle

from core.access.roles import LOCAL
from core.room.active import open_room

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("browser-room")
    (root / "data").mkdir()
    open_room("Browser test", "__default__", [str(d) for d in range(10)], LOCAL, root / "data")
    app = AppServer(root / "data", root / "runs", root / "streamlit.log")
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


def draw_a_one(page) -> None:
    canvas = page.locator("canvas").first
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    cx = box["x"] + box["width"] / 2
    page.mouse.move(cx, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(cx, box["y"] + box["height"] * (0.15 + 0.035 * k))
    page.mouse.up()


def test_a_phone_draws_on_join_and_the_wall_shows_it(server):
    from browser import CHROMIUM
    from playwright.sync_api import expect, sync_playwright

    shots = screenshot_dir("browser-room")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
            phone.goto(server.url + "/join")
            wait_idle(phone)
            no_exception(phone)
            draw_a_one(phone)
            wait_idle(phone)
            phone.get_by_role("button", name="Send my digit").click()
            expect(phone.get_by_text("The model read")).to_be_visible(timeout=30_000)
            wait_idle(phone)
            no_exception(phone)
            # Issue 27: the answer is in view on a phone without scrolling, and the sent digit cannot be sent twice
            # (a blank pad, Send disabled until the next stroke).
            expect(phone.get_by_role("button", name="Yes, that's right")).to_be_in_viewport()
            expect(phone.get_by_role("button", name="Send my digit")).to_be_disabled()
            phone.screenshot(path=str(shots / "1-phone-join.png"), full_page=True)
            phone.get_by_role("button", name="Yes, that's right").click()
            expect(phone.get_by_text("Thanks!")).to_be_visible(timeout=30_000)

            wall = browser.new_page(viewport=PROJECTOR)
            wall.goto(server.url + "/wall")
            wait_idle(wall)
            no_exception(wall)
            expect(wall.get_by_text("1 of 1")).to_be_visible(timeout=30_000)
            expect(wall.get_by_text("1 · ", exact=False).first).to_be_visible()
            wall.screenshot(path=str(shots / "2-wall.png"), full_page=True)
        finally:
            browser.close()
