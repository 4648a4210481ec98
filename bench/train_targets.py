"""Benchmark: the fast image recipes' held-out accuracy and fit time, over several seeds and splits.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.train_targets [--preset orientation-fast] [--seeds 0 1 2 3 4]
    python -m bench.train_targets --preset mnist-best --seeds 0

Each seed trains through the command line (``python -m core.train``): for an image folder the
seed also draws a different train / validation / test split, so the spread over seeds is the
spread over splits (a recipe tuned to one split shows up here). Prints one JSON object: per run
the test accuracy, the test images it got wrong (file names, for image folders), the fit time,
and for the recipe the spread, the pooled accuracy over every held-out image, and whether each
run met the target.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.stats import spread
from core.base.cli import run_module

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TARGETS = {  # preset -> its data and the target (test accuracy, seconds of fit on 2 CPU cores)
    "orientation-fast": {"task": "images", "data": DATA / "chest-orientation", "accuracy": 0.995, "seconds": 30},
    "mnist-best": {"task": "mnist", "data": DATA / "mnist" / "mnist.npz", "accuracy": 0.995, "seconds": 90},
    "mnist-fast": {"task": "mnist", "data": DATA / "mnist" / "mnist.npz", "accuracy": 0.99, "seconds": 10},
}


def run_one(preset: str, seed: int, runs_dir: str, data: Path | None = None) -> dict:
    """One CLI training; its result plus the test errors read from the run's metrics.json.

    Args:
        data: in place of the preset's data in ``TARGETS``.
    """
    t = TARGETS[preset]
    done = run_module("train", ["--task", t["task"], "--data", str(data or t["data"]), "--preset", preset,
                                "--seed", str(seed), "--runs-dir", runs_dir])  # fmt: skip
    out = {"seed": seed, "exit_code": done.code, **{k: done.output.get(k) for k in
           ("run_dir", "status", "epochs", "train_seconds", "test_accuracy", "best_val_accuracy", "error")}}  # fmt: skip
    if done.code == 0:
        metrics = json.loads((Path(done.output["run_dir"]) / "metrics.json").read_text())
        out["n_test"] = metrics["n"]
        out["errors"] = round((1 - metrics["accuracy"]) * metrics["n"])
    out["met"] = bool(done.code == 0 and out["test_accuracy"] >= t["accuracy"] and out["train_seconds"] <= t["seconds"])
    print(f"{preset} seed {seed}: test {out.get('test_accuracy')} ({out.get('errors')} wrong) "
          f"in {out.get('train_seconds')} s", file=sys.stderr)  # fmt: skip
    return out


def measure(preset: str = "orientation-fast", seeds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> dict:
    """Trains ``preset`` once per seed; see the module docstring."""
    with tempfile.TemporaryDirectory() as runs_dir:
        runs = [run_one(preset, s, runs_dir) for s in seeds]
    ok = [r for r in runs if r["exit_code"] == 0]
    n, wrong = sum(r["n_test"] for r in ok), sum(r["errors"] for r in ok)
    return {
        "preset": preset,
        "target": {k: v for k, v in TARGETS[preset].items() if k in ("accuracy", "seconds")},
        "runs": runs,
        "test_accuracy": spread([r["test_accuracy"] for r in ok]),
        "train_seconds": spread([r["train_seconds"] for r in ok], 2),
        "pooled_test_accuracy": round(1 - wrong / n, 4) if n else None,
        "pooled_test_images": n,
        "all_met": len(ok) == len(runs) and all(r["met"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=list(TARGETS), default="orientation-fast")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    print(json.dumps(measure(args.preset, tuple(args.seeds))))


if __name__ == "__main__":
    main()
