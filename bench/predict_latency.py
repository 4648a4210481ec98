"""Benchmark: warm single-image prediction latency, as the Predict page does it.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.predict_latency [--repeats 200] [--xray-run RUNS/ID]

Times preprocessing + prediction of one image with a model already loaded (what each
page interaction costs): the shipped MNIST model on a drawn digit, and an
orientation-fast model on a 128x128 chest X-ray from ../shared/data (trained for one
epoch into a temporary folder when no --xray-run is given; latency does not depend on
how well it is trained). Also 20 threads predicting at once. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.base.cli import run_module

ROOT = Path(__file__).resolve().parents[1]
XRAYS = ROOT.parent / "shared" / "data" / "chest-orientation"


def _stats(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "n": len(ms),
    }


def _time(served, img: Image.Image, repeats: int) -> dict:
    served.predict_images([img])  # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        served.predict_images([img])
        times.append((time.perf_counter() - t0) * 1000)
    return _stats(times)


def _concurrent(served, img: Image.Image, sessions: int = 20, each: int = 10) -> dict:
    times: list[float] = []
    barrier = threading.Barrier(sessions)

    def session() -> None:
        barrier.wait()
        for _ in range(each):
            t0 = time.perf_counter()
            served.predict_images([img])
            times.append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"sessions": sessions, **_stats(times)}


def _xray_run(tmp: str) -> str:
    done = run_module("train", ["--task", "images", "--data", str(XRAYS), "--preset", "orientation-fast",
                                "--epochs", "1", "--runs-dir", tmp])  # fmt: skip
    if done.code != 0:
        raise SystemExit(f"training failed: {done.output}")
    return done.output["run_dir"]


def main() -> None:
    from core.runs.store import Run
    from core.serving.default_model import default_run
    from core.tasks import serve

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--xray-run")
    args = p.parse_args()
    digit = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(digit).line([(70, 50), (210, 50), (120, 240)], fill=0, width=22)
    mnist = serve(default_run())
    result = {"mnist_digit": _time(mnist, digit, args.repeats), "mnist_digit_20_sessions": _concurrent(mnist, digit)}
    if XRAYS.is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            xray = serve(Run(args.xray_run or _xray_run(tmp)))
            img = Image.open(sorted((XRAYS / "frontal").iterdir())[0])
            result["xray_128"] = _time(xray, img, args.repeats)
            result["xray_128_20_sessions"] = _concurrent(xray, img)
    else:
        result["xray_128"] = "skipped: ../shared/data/chest-orientation not found"
    print(json.dumps(result))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
