"""What every run's training shares, whatever its task: the run folder's life from start to end.

:func:`train_run` creates (or takes) the run folder, marks it running, turns SIGTERM into a
STOP request and turns any failure into a ``failed`` run; the task's body does the rest and
ends with :func:`finish`, the one end-of-run bookkeeping (status, stop reason, timings).
The entry point is :func:`core.tasks.train`, which asks the task registry for the body.
"""

from __future__ import annotations

import contextlib
import gc
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from core.base.errors import InputError
from core.runs import procs
from core.runs.schema import STOP_REASONS
from core.runs.store import Run, RunStore, now_iso
from core.training.config import TrainConfig

Body = Callable[[Run, dict], dict]  # (run, the CLI result so far) -> the CLI result


def train_run(
    cfg: TrainConfig, warnings: list[str], body: Body, runs_dir: str | Path | None = None, run: Run | None = None
) -> dict:
    """Runs ``body`` in a run folder and returns the CLI's result dict.

    Args:
        cfg: the run's config, already checked (its warnings are ``warnings``).
        body: trains and tests; ends with :func:`finish` (or :func:`failed`).
        runs_dir: where to create the run folder (ignored when ``run`` is given).
        run: a folder created by :mod:`core.runs.jobs` (its config.json is ``cfg``).

    Problems during training mark the run ``failed`` and are returned with ``"error"``
    and ``"_exit"`` (2 for bad input, 1 for anything else).
    """
    if run is None:
        run = RunStore(runs_dir).create(cfg.run_name(), cfg.to_dict())
    run.update_status(status="running", phase="starting", pid=os.getpid(), pid_start=procs.start_ticks(os.getpid()),
                      started=now_iso())  # fmt: skip
    _stop_on_sigterm(run)
    result = {"run_id": run.id, "run_dir": str(run.path.resolve()), "status": "running", "epochs": 0,
              "train_seconds": None, "test_accuracy": None, "best_val_accuracy": None}  # fmt: skip
    try:
        for w in warnings:
            run.log(f"warning: {w}")
        return body(run, result)
    except InputError as exc:
        return failed(run, result, str(exc), 2)
    except Exception as exc:  # anything unexpected: the run says why, the caller gets exit 1
        run.log(traceback.format_exc())
        return failed(run, result, f"{type(exc).__name__}: {exc}", 1)


def failed(run: Run, result: dict, error: str, code: int) -> dict:
    """Marks the run failed with ``error`` and returns the CLI's result with ``"_exit": code``."""
    run.update_status(status="failed", error=error, ended=now_iso())
    run.log(f"failed: {error}")
    return {**result, "status": "failed", "error": error, "_exit": code}


def fitted(run: Run, model, progress, result: dict, seconds: float) -> dict | None:
    """After ``model.fit``: records the fit in ``result``; a diverged run fails, any other saves final.keras.

    Args:
        progress: the run's callback (``make_run_callback``): why and where training ended.
        seconds: the fit's wall time.

    Returns:
        The failed result when the loss diverged, else None (go on and test).
    """
    result.update(train_seconds=seconds, epochs=progress.epochs_done, best_val_accuracy=progress.best_val_accuracy)
    if progress.stop_reason == "nan":
        run.update_status(train_seconds=seconds)
        return failed(run, result, f"The loss became NaN/infinite at epoch {progress.epoch}; training diverged. "
                                   "Try a lower learning rate or add BatchNormalization.", 1)  # fmt: skip
    model.save(run.path / "final.keras")
    return None


def best_model(run: Run, model) -> tuple[object, Path]:
    """The model to test: the best checkpoint when one was saved, else ``model`` (saved as final.keras)."""
    import keras

    best_path = run.path / "best.keras"
    if best_path.exists():
        return keras.models.load_model(best_path), best_path
    return model, run.path / "final.keras"


def finish(run: Run, progress, result: dict, test_accuracy: float | None, **extra) -> dict:
    """The end of every run: its status (completed or stopped), why it stopped, and its numbers.

    Args:
        progress: the run's callback; ``result``: the CLI result so far (with ``train_seconds``).
        test_accuracy: None for a regression.
        extra: more numbers for status.json (a table's test MAE and R²).

    Returns:
        The CLI result with its final status.
    """
    status = "stopped" if progress.stop_reason in ("stop_file", "max_seconds") else "completed"
    run.update_status(status=status, stop_reason=progress.stop_reason,
                      stop_message=STOP_REASONS.get(progress.stop_reason), ended=now_iso(),
                      train_seconds=result["train_seconds"], epochs_done=progress.epochs_done,
                      best_epoch=progress.best_epoch, best_val_accuracy=progress.best_val_accuracy,
                      test_accuracy=test_accuracy, **extra)  # fmt: skip
    return {**result, "status": status, "test_accuracy": test_accuracy}


@contextlib.contextmanager
def frozen_gc() -> Iterator[None]:
    """Keeps Python's full garbage collections off the objects alive before a fit, during it.

    TensorFlow and Keras hold millions of long-lived objects; a full collection walks them all
    (0.2-0.3 s each, measured on mnist-fast, about 5% of its one-epoch fit, at random moments).
    ``gc.freeze`` moves them to a generation collections skip; ``unfreeze`` gives them back after.
    A process that froze objects before (the web server's warm-up) keeps its freeze untouched.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def seed_everything(seed: int) -> None:
    """Same seed, same data order and initial weights (and deterministic ops)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def versions() -> dict:
    """The versions a run was trained with, for config.json."""
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}  # fmt: skip


def _stop_on_sigterm(run: Run) -> None:
    """SIGTERM (e.g. from core.runs.jobs or ``kill``) becomes a cooperative STOP request."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum, frame):
        run.request_stop()

    signal.signal(signal.SIGTERM, _handler)
