"""The presenter's pass, in headless Chromium: every page on a 1280x720 projector window zoomed
to 125% (a 1024x576 CSS viewport at 1.25x) and on a 390x844 phone. No exception, nothing wider
than the window (no sideways scrolling). Screenshots go to ``test-artifacts/presenter/`` (look
at them: that is the point of this test)."""

from __future__ import annotations

import numpy as np
import pytest
from browser import CHROMIUM, AppServer, no_exception, require_browser, screenshot_dir, wait_idle
from conftest import cli_env, stripes, synthetic_digits
from PIL import Image, ImageDraw, ImageFont

from core.cli import run_module
from core.roles import LOCAL, Actor
from core.room import open_room

PROJECTOR = {"viewport": {"width": 1024, "height": 576}, "device_scale_factor": 1.25}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PAGES = ["", "learn", "train", "curves", "predict", "evaluate", "join", "wall"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("presenter")
    data, runs = root / "data", root / "runs"
    data.mkdir()
    x, y = synthetic_digits(600, 1)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (data / "stripes" / cls).mkdir(parents=True)
        for i in range(12):
            stripes(o, 48, seed=i).save(data / "stripes" / cls / f"{i}.png")
    for preset in ("mnist-mlp", "keras-convnet"):
        done = run_module("train", ["--task", "mnist", "--data", str(data / "mnist.npz"), "--preset", preset,
                                    "--epochs", "3", "--runs-dir", str(runs)], env=cli_env(root))  # fmt: skip
        assert done.code == 0, done.stderr[-1000:]
    room = open_room("PyData São Paulo", "__default__", [str(d) for d in range(10)], LOCAL, data)
    for n, d in enumerate("3701"):
        img = Image.new("L", (140, 140), 255)
        ImageDraw.Draw(img).text((35, 0), d, fill=0, font=ImageFont.load_default(size=120))
        sub = room.submit(img, d if d != "1" else "7", 0.93, "drawing", Actor(f"phone{n}", False))
        room.label(sub.id, d, Actor(f"phone{n}", False))
    app = AppServer(data, runs, root / "streamlit.log")
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


@pytest.mark.parametrize("device", ["projector", "phone"])
def test_every_page_reads_on_a_projector_and_a_phone(server, device):
    from playwright.sync_api import sync_playwright

    shots = screenshot_dir(f"presenter/{device}")
    options = PROJECTOR if device == "projector" else PHONE
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(**options)
            for name in PAGES:
                page.goto(f"{server.url}/{name}")
                wait_idle(page)
                no_exception(page)
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name or 'home'} is {overflow} px wider than the {device} window"
                page.screenshot(path=str(shots / f"{name or 'home'}.png"))  # what the room sees first
                # The whole page: Streamlit scrolls inside the window, so a tall window shows it all.
                page.set_viewport_size({"width": options["viewport"]["width"], "height": 2400})
                wait_idle(page)
                page.screenshot(path=str(shots / f"{name or 'home'}-all.png"))
                page.set_viewport_size(options["viewport"])
        finally:
            browser.close()
