"""A real app server and headless Chromium for end-to-end tests.

Chromium is Debian's (``apt-get install -y chromium``), driven by Playwright's Python
package with ``executable_path`` (browser downloads are not possible here). Without it the
browser tests skip, unless ``CNNLAB_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes them fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

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
