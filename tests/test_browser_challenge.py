"""End to end in headless Chromium: two phone-sized tabs design and send networks on Join, the Wall's
leaderboard shows both, the presenter ends the challenge, makes the winner the room's model, and the
next digit drawn on Join goes to it. Screenshots go to ``test-artifacts/browser-challenge/``."""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import pytest
from browser import AppServer, no_exception, require_browser, screenshot_dir, wait_idle
from conftest import synthetic_digits
from test_browser_room import draw_a_one

from core.access.roles import LOCAL
from core.challenge.contest import Challenge
from core.challenge.rules import ChallengeSettings
from core.room.active import active_room, open_room
from core.runs.jobs import JobManager

PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1280, "height": 720}


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """``os.environ`` with ``values`` for a while: the challenge opens with them, the server starts with them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module", params=["local", "ray"])
def server(request, tmp_path_factory):
    """The app with an MNIST challenge open, its entries training on the local engine or on a Ray cluster."""
    require_browser()
    root = tmp_path_factory.mktemp(f"browser-challenge-{request.param}")
    data = root / "data"
    data.mkdir()
    x, y = synthetic_digits(600, seed=1)
    xt, yt = synthetic_digits(100, seed=2)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=xt, y_test=yt)
    env = {"CNNLAB_DATA_DIR": str(data), "CNNLAB_RAY_ADDRESS": ""}
    cluster = None
    if request.param == "ray":
        pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-cluster.txt)")
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
        env["CNNLAB_RAY_ADDRESS"] = cluster.address
    try:
        with environment(env):
            room = open_room("Browser challenge", "__default__", [str(d) for d in range(10)], LOCAL, data)
            settings = ChallengeSettings(data="mnist", max_epochs=2, minutes=30)
            assert Challenge.open(room, settings, LOCAL, JobManager(root / "runs")).settings().engine == request.param
            app = AppServer(data, root / "runs", root / "streamlit.log")
        try:
            app.wait_ready()
            app.engine = request.param
            yield app
        finally:
            app.stop()
    finally:
        if cluster is not None:
            cluster.shutdown()


def send_network(page, name: str, add_layers: bool) -> None:
    from playwright.sync_api import expect

    name_box = page.get_by_label("Name of your network")
    name_box.wait_for(timeout=60_000)
    removes = page.locator('[class*="st-key-join_remove_"] button')
    while removes.count():  # start from an empty network, whatever the picker proposes
        removes.first.click()
        wait_idle(page)
    if add_layers:  # a convolution (the picker's first choice), then a max pooling: within the default budget
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator('[class*="st-key-join_layer_0"]')).to_contain_text("Convolution", timeout=30_000)
        wait_idle(page)
        page.get_by_text("Max pooling", exact=True).click()
        wait_idle(page)
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator('[class*="st-key-join_layer_1"]')).to_contain_text("Max pooling", timeout=30_000)
        wait_idle(page)
    name_box.fill(name)
    name_box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Send my network").click()
    expect(page.get_by_text("waits its turn to train")).to_be_visible(timeout=30_000)
    no_exception(page)


def test_two_phones_send_networks_and_the_wall_crowns_the_winner(server):
    from browser import CHROMIUM
    from playwright.sync_api import expect, sync_playwright

    shots = screenshot_dir(f"browser-challenge-{server.engine}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            phones = [browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page() for _ in range(2)]
            for phone, name, add in zip(phones, ("Ana", "Bia"), (True, False)):  # Bia: one Dense layer over the pixels
                phone.goto(server.url + "/join")
                wait_idle(phone)
                send_network(phone, name, add)
            phones[0].screenshot(path=str(shots / "phone-sent.png"), full_page=True)

            wall = browser.new_page(viewport=PROJECTOR)
            wall.goto(server.url + "/wall")
            wait_idle(wall)
            for name in ("Ana", "Bia"):
                expect(wall.get_by_text(name, exact=True).first).to_be_attached(timeout=60_000)  # the table's cell
            room = active_room(server.data_dir)
            challenge = Challenge(room, JobManager(server.runs_dir))
            deadline = time.time() + 240
            while time.time() < deadline and any(r.active or r.rank is None for r in challenge.rows()):
                time.sleep(1)
            assert [r.status for r in challenge.rows()] == ["completed", "completed"]
            engines = {challenge.manager.store.get(r.run_id).status().get("engine", "local") for r in challenge.rows()}
            assert engines == {server.engine}
            wall.screenshot(path=str(shots / "wall-leaderboard.png"))

            wall.get_by_role("button", name="End now").click()
            wall.get_by_role("button", name="Yes, end it").click()
            expect(wall.get_by_text("wins:")).to_be_visible(timeout=30_000)
            winner = challenge.rows()[0]
            wall.get_by_role("button", name="Make it the room's model").click()
            expect(wall.get_by_text("The room uses it now")).to_be_visible(timeout=30_000)
            wall.screenshot(path=str(shots / "wall-winner.png"))
            no_exception(wall)
            assert room.settings().model == winner.run_id

            phone = phones[1]
            phone.reload()
            wait_idle(phone)
            draw_a_one(phone)
            wait_idle(phone)
            phone.get_by_role("button", name="Send my digit").click()
            expect(phone.get_by_text("The model read")).to_be_visible(timeout=60_000)
            no_exception(phone)
            phone.screenshot(path=str(shots / "phone-after.png"), full_page=True)
            assert len(room.submissions()) == 1  # answered by the winner, the room's model now
        finally:
            browser.close()
