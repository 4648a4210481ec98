"""Benchmark: what the trainer adds to a bare ``model.fit`` (run store, batch logging, stop checks, checkpoints).

Run from the project root (nothing else should load the CPU meanwhile)::

    python -m bench.overhead [--preset mnist-fast] [--epochs 1] [--repeats 3]

The same model, data, batch size and seed, trained in one process, alternately:

- bare: ``build_model`` + ``compile`` + ``model.fit(train, validation_data=val)`` and nothing else;
- trainer: ``core.tasks.train`` (everything a real run does), its ``train_seconds``.

Both time the fit alone (data loading, the test and "I don't know" calibration come after and are
not part of either). A first bare fit warms the machine up and is not counted. Prints one JSON
object: each pair's seconds and ratio (trainer / bare), and the spread of the ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.stats import spread

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist" / "mnist.npz"


def bare_model(cfg, data) -> tuple:
    """``cfg``'s model compiled as the trainer compiles it, and its datasets; nothing of the trainer around them.

    Returns:
        ``(model, train_ds, val_ds)``.
    """
    import keras
    import tensorflow as tf

    from core.data import folders as datasets
    from core.models import build_model, make_loss, make_optimizer
    from core.tasks.images.fit import VALIDATION_BATCH
    from core.training.augment import make_augmenter

    spec = cfg.spec
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    steps = math.ceil(len(data.y_train) / spec.batch_size)
    model = build_model(spec, cfg.input_shape(), len(data.class_names))
    model.compile(optimizer=make_optimizer(spec, steps, spec.epochs), loss=make_loss(spec),
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])  # fmt: skip
    train = datasets.make_dataset(data.x_train, data.y_train, spec.batch_size, shuffle=True, seed=cfg.seed,
                                  augment=make_augmenter(spec.augment, cfg.seed))  # fmt: skip
    val = datasets.make_dataset(data.x_val, data.y_val, max(spec.batch_size, VALIDATION_BATCH))
    return model, train, val


def bare_fit(cfg, data) -> float:
    """Seconds of a bare ``model.fit`` of ``cfg``'s model on ``data`` (the trainer's datasets, no callbacks)."""
    model, train, val = bare_model(cfg, data)
    t0 = time.perf_counter()
    model.fit(train, validation_data=val, epochs=cfg.spec.epochs, verbose=0, shuffle=False)
    return time.perf_counter() - t0


def measure(data: Path = MNIST, preset: str = "mnist-fast", epochs: int | None = None, repeats: int = 3) -> dict:
    """Alternating bare and trainer fits; see the module docstring."""
    from core.models import get_preset
    from core.tasks import prepare_data, train
    from core.training import TrainConfig

    spec = get_preset(preset)
    spec = replace(spec, epochs=epochs or spec.epochs)
    cfg = TrainConfig(task="mnist", data=str(data), spec=spec, preset=preset, seed=0)
    prepared = prepare_data(cfg)
    bare_fit(cfg, prepared)  # warm-up, not counted
    pairs = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for i in range(repeats):
            bare = bare_fit(cfg, prepared)
            result = train(cfg, runs_dir)
            if result.get("status") != "completed":
                raise RuntimeError(f"the trainer's run failed: {result.get('error')}")
            pairs.append({"bare_seconds": round(bare, 3), "trainer_seconds": result["train_seconds"],
                          "ratio": round(result["train_seconds"] / bare, 4)})  # fmt: skip
            print(f"repeat {i + 1}: bare {bare:.2f} s, trainer {result['train_seconds']:.2f} s", file=sys.stderr)
    ratios = [p["ratio"] for p in pairs]
    return {"preset": preset, "epochs": spec.epochs, "batch_size": spec.batch_size, "pairs": pairs,
            "ratio": spread(ratios), "met": spread(ratios)["median"] <= 1.03}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MNIST)
    parser.add_argument("--preset", default="mnist-fast")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.data, args.preset, args.epochs, args.repeats)))


if __name__ == "__main__":
    main()
