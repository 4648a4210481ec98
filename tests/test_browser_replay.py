"""End to end in headless Chromium: Learning curves replays a real run's epochs.

Screenshots go to ``test-artifacts/browser-replay/`` (look at them): the replay at epoch 0
(random kernels) and at the last epoch, after playing.
"""

from __future__ import annotations

import numpy as np
from browser import chromium_page, no_exception, require_browser, running_app, screenshot_dir, wait_idle
from conftest import synthetic_digits, train_tiny_run


def test_the_replay_plays_from_random_kernels_to_the_last_epoch(tmp_path):
    from playwright.sync_api import expect

    require_browser()
    data = tmp_path / "data"
    data.mkdir()
    x, y = synthetic_digits(600, seed=1)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    train_tiny_run(tmp_path / "runs", data / "mnist.npz", epochs=3)
    shots = screenshot_dir("browser-replay")
    with running_app(tmp_path, data, tmp_path / "runs") as server, chromium_page() as page:
        page.goto(f"{server.url}/curves")
        wait_idle(page)
        section = page.locator(".st-key-replay")
        # A fresh server's first page view goes through the router's rerun: wait for the section itself
        expect(section.get_by_text("Epoch 3 of 3")).to_have_count(1, timeout=90_000)
        no_exception(page)
        wait_idle(page)
        page.locator(".st-key-replay_epoch input[type='range']").press("Home")  # the slider to epoch 0
        expect(section.get_by_text("Epoch 0 of 3")).to_have_count(1, timeout=30_000)
        wait_idle(page)
        expect(section.locator("img")).to_have_count(1 + 8)  # the kernels and the 8 sample images
        expect(section.locator(".js-plotly-plot")).to_have_count(3)  # confusion matrix, loss, accuracy
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(shots / "epoch-0.png"))

        page.get_by_role("button", name="Play the epochs").click()
        expect(section.get_by_text("Epoch 1 of 3")).to_have_count(1, timeout=30_000)
        expect(section.get_by_text("Epoch 3 of 3")).to_have_count(1, timeout=30_000)
        # At the end it stops by itself: the button offers to play again
        expect(page.get_by_role("button", name="Play the epochs")).to_have_count(1, timeout=30_000)
        wait_idle(page)
        no_exception(page)
        section.screenshot(path=str(shots / "last-epoch.png"))
