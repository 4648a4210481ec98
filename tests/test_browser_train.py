"""End to end in headless Chromium: train an MNIST model from the browser, watch it, find it.

Screenshots go to ``test-artifacts/browser-train/`` (look at them).
"""

from __future__ import annotations

import re
import time

import pytest
from browser import app_with_mnist, chromium_page, no_exception, screenshot_dir, wait_idle
from conftest import synthetic_digits


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    x, y = synthetic_digits(2000, seed=1)
    xt, yt = synthetic_digits(200, seed=2)
    with app_with_mnist(tmp_path_factory.mktemp("browser-train"), (x, y), (xt, yt)) as app:
        yield app


@pytest.fixture
def page(server):
    with chromium_page(2600) as pg:
        yield pg


def test_train_mlp_in_the_browser_then_find_it_on_learning_curves(server, page):
    from playwright.sync_api import expect

    shots = screenshot_dir("browser-train")
    page.goto(server.url + "/train")
    wait_idle(page)
    no_exception(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Preset").first.click()
    page.get_by_role("option", name="mnist-mlp").click()
    wait_idle(page)
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("1")
    epochs.press("Enter")
    wait_idle(page)
    expect(page.get_by_text("13,002 parameters")).to_be_visible()
    page.screenshot(path=str(shots / "1-configured.png"), full_page=True)

    page.get_by_role("button", name="Train").click()
    # Progress appears (queued -> running -> done) without any reload, and no wait is silent: each
    # phase before the first batch is on the progress bar in words, with its seconds so far.
    seen, done = [], page.get_by_text("completed: test accuracy").first
    deadline = time.monotonic() + 180
    while not done.is_visible() and time.monotonic() < deadline:
        texts = page.locator("[data-testid='stProgress']").all_inner_texts()  # no wait: a rerun may replace it
        text = texts[0].strip() if texts else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(200)
    expect(done).to_be_visible()
    early = [t for t in seen if re.search(r"\.\.\. \(\d+ s\)$", t)]
    assert early, seen
    words = {re.sub(r" \(\d+ s\)$", "", t.split(": ", 1)[-1]) for t in early}
    assert words <= {"Starting Python and TensorFlow...", "Starting: loading TensorFlow...",
                     "Loading and checking the data...", "Building the model...",
                     "Compiling the training step: the first batch takes longer..."}, words  # fmt: skip
    assert len(words) >= 2, seen  # more than one phase, each in its own words
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("Accuracy").first).to_be_visible()
    page.screenshot(path=str(shots / "2-finished.png"), full_page=True)

    page.get_by_role("link", name="Compare on Learning curves").click()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Learning curves")).to_be_visible()
    expect(page.locator("[data-testid='stMarkdownContainer']").filter(has_text="mnist-mlp").first).to_be_visible()
    no_exception(page)
    page.screenshot(path=str(shots / "3-learning-curves.png"), full_page=True)
