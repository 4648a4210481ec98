"""Português in headless Chromium: the switch in the sidebar, a reload and a shared link
(``?lang=pt-BR``) keep the language, a Brazilian browser gets Portuguese by itself, and every
page fits a projector and a phone in Portuguese (longer words than English). Screenshots go to
``test-artifacts/i18n/`` (look at them)."""

from __future__ import annotations

import re

import pytest
from browser import (
    CHROMIUM,
    demo_data,
    no_exception,
    require_browser,
    running_app,
    screenshot_dir,
    visit_every_page,
    wait_idle,
)
from conftest import seed_run

from core.access.roles import LOCAL
from core.room.active import open_room


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("i18n")
    data, runs = root / "data", root / "runs"
    demo_data(data, digits=300, images_per_class=6)
    rows = [f"{e},{1 / e:.3f},{0.5 + e / 20:.3f},{1.2 / e:.3f},{0.45 + e / 20:.3f},0.001,1.0\n" for e in range(1, 6)]
    seed_run(runs, "20261120-100000-a", "completed", rows, metrics={"accuracy": 0.9914, "loss": 0.04}, best_epoch=5,
             best_val_accuracy=0.985, epochs_done=5, epochs=5, test_accuracy=0.9914)  # fmt: skip
    open_room("PyData São Paulo", "__default__", [str(d) for d in range(10)], LOCAL, data)
    with running_app(root, data, runs) as app:
        yield app


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])


def heading(page) -> str:
    return page.locator("h1").first.inner_text()


def test_switch_reload_and_link_keep_portuguese(server):
    from playwright.sync_api import sync_playwright

    shots = screenshot_dir("i18n/switch")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{server.url}/curves")
            wait_idle(page)
            assert heading(page) == "Learning curves"
            page.screenshot(path=str(shots / "1-english.png"))

            page.get_by_role("radio", name="Português (Brasil)").click()
            page.wait_for_url(re.compile(r"lang=pt-BR"), timeout=60_000)  # the switch's rerun may start late
            wait_idle(page)
            no_exception(page)
            assert heading(page) == "Curvas de aprendizado"
            assert "lang=pt-BR" in page.url  # the address bar now says it: a reload or a copy keeps it
            assert page.get_by_role("link", name="Prever").count() == 1  # the navigation too
            page.screenshot(path=str(shots / "2-switched.png"))

            page.reload()
            wait_idle(page)
            assert heading(page) == "Curvas de aprendizado"
            page.get_by_role("link", name="Avaliar").click()  # moving to another page keeps it
            wait_idle(page)
            no_exception(page)
            assert heading(page) == "Avaliar"
            page.screenshot(path=str(shots / "3-after-reload-and-navigation.png"))

            fresh = browser.new_context(locale="en-US").new_page()  # someone opening a shared link
            fresh.goto(f"{server.url}/predict?lang=pt-BR")
            wait_idle(fresh)
            assert heading(fresh) == "Prever"
            fresh.get_by_role("radio", name="English").click()
            fresh.wait_for_url(re.compile(r"lang=en"), timeout=60_000)
            wait_idle(fresh)
            assert heading(fresh) == "Predict"
            assert "lang=en" in fresh.url
        finally:
            browser.close()


def test_a_brazilian_browser_gets_portuguese_by_itself(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(locale="pt-BR").new_page()
            page.goto(f"{server.url}/learn")
            wait_idle(page)
            assert heading(page) == "Convolução e pooling"
            english = browser.new_context(locale="en-GB").new_page()
            english.goto(f"{server.url}/learn")
            wait_idle(english)
            assert heading(english) == "Convolution and pooling"
        finally:
            browser.close()


# What Streamlit draws itself in English (pages/_widgets.py replaces it).
STREAMLIT_ENGLISH = r"Choose options|Choose an option|Select all|MB per file|Drag and drop|Browse files|\bUpload\b"


def test_streamlits_own_words_are_in_portuguese_and_uploads_still_work(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{server.url}/learn?lang=pt-BR")
            wait_idle(page)
            page.get_by_role("radio", name="Carregar").click()
            zone = page.locator("[data-testid='stFileUploaderDropzone']")
            expect(zone).to_be_visible(timeout=30_000)
            after = "(el, sel) => getComputedStyle(el.querySelector(sel), '::after').content"
            hint = zone.evaluate(after, "[data-testid='stFileUploaderDropzoneInstructions'] > div")
            assert hint.startswith('"Até 50 MB por arquivo • PNG, JPG'), hint
            assert zone.evaluate(
                after, "[data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer']"
            ) == ('"Carregar"')
            assert not re.search(STREAMLIT_ENGLISH, zone.inner_text()), zone.inner_text()
            page.screenshot(path=str(screenshot_dir("i18n/uploader") / "learn-upload.png"))
            zone.locator("input[type=file]").set_input_files(str(server.data_dir / "stripes" / "vertical" / "0.png"))
            expect(page.get_by_text("0.png").first).to_be_visible(timeout=30_000)  # the app got the file
            no_exception(page)

        finally:
            browser.close()


@pytest.mark.parametrize("device", ["projector", "phone"])
def test_every_page_in_portuguese_fits_a_projector_and_a_phone(server, device):
    def no_english(name, page):
        shown = page.locator("[data-testid='stMain']").evaluate(  # code stays as written (Under the hood)
            "el => { let t = el.innerText; el.querySelectorAll('pre').forEach(n => { t = t.replace(n.innerText, ' '); });"
            " return t; }"
        )
        text = re.sub(r"\S*/\S*", " ", shown)  # not paths
        assert not re.search(r"\b(the|and|of|your|with)\b", text), f"English on {name}"
        assert not re.search(STREAMLIT_ENGLISH, shown), f"Streamlit's English on {name}"

    visit_every_page(server, device, screenshot_dir(f"i18n/{device}"), query="?lang=pt-BR", check=no_english)
