"""End to end in headless Chromium: Predict (draw a digit on the pad with the shipped model)
and Evaluate. Screenshots go to ``test-artifacts/browser-use/`` (look at them)."""

from __future__ import annotations

import pytest
from browser import app_with_mnist, chromium_page, no_exception, screenshot_dir, wait_idle
from conftest import synthetic_digits


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    x, y = synthetic_digits(200, seed=3)
    with app_with_mnist(tmp_path_factory.mktemp("browser-use"), (x, y), (x[:100], y[:100])) as app:
        yield app  # no runs: only the shipped model


@pytest.fixture
def page(server):
    with chromium_page(2200) as pg:
        yield pg


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


def test_upload_a_non_digit_and_the_model_says_it_does_not_know(server, page, tmp_path):
    """A photo-like noise image given to the shipped MNIST model: "I don't know", the guess
    downgraded, and the score with its threshold on the page."""
    import numpy as np
    from PIL import Image
    from playwright.sync_api import expect

    shots = screenshot_dir("browser-use-ood")
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (160, 160)).astype(np.uint8)).save(noise)
    page.goto(server.url + "/predict")
    wait_idle(page)
    no_exception(page)
    source = page.get_by_role("radio", name="Upload")
    if source.count() == 0:  # st.pills renders as buttons in some Streamlit versions
        source = page.get_by_role("button", name="Upload", exact=True)
    expect(source).to_have_count(1, timeout=30_000)
    source.click()
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(noise))
    expect(page.get_by_role("heading", name="I don't know")).to_be_visible(timeout=30_000)
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("It would have guessed")).to_be_visible()
    expect(page.get_by_text("Unfamiliarity score")).to_be_visible()
    expect(page.get_by_text("above: I don't know")).to_be_visible()
    page.get_by_text("What does this score mean?").click()
    expect(page.get_by_text("The threshold was set on")).to_be_visible(timeout=10_000)
    page.wait_for_timeout(500)  # the expander's opening animation
    page.screenshot(path=str(shots / "1-predict-noise-i-dont-know.png"), full_page=True)
