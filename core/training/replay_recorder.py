"""The callback that records the replay: first-layer kernels, a confusion matrix and a few
predictions before training and after each epoch (the files are described in :mod:`core.runs.replay_record`).

Its cost is one forward pass over at most ``SAMPLE_SIZE`` validation images per epoch plus
a few kilobytes written; each epoch file records what it cost in ``seconds``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.base.storage import write_json_atomic
from core.metrics.classes import confusion_matrix
from core.runs import replay_record as record
from core.runs.store import Run


def first_kernel_layer(model):
    """The first layer (depth first, into nested models) that holds a 4-D kernel, or None.

    Conv2D has ``kernel`` ``(kh, kw, cin, filters)``; DepthwiseConv2D and SeparableConv2D
    have ``depthwise_kernel`` ``(kh, kw, cin, multiplier)``; Dense kernels are 2-D.
    """
    for layer in getattr(model, "layers", []):
        for name in ("kernel", "depthwise_kernel"):
            weight = getattr(layer, name, None)
            if weight is not None and len(weight.shape) == 4:
                return layer
        inner = first_kernel_layer(layer) if getattr(layer, "layers", None) else None
        if inner is not None:
            return inner
    return None


def layer_kernel(layer) -> np.ndarray:
    """The layer's 4-D kernel as a numpy array (``kernel`` first, else ``depthwise_kernel``)."""
    weight = getattr(layer, "kernel", None)
    if weight is None or len(weight.shape) != 4:
        weight = layer.depthwise_kernel
    return np.asarray(weight)


def make_replay_callback(run: Run, x_val: np.ndarray, y_val: np.ndarray, class_names: list[str], seed: int,
                         batch_size: int):  # fmt: skip
    """A ``keras.callbacks.Callback`` writing ``run``'s replay record (keras is imported only here).

    Args:
        x_val: ``(N, H, W, C)`` float32 validation images; y_val: ``(N, K)`` one-hot.
        seed: picks the fixed sample (the run's seed: the same run records the same images).
        batch_size: images per forward pass (the training batch: known to fit in memory).

    Returns:
        The callback, or None when the data are not images (nothing to replay).
    """
    import keras

    if np.ndim(x_val) != 4 or len(x_val) == 0:
        return None
    labels = np.argmax(y_val, axis=1)
    order = record.sample_order(labels, record.SAMPLE_SIZE, record.GALLERY_SIZE, seed)
    x_sample, y_sample = x_val[order], labels[order]  # (S, H, W, C), (S,)
    gallery = min(record.GALLERY_SIZE, len(order))
    chunk = max(1, min(batch_size, len(order)))
    folder = record.replay_dir(run.path)

    def predict(model) -> np.ndarray:
        """(S, K) probabilities, in equal chunks (the last padded) so the predict function traces once."""
        pad = -len(x_sample) % chunk
        x = np.concatenate([x_sample, x_sample[:pad]]) if pad else x_sample
        out = [np.asarray(model.predict_on_batch(x[i : i + chunk])) for i in range(0, len(x), chunk)]
        return np.concatenate(out)[: len(x_sample)]

    class ReplayCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.layer = None
            self.enabled = True
            self.costs: list[float] = []  # seconds per recorded epoch (epoch 0 first)

        def on_train_begin(self, logs=None):
            self.layer = first_kernel_layer(self.model)
            try:
                folder.mkdir(exist_ok=True)
                record.write_npz_atomic(folder / record.SAMPLES_FILE, images=record.thumbnails(x_sample[:gallery]),
                                        labels=y_sample)  # fmt: skip
                write_json_atomic(folder / record.META_FILE, {
                    "layer": self.layer.name if self.layer is not None else None,
                    "kernel_shape": list(layer_kernel(self.layer).shape) if self.layer is not None else None,
                    "filters_total": int(layer_kernel(self.layer).shape[-1]) if self.layer is not None else 0,
                    "filters_kept": record.MAX_FILTERS, "class_names": list(class_names),
                    "sample_size": len(order), "gallery_size": gallery, "seed": seed,
                })  # fmt: skip
            except OSError as exc:
                return self._give_up(exc)
            self._record(0)

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            loss = logs.get("loss")
            # Same rule as history.csv: an epoch cut short (no validation) or diverged is not kept.
            if logs.get("val_loss") is None or loss is None or not math.isfinite(float(loss)):
                return
            self._record(epoch + 1)

        def _record(self, epoch: int) -> None:
            if not self.enabled:
                return
            t0 = time.perf_counter()
            try:
                probs = predict(self.model)  # (S, K)
                arrays = {
                    "confusion": confusion_matrix(y_sample, probs.argmax(axis=1), len(class_names)).astype(np.int32),
                    "probs": probs[:gallery].astype(np.float32),
                }
                if self.layer is not None:
                    arrays["kernels"] = record.kept_kernels(layer_kernel(self.layer))
                seconds = time.perf_counter() - t0
                record.write_npz_atomic(folder / record.EPOCH_FILE.format(epoch=epoch), **arrays,
                                        seconds=np.float64(seconds))  # fmt: skip
            except Exception as exc:  # the replay is a bonus: it never fails the training itself
                return self._give_up(exc)
            self.costs.append(time.perf_counter() - t0)

        def _give_up(self, exc: Exception) -> None:
            self.enabled = False
            run.log(f"replay: not recorded any more ({type(exc).__name__}: {exc})")

    return ReplayCallback()
