"""The callback that writes a run's progress to the run store as training goes.

It writes ``history.csv`` once per epoch, ``batches.csv`` every few batches and
``status.json`` at most once a second, and stops training cooperatively on a ``STOP``
file, at the time budget, or when the loss stops being a number.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.base.storage import append_csv
from core.runs.store import BATCH_FIELDS, HISTORY_FIELDS, Run

STATUS_EVERY_SECONDS = 1.0
BATCH_LOG_EVERY = 10  # batches between rows of batches.csv


def _r(value, digits: int = 6):
    return None if value is None else round(float(value), digits)


def make_run_callback(run: Run, steps_per_epoch: int, epochs: int, max_seconds: float | None):
    """A ``keras.callbacks.Callback`` bound to ``run`` (keras is imported only when training).

    The class is defined in here so that importing this module never loads Keras; this
    function is long only because the class is, and each of its methods is short.
    """
    import keras

    class RunStoreCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stop_reason: str | None = None
            self.best_val_loss = math.inf
            self.best_val_accuracy: float | None = None
            self.best_epoch: int | None = None
            self.epochs_done = 0
            self.epoch = 0
            self.batch = 0  # batches done in the current epoch
            self.phase = "tracing"  # core.runs.schema.PHASES: the first batch builds the training graph

        def on_train_begin(self, logs=None):
            self.t0 = self.last_status = time.time()
            self.step = 0
            run.update_status(phase="tracing")

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.batch = epoch + 1, 0
            self.t_epoch = time.time()
            if self.step:  # after the first epoch's validation: say at once that it trains again
                self.phase = "training"
                self._status()

        def on_test_begin(self, logs=None):  # fit's validation pass, after an epoch's last batch
            self.phase = "validating"
            self._status()

        def _status(self, **extra):
            run.update_status(status="running", phase=self.phase, epoch=self.epoch, epochs=epochs, batch=self.batch,
                              steps_per_epoch=steps_per_epoch, elapsed=round(time.time() - self.t0, 2),
                              epochs_done=self.epochs_done, best_val_accuracy=self.best_val_accuracy,
                              best_epoch=self.best_epoch, **extra)  # fmt: skip

        def _stop(self, reason: str, message: str) -> None:
            self.stop_reason = reason
            self.model.stop_training = True
            run.log(f"{message} at epoch {self.epoch}, batch {self.batch}.")
            self._status(stop_reason=reason)  # the page shows where it stopped, not a full epoch

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            self.step += 1
            self.batch = batch + 1
            loss = logs.get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                return self._stop("nan", f"Loss became {loss}: stopping")
            if run.stop_requested():
                return self._stop("stop_file", "STOP requested: stopping")
            if max_seconds is not None and time.time() - self.t0 > max_seconds:
                return self._stop("max_seconds", f"Time budget of {max_seconds:g} s reached")
            if self.batch % BATCH_LOG_EVERY == 0 or self.batch == steps_per_epoch:
                append_csv(run.path / "batches.csv", {"epoch": self.epoch, "batch": self.batch, "step": self.step,
                           "loss": _r(loss), "accuracy": _r(logs.get("accuracy")),
                           "seconds": round(time.time() - self.t0, 3)}, BATCH_FIELDS)  # fmt: skip
            if self.step == 1 or time.time() - self.last_status >= STATUS_EVERY_SECONDS:
                self.phase = "training"  # the first batch is done: the graph is built
                self.last_status = time.time()
                self._status()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            val_loss = logs.get("val_loss")
            if self.stop_reason == "nan" or val_loss is None:  # diverged, or stopped before validation
                return
            self.epochs_done = epoch + 1
            if val_loss < self.best_val_loss:
                self.best_val_loss = float(val_loss)
                self.best_val_accuracy = _r(logs.get("val_accuracy"))
                self.best_epoch = epoch + 1
            seconds = time.time() - self.t_epoch
            append_csv(run.path / "history.csv", {"epoch": epoch + 1, "loss": _r(logs.get("loss")),
                       "accuracy": _r(logs.get("accuracy")), "val_loss": _r(val_loss),
                       "val_accuracy": _r(logs.get("val_accuracy")),
                       "lr": float(np.asarray(self.model.optimizer.learning_rate)),
                       "seconds": round(seconds, 3), "mae": _r(logs.get("mae")),
                       "val_mae": _r(logs.get("val_mae"))}, HISTORY_FIELDS)  # fmt: skip
            nan = float("nan")
            if "mae" in logs:  # a table regression: MAE, not accuracy
                run.log(f"epoch {epoch + 1}/{epochs}  loss {logs.get('loss', nan):.4f}  mae {logs.get('mae', nan):.4f}  "
                        f"val_loss {val_loss:.4f}  val_mae {logs.get('val_mae', nan):.4f}  {seconds:.1f}s")  # fmt: skip
            else:
                run.log(f"epoch {epoch + 1}/{epochs}  loss {logs.get('loss', nan):.4f}  acc {logs.get('accuracy', nan):.4f}  "
                        f"val_loss {val_loss:.4f}  val_acc {logs.get('val_accuracy', nan):.4f}  {seconds:.1f}s")  # fmt: skip
            self._status(**({"stop_reason": self.stop_reason} if self.stop_reason else {}))

    return RunStoreCallback()


TENSORBOARD = "tensorboard"  # in the run folder: train/ and validation/ event files


def run_callbacks(run: Run, steps_per_epoch: int, spec, max_seconds: float | None) -> tuple:
    """The callbacks every fit uses: the run store's, the best checkpoint, early stopping and TensorBoard's logs.

    Args:
        spec: the run's ``ModelSpec`` (epochs, patience, min_delta).

    Returns:
        ``(progress, callbacks)``: the run store's callback (why and where training ended) and the list.
    """
    import keras

    progress = make_run_callback(run, steps_per_epoch, spec.epochs, max_seconds)
    return progress, [
        progress,
        keras.callbacks.ModelCheckpoint(run.path / "best.keras", monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=spec.min_delta, patience=spec.patience),
        # TensorBoard's own event files (per-epoch scalars and the graph): `tensorboard --logdir runs` shows every
        # run. No profiling and no per-batch summaries: they would slow the fit itself.
        keras.callbacks.TensorBoard(
            log_dir=str(run.path / TENSORBOARD),
            histogram_freq=0,
            write_graph=True,
            update_freq="epoch",
            profile_batch=0,
        ),
    ]
