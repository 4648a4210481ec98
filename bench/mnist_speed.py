"""Benchmark: how fast ``mnist-fast`` reaches 99% on MNIST, against the lecture's ``mnist-tutorial``.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.mnist_speed [--seeds 0 1 2] [--tutorial-epochs 3]

In one run, on one machine:

1. the machine's float32 matmul peak (GFLOP/s), the yardstick for what a training step reaches;
2. ``mnist-tutorial`` trained epoch by epoch with plain ``model.fit`` (its recipe, its data split),
   evaluated on the test set after each epoch *outside* the timed part; its time to 99.0% is the
   fit time up to the first epoch at or above 99.0%;
3. ``mnist-fast`` trained through the real command line (``python -m core.train``), once per seed:
   its ``train_seconds`` (the fit's wall time) and test accuracy.

Prints one JSON object: per seed the accuracy and fit time, the spread, the speed-up
(tutorial's time to 99% / mnist-fast's median fit time, and the range over seeds), and each
model's multiply-adds per image and the share of the matmul peak its training reached
(a training step costs about 3 forward passes: forward, and two products backward).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.stats import spread
from bench.train_targets import run_one

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"
TARGET = 0.99
FLOPS_PER_MAC_TRAINING = 6  # 2 FLOPs per multiply-add, x3: forward, gradient w.r.t. inputs and w.r.t. weights


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """The best of ``repeats`` timings of an n x n float32 matmul, in GFLOP/s (the machine's practical peak)."""
    import tensorflow as tf

    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    tf.matmul(a, b).numpy()  # warm-up: thread pools, oneDNN primitives
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def tutorial_time_to_target(data: Path, epochs: int, seed: int) -> dict:
    """Trains ``mnist-tutorial`` with bare ``model.fit`` one epoch at a time; evaluates between epochs, untimed."""
    from bench.overhead import bare_model
    from core.models import get_preset, summarize_spec
    from core.tasks import prepare_data
    from core.training.config import TrainConfig

    spec = get_preset("mnist-tutorial")  # its own recipe: a constant learning rate, so epoch-by-epoch fits add up
    cfg = TrainConfig(task="mnist", data=str(data), spec=replace(spec, epochs=epochs), seed=seed)
    prepared = prepare_data(cfg)
    model, train, val = bare_model(cfg, prepared)
    fit_seconds, rows, reached = 0.0, [], None
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.fit(train, validation_data=val, epochs=epoch + 1, initial_epoch=epoch, verbose=0, shuffle=False)
        fit_seconds += time.perf_counter() - t0
        accuracy = float(model.evaluate(prepared.x_test, prepared.y_test, batch_size=1024, verbose=0)[1])
        rows.append({"epoch": epoch + 1, "fit_seconds": round(fit_seconds, 2), "test_accuracy": round(accuracy, 4)})
        print(f"mnist-tutorial epoch {epoch + 1}: {accuracy:.4f} after {fit_seconds:.1f} s of fit", file=sys.stderr)
        if accuracy >= TARGET:
            reached = rows[-1]
            break
    macs = summarize_spec(spec, cfg.input_shape(), 10).total_macs
    return {"epochs": rows, "reached": reached, "macs_per_image": macs, "n_train": len(prepared.y_train)}


def fast_runs(data: Path, seeds: list[int], runs_dir: str) -> list[dict]:
    """``mnist-fast`` through ``python -m core.train``, once per seed, with its cost per image."""
    out = []
    for seed in seeds:
        run = run_one("mnist-fast", seed, runs_dir, data)
        if run["exit_code"] != 0:
            raise RuntimeError(f"mnist-fast seed {seed} failed (exit {run['exit_code']}): {run.get('error')}")
        config = json.loads((Path(run["run_dir"]) / "config.json").read_text())
        out.append({k: run[k] for k in ("seed", "test_accuracy", "train_seconds", "epochs")}
                   | {"macs_per_image": config["macs"], "n_train": config["n_train"]})  # fmt: skip
    return out


def peak_share(macs: int, images: int, seconds: float, peak_gflops: float) -> float:
    """The share of the matmul peak a training reached: its arithmetic over its time."""
    return round(FLOPS_PER_MAC_TRAINING * macs * images / seconds / 1e9 / peak_gflops, 3)


def measure(data: Path = MNIST, seeds: tuple[int, ...] = (0, 1, 2), tutorial_epochs: int = 3) -> dict:
    """Everything above, as one JSON-able dict (used by ``python -m bench``)."""
    peak = matmul_peak()
    tutorial = tutorial_time_to_target(data, tutorial_epochs, seeds[0])
    with tempfile.TemporaryDirectory() as runs_dir:
        fast = fast_runs(data, list(seeds), runs_dir)
    seconds = [r["train_seconds"] for r in fast]
    accuracies = [r["test_accuracy"] for r in fast]
    reached = tutorial["reached"]
    out = {
        "matmul_peak_gflops": round(peak, 1),
        "mnist_fast": {
            "runs": fast,
            "train_seconds": spread(seconds, 2),
            "test_accuracy": spread(accuracies, 4),
            "macs_per_image": fast[0]["macs_per_image"],
            "peak_share": peak_share(
                fast[0]["macs_per_image"], fast[0]["n_train"] * fast[0]["epochs"], min(seconds), peak
            ),  # fmt: skip
            "met": all(a >= TARGET for a in accuracies) and max(seconds) <= 10.0,
        },
        "mnist_tutorial": tutorial,
    }
    if reached:
        median = out["mnist_fast"]["train_seconds"]["median"]
        out["speedup"] = {"median": round(reached["fit_seconds"] / median, 2),
                          "min": round(reached["fit_seconds"] / max(seconds), 2),
                          "max": round(reached["fit_seconds"] / min(seconds), 2), "target": 4.0}  # fmt: skip
        tutorial["peak_share"] = peak_share(tutorial["macs_per_image"], tutorial["n_train"] * reached["epoch"],
                                            reached["fit_seconds"], peak)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MNIST)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tutorial-epochs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.data, tuple(args.seeds), args.tutorial_epochs)))


if __name__ == "__main__":
    main()
