"""End to end in headless Chromium: the Architecture race page shows a recorded race and replays it.

Screenshots go to ``test-artifacts/browser-race/`` (look at them). The slow test runs a real race
on ``../shared/data/mnist/mnist.npz`` through the page and saves ``test-artifacts/browser-race-real/``
(screenshots and ``results.json``).
"""

from __future__ import annotations

import json
import re

import pytest
from browser import chromium_page, demo_data, no_exception, require_browser, running_app, screenshot_dir, wait_idle
from conftest import SHARED_DATA, requires_shared, seed_race, very_slow

STOPWATCH = "[data-testid='stMetricValue']"


def stopwatch(page) -> float:
    return float(re.sub(r"[^0-9.]", "", page.locator(STOPWATCH).first.inner_text()))


def test_a_recorded_race_replays_at_ten_times_its_pace(tmp_path):
    from playwright.sync_api import expect

    require_browser()
    demo_data(tmp_path / "data", digits=200, images_per_class=4)
    seed_race(tmp_path / "runs")
    shots = screenshot_dir("browser-race")
    with running_app(tmp_path, tmp_path / "data", tmp_path / "runs") as server, chromium_page(height=2700) as page:
        page.goto(f"{server.url}/race")
        wait_idle(page)
        no_exception(page)
        # A fresh server's first page view goes through the router's rerun: wait for the page itself
        expect(page.locator(".js-plotly-plot")).to_have_count(1, timeout=90_000)
        expect(page.get_by_text("fast wins")).to_have_count(1)
        expect(page.locator(".js-plotly-plot .scatterlayer .trace")).not_to_have_count(0)
        assert stopwatch(page) == 70.0
        page.screenshot(path=str(shots / "finished.png"), full_page=True)

        page.get_by_role("radio", name="10×").click()
        wait_idle(page)
        page.get_by_role("button", name="Replay").click()
        expect(page.get_by_text("Replay at 10×")).to_have_count(1, timeout=30_000)
        page.wait_for_function(  # the stopwatch runs: 20 to 60 s of the race, a few real seconds in
            f"() => {{ const t = parseFloat(document.querySelector(\"{STOPWATCH}\")?.innerText); return t > 20 && t < 60; }}",
            timeout=30_000,
        )  # fmt: skip
        no_exception(page)
        page.screenshot(path=str(shots / "replay-mid.png"), full_page=True)
        expect(page.get_by_text("Replay at 10×")).to_have_count(0, timeout=30_000)  # 70 s of race at 10x: 7 s
        assert stopwatch(page) == 70.0
        no_exception(page)
        page.screenshot(path=str(shots / "replay-end.png"), full_page=True)


@pytest.mark.slow
@requires_shared
@very_slow
def test_a_real_mnist_race_through_the_page(tmp_path):
    """The page's default racers (mnist-fast vs mnist-mlp), 2 epochs each, on the real MNIST (a few minutes)."""
    from playwright.sync_api import expect

    from core.teaching.race_results import races

    require_browser()
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist.npz").symlink_to(SHARED_DATA / "mnist" / "mnist.npz")
    shots = screenshot_dir("browser-race-real")
    with running_app(tmp_path, data, tmp_path / "runs") as server, chromium_page(height=2700) as page:
        page.goto(f"{server.url}/race")
        wait_idle(page)
        expect(page.get_by_role("button", name="Start the race")).to_be_enabled(timeout=90_000)
        epochs = page.locator("input[aria-label='Epochs for each']")
        epochs.fill("2")
        epochs.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Start the race").click()
        expect(page.get_by_text("Stop the race")).to_have_count(1, timeout=60_000)
        page.wait_for_timeout(60_000)
        no_exception(page)
        page.screenshot(path=str(shots / "live.png"), full_page=True)
        expect(page.get_by_role("button", name="Stop the race")).to_have_count(0, timeout=900_000)
        wait_idle(page)
        no_exception(page)
        page.screenshot(path=str(shots / "finished.png"), full_page=True)
        page.get_by_role("radio", name="10×").click()
        wait_idle(page)
        page.get_by_role("button", name="Replay").click()
        expect(page.get_by_text("Replay at 10×")).to_have_count(1, timeout=30_000)
        page.wait_for_timeout(4_000)
        page.screenshot(path=str(shots / "replay.png"), full_page=True)

    import os

    os.environ["CNNLAB_RUNS_DIR"] = str(tmp_path / "runs")
    (found,) = races()
    winner = found.winner()
    summary = {"winner": winner.label if winner else None, "target": found.target, "racers": [
        {"label": r.label, "status": r.status, "seconds_to_target": r.seconds_to_target, "best": r.best_accuracy,
         "test": r.test_accuracy, "points": r.points, "params": r.params, "macs": r.macs,
         "estimated_epoch_seconds": r.estimated_epoch_seconds, "measured_epoch_seconds": r.measured_epoch_seconds,
         "threads": r.threads, "cpus": r.cpus, "shared": r.shared} for r in found.racers]}  # fmt: skip
    (shots / "results.json").write_text(json.dumps(summary, indent=1))
    assert all(r.status == "completed" for r in found.racers), [r.error for r in found.racers]
