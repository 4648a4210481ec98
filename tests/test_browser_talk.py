"""Talk mode in headless Chromium, two browsers: the presenter (a projector, with the key) starts a
deck and presses the right arrow three times; the audience's phone on Follow shows each step within
2 s; a phone that opens Follow late lands on step 4. Then Page Down, Page Up and space (a clicker's
keys); a move made from another device reaches the projector; an arrow typed in a field moves nothing.
Screenshots go to ``test-artifacts/talk/``."""

from __future__ import annotations

import time

import pytest
from browser import (
    CHROMIUM,
    PHONE,
    PROJECTOR,
    AppServer,
    no_exception,
    require_browser,
    screenshot_dir,
    wait_idle,
)

from core.access.roles import LOCAL
from core.talk.library import library
from core.talk.live import go_to, live_talk

KEY = "presenter-key-of-the-talk"
FOLLOW_WITHIN = 2.0  # seconds, the bound (the page polls twice a second)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("browser-talk")
    (root / "data").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CNNLAB_PRESENTER_KEY", KEY)  # every other browser is audience
        app = AppServer(root / "data", root / "runs", root / "streamlit.log")
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


def step_title(page) -> str:
    return page.locator("[data-testid='stMain'] h3").first.inner_text(timeout=10_000).strip()


def wait_for_title(page, title: str, timeout: float) -> float:
    """Seconds until the phone's step title is ``title`` (fails after ``timeout``)."""
    start = time.monotonic()
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('[data-testid=\"stMain\"] h3')].some(h => h.innerText.trim() === t)",
        arg=title, timeout=timeout * 1000, polling=50,
    )  # fmt: skip
    return time.monotonic() - start


def press(page, key: str) -> None:
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no widget has the keyboard
    page.keyboard.press(key)


def test_the_audience_follows_the_presenters_arrows_within_two_seconds(server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = screenshot_dir("talk")
    deck = library(server.data_dir).find("three-apis", "en")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            presenter = browser.new_context(**PROJECTOR).new_page()
            phone = browser.new_context(**PHONE).new_page()
            presenter.goto(f"{server.url}/talk?key={KEY}")
            wait_idle(presenter)
            presenter.locator(".st-key-talk_start_three-apis button").click()
            presenter.wait_for_selector(".st-key-talk_next button", timeout=30_000)
            wait_idle(presenter)
            no_exception(presenter)
            phone.goto(f"{server.url}/follow")
            wait_for_title(phone, deck.steps[0].title, 60)
            wait_idle(phone)
            phone.screenshot(path=str(shots / "phone-step-1.png"))

            lags = []
            for i in (1, 2, 3):
                press(presenter, "ArrowRight")
                lags.append(wait_for_title(phone, deck.steps[i].title, FOLLOW_WITHIN))
                assert live_talk(server.data_dir).step == i
                no_exception(phone)
                wait_idle(phone)
                phone.screenshot(path=str(shots / f"phone-step-{i + 1}.png"))
                wait_idle(presenter)
                presenter.screenshot(path=str(shots / f"presenter-step-{i + 1}.png"))
            assert max(lags) <= FOLLOW_WITHIN, lags
            (shots / "lags.txt").write_text(" ".join(f"{lag:.2f}" for lag in lags) + "\n")

            late = browser.new_context(**PHONE).new_page()
            late.goto(f"{server.url}/follow")
            wait_for_title(late, deck.steps[3].title, 60)
            assert "step 4 of" in late.locator("[data-testid='stMain']").inner_text()
            wait_idle(late)
            late.screenshot(path=str(shots / "late-phone.png"))

            # A clicker's keys: Page Down and space forward, Page Up back.
            for key, step in (("PageDown", 4), ("Space", 5), ("PageUp", 4), ("ArrowLeft", 3)):
                press(presenter, key)
                wait_for_title(phone, deck.steps[step].title, FOLLOW_WITHIN)
                wait_idle(presenter)
            # A move made elsewhere (the presenter's phone as a remote) reaches the projector's tab too.
            go_to(6, LOCAL, root=server.data_dir)
            presenter.wait_for_function(
                "(t) => [...document.querySelectorAll('.st-key-talk_bar p')].some(p => p.innerText.includes(t))",
                arg=f"7/{len(deck.steps)}", timeout=5_000, polling=100,
            )  # fmt: skip
            go_to(3, LOCAL, root=server.data_dir)
            wait_for_title(phone, deck.steps[3].title, FOLLOW_WITHIN)
            # An arrow typed in a field edits the field; the talk stays (step 4 is Train, with the preset's table).
            field = presenter.locator("[data-testid='stMain'] [data-testid='stNumberInput'] input").first
            field.wait_for(timeout=30_000)
            field.focus()
            presenter.keyboard.press("ArrowRight")
            presenter.keyboard.press("PageDown")
            time.sleep(1.0)
            assert live_talk(server.data_dir).step == 3
            # An audience phone has no bar: its arrows move nothing.
            phone.keyboard.press("ArrowRight")
            time.sleep(1.0)
            assert live_talk(server.data_dir).step == 3
            assert phone.locator(".st-key-talk_next").count() == 0
        finally:
            browser.close()
