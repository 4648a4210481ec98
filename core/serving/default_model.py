"""The MNIST model shipped with the app, so drawing a digit works on a fresh machine.

It is a normal run folder (config.json, status.json, metrics.json, history.csv, best.keras and
ood.json, the "I don't know" calibration, so that works without the training data too) under
``core/assets/mnist-default``, trained with the project's own ``mnist-fast`` recipe through
``python -m core.train``. Rebuild it with::

    python -m core.serving.default_model --data data/mnist.npz

The checkpoint is saved without optimizer state (about 0.9 MB instead of 2.7 MB).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from core.base.cli import run_module
from core.runs.store import Run

DEFAULT_RUN_DIR = Path(__file__).resolve().parents[1] / "assets" / "mnist-default"
DEFAULT_ID = "mnist-default"
COPIED = ("config.json", "status.json", "metrics.json", "history.csv")


def default_run() -> Run | None:
    """The shipped run, or None if its files are missing."""
    run = Run(DEFAULT_RUN_DIR)
    return run if (DEFAULT_RUN_DIR / "best.keras").is_file() and (DEFAULT_RUN_DIR / "config.json").is_file() else None


def build(data: str, seed: int = 42) -> dict:
    """Trains mnist-fast via the CLI and copies the run (slim checkpoint) into the assets."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        done = run_module("train", ["--task", "mnist", "--data", data, "--preset", "mnist-fast",
                                    "--seed", str(seed), "--runs-dir", tmp])  # fmt: skip
        result = done.output
        if done.code != 0:
            raise SystemExit(f"training failed: {result}")
        src = Path(result["run_dir"])
        if DEFAULT_RUN_DIR.exists():
            shutil.rmtree(DEFAULT_RUN_DIR)
        DEFAULT_RUN_DIR.mkdir(parents=True)
        for name in COPIED:
            shutil.copy(src / name, DEFAULT_RUN_DIR / name)
        model = keras.models.load_model(src / "best.keras", compile=False)  # drops optimizer state
        model.save(DEFAULT_RUN_DIR / "best.keras")
        _copy_ood(src, DEFAULT_RUN_DIR)
    cfg = json.loads((DEFAULT_RUN_DIR / "config.json").read_text())
    cfg.update(run_id=DEFAULT_ID, data=None, shipped=True)  # None: evaluate on the data folder's MNIST
    (DEFAULT_RUN_DIR / "config.json").write_text(json.dumps(cfg, indent=1))
    return {**result, "run_dir": str(DEFAULT_RUN_DIR), "bytes": (DEFAULT_RUN_DIR / "best.keras").stat().st_size}


def _copy_ood(src: Path, dest: Path) -> None:
    """Copies the run's "I don't know" calibration (ood.json) for the slim checkpoint.

    The slim file holds the same weights, so the threshold holds; only the recorded
    checkpoint size changes (core.serving.ood checks it to notice a replaced model).
    """
    data = json.loads((src / "ood.json").read_text())
    data["checkpoint_bytes"] = (dest / "best.keras").stat().st_size
    (dest / "ood.json").write_text(json.dumps(data))


def main() -> int:
    import argparse

    p = argparse.ArgumentParser(description="Rebuild the MNIST model shipped with CNN Lab.")
    p.add_argument("--data", required=True, help="mnist.npz with Keras key names")
    p.add_argument("--seed", type=int, default=42)
    print(json.dumps(build(p.parse_args().data, p.parse_args().seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
