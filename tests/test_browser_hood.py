"""End to end in headless Chromium: Under the hood trains the three ways and shows what they measured.

Screenshots go to ``test-artifacts/browser-hood/`` (look at them).
"""

from __future__ import annotations

from browser import chromium_page, demo_data, no_exception, running_app, screenshot_dir, wait_idle

from core.teaching.api_compare import WAYS


def test_the_presenter_trains_the_three_ways_and_reads_the_table(tmp_path):
    from playwright.sync_api import expect

    demo_data(tmp_path / "data", digits=400, images_per_class=4)
    shots = screenshot_dir("browser-hood")
    with running_app(tmp_path, tmp_path / "data", tmp_path / "runs") as server, chromium_page() as page:
        page.goto(f"{server.url}/hood")
        wait_idle(page)
        no_exception(page)
        # A fresh server's first page view goes through the router's rerun: wait for the page itself
        expect(page.locator("[data-testid='stCode']")).to_have_count(len(WAYS), timeout=90_000)
        page.get_by_role("radio", name="One at a time").click()
        wait_idle(page)
        page.get_by_role("tab", name="Keras", exact=True).click()
        expect(page.locator("[data-testid='stCode']:visible")).to_contain_text("model.fit(")
        page.screenshot(path=str(shots / "one-at-a-time.png"), full_page=True)

        page.get_by_role("radio", name="Quick demo").click()
        wait_idle(page)
        batches = page.get_by_label("Batches of 128 images")
        batches.fill("3")
        batches.press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Train the three").click()
        # Each way runs in its own process, one after another; the page follows them by itself.
        done = page.locator("[data-testid='stAlertContentSuccess']")
        expect(done).to_have_count(len(WAYS), timeout=240_000)
        no_exception(page)
        for label in ("Low-level TensorFlow", "Keras", "Keras + XLA"):
            expect(done.filter(has_text=f"{label}: completed")).to_have_count(1)
        expect(page.locator("[data-testid='stDataFrame']")).to_have_count(1)
        expect(page.locator(".js-plotly-plot .scatterlayer .trace")).not_to_have_count(0)
        page.screenshot(path=str(shots / "measured.png"), full_page=True)
