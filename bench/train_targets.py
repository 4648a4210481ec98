"""Benchmark: the fast presets' accuracy and fit time on the real data.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.train_targets [--seeds 42 1 2] [--only mnist|orientation]

Prints one JSON object: per run the CLI's result, and whether each target was met
(mnist-fast: test >= 99.0% with train_seconds <= 30; orientation-fast: test >= 98.5%
with train_seconds <= 90, on this project's 2-core reference machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from core.cli import run_module

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TARGETS = {
    "mnist-fast": {"task": "mnist", "data": DATA / "mnist" / "mnist.npz", "accuracy": 0.99, "seconds": 30},
    "orientation-fast": {"task": "images", "data": DATA / "chest-orientation", "accuracy": 0.985, "seconds": 90},
}


def run_one(preset: str, seed: int, runs_dir: str) -> dict:
    t = TARGETS[preset]
    done = run_module("train", ["--task", t["task"], "--data", str(t["data"]), "--preset", preset, "--seed", str(seed),
                                "--runs-dir", runs_dir])  # fmt: skip
    out = done.output
    out.update(
        preset=preset,
        seed=seed,
        exit_code=done.code,
        met=bool(
            out.get("test_accuracy") and out["test_accuracy"] >= t["accuracy"] and out["train_seconds"] <= t["seconds"]
        ),
    )
    print(f"{preset} seed {seed}: acc {out.get('test_accuracy')} in {out.get('train_seconds')} s", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--only", choices=["mnist", "orientation"])
    args = parser.parse_args()
    presets = [p for p in TARGETS if args.only is None or p.startswith(args.only)]
    with tempfile.TemporaryDirectory() as runs_dir:
        results = [run_one(p, s, runs_dir) for p in presets for s in args.seeds]
    summary = {}
    for p in presets:
        rows = [r for r in results if r["preset"] == p]
        summary[p] = {
            "target": {k: v for k, v in TARGETS[p].items() if k in ("accuracy", "seconds")},
            "test_accuracy": [r.get("test_accuracy") for r in rows],
            "train_seconds": [r.get("train_seconds") for r in rows],
            "median_train_seconds": statistics.median(r["train_seconds"] for r in rows if r.get("train_seconds")),
            "all_met": all(r["met"] for r in rows),
        }
    print(json.dumps({"summary": summary, "runs": results}))


if __name__ == "__main__":
    main()
