"""Benchmark: start-up, from ``streamlit run`` to the first page and to the first prediction.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.startup [--repeats 3] [--think 0] [--shots DIR]

Each repeat starts a fresh ``streamlit run streamlit_app.py --server.headless true`` on a free
port with empty temporary data and runs folders (so Predict serves the shipped MNIST model), and
drives headless Chromium (a new browser context: nothing cached) through it:

- ``home_s``: from launching the server process to the Home page fully rendered: its last
  element ("No data in ... yet") is on the page and Streamlit's "running" indicator is gone
  (stayed gone for 1 s). ``server_up_s``: until ``/_stcore/health`` answered.
- ``predict``: ``think`` seconds after that, a click on Predict in the sidebar. ``open_s``: until
  the page is ready for input (the shipped model is loaded to know its task); ``upload_s``: the
  Upload pill; ``first_s``: from giving the uploader a digit image until the prediction is shown
  (the answer, the picture the model saw, the probability chart and Grad-CAM, every image
  loaded, nothing running); ``total_s``: ``open_s + upload_s + first_s`` (the 1 s settling
  checks left out); ``warm_s``: the same for a second image after removing the first.
- ``launch_to_prediction_s``: from launching the server to the first prediction (``total_s`` after
  the click on Predict, which comes 1 s after Home is drawn plus ``think``).

Prints one JSON object: per measure the median, min and max over the repeats (the spread, not
the best run), and every repeat's numbers. ``--shots DIR``: screenshots of the last repeat's Home
and Predict pages as measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.stats import spread

ROOT = Path(__file__).resolve().parents[1]
SETTLE_MS = 1000  # a state counts once it held this long (a rerun may start a moment later)
TIMEOUT_MS = 180_000

# Streamlit's "running" indicator, not counting its 0.2 s fade-out once the run has finished.
_BUSY = 'document.querySelector(\'[data-testid="stStatusWidget"]:not([class*="-exit"])\')'
_SETTLED_JS = """(settle) => {
  const now = performance.now();
  if (BUSY || !(COND)) { window.__readyAt = null; return false; }
  if (window.__readyAt == null) window.__readyAt = now;
  return now - window.__readyAt >= settle ? [window.__readyAt, now] : false;
}""".replace("BUSY", _BUSY)
_MAIN = "document.querySelector('[data-testid=\"stMain\"]')"
HOME_DONE = f"{_MAIN} && {_MAIN}.textContent.includes('No data in')"
PREDICT_READY = f"{_MAIN} && {_MAIN}.textContent.includes('Give the model an image')"
UPLOAD_READY = PREDICT_READY + " && document.querySelector('[data-testid=\"stFileUploaderDropzoneInput\"]')"


def prediction_shown(name: str) -> str:
    """JS: the prediction for the upload ``name`` is on the page, every picture and chart drawn."""
    captions = "[...document.querySelectorAll('[data-testid=\"stImageCaption\"]')].map(e => e.textContent)"
    return (
        f"{captions}.includes('{name}')"
        f" && {captions}.some(t => t.startsWith('Grad-CAM for'))"
        f" && {_MAIN}.textContent.includes('What the model sees')"
        " && document.querySelector('[data-testid=\"stPlotlyChart\"] .main-svg')"
        " && [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )


def settled(page, cond: str) -> float:
    """Waits until ``cond`` holds with nothing running for ``SETTLE_MS``; returns when it began to hold.

    Returns:
        A ``time.perf_counter()`` value: the browser's moment, mapped onto this process's clock.
    """
    page.evaluate("() => { window.__readyAt = null; }")
    js = _SETTLED_JS.replace("COND", cond)
    handle = page.wait_for_function(js, arg=SETTLE_MS, timeout=TIMEOUT_MS, polling=25)
    now = time.perf_counter()
    ready_at, js_now = handle.json_value()
    return now - (js_now - ready_at) / 1000


def digit_png(path: Path, digit: int) -> Path:
    """A printed digit, black on white, as a phone photo or a scan would give it."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(img).text((70, 10), str(digit), fill=0, font=ImageFont.load_default(size=230))
    img.save(path)
    return path


def wait_healthy(url: str, proc, timeout: float = 180) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited before it answered")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("streamlit did not answer in time")


def one_run(browser, tmp: Path, think: float, shots: Path | None) -> dict:
    """One fresh server and browser context: the Home page, then Predict with two uploads."""
    from browser import AppServer

    first, second = digit_png(tmp / "digit-a.png", 3), digit_png(tmp / "digit-b.png", 7)
    context = browser.new_context(viewport={"width": 1600, "height": 2400})
    page = context.new_page()
    t0 = time.perf_counter()
    app = AppServer(tmp / "data", tmp / "runs", tmp / "streamlit.log")
    try:
        wait_healthy(app.url, app.proc)
        up = time.perf_counter()
        page.goto(app.url)
        home = settled(page, HOME_DONE)
        if shots:
            page.screenshot(path=str(shots / "home.png"), full_page=True)
        time.sleep(think)

        t_open = time.perf_counter()
        page.locator("[data-testid='stSidebarNavLink']", has_text="Predict").click()
        opened = settled(page, PREDICT_READY)
        pill = page.get_by_role("button", name="Upload", exact=True)
        if pill.count() == 0:  # st.pills renders as radios in some Streamlit versions
            pill = page.get_by_role("radio", name="Upload")
        t_pill = time.perf_counter()
        pill.click()
        pilled = settled(page, UPLOAD_READY)

        uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']")
        t_first = time.perf_counter()
        uploader.set_input_files(str(first))
        shown = settled(page, prediction_shown(first.name))
        if shots:
            page.screenshot(path=str(shots / "predict.png"), full_page=True)

        page.locator("[data-testid='stFileChipDeleteBtn'] button").first.click()
        settled(page, UPLOAD_READY)
        t_second = time.perf_counter()
        uploader.set_input_files(str(second))
        shown_again = settled(page, prediction_shown(second.name))
        if page.locator("[data-testid='stException']").count():
            raise RuntimeError(page.locator("[data-testid='stException']").first.inner_text())
    finally:
        context.close()
        app.stop()
    open_s, upload_s, first_s = opened - t_open, pilled - t_pill, shown - t_first
    return {
        "server_up_s": up - t0,
        "home_s": home - t0,
        "predict": {
            "open_s": open_s,
            "upload_s": upload_s,
            "first_s": first_s,
            "total_s": open_s + upload_s + first_s,
            "warm_s": shown_again - t_second,
        },
        "launch_to_prediction_s": t_open - t0 + open_s + upload_s + first_s,
    }


def _summary(runs: list[dict]) -> dict:
    """Median / min / max (and n) of every number in ``runs`` (same nesting)."""
    out = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = _summary([r[key] for r in runs])
        else:
            out[key] = spread([r[key] for r in runs], 2)
    return out


def _rounded(run: dict) -> dict:
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 2) for k, v in run.items()}


def measure(repeats: int = 3, think: float = 0.0, shots: str | None = None) -> dict:
    """Start-up to the Home page and to the first prediction, ``repeats`` fresh servers.

    Args:
        repeats: fresh servers (and browser contexts), one after the other.
        think: seconds between the Home page rendered (and settled) and the click on Predict.
        shots: a folder for the last repeat's screenshots (``home.png``, ``predict.png``).

    Returns:
        ``{"repeats", "think_s", "cpus", "summary": {measure: {median, min, max}}, "runs": [...]}``.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import CHROMIUM
    from playwright.sync_api import sync_playwright

    os.chdir(ROOT)
    shot_dir = Path(shots) if shots else None
    if shot_dir:
        shot_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            for i in range(repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    runs.append(one_run(browser, Path(tmp), think, shot_dir if i == repeats - 1 else None))
        finally:
            browser.close()
    return {"repeats": repeats, "think_s": think, "cpus": os.cpu_count(), "summary": _summary(runs),
            "runs": [_rounded(r) for r in runs]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers, one after the other")
    parser.add_argument("--think", type=float, default=0.0, help="seconds on Home before opening Predict")
    parser.add_argument("--shots", help="folder for screenshots of the last repeat")
    args = parser.parse_args()
    print(json.dumps(measure(args.repeats, args.think, args.shots)))


if __name__ == "__main__":
    main()
