"""Benchmark: what recording the replay costs per epoch, in seconds and bytes.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.replay_cost [--preset mnist-fast] [--repeats 3] [--runs-dir DIR]
    python -m bench.replay_cost --task images --data ../shared/data/chest-orientation \\
        --preset orientation-fast --epochs 3 --repeats 1

Each repeat trains through the CLI (``python -m core.train``, one process each) and reads
what the run recorded: every epoch file holds the seconds its recording took (one forward
pass over the validation sample, the confusion matrix, copying the kernels), history.csv
the epoch's own seconds (training + validation). Prints one JSON object: the median, min
and max of the overhead per epoch (seconds and share of the epoch), epoch 0 apart (it also
traces the predict function), and the bytes written per epoch and once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench.stats import spread
from core.base.cli import run_module
from core.runs.replay_record import read_replay, replay_dir
from core.runs.store import Run

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"


def one_run(args: argparse.Namespace, runs_dir: Path, seed: int) -> Run:
    argv = ["--task", args.task, "--data", args.data, "--preset", args.preset, "--seed", str(seed),
            "--runs-dir", str(runs_dir)]  # fmt: skip
    if args.epochs:
        argv += ["--epochs", str(args.epochs)]
    done = run_module("train", argv)
    if done.code != 0:
        raise RuntimeError(f"training failed (exit {done.code}): {done.output.get('error')}")
    return Run(done.output["run_dir"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="mnist", choices=["mnist", "images"])
    parser.add_argument("--data", default=str(MNIST))
    parser.add_argument("--preset", default="mnist-fast")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs-dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(args.runs_dir or tmp)
        overhead, share, epoch_s, first, sizes, once = [], [], [], [], [], []
        for i in range(args.repeats):
            run = one_run(args, runs_dir, 42 + i)
            replay = read_replay(run.path)
            seconds = {int(r["epoch"]): r["seconds"] for r in run.history() if r.get("seconds")}
            for epoch, frame in replay.frames.items():
                if epoch == 0:
                    first.append(frame.seconds)
                elif epoch in seconds:
                    overhead.append(frame.seconds)
                    epoch_s.append(seconds[epoch])
                    share.append(frame.seconds / seconds[epoch])
            files = {p.name: p.stat().st_size for p in replay_dir(run.path).iterdir()}
            sizes += [n for name, n in files.items() if name.startswith("epoch-")]
            once.append(files.get("samples.npz", 0) + files.get("meta.json", 0))
            print(f"{run.id}: {len(replay.frames)} frames, overhead {statistics.median(overhead):.3f} s/epoch",
                  file=sys.stderr)  # fmt: skip
        config = run.config()
        print(json.dumps({
            "preset": args.preset, "input_shape": config.get("input_shape"), "n_val": config.get("n_val"),
            "sample_size": replay.sample_size, "filters_recorded": None if replay.layer is None else
            int(next(iter(replay.frames.values())).kernels.shape[-1]), "repeats": args.repeats,
            "overhead_seconds_per_epoch": spread(overhead), "overhead_share_of_epoch": spread(share),
            "epoch_seconds": spread(epoch_s, 2), "epoch0_seconds": spread(first),
            "bytes_per_epoch": spread(sizes, 0), "bytes_once": spread(once, 0),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
