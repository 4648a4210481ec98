"""Benchmark: which way of limiting TensorFlow's threads works in this TF version (for core.teaching.race).

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.race_threads [--repeats 3] [--steps 30]

Each mode runs the same small Keras CNN training (random 28x28 images, batch 128) in a fresh
process and measures the CPU seconds it used per wall second (1.0: one core busy; 2.0: two)
and the number of OS threads the process has at the end. Modes:

- ``default``: nothing set;
- ``env``: ``TF_NUM_INTRAOP_THREADS=1`` and ``TF_NUM_INTEROP_THREADS=1`` in the environment;
- ``api``: ``tf.config.threading.set_intra_op_parallelism_threads(1)`` (and inter-op) before any op;
- ``affinity``: ``os.sched_setaffinity`` to one core, nothing else.

Prints one JSON object: per mode the median, min and max of cores used and the threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.stats import spread

CHILD = r"""
import json, os, sys, time
mode, steps = sys.argv[1], int(sys.argv[2])
if mode == "affinity":
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import numpy as np
import tensorflow as tf
if mode == "api":
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
x = np.random.default_rng(0).random((128 * 4, 28, 28, 1), dtype=np.float32)
y = keras.utils.to_categorical(np.arange(len(x)) % 10, 10)
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
                          keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
                          keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile("adam", "categorical_crossentropy")
model.train_on_batch(x[:128], y[:128])  # build and trace outside the timing
t0, c0 = time.perf_counter(), os.times()
for i in range(steps):
    model.train_on_batch(x[(i % 4) * 128:(i % 4 + 1) * 128], y[(i % 4) * 128:(i % 4 + 1) * 128])
wall, c1 = time.perf_counter() - t0, os.times()
cpu = (c1.user - c0.user) + (c1.system - c0.system)
threads = int(next(l for l in open("/proc/self/status") if l.startswith("Threads:")).split()[1])
print(json.dumps({"cores_used": cpu / wall, "seconds_per_step": wall / steps, "threads": threads,
                  "intra": tf.config.threading.get_intra_op_parallelism_threads()}))
"""
MODES = ("default", "env", "api", "affinity")


def one(mode: str, steps: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if mode == "env":
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(steps)], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args()
    rows: dict[str, list[dict]] = {m: [] for m in MODES}
    for _ in range(args.repeats):
        for mode in MODES:  # interleaved: drift on a shared machine hits every mode alike
            rows[mode].append(one(mode, args.steps))
    out = {"cpus": len(os.sched_getaffinity(0)), "repeats": args.repeats, "steps": args.steps}
    for mode, results in rows.items():
        entry = {}
        for key in ("cores_used", "seconds_per_step", "threads"):
            values = [r[key] for r in results]
            entry[key] = spread(values, 3)
        entry["intra_reported"] = results[-1]["intra"]
        out[mode] = entry
    print(json.dumps(out))


if __name__ == "__main__":
    main()
