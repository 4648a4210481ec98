"""End to end in headless Chromium: Predict (draw a digit on the pad with the shipped model)
and Evaluate. Screenshots go to ``test-artifacts/browser-use/`` (look at them)."""

from __future__ import annotations

import numpy as np
import pytest
from browser import AppServer, require_browser, screenshot_dir, wait_idle
from conftest import synthetic_digits


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("browser-use")
    data = root / "data"
    data.mkdir()
    x, y = synthetic_digits(200, seed=3)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    app = AppServer(data, root / "runs", root / "streamlit.log")  # no runs: only the shipped model
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


@pytest.fixture
def page(server):
    from browser import CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        pg = browser.new_page(viewport={"width": 1600, "height": 2200})
        yield pg
        browser.close()


def no_exception(page) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def test_draw_a_one_and_the_shipped_model_reads_it(server, page):
    from playwright.sync_api import expect

    shots = screenshot_dir("browser-use")
    page.goto(server.url + "/predict")
    wait_idle(page)
    no_exception(page)
    canvas = page.locator("canvas").first
    expect(canvas).to_be_visible(timeout=30_000)
    box = canvas.bounding_box()
    cx = box["x"] + box["width"] / 2
    page.mouse.move(cx, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for k in range(1, 21):  # a vertical stroke: a "1"
        page.mouse.move(cx, box["y"] + box["height"] * (0.15 + 0.035 * k))
    page.mouse.up()
    expect(page.get_by_role("heading", name="1", exact=True)).to_be_visible(timeout=30_000)
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("What the model sees: 28x28x1")).to_be_visible()
    expect(page.get_by_text("Grad-CAM for '1'")).to_be_visible()
    page.screenshot(path=str(shots / "1-predict-drawing.png"), full_page=True)

    page.get_by_role("button", name="Clear").click()
    wait_idle(page)
    no_exception(page)


def test_evaluate_page_with_the_shipped_model(server, page):
    from playwright.sync_api import expect

    shots = screenshot_dir("browser-use-evaluate")
    page.goto(server.url + "/evaluate")
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("Accuracy").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Gallery: predicted (true)")).to_be_visible()
    page.screenshot(path=str(shots / "2-evaluate.png"), full_page=True)
