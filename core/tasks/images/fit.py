"""Fit and test an image model (folders or MNIST) in its run folder, then calibrate "I don't know".

Called through :meth:`core.tasks.images.ImageTask.body`; the run folder's life around it is
:mod:`core.training.fit`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from core.base.storage import write_json_atomic
from core.data import folders
from core.models import ModelSummary, build_model, make_loss, make_optimizer, summarize_spec
from core.runs.store import Run
from core.training import distribute
from core.training.augment import make_augmenter
from core.training.callbacks import run_callbacks
from core.training.config import TrainConfig
from core.training.data import PreparedData
from core.training.fit import best_model, finish, fitted, frozen_gc, seed_everything, versions

VALIDATION_BATCH = 256  # validation has no gradients: larger batches are simply faster

# (config, run, data, result) -> result: trains and tests; ends with finish_fit
FitAndTest = Callable[[TrainConfig, Run, PreparedData, dict], dict]


def fit_and_test(cfg: TrainConfig, run: Run, data: PreparedData, result: dict) -> dict:
    """``model.fit`` on ``build_model(cfg.spec)`` with the run's callbacks, then the test."""
    import keras

    spec, k = cfg.spec, len(data.class_names)
    placement = distribute.current()  # chosen by core.train before TensorFlow started (--devices, TF_CONFIG)
    seed_everything(cfg.seed)
    batch = spec.batch_size * placement.replicas  # spec.batch_size is per replica; the dataset yields global batches
    steps = math.ceil(len(data.y_train) / batch)
    run.update_status(phase="building")
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
    train_ds = folders.make_dataset(data.x_train, data.y_train, batch, shuffle=True, seed=cfg.seed,
                                    augment=make_augmenter(spec.augment, cfg.seed))  # fmt: skip
    val_ds = folders.make_dataset(data.x_val, data.y_val, max(batch, VALIDATION_BATCH))
    progress, callbacks = run_callbacks(run, steps, spec, cfg.max_seconds)
    from core.training.replay_recorder import make_replay_callback  # first-layer kernels, confusion matrix, samples

    replay = make_replay_callback(run, data.x_val, data.y_val, data.class_names, cfg.seed, spec.batch_size)
    callbacks += [replay] if replay is not None else []  # after `progress`: history.csv first, then the replay
    t0 = time.perf_counter()
    with frozen_gc():
        # shuffle=False: the dataset shuffles itself each epoch (Keras would warn that it ignores True)
        model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=callbacks, verbose=0, shuffle=False)
    return finish_fit(run, model, data, cfg, progress, result, round(time.perf_counter() - t0, 2))


def record_model(run: Run, cfg: TrainConfig, data: PreparedData, steps: int, **extra) -> ModelSummary:
    """Writes what training learnt of the data and the model (size, cost, versions) into config.json."""
    summary = summarize_spec(cfg.spec, cfg.input_shape(), len(data.class_names))
    if "distribute" not in extra:  # a fit that does not read --devices (the API comparison): the default strategy
        extra["distribute"] = distribute.default_record(cfg.spec.batch_size)
    run.update_config(**data.facts(), input_shape=list(cfg.input_shape()), n_params=summary.total_params,
                      macs=summary.total_macs, steps_per_epoch=steps, versions=versions(), **extra)  # fmt: skip
    return summary


def finish_fit(run: Run, model, data: PreparedData, cfg: TrainConfig, progress, result: dict, seconds: float) -> dict:
    """After the fit: a diverged run fails; any other saves final.keras, is tested and calibrated.

    Args:
        progress: the run's callback (``make_run_callback``): why and where training ended.
        result: the CLI's result so far.
        seconds: the fit's wall time.
    """
    failure = fitted(run, model, progress, result, seconds)
    if failure is not None:
        return failure
    from core.metrics.classes import evaluate_model

    run.update_status(phase="testing")
    tested, checkpoint = best_model(run, model)
    metrics = evaluate_model(tested, data.x_test, data.y_test, data.class_names, cfg.spec.loss)
    metrics["checkpoint"] = checkpoint.name
    write_json_atomic(run.path / "metrics.json", metrics)
    run.update_status(phase="calibrating")
    _calibrate_ood(run, tested, data, checkpoint)
    out = finish(run, progress, result, metrics["accuracy"])
    run.log(f"{out['status']}: test accuracy {metrics['accuracy']:.4f} on {metrics['n']} images ({checkpoint.name}), "
            f"fit took {result['train_seconds']:.1f} s.")  # fmt: skip
    return out


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
