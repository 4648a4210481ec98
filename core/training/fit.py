"""``train(config)``: the one code path from a TrainConfig to a finished run folder.

Used by the CLI (``python -m core.train``) and, through :mod:`core.runs.jobs`, by the web app.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from core.base.errors import InputError
from core.base.storage import write_json_atomic
from core.data import folders as datasets
from core.models import ModelSummary, build_model, make_loss, make_optimizer, summarize_spec
from core.runs.store import Run, RunStore, now_iso, procs
from core.training import distribute
from core.training.augment import make_augmenter
from core.training.callbacks import STOP_REASONS, run_callbacks
from core.training.config import TrainConfig
from core.training.data import PreparedData, prepare_data

VALIDATION_BATCH = 256  # validation has no gradients: larger batches are simply faster


FitAndTest = Callable[[TrainConfig, Run, PreparedData, dict], dict]


def train(
    cfg: TrainConfig, runs_dir: str | Path | None = None, run: Run | None = None, fit_and_test: FitAndTest | None = None
) -> dict:
    """Trains one run end to end and returns the CLI's result dict.

    Args:
        cfg: the run's config (checked here).
        runs_dir: where to create the run folder (ignored when ``run`` is given).
        run: a folder created by :mod:`core.runs.jobs` (its config.json is ``cfg``).
        fit_and_test: trains and tests in place of ``model.fit`` on ``build_model(cfg.spec)``
            (the API comparison's hand-written ways); it ends with :func:`finish_fit`.

    Bad input found before the run folder exists raises InputError (nothing written).
    Problems during training mark the run ``failed`` and are returned with ``"error"``
    and ``"_exit"`` (2 for bad input, 1 for anything else).
    """
    warnings = cfg.validate()
    if run is None:
        run = RunStore(runs_dir).create(cfg.run_name(), cfg.to_dict())
    run.update_status(status="running", pid=os.getpid(), pid_start=procs.start_ticks(os.getpid()), started=now_iso())
    _stop_on_sigterm(run)
    result = {"run_id": run.id, "run_dir": str(run.path.resolve()), "status": "running", "epochs": 0,
              "train_seconds": None, "test_accuracy": None, "best_val_accuracy": None}  # fmt: skip
    try:
        for w in warnings:
            run.log(f"warning: {w}")
        if cfg.task == "table":  # a CSV and a dense network: its own data and test (no replay, no OOD)
            from core.tasks.table.fit import fit_table

            return fit_table(cfg, run, result)
        data = prepare_data(cfg, run.log)
        for note in data.notes:
            run.log(f"note: {note}")
        if data.split:
            write_json_atomic(run.path / "split.json", data.split)
        return (fit_and_test or _fit_and_test)(cfg, run, data, result)
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


def _fit_and_test(cfg: TrainConfig, run: Run, data: PreparedData, result: dict) -> dict:
    import keras
    import tensorflow as tf

    spec, k = cfg.spec, len(data.class_names)
    placement = distribute.current()  # chosen by core.train before TensorFlow started (--devices, TF_CONFIG)
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    batch = spec.batch_size * placement.replicas  # spec.batch_size is per replica; the dataset yields global batches
    steps = math.ceil(len(data.y_train) / batch)
    summary = record_model(run, cfg, data, steps, distribute=placement.record(spec.batch_size))
    run.log(placement.describe(spec.batch_size))
    notes: list[str] = []
    with placement.strategy.scope():  # variables (model, optimizer, metrics) live on every replica
        model = build_model(spec, cfg.input_shape(), k, notes)
        model.compile(optimizer=make_optimizer(spec, steps, spec.epochs), loss=make_loss(spec),
                      metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])  # fmt: skip
    for n in notes:
        run.log(n)
    run.log(f"Model {spec.name}: {summary.total_params:,} parameters ({summary.total_params * 4 / 1e6:,.1f} MB as "
            f"float32), {summary.total_macs / 1e6:,.2f} M multiply-adds per image, input {cfg.input_shape()}.")  # fmt: skip
    run.log(f"Training on {len(data.y_train)} images, validating on {len(data.y_val)}, "
            f"{spec.epochs} epoch(s) of {steps} batches of {batch}.")  # fmt: skip
    train_ds = datasets.make_dataset(data.x_train, data.y_train, batch, shuffle=True, seed=cfg.seed,
                                     augment=make_augmenter(spec.augment, cfg.seed))  # fmt: skip
    val_ds = datasets.make_dataset(data.x_val, data.y_val, max(batch, VALIDATION_BATCH))
    progress, callbacks = run_callbacks(run, steps, spec, cfg.max_seconds)
    from core.training.replay_recorder import make_replay_callback  # first-layer kernels, confusion matrix, samples

    replay = make_replay_callback(run, data.x_val, data.y_val, data.class_names, cfg.seed, spec.batch_size)
    callbacks += [replay] if replay is not None else []  # after `progress`: history.csv first, then the replay
    t0 = time.perf_counter()
    with frozen_gc():
        # shuffle=False: the dataset shuffles itself each epoch (Keras would warn that it ignores True)
        model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=callbacks, verbose=0, shuffle=False)
    return finish_fit(run, model, data, cfg, progress, result, round(time.perf_counter() - t0, 2))


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


def record_model(run: Run, cfg: TrainConfig, data: PreparedData, steps: int, **extra) -> ModelSummary:
    """Writes what training learnt of the data and the model (size, cost, versions) into config.json."""
    summary = summarize_spec(cfg.spec, cfg.input_shape(), len(data.class_names))
    if "distribute" not in extra:  # a fit that does not read --devices (the API comparison): the default strategy
        extra["distribute"] = distribute.default_record(cfg.spec.batch_size)
    run.update_config(**data.facts(), input_shape=list(cfg.input_shape()), n_params=summary.total_params,
                      macs=summary.total_macs, steps_per_epoch=steps, versions=_versions(), **extra)  # fmt: skip
    return summary


def finish_fit(run: Run, model, data: PreparedData, cfg: TrainConfig, progress, result: dict, seconds: float) -> dict:
    """After the fit: a diverged run fails; any other saves final.keras and is tested.

    Args:
        progress: the run's callback (``make_run_callback``): why and where training ended.
        result: the CLI's result so far.
        seconds: the fit's wall time.
    """
    result.update(train_seconds=seconds, epochs=progress.epochs_done, best_val_accuracy=progress.best_val_accuracy)
    if progress.stop_reason == "nan":
        msg = (f"The loss became NaN/infinite at epoch {progress.epoch}; training diverged. "
               "Try a lower learning rate or add BatchNormalization.")  # fmt: skip
        run.update_status(train_seconds=seconds)
        return failed(run, result, msg, 1)
    model.save(run.path / "final.keras")
    return _test(run, model, data, cfg, progress, result)


def _test(run: Run, model, data: PreparedData, cfg: TrainConfig, progress, result: dict) -> dict:
    """Evaluates the best checkpoint (else ``model``) on the test split and writes the final status."""
    import keras

    from core.metrics.classes import evaluate_model

    best_path = run.path / "best.keras"
    checkpoint = best_path if best_path.exists() else run.path / "final.keras"
    best_model = keras.models.load_model(checkpoint) if best_path.exists() else model
    metrics = evaluate_model(best_model, data.x_test, data.y_test, data.class_names, cfg.spec.loss)
    metrics["checkpoint"] = checkpoint.name
    write_json_atomic(run.path / "metrics.json", metrics)
    _calibrate_ood(run, best_model, data, checkpoint)
    status = "stopped" if progress.stop_reason in ("stop_file", "max_seconds") else "completed"
    run.update_status(status=status, stop_reason=progress.stop_reason,
                      stop_message=STOP_REASONS.get(progress.stop_reason), ended=now_iso(),
                      train_seconds=result["train_seconds"], epochs_done=progress.epochs_done,
                      best_epoch=progress.best_epoch, best_val_accuracy=progress.best_val_accuracy,
                      test_accuracy=metrics["accuracy"])  # fmt: skip
    run.log(f"{status}: test accuracy {metrics['accuracy']:.4f} on {metrics['n']} images ({checkpoint.name}), "
            f"fit took {result['train_seconds']:.1f} s.")  # fmt: skip
    return {**result, "status": status, "test_accuracy": metrics["accuracy"]}


def _calibrate_ood(run: Run, model, data: PreparedData, checkpoint: Path) -> None:
    """Writes ood.json: the "I don't know" threshold from the validation split (core.serving.ood).

    A failure is logged and never fails the run: predictions then say "unfamiliar": null.
    """
    from core.serving import ood

    try:
        cal = ood.calibrate(model, checkpoint, data.x_val, data.x_train, data.y_train.argmax(axis=1))
        ood.save(run.path, cal)
        run.log(f"ood: {cal.method} threshold {cal.threshold:.4f} ({cal.false_alarm_rate:.1%} of "
                f"{cal.n_validation} validation images above it).")  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - too few validation images, an odd model
        run.log(f"ood: no calibration ({type(exc).__name__}: {exc}).")


def _stop_on_sigterm(run: Run) -> None:
    """SIGTERM (e.g. from core.runs.jobs or ``kill``) becomes a cooperative STOP request."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum, frame):
        run.request_stop()

    signal.signal(signal.SIGTERM, _handler)


def _versions() -> dict:
    import platform

    import keras
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}  # fmt: skip
