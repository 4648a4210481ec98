"""End to end in headless Chromium: train an MNIST model from the browser, watch it, find it.

Screenshots go to ``test-artifacts/browser-train/`` (look at them).
"""

from __future__ import annotations

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
    # Progress appears (queued -> running -> done) without any reload.
    expect(page.get_by_text("completed: test accuracy").first).to_be_visible(timeout=120_000)
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
