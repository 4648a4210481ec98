"""Training: prepare data, build the model, fit with callbacks that write the run store.

``train(config)`` is the single code path used by the CLI (``python -m core.train``)
and, through :mod:`core.jobs`, by the web app.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core import datasets
from core.architectures import ModelSpec, build_model, get_preset, make_optimizer, summarize, validate_spec
from core.errors import InputError
from core.runs import BATCH_FIELDS, HISTORY_FIELDS, Run, RunStore, append_csv, now_iso, write_json_atomic

TASKS = ("mnist", "images")
TEST_FRACTION = 0.15
MAX_DATA_BYTES = 6 * 1024**3  # decoded float32 images kept in memory
STATUS_EVERY_SECONDS = 1.0
BATCH_LOG_EVERY = 10  # batches between rows of batches.csv


@dataclass
class TrainConfig:
    """Everything a run needs; stored in config.json. ``None`` means "the preset's value"."""

    task: str
    data: str | None
    preset: str = "mnist-fast"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    patience: int | None = None
    min_delta: float | None = None
    validation_fraction: float | None = None
    test_fraction: float = TEST_FRACTION
    image_size: int | None = None
    color_mode: str | None = None
    augment: bool = True
    seed: int = 42
    max_seconds: float | None = None
    name: str | None = None
    spec: dict | None = None  # a full ModelSpec dict (layer editor) instead of a preset
    extra: dict = field(default_factory=dict)

    def resolve_spec(self) -> ModelSpec:
        """The preset (or given spec) with this config's overrides applied and checked.

        Raises:
            InputError: unknown preset, wrong task, or a setting out of range.
        """
        if self.task not in TASKS:
            raise InputError(f"Expected --task in {TASKS}. Received: {self.task!r}")
        spec = ModelSpec.from_dict(self.spec) if self.spec else get_preset(self.preset)
        if spec.task not in ("any", self.task):
            raise InputError(f"Preset {spec.name!r} is made for --task {spec.task}, not {self.task}.")
        overrides = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "validation_fraction": self.validation_fraction,
            "image_size": self.image_size,
            "color_mode": self.color_mode,
        }
        for key, value in overrides.items():
            if value is not None:
                setattr(spec, key, value)
        if not self.augment:
            spec.augment = {}
        _check_hyperparameters(spec, self)
        if self.task == "mnist":
            if self.image_size not in (None, 28):
                raise InputError(f"MNIST images are 28x28. Received: --image-size {self.image_size}")
            spec.image_size, spec.color_mode = 28, "grayscale"
        return spec


def _check(name: str, value, lo, hi) -> None:
    if (
        value is None
        or isinstance(value, bool)
        or not (lo <= value <= hi)
        or (isinstance(value, float) and math.isnan(value))
    ):
        raise InputError(f"Expected {name} in {lo}..{hi}. Received: {name}={value!r}")


def _check_hyperparameters(spec: ModelSpec, cfg: TrainConfig) -> None:
    _check("epochs", spec.epochs, 1, 1000)
    _check("batch_size", spec.batch_size, 1, 4096)
    _check("learning_rate", spec.learning_rate, 1e-7, 10.0)
    _check("patience", spec.patience, 0, 1000)
    _check("min_delta", spec.min_delta, 0.0, 10.0)
    _check("validation_fraction", spec.validation_fraction, 0.01, 0.9)
    _check("test_fraction", cfg.test_fraction, 0.0, 0.5)
    if spec.validation_fraction + cfg.test_fraction > 0.9:
        raise InputError("validation_fraction + test_fraction must leave at least 10% for training.")
    _check("image_size", spec.image_size, 8, 1024)
    _check("seed", cfg.seed, 0, 2**31 - 1)
    if cfg.max_seconds is not None:
        _check("max_seconds", cfg.max_seconds, 1, 7 * 24 * 3600)
    if spec.color_mode not in ("grayscale", "rgb"):
        raise InputError(f"Expected color_mode 'grayscale' or 'rgb'. Received: {spec.color_mode!r}")


# ------------------------------------------------------------------------------- data


@dataclass
class PreparedData:
    """Arrays ready for ``fit``: x float32 (N, H, W, C) in [0, 1], y one-hot (N, K)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    split: dict = field(default_factory=dict)  # file lists for image folders
    skipped: list[dict] = field(default_factory=list)


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[np.asarray(labels, dtype=int)]


def mnist_to_model_input(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return (x.astype(np.float32) / 255.0)[..., None]


def prepare_data(cfg: TrainConfig, spec: ModelSpec, log=print) -> PreparedData:
    """Loads and splits the data for a run (see DESIGN.md "Data")."""
    if cfg.task == "mnist":
        mnist = datasets.load_mnist(cfg.data)
        tr, va, _ = datasets.stratified_split(
            mnist.y_train, (1 - spec.validation_fraction, spec.validation_fraction, 0.0), cfg.seed
        )
        x = mnist_to_model_input(mnist.x_train)
        k = 10
        return PreparedData(
            x[tr],
            one_hot(mnist.y_train[tr], k),
            x[va],
            one_hot(mnist.y_train[va], k),
            mnist_to_model_input(mnist.x_test),
            one_hot(mnist.y_test, k),
            list(datasets.MnistData.class_names),
            mnist.source,
        )
    if not cfg.data:
        raise InputError("--data FOLDER is required for --task images.")
    log(f"Checking the images in {cfg.data} ...")
    scan = datasets.scan_image_folder(
        cfg.data, progress=lambda d, t: log(f"  checked {d}/{t} files") if d % 500 == 0 or d == t else None
    )
    if scan.skipped:
        log(f"Skipped {len(scan.skipped)} unreadable file(s):")
        for s in scan.skipped[:50]:
            log(f"  {s.path}: {s.reason}")
    files = np.array(scan.train_files)
    labels = np.array(scan.train_labels)
    if scan.test_files:
        v = spec.validation_fraction
        tr, va, _ = datasets.stratified_split(labels, (1 - v, v, 0.0), cfg.seed)
        test_files, test_labels = np.array(scan.test_files), np.array(scan.test_labels)
    else:
        v, t = spec.validation_fraction, cfg.test_fraction
        tr, va, te = datasets.stratified_split(labels, (1 - v - t, v, t), cfg.seed)
        test_files, test_labels = files[te], labels[te]
    channels = 1 if spec.color_mode == "grayscale" else 3
    need = len(labels) + len(test_labels) if scan.test_files else len(labels)
    nbytes = need * spec.image_size**2 * channels * 4
    if nbytes > MAX_DATA_BYTES:
        raise InputError(
            f"{need} images at {spec.image_size}x{spec.image_size}x{channels} need {nbytes / 1e9:.1f} GB "
            "of memory; choose a smaller --image-size."
        )
    log(f"Decoding {need} images at {spec.image_size}x{spec.image_size} {spec.color_mode} ...")
    x_all = datasets.load_image_arrays(files.tolist(), spec.image_size, spec.color_mode)
    x_test = (
        datasets.load_image_arrays(test_files.tolist(), spec.image_size, spec.color_mode)
        if scan.test_files
        else x_all[te]
    )
    k = len(scan.class_names)
    split = {
        "class_names": scan.class_names,
        "train": [[f, int(label)] for f, label in zip(files[tr].tolist(), labels[tr].tolist())],
        "validation": [[f, int(label)] for f, label in zip(files[va].tolist(), labels[va].tolist())],
        "test": [[f, int(label)] for f, label in zip(test_files.tolist(), test_labels.tolist())],
    }
    return PreparedData(
        x_all[tr],
        one_hot(labels[tr], k),
        x_all[va],
        one_hot(labels[va], k),
        x_test,
        one_hot(test_labels, k),
        scan.class_names,
        str(cfg.data),
        split,
        [asdict(s) for s in scan.skipped],
    )


def make_augmenter(augment: dict, seed: int):
    """A Keras preprocessing pipeline for label-preserving augmentation (or None).

    Keys: flip ("horizontal" | "vertical" | "horizontal_and_vertical"), rotation
    (fraction of a full turn), zoom, translation (fractions), contrast, brightness.
    """
    if not augment:
        return None
    import keras
    from keras import layers

    steps = []
    if augment.get("flip"):
        steps.append(layers.RandomFlip(augment["flip"], seed=seed))
    if augment.get("rotation"):
        steps.append(layers.RandomRotation(augment["rotation"], fill_mode="nearest", seed=seed + 1))
    if augment.get("zoom"):
        steps.append(layers.RandomZoom(augment["zoom"], fill_mode="nearest", seed=seed + 2))
    if augment.get("translation"):
        t = augment["translation"]
        steps.append(layers.RandomTranslation(t, t, fill_mode="nearest", seed=seed + 3))
    if augment.get("contrast"):
        steps.append(layers.RandomContrast(augment["contrast"], value_range=(0, 1), seed=seed + 4))
    if augment.get("brightness"):
        steps.append(layers.RandomBrightness(augment["brightness"], value_range=(0, 1), seed=seed + 5))
    unknown = set(augment) - {"flip", "rotation", "zoom", "translation", "contrast", "brightness"}
    if unknown:
        raise InputError(f"Unknown augmentation option(s): {sorted(unknown)}")
    return keras.Sequential(steps, name="augment") if steps else None


# -------------------------------------------------------------------------- callbacks


def _make_run_callback(run: Run, steps_per_epoch: int, epochs: int, max_seconds: float | None):
    import keras

    class RunStoreCallback(keras.callbacks.Callback):
        """Writes history.csv, batches.csv and status.json; honours STOP, time budget and NaN."""

        def __init__(self):
            super().__init__()
            self.stop_reason: str | None = None
            self.best_val_loss = math.inf
            self.best_val_accuracy: float | None = None
            self.best_epoch: int | None = None
            self.epochs_done = 0
            self.epoch = 0

        def on_train_begin(self, logs=None):
            self.t0 = self.last_status = time.time()
            self.step = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            self.t_epoch = time.time()

        def _status(self, batch: int, **extra):
            run.update_status(
                status="running",
                epoch=self.epoch,
                epochs=epochs,
                batch=batch,
                steps_per_epoch=steps_per_epoch,
                elapsed=round(time.time() - self.t0, 2),
                epochs_done=self.epochs_done,
                best_val_accuracy=self.best_val_accuracy,
                best_epoch=self.best_epoch,
                **extra,
            )

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.step += 1
            loss = logs.get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.stop_reason = "nan"
                self.model.stop_training = True
                run.log(f"Loss became {loss} at epoch {self.epoch}, batch {batch + 1}: stopping.")
                return
            if run.stop_requested():
                self.stop_reason = "stop_file"
                self.model.stop_training = True
                run.log(f"STOP requested: stopping at epoch {self.epoch}, batch {batch + 1}.")
                return
            if max_seconds is not None and time.time() - self.t0 > max_seconds:
                self.stop_reason = "max_seconds"
                self.model.stop_training = True
                run.log(f"Time budget of {max_seconds:g} s reached at epoch {self.epoch}, batch {batch + 1}.")
                return
            if (batch + 1) % BATCH_LOG_EVERY == 0 or batch + 1 == steps_per_epoch:
                append_csv(
                    run.path / "batches.csv",
                    {
                        "epoch": self.epoch,
                        "batch": batch + 1,
                        "step": self.step,
                        "loss": _r(loss),
                        "accuracy": _r(logs.get("accuracy")),
                        "seconds": round(time.time() - self.t0, 3),
                    },
                    BATCH_FIELDS,
                )
            if time.time() - self.last_status >= STATUS_EVERY_SECONDS:
                self.last_status = time.time()
                self._status(batch + 1)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if self.stop_reason == "nan":
                return
            val_loss = logs.get("val_loss")
            if val_loss is None:  # stopped mid-epoch: Keras skipped validation
                return
            self.epochs_done = epoch + 1
            if val_loss is not None and val_loss < self.best_val_loss:
                self.best_val_loss = float(val_loss)
                self.best_val_accuracy = _r(logs.get("val_accuracy"))
                self.best_epoch = epoch + 1
            lr = self.model.optimizer.learning_rate
            append_csv(
                run.path / "history.csv",
                {
                    "epoch": epoch + 1,
                    "loss": _r(logs.get("loss")),
                    "accuracy": _r(logs.get("accuracy")),
                    "val_loss": _r(val_loss),
                    "val_accuracy": _r(logs.get("val_accuracy")),
                    "lr": float(np.asarray(lr)),
                    "seconds": round(time.time() - self.t_epoch, 3),
                },
                HISTORY_FIELDS,
            )
            run.log(
                f"epoch {epoch + 1}/{epochs}  loss {logs.get('loss', float('nan')):.4f}  "
                f"acc {logs.get('accuracy', float('nan')):.4f}  val_loss {val_loss:.4f}  "
                f"val_acc {logs.get('val_accuracy', float('nan')):.4f}  {time.time() - self.t_epoch:.1f}s"
            )
            self._status(steps_per_epoch)

    return RunStoreCallback()


def _r(value, digits: int = 6):
    return None if value is None else round(float(value), digits)


# ------------------------------------------------------------------------------ train


def train(cfg: TrainConfig, runs_dir: str | Path | None = None, run: Run | None = None) -> dict:
    """Trains one run end to end and returns the CLI's result dict.

    Bad input found before the run folder exists raises InputError (nothing written).
    Problems during training mark the run ``failed`` and are returned with ``"error"``.
    """
    import keras
    import tensorflow as tf

    spec = cfg.resolve_spec()
    input_shape = (spec.image_size, spec.image_size, 1 if spec.color_mode == "grayscale" else 3)
    warnings = validate_spec(spec, input_shape, 10 if cfg.task == "mnist" else 2)
    config = {
        "task": cfg.task,
        "preset": cfg.preset if not cfg.spec else (cfg.name or spec.name),
        "data": cfg.data,
        "train": asdict(cfg),
        "spec": spec.to_dict(),
        "input_shape": list(input_shape),
        "versions": _versions(),
    }
    store = RunStore(runs_dir)
    if run is None:
        run = store.create(cfg.name or spec.name, config)
    else:  # a folder queued by core.jobs: keep what it holds, add the full config
        write_json_atomic(run.config_path, {**run.config(), **config})
    run.update_status(status="running", pid=_pid(), started=now_iso())
    _stop_on_sigterm(run)
    result = {
        "run_id": run.id,
        "run_dir": str(run.path.resolve()),
        "status": "running",
        "epochs": 0,
        "train_seconds": None,
        "test_accuracy": None,
        "best_val_accuracy": None,
    }
    try:
        for w in warnings:
            run.log(f"warning: {w}")
        data = prepare_data(cfg, spec, run.log)
        k = len(data.class_names)
        config.update(
            class_names=data.class_names,
            data_source=data.source,
            n_train=len(data.y_train),
            n_val=len(data.y_val),
            n_test=len(data.y_test),
            skipped_files=data.skipped,
        )
        write_json_atomic(run.config_path, {**run.config(), **config})
        if data.split:
            write_json_atomic(run.path / "split.json", data.split)
        keras.utils.set_random_seed(cfg.seed)
        tf.config.experimental.enable_op_determinism()
        notes: list[str] = []
        model = build_model(spec, input_shape, k, notes)
        summary = summarize(model, warnings)
        for n in notes:
            run.log(n)
        run.log(
            f"Model {spec.name}: {summary.total_params:,} parameters "
            f"({summary.total_params * 4 / 1e6:,.1f} MB as float32), "
            f"{summary.total_macs / 1e6:,.2f} M multiply-adds per image, input {input_shape}."
        )
        steps = math.ceil(len(data.y_train) / spec.batch_size)
        model.compile(
            optimizer=make_optimizer(spec, steps, spec.epochs),
            loss=spec.loss,
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        augmenter = make_augmenter(spec.augment, cfg.seed)
        train_ds = datasets.make_dataset(
            data.x_train, data.y_train, spec.batch_size, shuffle=True, seed=cfg.seed, augment=augmenter
        )
        val_ds = datasets.make_dataset(data.x_val, data.y_val, max(spec.batch_size, 256))
        best_path = run.path / "best.keras"
        run_cb = _make_run_callback(run, steps, spec.epochs, cfg.max_seconds)
        callbacks = [
            run_cb,
            keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
            keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=spec.min_delta, patience=spec.patience),
        ]
        config.update(n_params=summary.total_params, macs=summary.total_macs, steps_per_epoch=steps)
        write_json_atomic(run.config_path, {**run.config(), **config})
        run.log(
            f"Training on {len(data.y_train)} images, validating on {len(data.y_val)}, "
            f"{spec.epochs} epoch(s) of {steps} batches of {spec.batch_size}."
        )
        t0 = time.perf_counter()
        model.fit(train_ds, validation_data=val_ds, epochs=spec.epochs, callbacks=callbacks, verbose=0)
        train_seconds = time.perf_counter() - t0
        result.update(
            train_seconds=round(train_seconds, 2), epochs=run_cb.epochs_done, best_val_accuracy=run_cb.best_val_accuracy
        )
        if run_cb.stop_reason == "nan":
            msg = (
                f"The loss became NaN/infinite at epoch {run_cb.epoch}; training diverged. "
                "Try a lower learning rate or add BatchNormalization."
            )
            run.update_status(status="failed", error=msg, ended=now_iso(), train_seconds=result["train_seconds"])
            result.update(status="failed", error=msg, _exit=1)
            return result
        model.save(run.path / "final.keras")
        from core.evaluation import evaluate_model

        checkpoint = best_path if best_path.exists() else run.path / "final.keras"
        best_model = keras.models.load_model(checkpoint) if best_path.exists() else model
        metrics = evaluate_model(best_model, data.x_test, data.y_test, data.class_names, spec.loss)
        metrics["checkpoint"] = checkpoint.name
        write_json_atomic(run.path / "metrics.json", metrics)
        status = "stopped" if run_cb.stop_reason in ("stop_file", "max_seconds") else "completed"
        run.update_status(
            status=status,
            stop_reason=run_cb.stop_reason,
            ended=now_iso(),
            train_seconds=result["train_seconds"],
            epochs_done=run_cb.epochs_done,
            best_epoch=run_cb.best_epoch,
            best_val_accuracy=run_cb.best_val_accuracy,
            test_accuracy=metrics["accuracy"],
        )
        run.log(
            f"{status}: test accuracy {metrics['accuracy']:.4f} on {metrics['n']} images "
            f"({checkpoint.name}), fit took {train_seconds:.1f} s."
        )
        result.update(status=status, test_accuracy=metrics["accuracy"])
        return result
    except InputError as exc:
        run.update_status(status="failed", error=str(exc), ended=now_iso())
        run.log(f"failed: {exc}")
        result.update(status="failed", error=str(exc), _exit=2)
        return result
    except Exception as exc:  # anything unexpected: the run says why, the caller gets exit 1
        tb = traceback.format_exc()
        run.update_status(status="failed", error=f"{type(exc).__name__}: {exc}", ended=now_iso())
        run.log(f"failed: {type(exc).__name__}: {exc}\n{tb}")
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}", _exit=1)
        return result


def _stop_on_sigterm(run: Run) -> None:
    """SIGTERM (e.g. from core.jobs or ``kill``) becomes a cooperative STOP request."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum, frame):
        run.request_stop()

    signal.signal(signal.SIGTERM, _handler)


def _pid() -> int:
    import os

    return os.getpid()


def _versions() -> dict:
    import platform

    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


# Calibrated on this project's 2-core CPU reference machine (mnist-fast: 2.6 M multiply-adds
# per image, ~11 s per epoch of 54,000 images; orientation-fast: 48 M, ~3.8 s per 840).
MACS_PER_SECOND = 35e9  # forward + backward counted as 3x the forward multiply-adds
SECONDS_PER_BATCH = 0.004  # fixed cost of a training step (Python, optimizer, callbacks)


def estimate_epoch_seconds(macs_per_image: int, n_train: int, batch_size: int) -> float:
    """A rough seconds-per-epoch estimate from multiply-adds (not a timing: say so in the UI)."""
    batches = math.ceil(n_train / max(batch_size, 1))
    return n_train * macs_per_image * 3 / MACS_PER_SECOND + batches * SECONDS_PER_BATCH
