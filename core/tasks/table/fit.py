"""Fit and test a table run: a dense network on a CSV, into the same run store as images.

Same run callbacks as images (progress and Stop, best checkpoint, early stopping), so the
jobs, the curves and the Stop button work unchanged. Not used for tables: the replay of
first-layer kernels and sample images, and the "I don't know" calibration (both are about
images). The test is scored against the constant baseline (:mod:`core.tasks.table.evaluate`).
"""

from __future__ import annotations

import math
import time

from core.base.storage import write_json_atomic
from core.metrics.table import majority_baseline, mean_baseline
from core.models.table_net import CLASSIFICATION, build_table_model, compile_table_model, make_dataset, to_inputs
from core.runs.store import Run
from core.tasks.table.data import TablePrepared, prepare_table
from core.tasks.table.evaluate import score
from core.training.callbacks import run_callbacks
from core.training.config import TrainConfig
from core.training.fit import best_model, finish, fitted, seed_everything, versions

VALIDATION_BATCH = 1024  # validation has no gradients: larger batches are simply faster


def fit_table(cfg: TrainConfig, run: Run, result: dict) -> dict:
    """Prepares the rows, fits, tests the best checkpoint and writes metrics.json; returns the CLI result.

    Raises:
        InputError: the file or the choices cannot be used (the caller marks the run failed).
    """
    from core.training.distribute import default_record  # tables train on the default strategy

    run.update_status(phase="loading")
    data = prepare_table(cfg, run.log)
    for note in data.notes:
        run.log(f"note: {note}")
    write_json_atomic(run.path / "split.json", data.split())
    spec, features = cfg.spec, data.features
    seed_everything(cfg.seed)
    steps = math.ceil(len(data.train) / spec.batch_size)
    run.update_status(phase="building")
    model = build_table_model(spec.layers, features, name=spec.name)
    compile_table_model(model, spec, features.task, steps)
    baseline = _baseline(data)
    run.update_config(**{**data.facts(), "table": {**data.facts()["table"], "baseline": baseline}},
                      n_params=int(model.count_params()), steps_per_epoch=steps, versions=versions(),
                      distribute=default_record(spec.batch_size))  # fmt: skip
    run.log(f"Model {spec.name}: {model.count_params():,} parameters, {len(features.columns)} input column(s), "
            f"{features.task}.")  # fmt: skip
    run.log(f"Training on {len(data.train)} rows, validating on {len(data.validation)}, "
            f"{spec.epochs} epoch(s) of {steps} batches of {spec.batch_size}.")  # fmt: skip
    train_ds = make_dataset(to_inputs(data.x("train"), features), data.y("train"), spec.batch_size,
                            shuffle_seed=cfg.seed)  # fmt: skip
    val_ds = make_dataset(to_inputs(data.x("validation"), features), data.y("validation"),
                          max(spec.batch_size, VALIDATION_BATCH))  # fmt: skip
    progress, callbacks = run_callbacks(run, steps, spec, cfg.max_seconds)
    t0 = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=callbacks, verbose=0, shuffle=False)
    failure = fitted(run, model, progress, result, round(time.perf_counter() - t0, 2))
    return failure or _test(run, model, data, baseline, progress, result)


def _baseline(data: TablePrepared):
    """The constant the baseline predicts: the training mean, or the training rows' majority class."""
    if data.features.task == CLASSIFICATION:
        classes = data.features.classes
        return majority_baseline([classes[i] for i in data.y("train")], [classes[i] for i in data.y("test")])[
            "prediction"
        ]
    return mean_baseline(data.y("train"), data.y("test"))["prediction"]


def _test(run: Run, model, data: TablePrepared, baseline, progress, result: dict) -> dict:
    """Scores the best checkpoint (else ``model``) on the test rows and writes metrics.json and the status."""
    run.update_status(phase="testing")
    tested, checkpoint = best_model(run, model)
    features = data.features
    outputs = tested.predict(make_dataset(to_inputs(data.x("test"), features), batch_size=VALIDATION_BATCH),
                                 verbose=0)  # fmt: skip
    y = data.y("test")
    y_true = [features.classes[i] for i in y] if features.task == CLASSIFICATION else y.astype("float64").tolist()
    metrics = {**score(features, y_true, outputs, baseline), "checkpoint": checkpoint.name}
    write_json_atomic(run.path / "metrics.json", metrics)
    accuracy = metrics.get("accuracy")
    out = finish(run, progress, result, accuracy, test_mae=metrics.get("mae"), test_r2=metrics.get("r2"))
    status = out["status"]
    if features.task == CLASSIFICATION:
        run.log(f"{status}: test accuracy {accuracy:.4f} on {metrics['n']} rows (baseline, always "
                f"{baseline!r}: {metrics['baseline']['accuracy']:.4f}) ({checkpoint.name}), "
                f"fit took {result['train_seconds']:.1f} s.")  # fmt: skip
    else:
        r2 = "n/a" if metrics["r2"] is None else f"{metrics['r2']:.3f}"
        run.log(f"{status}: test MAE {metrics['mae']:.4g}, RMSE {metrics['rmse']:.4g}, R² {r2} on {metrics['n']} "
                f"rows (baseline, always {baseline:.4g}: MAE {metrics['baseline']['mae']:.4g}) ({checkpoint.name}), "
                f"fit took {result['train_seconds']:.1f} s.")  # fmt: skip
    return {**out, "test_mae": metrics.get("mae"),
            "test_rmse": metrics.get("rmse"), "test_r2": metrics.get("r2"), "baseline": metrics["baseline"]}  # fmt: skip
