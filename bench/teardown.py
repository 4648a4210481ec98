"""Benchmark: how long ``model.fit`` waits after its last epoch, with tf.data's autotuning on and off.

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.teardown [--preset mnist-fast] [--repeats 6]

Why: with autotuning on (TensorFlow's default), destroying a pipeline's iterator sometimes waited
0.2-5 s using no CPU; Keras destroys one at the end of every epoch and of ``fit``, so fits took
seconds longer than their epochs, at random. ``core.data.folders.without_autotune`` turns it off.

The same bare fit (``bench.overhead.bare_model``: the trainer's model and datasets, no callbacks
but one that notes when training ended), alternately with the datasets as the trainer makes them
(autotuning off) and with autotuning turned back on. Prints one JSON object: per fit, the seconds
from the end of training (``on_train_end``) to ``fit`` returning, and the fit's seconds; their
spreads per mode; and how many fits waited more than 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.overhead import MNIST, bare_model
from bench.stats import spread

WAITED = 0.1  # seconds after on_train_end that count as a wait (no wait measures 0.001-0.003 s)


def timed_fit(cfg, data, autotune: bool) -> dict:
    """One bare fit: its seconds and the wait between the end of training and ``fit`` returning."""
    import keras
    import tensorflow as tf

    model, train, val = bare_model(cfg, data)
    if autotune:  # TensorFlow's default, as before core.data.folders turned it off
        options = tf.data.Options()
        options.autotune.enabled = True
        train, val = train.with_options(options), val.with_options(options)
    ended: list[float] = []
    mark = keras.callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(time.perf_counter()))
    t0 = time.perf_counter()
    model.fit(train, validation_data=val, epochs=cfg.spec.epochs, verbose=0, shuffle=False, callbacks=[mark])
    t1 = time.perf_counter()
    return {"autotune": autotune, "fit_seconds": round(t1 - t0, 3), "wait_after_training": round(t1 - ended[0], 3)}


def measure(data: Path = MNIST, preset: str = "mnist-fast", repeats: int = 6) -> dict:
    """Alternating fits with autotuning off and on; see the module docstring."""
    from core.models import get_preset
    from core.tasks import prepare_data
    from core.training import TrainConfig

    cfg = TrainConfig(task="mnist", data=str(data), spec=get_preset(preset), preset=preset, seed=0)
    prepared = prepare_data(cfg)
    timed_fit(cfg, prepared, autotune=False)  # warm-up, not counted
    fits = []
    for i in range(repeats):
        for autotune in (False, True):
            fits.append(timed_fit(cfg, prepared, autotune))
            print(f"repeat {i + 1}: {fits[-1]}", file=sys.stderr)
    out: dict = {"preset": preset, "epochs": cfg.spec.epochs, "fits": fits}
    for autotune, key in ((False, "autotune_off"), (True, "autotune_on")):
        mine = [f for f in fits if f["autotune"] is autotune]
        out[key] = {"wait_after_training": spread([f["wait_after_training"] for f in mine]),
                    "fit_seconds": spread([f["fit_seconds"] for f in mine]),
                    "fits_that_waited": sum(f["wait_after_training"] > WAITED for f in mine), "fits": len(mine)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MNIST)
    parser.add_argument("--preset", default="mnist-fast")
    parser.add_argument("--repeats", type=int, default=6)
    args = parser.parse_args()
    print(json.dumps(measure(args.data, args.preset, args.repeats)))


if __name__ == "__main__":
    main()
