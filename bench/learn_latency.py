"""Benchmark: how fast the Learn page re-renders after a change, on a 512x512 image.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.learn_latency [--repeats 5] [--size 512] [--browser]

Two measures, printed as one JSON object:
- ``server``: the page's whole script run in Streamlit's AppTest (compute + PNG encoding of
  every picture), per kind of change, median and max in milliseconds.
- ``browser`` (with ``--browser``): from a click in headless Chromium until the new shapes
  are on screen, through a real ``streamlit run`` server (what a user waits for).
Target: well under a second per change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _changes(size: int) -> list[tuple[str, str, str, object, object]]:
    # (label, widget kind, key, value A, value B): each repeat flips between A and B.
    return [
        ("kernel", "selectbox", "learn_kernel", "laplacian", "sobel x"),
        ("stride", "slider", "learn_stride", 2, 1),
        ("padding", "segmented_control", "learn_padding", "same", "valid"),
        ("pool mode", "segmented_control", "learn_pool_mode", "avg", "max"),
        ("relu", "toggle", "learn_relu", False, True),
        ("output cell", "slider", "conv_col", size // 3, size // 5),
    ]


def server_latency(size: int, repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page("pages/learn.py").run()
    at.select_slider(key="learn_card_size").set_value(size).run()
    assert not at.exception, at.exception
    out = {}
    for label, kind, key, a, b in _changes(size):
        times = []
        for i in range(repeats):
            widget = getattr(at, kind)(key=key)
            widget.set_value(a if i % 2 == 0 else b)
            t0 = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, at.exception
        out[label] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
    return out


def browser_latency(size: int, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import CHROMIUM, AppServer, wait_idle  # noqa: E402
    from playwright.sync_api import expect, sync_playwright

    tmp = Path(tempfile.mkdtemp())
    app = AppServer(tmp / "data", tmp / "runs", tmp / "streamlit.log")
    times: list[float] = []
    try:
        app.wait_ready()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.goto(app.url + "/learn")
            wait_idle(page)
            page.get_by_role("slider").first.focus()  # the card-size select slider
            for _ in range(4):  # 128 -> 512
                page.keyboard.press("ArrowRight")
            expect(page.get_by_text(f"input ({size}, {size})")).to_be_visible(timeout=60_000)
            wait_idle(page)
            for i in range(repeats * 2):
                padding, out = ("same", size) if i % 2 == 0 else ("valid", size - 2)
                t0 = time.perf_counter()
                page.get_by_role("radio", name=padding, exact=True).first.click()
                expect(page.get_by_text(f"convolution ({out}, {out})")).to_be_visible(timeout=30_000)
                page.wait_for_function(  # and every picture has loaded
                    "() => [...document.images].every(i => i.complete)", timeout=30_000
                )
                times.append((time.perf_counter() - t0) * 1000)
                wait_idle(page)
            browser.close()
    finally:
        app.stop()
    return {
        "padding click to new picture": {
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "n": len(times),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=512, choices=[128, 256, 512])
    parser.add_argument("--browser", action="store_true", help="also time a real browser round trip")
    args = parser.parse_args()
    os.chdir(ROOT)
    result = {"size": args.size, "cpus": os.cpu_count(), "server": server_latency(args.size, args.repeats)}
    if args.browser:
        result["browser"] = browser_latency(args.size, args.repeats)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
