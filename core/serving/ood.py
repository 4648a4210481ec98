"""Out-of-distribution detection: "I don't know" for inputs unlike the training data.

A score says how *unfamiliar* an input looks to a trained classifier (higher = stranger),
and a threshold calibrated on the run's validation data turns it into a yes/no: the
threshold is the score that ``FAMILIAR_RATE`` of the validation images stay below, so
about 1 in 20 ordinary inputs is wrongly called unfamiliar (the false-alarm rate, saved
and shown). No extra training is needed. Scores (all from the classifier's last layer):

- ``energy`` (Liu et al. 2020, "Energy-based Out-of-distribution Detection"):
  ``-logsumexp(logits)``. Familiar inputs make some output neuron fire strongly.
- ``msp`` (Hendrycks & Gimpel 2017): ``-max softmax probability``, the usual baseline.
- ``mahalanobis`` (Lee et al. 2018): squared Mahalanobis distance of the penultimate
  layer's features to the nearest class mean, with one covariance shared by all classes
  (means and covariance from the training data).
- ``combined``: the larger of the energy and Mahalanobis scores, each standardised by its
  validation median and 95th percentile (so both are on one scale: 1 = the 95th percentile).

``METHOD`` was chosen by measurement (``python -m bench.ood``). The calibration is saved
beside the run as ``ood.json`` (written at the end of training, or computed lazily for
older runs whose validation data can be reloaded, and cached).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.base.i18n import N_, _
from core.base.storage import read_json
from core.runs.store import Run

METHODS = ("combined", "energy", "mahalanobis", "msp")
# bench/ood.py: energy is best for the MNIST model (AUROC 0.97 vs 0.82 for Mahalanobis), but
# fails on noise for the chest X-ray model (0.04: noise looks *more* familiar), where
# Mahalanobis is near perfect (1.00). "combined" takes the stranger of the two.
METHOD = "combined"
FALLBACK = "energy"  # when the penultimate layer is too wide to store its covariance
MAX_FEATURES = 256  # D: the (D, D) precision matrix is stored in ood.json (256 -> ~1 MB of JSON)
FAMILIAR_RATE = 0.95  # share of validation images that must count as familiar
OOD_FILE = "ood.json"
FORMAT_VERSION = 1
MAX_VALIDATION = 5000  # validation images scored for the threshold (a random subset beyond this)
# (run) -> (x_val, x_train or None, y_train or None): a run's data, reloaded for a calibration
Reload = Callable[[Run], "tuple[np.ndarray, np.ndarray | None, np.ndarray | None]"]
MAX_FIT = 10000  # training images for the Mahalanobis class means and covariance
MIN_VALIDATION = 20  # fewer validation images cannot place a 95% threshold
SHRINKAGE = 1e-3  # added to the covariance's diagonal (relative to its mean variance): keeps it invertible
CLASSIFIER = "predictions"  # core.models.summary.CLASSIFIER (not imported: keeps this module light)

SCORE_WORDS = {
    "combined": N_(
        "The score combines two measurements and keeps the stranger one: how strongly the network's output "
        "neurons respond (images like the training data make one fire strongly), and how far the image's "
        "features in the last hidden layer are from the average training image of the nearest class. Each "
        "is counted in steps of its usual spread on validation images: 0 is a typical image, 1 is as "
        "strange as the strangest 5% of them."
    ),
    "energy": N_(
        "The score is the network's *energy*: minus the log of the summed exponentials of its output "
        "neurons before softmax. Images like the training data make some output neuron fire strongly, "
        "which gives a low (very negative) score; strange images leave every output weak, which gives a "
        "higher one."
    ),
    "msp": N_("The score is minus the model's top probability: an image it is unsure about gets a higher score."),
    "mahalanobis": N_(
        "The score is the distance of the image's features (the last hidden layer) to the nearest class's "
        "average over the training images, measured in units of how much training images usually vary."
    ),
}


@dataclass(frozen=True)
class Calibration:
    """A run's out-of-distribution threshold and what it was measured on.

    ``stats`` holds what the method needs beyond logits: for ``mahalanobis`` the class
    means ``(K, D)`` and the shared precision matrix ``(D, D)`` of the penultimate features.
    """

    method: str
    threshold: float
    familiar_rate: float  # target share of validation images counted familiar
    false_alarm_rate: float  # measured share of validation images counted unfamiliar
    n_validation: int
    checkpoint: str  # the checkpoint file it was calibrated for ...
    checkpoint_bytes: int  # ... and its size (a retrained run invalidates the calibration)
    stats: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        return {"version": FORMAT_VERSION, "method": self.method, "threshold": self.threshold,
                "familiar_rate": self.familiar_rate, "false_alarm_rate": self.false_alarm_rate,
                "n_validation": self.n_validation, "checkpoint": self.checkpoint,
                "checkpoint_bytes": self.checkpoint_bytes,
                "stats": {k: _short(v) for k, v in self.stats.items()}}  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> Calibration:
        """Reads ``ood.json``'s object.

        Raises:
            ValueError: not a calibration of this format (the message says what is wrong).
        """
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"expected an ood.json object of version {FORMAT_VERSION}")
        method, threshold = data.get("method"), data.get("threshold")
        if method not in METHODS:
            raise ValueError(f"expected method in {METHODS}. Received: {method!r}")
        nums = [data.get(k) for k in ("threshold", "familiar_rate", "false_alarm_rate")]
        if not all(type(v) in (int, float) and math.isfinite(v) for v in nums):
            raise ValueError("expected finite numbers for threshold, familiar_rate and false_alarm_rate")
        if type(data.get("n_validation")) is not int or type(data.get("checkpoint_bytes")) is not int:
            raise ValueError("expected integers for n_validation and checkpoint_bytes")
        raw = data.get("stats") or {}
        if not isinstance(raw, dict):
            raise ValueError("expected stats to be an object")
        try:
            stats = {str(k): np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        except (TypeError, ValueError) as exc:
            raise ValueError(f"stats are not numeric arrays ({exc})") from exc
        if method in ("mahalanobis", "combined"):
            m, p = stats.get("means"), stats.get("precision")
            if m is None or p is None or m.ndim != 2 or p.shape != (m.shape[1], m.shape[1]):
                raise ValueError(f"expected stats means (K, D) and precision (D, D) for {method}")
        if method == "combined" and any(
            stats.get(f"{n}_ref", np.zeros(0)).shape != (2,) for n in ("energy", "mahalanobis")
        ):
            raise ValueError("expected stats energy_ref and mahalanobis_ref of 2 numbers for combined")
        return cls(method, float(threshold), float(data["familiar_rate"]), float(data["false_alarm_rate"]),
                   data["n_validation"], str(data.get("checkpoint")), data["checkpoint_bytes"], stats)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """One input's judgement. ``unfamiliar`` is None (with ``reason``) when no calibration exists."""

    unfamiliar: bool | None
    score: float | None = None
    threshold: float | None = None
    method: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        """The keys added to each prediction (core.predict's JSON)."""
        out = {"unfamiliar": self.unfamiliar, "ood_score": self.score, "ood_threshold": self.threshold,
               "ood_method": self.method}  # fmt: skip
        if self.reason:
            out["ood_reason"] = self.reason
        return out


# ----- scores ---------------------------------------------------------------------------


def energy_score(logits: np.ndarray) -> np.ndarray:
    """``(N, K)`` logits -> ``(N,)`` energy ``-logsumexp``: higher = more unfamiliar."""
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=1)
    return -(top + np.log(np.exp(z - top[:, None]).sum(axis=1)))  # stable: no overflow for large logits


def msp_score(logits: np.ndarray) -> np.ndarray:
    """``(N, K)`` logits -> ``(N,)`` minus the top softmax probability: higher = more unfamiliar."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return -(e.max(axis=1) / e.sum(axis=1))


def fit_mahalanobis(features: np.ndarray, labels: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Class means and the shared precision of ``(N, D)`` features with labels ``(N,)`` in 0..k-1.

    Raises:
        ValueError: a class has no example.
    """
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    counts = np.bincount(labels, minlength=k)
    if (counts == 0).any():
        raise ValueError(
            f"expected examples of all {k} classes. Received none of {np.flatnonzero(counts == 0).tolist()}"
        )
    means = np.stack([f[labels == c].mean(axis=0) for c in range(k)])  # (K, D)
    centred = f - means[labels]
    cov = centred.T @ centred / len(f)  # (D, D), one covariance shared by all classes
    cov += np.eye(len(cov)) * SHRINKAGE * max(float(np.trace(cov)) / len(cov), 1e-12)
    return {"means": means, "precision": np.linalg.pinv(cov, hermitian=True)}


MAHALANOBIS_CHUNK = 1024  # images at a time: (n, K, D) float64 twice, 42 MB at K = 10, D = 256


def mahalanobis_score(features: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """``(N, D)`` features -> ``(N,)`` squared distance to the nearest class mean: higher = more unfamiliar."""
    f = np.asarray(features, dtype=np.float64)
    means, precision = stats["means"], stats["precision"]
    out = np.empty(len(f))
    for i in range(0, len(f), MAHALANOBIS_CHUNK):
        d = f[i : i + MAHALANOBIS_CHUNK, None, :] - means[None, :, :]  # (n, K, D)
        # d @ precision is one BLAS matmul; the three-operand einsum it replaces ran as a plain C loop:
        # 3.7 s against 0.25 s for 5,000 validation images of mnist-fast (D = 256, K = 10), at every run's end.
        out[i : i + MAHALANOBIS_CHUNK] = np.einsum("nkd,nkd->nk", d @ precision, d).min(axis=1)
    return out


def standardise(s: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Scores in steps of their spread on validation: ``reference`` is ``[median, 95th percentile]``.

    0 = a typical validation image, 1 = the validation 95th percentile; order is kept beyond it.
    """
    median, high = float(reference[0]), float(reference[1])
    return (np.asarray(s, np.float64) - median) / max(high - median, 1e-12)


def combined_score(features: np.ndarray, logits: np.ndarray, stats: dict[str, np.ndarray]) -> np.ndarray:
    """The larger of the standardised energy and Mahalanobis scores: ``(N,)``, higher = more unfamiliar."""
    e = standardise(energy_score(logits), stats["energy_ref"])
    m = standardise(mahalanobis_score(features, stats), stats["mahalanobis_ref"])
    return np.maximum(e, m)


def scores(method: str, features: np.ndarray, logits: np.ndarray, stats: dict | None = None) -> np.ndarray:
    """The ``method``'s score of each input: ``(N,)``, higher = more unfamiliar."""
    if method == "combined":
        return combined_score(features, logits, stats or {})
    if method == "energy":
        return energy_score(logits)
    if method == "msp":
        return msp_score(logits)
    if method == "mahalanobis":
        return mahalanobis_score(features, stats or {})
    raise ValueError(f"expected a method in {METHODS}. Received: {method!r}")


def threshold_for(validation_scores: np.ndarray, familiar_rate: float = FAMILIAR_RATE) -> tuple[float, float]:
    """The threshold that ``familiar_rate`` of the validation scores do not exceed.

    Returns:
        ``(threshold, false_alarm_rate)``: the rate is the measured share above the threshold.

    Raises:
        ValueError: too few finite scores, or a rate outside (0, 1).
    """
    s = np.asarray(validation_scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not 0 < familiar_rate < 1:
        raise ValueError(f"expected a familiar rate in (0, 1). Received: {familiar_rate}")
    if len(s) < MIN_VALIDATION:
        raise ValueError(f"expected at least {MIN_VALIDATION} validation scores. Received: {len(s)}")
    t = float(np.quantile(s, familiar_rate, method="higher"))  # an observed score: ties stay familiar
    return t, float((s > t).mean())


def auroc(familiar: np.ndarray, unfamiliar: np.ndarray) -> float:
    """Area under the ROC curve of scores separating ``unfamiliar`` (positive) from ``familiar``.

    The probability that a random unfamiliar input scores above a random familiar one (ties
    count half): 1.0 separates perfectly, 0.5 is chance. Mann-Whitney U via average ranks.
    """
    a, b = np.asarray(familiar, np.float64), np.asarray(unfamiliar, np.float64)
    both = np.concatenate([a, b])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    _u, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]  # ties share their average rank
    return float((ranks[len(a) :].sum() - len(b) * (len(b) + 1) / 2) / (len(a) * len(b)))


# ----- the model's last layer -----------------------------------------------------------


def classifier_layer(model):
    """The model's final Dense layer (``predictions`` when built by CNN Lab), or None."""
    names = [layer.name for layer in model.layers]
    layer = model.get_layer(CLASSIFIER) if CLASSIFIER in names else model.layers[-1]
    return layer if type(layer).__name__ == "Dense" else None


def head_model(model):
    """A model ``x -> [penultimate features (N, D), output probabilities (N, K)]``, or None.

    Logits are computed from the features with the classifier's weights (:func:`logits_of`),
    so one forward pass gives everything the scores need.
    """
    import keras

    layer = classifier_layer(model)
    if layer is None:
        return None
    try:
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # a list would warn on every call
        return keras.Model(inputs, [layer.input, model.outputs[0]])
    except (ValueError, AttributeError, TypeError):  # e.g. a subclassed model without a graph
        return None


def logits_of(model, features: np.ndarray) -> np.ndarray:
    """``(N, D)`` penultimate features -> ``(N, K)`` logits, the classifier before its activation."""
    weights = classifier_layer(model).get_weights()
    kernel, bias = weights[0], (weights[1] if len(weights) > 1 else 0.0)
    return np.asarray(features, np.float64) @ kernel + bias


def head_outputs(head, model, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs ``head`` (from :func:`head_model`) on ``(N, S, S, C)`` images in batches.

    Returns:
        ``(features (N, D), logits (N, K), probabilities (N, K))``.
    """
    feats, probs = [], []
    for i in range(0, len(x), batch_size):
        f, p = head(np.asarray(x[i : i + batch_size], np.float32), training=False)
        feats.append(np.asarray(f, np.float32).reshape(len(f), -1))
        probs.append(np.asarray(p, np.float32))
    features = np.concatenate(feats)
    return features, logits_of(model, features), np.concatenate(probs)


# ----- calibration ----------------------------------------------------------------------


def calibrate(model, checkpoint: Path, x_val: np.ndarray, x_fit: np.ndarray | None = None,
              y_fit: np.ndarray | None = None, method: str = METHOD, seed: int = 0) -> Calibration:  # fmt: skip
    """Calibrates ``method`` on validation images ``x_val`` (N, S, S, C).

    Args:
        checkpoint: the model's file (its name and size are recorded).
        x_fit, y_fit: training images and integer labels (N,), needed by ``mahalanobis`` only.
        seed: picks the subsets when there are more than ``MAX_VALIDATION`` / ``MAX_FIT`` images.

    Raises:
        ValueError: the model has no Dense classifier, or too little data.
    """
    head = head_model(model)
    if head is None:
        raise ValueError("expected a model ending in a Dense classifier")
    rng = np.random.default_rng(seed)
    if len(x_val) > MAX_VALIDATION:
        x_val = x_val[np.sort(rng.choice(len(x_val), MAX_VALIDATION, replace=False))]
    stats: dict[str, np.ndarray] = {}
    if method == "combined" and (x_fit is None or int(head.outputs[0].shape[-1]) > MAX_FEATURES):
        method = FALLBACK  # no training data, or a covariance too large to store
    if method in ("mahalanobis", "combined"):
        if x_fit is None or y_fit is None:
            raise ValueError("mahalanobis needs training images and labels")
        pick = np.sort(rng.choice(len(x_fit), min(MAX_FIT, len(x_fit)), replace=False))
        fit_features = head_outputs(head, model, x_fit[pick])[0]
        k = int(classifier_layer(model).units)
        stats = fit_mahalanobis(fit_features, np.asarray(y_fit)[pick], k)
    features, logits, _probs = head_outputs(head, model, x_val)
    if method == "combined":  # each score's typical value and spread on validation
        for name in ("energy", "mahalanobis"):
            stats[f"{name}_ref"] = np.quantile(scores(name, features, logits, stats), [0.5, FAMILIAR_RATE])
    threshold, false_alarms = threshold_for(scores(method, features, logits, stats))
    return Calibration(method, threshold, FAMILIAR_RATE, false_alarms, len(x_val), checkpoint.name,
                       checkpoint.stat().st_size, stats)  # fmt: skip


def _short(values: np.ndarray) -> list:
    """An array as nested lists of floats with 7 significant digits (float32's precision): a smaller file."""
    arr = np.asarray(values, np.float64)
    return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[float])(arr).tolist() if arr.size else arr.tolist()


def save(run_dir: Path, calibration: Calibration) -> bool:
    """Writes ``ood.json`` into the run folder, atomically and compactly (the stats hold a (D, D) matrix).

    Returns:
        False when the folder cannot be written (e.g. a read-only installation).
    """
    path = Path(run_dir) / OOD_FILE
    tmp = path.with_name(f".{OOD_FILE}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(calibration.to_json(), separators=(",", ":")))
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def load(run: Run) -> tuple[Calibration | None, str | None]:
    """The run's saved calibration if it matches its current checkpoint.

    Returns:
        ``(calibration, None)``, or ``(None, reason)`` (translated) when missing, damaged or stale.
    """
    data = read_json(run.path / OOD_FILE)
    if data is None:
        return None, _("this run has no out-of-distribution calibration ({file})").format(file=OOD_FILE)
    try:
        cal = Calibration.from_json(data)
    except ValueError as exc:
        return None, _("{file} is damaged: {problem}").format(file=OOD_FILE, problem=getattr(data, "why", None) or exc)
    ckpt = run.checkpoint()
    if ckpt is None or ckpt.name != cal.checkpoint or ckpt.stat().st_size != cal.checkpoint_bytes:
        return None, _("{file} was made for another checkpoint").format(file=OOD_FILE)
    return cal, None


def ensure(run: Run, model, reload: Reload | None = None) -> tuple[Calibration | None, str | None]:
    """The run's calibration: saved, else computed now from its data (``reload``) and cached.

    Args:
        reload: the run's task's :meth:`~core.tasks.base.Task.reload_validation`; None: none.

    Never raises: returns ``(None, reason)`` (translated) when none can be had.
    """
    cal, reason = load(run)
    if cal is not None:
        return cal, None
    ckpt = run.checkpoint()
    if ckpt is None or reload is None:
        return None, reason
    try:
        x_val, x_fit, y_fit = reload(run)
        cal = calibrate(model, ckpt, x_val, x_fit, y_fit, seed=int(run.config().get("seed") or 0))
    except Exception as exc:  # noqa: BLE001 - missing data, a damaged file, an odd model: predictions go on
        return None, _("{reason}, and its validation data cannot be reloaded to make one ({problem})").format(
            reason=reason, problem=f"{type(exc).__name__}: {exc}"
        )
    save(run.path, cal)
    return cal, None


def judge(calibration: Calibration | None, features: np.ndarray, logits: np.ndarray,
          reason: str | None = None) -> list[Verdict]:  # fmt: skip
    """One verdict per input from its penultimate features ``(N, D)`` and logits ``(N, K)``."""
    n = len(logits)
    if calibration is None:
        return [Verdict(None, reason=reason or _("no out-of-distribution calibration"))] * n
    try:
        s = scores(calibration.method, features, logits, calibration.stats)
    except (ValueError, KeyError) as exc:  # stats that do not fit this model's shapes
        return [Verdict(None, reason=_("the calibration does not fit this model ({problem})").format(problem=exc))] * n
    t = calibration.threshold
    return [Verdict(bool(v > t), round(float(v), 4), round(t, 4), calibration.method) for v in s]
