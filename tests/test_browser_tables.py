"""End to end in headless Chromium: upload a CSV, train table-tutorial on it, predict new rows, download them.

Screenshots go to ``test-artifacts/browser-tables/`` (look at them).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from browser import chromium_page, no_exception, running_app, screenshot_dir, wait_idle

ROWS = 120
NEW_ROWS = 8


def shop_csv(n: int, seed: int, target: bool = True) -> bytes:
    """A spreadsheet export: semicolons, decimal commas, a category; price = 3 * size + 10 per room (+ noise)."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 120, n).round(1)
    rooms = rng.integers(1, 6, n)
    district = rng.choice(["north", "south", "east"], n)
    price = 3 * size + 10 * rooms + rng.normal(0, 5, n).round(1)
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "size": size, "rooms": rooms, "district": district})
    if target:
        frame["price"] = price.round(1)
    return frame.to_csv(sep=";", decimal=",", index=False).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-tables")
    (root / "data").mkdir()
    with running_app(root, root / "data", root / "runs") as app:
        yield app


@pytest.fixture
def page(server):
    with chromium_page(2600) as pg:
        yield pg


def pick(page, label: str, option: str) -> None:
    """Chooses ``option`` in the selectbox labelled ``label``."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def test_upload_a_csv_train_the_tutorial_then_predict_and_download(server, page, tmp_path):
    from playwright.sync_api import expect

    shots = screenshot_dir("browser-tables")
    page.goto(server.url + "/train")
    wait_idle(page)
    expect(page.get_by_role("radio", name="Table (CSV)")).to_have_count(1, timeout=60_000)
    page.get_by_role("radio", name="Table (CSV)").click()
    wait_idle(page)
    no_exception(page)
    pick(page, "CSV file", "Upload a CSV...")
    upload = tmp_path / "shop.csv"
    upload.write_bytes(shop_csv(ROWS, seed=1))
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(upload))
    wait_idle(page)
    expect(page.get_by_text("semicolon").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(shots / "1-uploaded.png"), full_page=True)
    page.get_by_role("button", name="Save it and use it").click()
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text(f"{ROWS} data rows").first).to_be_visible(timeout=30_000)

    pick(page, "Column to predict", "price")
    expect(page.get_by_text("Proposed from the column: regression").first).to_be_visible()
    pick(page, "Preset", "table-tutorial")
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("30")
    epochs.press("Enter")
    wait_idle(page)
    no_exception(page)
    page.screenshot(path=str(shots / "2-configured.png"), full_page=True)

    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("completed: test MAE").first).to_be_visible(timeout=180_000)
    wait_idle(page)
    no_exception(page)
    page.screenshot(path=str(shots / "3-trained.png"), full_page=True)

    page.goto(server.url + "/predict")
    wait_idle(page)
    expect(page.get_by_text("A CSV of rows")).to_have_count(1, timeout=60_000)
    rows = tmp_path / "new.csv"
    rows.write_bytes(shop_csv(NEW_ROWS, seed=2, target=False))
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(rows))
    wait_idle(page)
    no_exception(page)
    button = page.get_by_role("button", name="Download the rows with predictions (CSV)")
    expect(button).to_be_visible(timeout=60_000)
    page.screenshot(path=str(shots / "4-predicted.png"), full_page=True)
    with page.expect_download() as info:
        button.click()
    got = pd.read_csv(io.BytesIO(open(info.value.path(), "rb").read()))
    assert len(got) == NEW_ROWS
    assert {"size", "rooms", "district", "prediction"} <= set(got.columns)
    assert got["prediction"].notna().all()
    assert np.isfinite(got["prediction"].astype(float)).all()

    page.get_by_role("tab", name="One row").click()
    wait_idle(page)
    page.get_by_role("button", name="Predict this row").click()
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("price:").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(shots / "5-one-row.png"), full_page=True)

    page.goto(server.url + "/evaluate")
    wait_idle(page)
    expect(page.get_by_text("R²").first).to_be_visible(timeout=60_000)
    no_exception(page)
    page.screenshot(path=str(shots / "6-evaluate.png"), full_page=True)

    page.goto(server.url + "/curves")
    wait_idle(page)
    expect(page.get_by_text("MAE (mean absolute error)").first).to_be_visible(timeout=60_000)
    no_exception(page)
    page.screenshot(path=str(shots / "7-curves.png"), full_page=True)
