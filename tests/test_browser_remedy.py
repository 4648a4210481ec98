"""End to end in headless Chromium: a finding's button opens Train pre-filled, and the new run has the change.

Screenshots go to ``test-artifacts/browser-remedy/`` (look at them).
"""

from __future__ import annotations

import json

from browser import chromium_page, demo_data, no_exception, running_app, screenshot_dir, wait_idle
from conftest import seed_run

from core.base.storage import write_json_atomic
from core.training import TrainConfig


def test_train_again_with_the_suggested_change(tmp_path):
    from playwright.sync_api import expect

    demo_data(tmp_path / "data", digits=400, images_per_class=4)
    runs = tmp_path / "runs"
    rows = [f"{e},{1 / e:.3f},0.9,{v},0.8,0.001,1.0\n" for e, v in enumerate([0.9, 0.5, 0.4, 0.45, 0.5, 0.6], 1)]
    old = seed_run(runs, "20261120-100000-over", "completed", rows, epochs_done=6, epochs=6)
    mnist = str((tmp_path / "data" / "mnist.npz").resolve())
    write_json_atomic(old / "config.json", TrainConfig.from_preset("mnist", mnist, "mnist-mlp",
                                                                   settings={"epochs": 1}).to_dict())  # fmt: skip
    shots = screenshot_dir("browser-remedy")
    with running_app(tmp_path, tmp_path / "data", runs) as server, chromium_page() as page:
        page.goto(f"{server.url}/curves")
        wait_idle(page)
        button = page.get_by_role("button", name="Train again with more regularisation")
        expect(button).to_have_count(1, timeout=90_000)  # after a fresh server's router rerun
        no_exception(page)
        page.screenshot(path=str(shots / "curves.png"), full_page=True)
        button.click()
        wait_idle(page)
        expect(page.get_by_text("Pre-filled from run")).to_have_count(1, timeout=60_000)
        expect(page).to_have_url(f"{server.url}/train?lang=en")  # the language goes along (pages/_router.switch_page)
        no_exception(page)
        page.screenshot(path=str(shots / "train-pre-filled.png"), full_page=True)
        page.get_by_role("button", name="Train", exact=True).click()
        wait_idle(page)
        expect(page.get_by_text("Pre-filled from run")).to_have_count(0, timeout=60_000)
        no_exception(page)
    new = [p for p in runs.iterdir() if p.is_dir() and p.name != old.name]
    assert len(new) == 1
    spec = json.loads((new[0] / "config.json").read_text())["spec"]
    assert spec["layers"][-1] == {**spec["layers"][-1], "kind": "Dropout", "rate": 0.3}
    assert spec["epochs"] == 1  # the old run's own settings came along
