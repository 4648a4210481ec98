"""Metrics: accuracy, loss, confusion matrix and per-class precision/recall/F1."""

from __future__ import annotations

import numpy as np

EPS = 1e-7  # Keras's epsilon for clipping probabilities in cross-entropy


def cross_entropy(y_true: np.ndarray, probs: np.ndarray, loss: str) -> float:
    """Mean loss as Keras computes it; y_true one-hot (N, K), probs (N, K)."""
    p = np.clip(probs.astype(np.float64), EPS, 1 - EPS)
    if loss == "binary_crossentropy":
        return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
    return float(-np.mean(np.sum(y_true * np.log(p), axis=1)))


def confusion_matrix(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (np.asarray(true, int), np.asarray(pred, int)), 1)
    return cm


def per_class_report(cm: np.ndarray, class_names: list[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support per class from a confusion matrix."""
    report = {}
    for i, name in enumerate(class_names):
        tp = cm[i, i]
        predicted, actual = cm[:, i].sum(), cm[i, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[name] = {
            "precision": round(float(precision), 6),
            "recall": round(float(recall), 6),
            "f1": round(float(f1), 6),
            "support": int(actual),
        }
    return report


def metrics_from_probs(y_true: np.ndarray, probs: np.ndarray, class_names: list[str], loss: str) -> dict:
    """metrics.json's dict (docs/ARCHITECTURE.md, "The run folder") from one-hot labels and probabilities."""
    true = np.argmax(y_true, axis=1)
    pred = np.argmax(probs, axis=1)
    cm = confusion_matrix(true, pred, len(class_names))
    return {
        "accuracy": round(float(np.mean(true == pred)), 6) if len(true) else None,
        "loss": round(cross_entropy(y_true, probs, loss), 6) if len(true) else None,
        "n": int(len(true)),
        "class_names": list(class_names),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class_report(cm, class_names),
    }


def predict_probs(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Model outputs (N, K) for float32 inputs (N, H, W, C), in batches."""
    if len(x) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    from core.data.folders import input_batches

    return np.asarray(model.predict(input_batches(x, batch_size), verbose=0))


def evaluate_model(model, x: np.ndarray, y_true: np.ndarray, class_names: list[str], loss: str) -> dict:
    """Predicts ``x`` and returns accuracy, loss, confusion matrix and per-class report."""
    return metrics_from_probs(y_true, predict_probs(model, x), class_names, loss)


def gallery_indices(
    y_true: np.ndarray,
    probs: np.ndarray,
    mode: str = "all",
    cell: tuple[int, int] | None = None,
    *,
    true: int | None = None,
    predicted: int | None = None,
) -> np.ndarray:
    """Which test images to show, in order.

    Args:
        y_true: ``(N,)`` class indices.
        probs: ``(N, k)`` predicted probabilities.
        mode: "all" (dataset order), "errors" (mistakes only, dataset order) or
            "confident-errors" (mistakes, the most confident first).
        cell: ``(true, predicted)``: only that confusion-matrix cell (the same as both
            ``true`` and ``predicted``).
        true: only images of this class (None: any).
        predicted: only images predicted as this class (None: any).
    """
    if cell is not None:
        true, predicted = cell
    y_true = np.asarray(y_true)
    pred = probs.argmax(axis=1)
    idx = np.arange(len(y_true))
    if true is not None:
        idx = idx[y_true[idx] == true]
    if predicted is not None:
        idx = idx[pred[idx] == predicted]
    if mode in ("errors", "confident-errors"):
        idx = idx[y_true[idx] != pred[idx]]
    if mode == "confident-errors":
        idx = idx[np.argsort(-probs[idx, pred[idx]], kind="stable")]
    elif mode not in ("all", "errors"):
        raise ValueError(f"Expected mode 'all', 'errors' or 'confident-errors'. Received: {mode!r}")
    return idx


def to_tflite(model, actor=None) -> bytes:
    """Converts a Keras model to a TensorFlow Lite flatbuffer (for phones).

    Args:
        actor: a web visitor (``core.access.roles.Actor``), charged one "heavy" action; None: no limit.
    """
    import tensorflow as tf

    from core.access.limits import take_for

    take_for("heavy", actor)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return converter.convert()
