"""A real app server and headless Chromium for end-to-end tests.

Chromium is Debian's (``apt-get install -y chromium``), driven by Playwright's Python
package with ``executable_path`` (browser downloads are not possible here). Without it the
browser tests skip, unless ``CNNLAB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes them fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, stripes, synthetic_digits

CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CNNLAB_ARTIFACTS", ROOT / "test-artifacts"))


def require_browser() -> None:
    """Skips (or fails in CI) when Chromium or Playwright is missing."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -r requirements-dev.txt)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CNNLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``streamlit run streamlit_app.py`` on a free port, with its own data and runs folders."""

    def __init__(self, data_dir: Path, runs_dir: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir, self.runs_dir = data_dir, runs_dir
        env = {**os.environ, "CNNLAB_DATA_DIR": str(data_dir), "CNNLAB_RUNS_DIR": str(runs_dir)}
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(self.port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.log_path = log_path

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("streamlit did not become healthy in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@contextlib.contextmanager
def cpu_hog():
    """One core kept busy beside the app (a speaker's laptop during a talk is no quieter)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait(10)


def screenshot_dir(name: str) -> Path:
    path = ARTIFACTS / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# True once the "Running..." status widget has been absent for 1 s (a run may start late).
_IDLE_JS = """() => {
  const now = Date.now();
  if (document.querySelector('[data-testid="stStatusWidget"]') || !window.__idleSince) {
    window.__idleSince = document.querySelector('[data-testid="stStatusWidget"]') ? 0 : now;
    return false;
  }
  return now - window.__idleSince > 1000;
}"""


def wait_idle(page, timeout: float = 60_000) -> None:
    """Waits until Streamlit has finished its current run and the page has settled."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.evaluate("() => { window.__idleSince = 0; }")
    page.wait_for_function(_IDLE_JS, timeout=timeout, polling=100)


@contextlib.contextmanager
def app_with_mnist(root: Path, train: tuple, test: tuple):
    """A running app whose data folder holds a synthetic ``mnist.npz`` (and no runs yet)."""
    require_browser()
    data = root / "data"
    data.mkdir()
    np.savez_compressed(data / "mnist.npz", x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    with running_app(root, data, root / "runs") as app:
        yield app


@contextlib.contextmanager
def running_app(root: Path, data: Path, runs: Path):
    """The app serving ``data`` and ``runs``, ready; its log is ``root/streamlit.log``."""
    app = AppServer(data, runs, root / "streamlit.log")
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


@contextlib.contextmanager
def chromium_page(height: int = 2400):
    """A fresh headless Chromium page, 1600 px wide (tall, for full-page screenshots)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser.new_page(viewport={"width": 1600, "height": height})
        finally:
            browser.close()


def no_exception(page) -> None:
    """Fails with the app's own message when the page shows a Streamlit exception box."""
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


# The presenter's two screens: a 1280x720 projector zoomed to 125%, and a phone.
PROJECTOR = {"viewport": {"width": 1024, "height": 576}, "device_scale_factor": 1.25}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PAGE_PATHS = ["", "learn", "hood", "train", "race", "curves", "predict", "evaluate", "join", "follow", "wall", "talk"]


def demo_data(data: Path, digits: int, images_per_class: int) -> None:
    """A synthetic ``mnist.npz`` and a 2-class ``stripes`` image folder in ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    x, y = synthetic_digits(digits, 1)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (data / "stripes" / cls).mkdir(parents=True)
        for i in range(images_per_class):
            stripes(o, 48, seed=i).save(data / "stripes" / cls / f"{i}.png")


def visit_every_page(server: AppServer, device: str, shots: Path, query: str = "", check=None) -> None:
    """Opens every page on a projector or a phone: no exception, nothing wider than the window.

    Saves what the room sees first (``<page>.png``) and the whole page (``<page>-all.png``);
    ``check(name, page)`` runs on the whole page.
    """
    from playwright.sync_api import sync_playwright

    options = PROJECTOR if device == "projector" else PHONE
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(**options)
            for name in PAGE_PATHS:
                page.goto(f"{server.url}/{name}{query}")
                wait_idle(page)
                no_exception(page)
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{name or 'home'} is {overflow} px wider than the {device} window"
                page.screenshot(path=str(shots / f"{name or 'home'}.png"))
                # The whole page: Streamlit scrolls inside the window, so a tall window shows it all.
                page.set_viewport_size({"width": options["viewport"]["width"], "height": 2400})
                wait_idle(page)
                if check is not None:
                    check(name or "home", page)
                page.screenshot(path=str(shots / f"{name or 'home'}-all.png"))
                page.set_viewport_size(options["viewport"])
        finally:
            browser.close()
