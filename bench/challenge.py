"""Benchmark: a room's challenge of N entries on one engine, against plain runs of the same entries.

Run from the project root on a quiet machine::

    python -m bench.challenge --entries 30 --engine local|ray [--epochs 1] [--data mnist.npz]

N participants each send one small network (six architectures within the default budget, in turn) to a
challenge on MNIST (``../shared/data/mnist/mnist.npz``, else a synthetic set of the same size: the same
compute). Entries train one at a time on this machine's cores, on either engine:

- ``local``: the job queue (one training process at a time);
- ``ray``: a Ray cluster of one node with this machine's cores, started and stopped here; each entry asks
  for all of them, so Ray runs them one at a time too, and the comparison is the engine alone.

Before them, ``--plain`` runs of one entry as a plain ``python -m core.train --run-dir`` give the reference.
Prints one JSON line: ``completed`` (entries that finished), ``entries_per_minute``, ``seconds_to_last``
(first submission to last result), each entry's seconds (launched to ended) and the ``overhead`` of the
engine per entry: an entry's seconds over the plain run of the same architecture, minus 1 (median and
spread). The machine's float32 matmul peak is measured first, so seconds can be compared across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import spread

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"
ARCHITECTURES = [  # each within ChallengeSettings' default budget (50,000 parameters, 5 M multiply-adds x epochs)
    [{"kind": "Conv2D", "filters": 8}, {"kind": "MaxPooling2D"}],
    [{"kind": "Conv2D", "filters": 4}, {"kind": "MaxPooling2D"}, {"kind": "Dense", "units": 16}],
    [{"kind": "MaxPooling2D"}, {"kind": "Dense", "units": 32}, {"kind": "Dropout", "rate": 0.25}],
    [{"kind": "Conv2D", "filters": 8, "kernel_size": 5}, {"kind": "MaxPooling2D"}, {"kind": "MaxPooling2D"}],
    [{"kind": "AveragePooling2D"}, {"kind": "Dense", "units": 64}],
    [{"kind": "Conv2D", "filters": 4}, {"kind": "MaxPooling2D"}, {"kind": "Dropout", "rate": 0.25}],
]


def synthetic_mnist(path: Path) -> Path:
    """A stand-in for MNIST of its real size (60,000 + 10,000 digits): the same compute, no download."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import synthetic_digits

    x, y = synthetic_digits(60_000, seed=1)
    xt, yt = synthetic_digits(10_000, seed=2)
    np.savez_compressed(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return path


def plain_seconds(config: dict, runs: Path, repeats: int) -> list[float]:
    """Wall seconds of ``python -m core.train --run-dir`` for copies of one entry's config."""
    from core.runs.store import RunStore

    out = []
    for i in range(repeats):
        run = RunStore(runs).create(f"plain-{i}", {k: v for k, v in config.items() if k not in ("job", "run_id")})
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core.train", "--run-dir", str(run.path)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        out.append(time.perf_counter() - started)
    return out


def measure(entries: int, engine: str, epochs: int, data: Path, plain: int, work: Path) -> dict:
    from bench.mnist_speed import matmul_peak
    from core.access import limits
    from core.access.roles import LOCAL, Actor
    from core.challenge.contest import Challenge
    from core.challenge.rules import ChallengeSettings, entry_config, layers_from_dicts
    from core.room.active import open_room
    from core.runs.jobs import JobManager
    from core.runs.store import Run

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    peak = matmul_peak()
    os.environ["CNNLAB_DATA_DIR"] = str(data.parent)  # the challenge's MNIST is the data folder's mnist.npz
    cluster = None
    if engine == "ray":
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cores, "include_dashboard": False})
        os.environ["CNNLAB_RAY_ADDRESS"] = cluster.address
    else:
        os.environ.pop("CNNLAB_RAY_ADDRESS", None)
    try:
        room = open_room("bench", "__default__", [str(d) for d in range(10)], LOCAL, work / "rooms")
        manager = JobManager(work / "runs", max_running=1)
        settings = ChallengeSettings(data="mnist", max_epochs=max(epochs, 3), minutes=240, cpus=cores)
        challenge = Challenge.open(room, settings, LOCAL, manager)
        limits.reset()
        people = [Actor(f"bench-{i}", False, f"10.1.{i // 250}.{i % 250}") for i in range(entries)]
        # The reference first: each architecture's entry config, trained as a plain run.
        reference = {}
        for k in range(min(len(ARCHITECTURES), entries)):
            config = entry_config(challenge.settings(), None, layers_from_dicts(ARCHITECTURES[k]), epochs, f"plain {k}")
            reference[k] = plain_seconds(config.to_dict(), work / "plain", plain)
        limits.reset()
        first = time.time()
        sent = [challenge.submit(ARCHITECTURES[i % len(ARCHITECTURES)], epochs, f"entry {i}", people[i])
                for i in range(entries)]  # fmt: skip
        runs = {e.run_id: Run(manager.store.root / e.run_id) for e in sent}
        done: dict[str, float] = {}  # run id -> when it was first seen ended (polled every 0.2 s)
        while len(done) < len(runs):
            manager.pump()
            for run_id, run in runs.items():
                if run_id not in done and run.status().get("status") not in ("queued", "running"):
                    done[run_id] = time.time()
            time.sleep(0.2)
        rows = {r.entry: r for r in challenge.rows()}
        completed = sum(rows[e.id].status == "completed" for e in sent)
        arch = {e.run_id: i % len(ARCHITECTURES) for i, e in enumerate(sent)}
        order = sorted(done, key=done.get)
        ends = [first] + [done[r] for r in order]
        # Entries train one after another on both engines: an entry's time is from the previous result to its own.
        seconds = [b - a for a, b in zip(ends, ends[1:])]
        overhead = [s / statistics.median(reference[arch[r]]) - 1 for s, r in zip(seconds, order)]
        last = ends[-1] - first
    finally:
        if cluster is not None:
            cluster.shutdown()
    return {
        "bench": "challenge", "engine": engine, "entries": entries, "epochs": epochs, "cores": cores,
        "matmul_peak_gflops": round(peak, 1), "data": str(data), "completed": completed,
        "entries_per_minute": round(completed / last * 60, 2), "seconds_to_last": round(last, 1),
        "seconds_per_entry": spread(seconds, 2), "plain_seconds": {k: spread(v, 2) for k, v in reference.items()},
        "overhead": spread(overhead, 3),
        "test_accuracy": spread([r.test_accuracy for r in rows.values() if r.test_accuracy is not None], 4),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.challenge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=30)
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--plain", type=int, default=3, help="plain runs of each architecture (the reference)")
    parser.add_argument(
        "--data", type=Path, default=None, help="an mnist.npz (default: ../shared/data's, else synthetic)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-challenge-") as tmp:
        work = Path(tmp)
        data = args.data or (MNIST if MNIST.is_file() else None)
        if data is None:
            (work / "data").mkdir()
            data = synthetic_mnist(work / "data" / "mnist.npz")
        else:  # the data folder must hold it as mnist.npz
            (work / "data").mkdir()
            os.symlink(Path(data).resolve(), work / "data" / "mnist.npz")
            data = work / "data" / "mnist.npz"
        print(json.dumps(measure(args.entries, args.engine, args.epochs, data, args.plain, work)))


if __name__ == "__main__":
    main()
