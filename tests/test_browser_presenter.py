"""The presenter's pass, in headless Chromium: every page on a 1280x720 projector window zoomed
to 125% (a 1024x576 CSS viewport at 1.25x) and on a 390x844 phone. No exception, nothing wider
than the window (no sideways scrolling). Screenshots go to ``test-artifacts/presenter/`` (look
at them: that is the point of this test)."""

from __future__ import annotations

import pytest
from browser import demo_data, require_browser, running_app, screenshot_dir, visit_every_page
from conftest import cli_env
from PIL import Image, ImageDraw, ImageFont

from core.access.roles import LOCAL, Actor
from core.base.cli import run_module
from core.room.active import open_room


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    root = tmp_path_factory.mktemp("presenter")
    data, runs = root / "data", root / "runs"
    demo_data(data, digits=600, images_per_class=12)
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
    with running_app(root, data, runs) as app:
        yield app


def readable(name: str, page) -> None:
    """What must read on both screens, beyond fitting the window."""
    if name == "learn":  # one cell's arithmetic: three number grids whose numbers overlapped on a phone
        grids = page.locator(".cnnlab-grid").evaluate_all("els => els.map(e => e.getBoundingClientRect().toJSON())")
        assert len(grids) == 3
        width = page.evaluate("() => window.innerWidth")
        assert all(g["right"] <= width for g in grids), grids
        for i, a in enumerate(grids):
            for b in grids[i + 1 :]:
                apart = a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"]
                assert apart or b["bottom"] <= a["top"], (a, b)
        tight = page.locator(".cnnlab-grid td").evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth)")
        assert tight == [], "a number is wider than its cell"


@pytest.mark.parametrize("device", ["projector", "phone"])
def test_every_page_reads_on_a_projector_and_a_phone(server, device):
    visit_every_page(server, device, screenshot_dir(f"presenter/{device}"), check=readable)
