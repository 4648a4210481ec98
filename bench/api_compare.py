"""Benchmark: the MNIST CNN written three ways (low-level TF, Keras, Keras + XLA), one epoch each.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.api_compare [--data PATH/mnist.npz] [--repeats 2] [--batches N]

Each way trains in its own process through the job path the page uses (a queued run folder,
``python -m core.train --run-dir``), one after another; the order rotates between repeats so
that drift on a shared machine does not favour one way. Prints one JSON object: per way the
lines of code and the median, min and max of seconds per epoch, images per second and test
accuracy, plus each way's speed relative to Keras measured within the same round.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.stats import spread
from core.base.cli import run_module
from core.runs.store import RunStore
from core.teaching.api_compare import WAYS, way_lines
from core.teaching.api_compare.results import way_result
from core.teaching.api_compare.runner import comparison_configs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"
METRICS = ("seconds_per_epoch", "images_per_second", "test_accuracy")


def one_round(data: str, batches: int | None, order: list[str], store: RunStore, seed: int) -> dict[str, dict]:
    """Trains each way once, in ``order``; returns way -> its measured numbers."""
    configs = {c.way: c for c in comparison_configs(data, max_batches=batches, seed=seed)}
    out = {}
    for way in order:
        run = store.create(configs[way].run_name(), configs[way].to_dict())
        run.update_status(status="queued")
        done = run_module("train", ["--run-dir", str(run.path)])
        if done.code != 0:
            raise RuntimeError(f"{way} failed (exit {done.code}): {done.output.get('error')}")
        r = way_result(run)
        out[way] = {m: getattr(r, m) for m in METRICS}
        print(f"{way}: {r.seconds_per_epoch:.1f} s/epoch, {r.images_per_second:.0f} images/s, "
              f"test {r.test_accuracy:.4f}", file=sys.stderr)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(DATA), help="mnist.npz (Keras key names)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", type=int, default=None, help="train this many batches instead of a whole epoch")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    ways = list(WAYS)
    rounds = []
    with tempfile.TemporaryDirectory() as runs_dir:
        store = RunStore(runs_dir)
        for i in range(args.repeats):
            order = ways[i % len(ways) :] + ways[: i % len(ways)]  # rotate: each way goes first in turn
            rounds.append(one_round(args.data, args.batches, order, store, args.seed))
    result = {"data": args.data, "batches": args.batches or "one epoch", "repeats": args.repeats, "ways": {}}
    for way in ways:
        entry = {"label": WAYS[way].label, "lines_of_code": way_lines(way)}
        for m in METRICS:
            entry[m] = spread([r[way][m] for r in rounds])
        # Keras's seconds per epoch / this way's, within each round: > 1 is faster than Keras.
        entry["speed_vs_keras"] = spread(
            [r["keras"]["seconds_per_epoch"] / r[way]["seconds_per_epoch"] for r in rounds]
        )
        entry["lecture_2019"] = dict(zip(("lines", "seconds", "accuracy"), WAYS[way].lecture or ()))
        result["ways"][way] = entry
    print(json.dumps(result))


if __name__ == "__main__":
    main()
