"""Inference: turn an upload into what the model sees, load a run's model, predict.

For MNIST models a photo or drawing of a digit is prepared the way MNIST itself was
made: light digit on a dark background, cropped to the digit, fit in 20x20 keeping the
aspect ratio, then centred by centre of mass in a 28x28 frame.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.base.errors import InputError
from core.base.i18n import _
from core.data.images import ImageSource, open_image, to_array
from core.runs.schema import class_names
from core.runs.store import Run
from core.serving import ood

MNIST_SIZE, MNIST_BOX = 28, 20
INK_THRESHOLD = 0.15  # after background removal, pixels above this count as ink


@dataclass(frozen=True)
class ModelInput:
    """How a run's model wants its images."""

    digits: bool  # prepared like MNIST digits (:func:`prepare_digit`), else resized
    image_size: int
    color_mode: str  # "grayscale" or "rgb"
    class_names: tuple[str, ...]


def model_input_for(run: Run, *, digits: bool) -> ModelInput:
    """Reads a run's config.json to know how to preprocess images for it.

    Args:
        digits: the run's task prepares inputs like MNIST digits (:attr:`core.tasks.base.Task.digits`).

    Raises:
        InputError: the run has no class names yet, or its config does not say a usable input.
    """
    cfg = run.config()
    spec = cfg.get("spec") or {}
    names = class_names(cfg.get("class_names"))
    if names is None:
        raise InputError(
            _("Run {run} has no usable class names (its data was never loaded, or config.json is damaged).").format(
                run=run.id
            )
        )
    size, mode = spec.get("image_size", MNIST_SIZE), spec.get("color_mode", "grayscale")
    if type(size) is not int or not 8 <= size <= 1024 or mode not in ("grayscale", "rgb"):
        raise InputError(
            _("Run {run}'s config.json does not describe a usable input (image size, colour, task).").format(run=run.id)
        )
    return ModelInput(digits, size, mode, tuple(names))


def prepare_digit(gray: np.ndarray) -> np.ndarray:
    """Prepares a grayscale digit image (H, W) in [0, 1] like MNIST: (28, 28) float32.

    Raises:
        InputError: the image is blank (no digit found).
    """
    img = np.asarray(gray, dtype=np.float32)
    # Dark-on-light (paper, a white canvas) is inverted: MNIST is light ink on black.
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if float(np.median(border)) > 0.5:
        img = 1.0 - img
    background = float(np.median(img))
    img = np.clip(img - background, 0, None)
    peak = float(img.max())
    if peak < 0.1:
        raise InputError(_("No digit found: the image is blank or has almost no contrast."))
    img = img / peak
    img[img < INK_THRESHOLD] = 0.0
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    crop = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = MNIST_BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    pil = Image.fromarray((crop * 255).astype(np.uint8), "L").resize((nw, nh), Image.LANCZOS)
    small = np.asarray(pil, dtype=np.float32) / 255.0
    # Centre of mass -> frame centre, as in the original MNIST preprocessing.
    ys, xs = np.indices(small.shape)
    mass = float(small.sum())
    if not mass > 0:  # a few dots of ink can vanish when shrunk: nothing is left to centre
        raise InputError(_("No digit found: only a few dots of ink, too little to read. Draw the digit larger."))
    cy, cx = (ys * small).sum() / mass, (xs * small).sum() / mass
    top = int(round(MNIST_SIZE / 2 - cy))
    left = int(round(MNIST_SIZE / 2 - cx))
    top = min(max(top, 0), MNIST_SIZE - nh)
    left = min(max(left, 0), MNIST_SIZE - nw)
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    out[top : top + nh, left : left + nw] = small
    return out


def preprocess(img: Image.Image, spec: ModelInput) -> np.ndarray:
    """What the model sees: float32 (S, S, C) in [0, 1]."""
    if spec.digits:
        return prepare_digit(to_array(img, "grayscale"))[..., None]
    arr = to_array(
        img.resize((spec.image_size, spec.image_size), Image.BILINEAR, reducing_gap=3.0)
        if img.size != (spec.image_size, spec.image_size)
        else img,
        spec.color_mode,
    )
    return arr[..., None] if arr.ndim == 2 else arr


def load_and_preprocess(source: ImageSource, spec: ModelInput) -> np.ndarray:
    """Opens any supported upload and preprocesses it (raises InputError if unusable)."""
    img, _info = open_image(source)
    return preprocess(img, spec)


def load_run_model(run: Run):
    """Loads the run's best checkpoint (else final model).

    Raises:
        InputError: no checkpoint, or the file cannot be loaded.
    """
    import keras

    path = run.checkpoint()
    if path is None:
        raise InputError(_("Run {run} has no saved model (no best.keras or final.keras).").format(run=run.id))
    try:
        return keras.models.load_model(path)
    except Exception as exc:
        raise InputError(
            _("Could not load {file} of run {run}: {problem}").format(
                file=path.name, run=run.id, problem=f"{type(exc).__name__}: {exc}"
            )
        ) from exc


def predict_files(served: Served, paths: list[str | Path]) -> list[dict]:
    """Predicts image files with a served model (every file is checked before predicting).

    Returns:
        One dict per file: image, label, confidence, probabilities, and the out-of-distribution
        verdict (:class:`core.serving.ood.Verdict`): unfamiliar (bool, or None with ood_reason when
        the run has no calibration), ood_score, ood_threshold, ood_method.
    """
    return predict_batch(
        served, [str(p) for p in paths], np.stack([load_and_preprocess(p, served.spec) for p in paths])
    )


def predict_batch(served: Served, names: list[str], batch: np.ndarray) -> list[dict]:
    """:func:`prediction_record` for each input of ``batch`` (N, S, S, C), named by ``names``."""
    probs, verdicts = served.examine(batch)
    return [prediction_record(n, pr, served.spec.class_names, v) for n, pr, v in zip(names, probs, verdicts)]


def prediction_record(image: str, probs: np.ndarray, class_names: tuple[str, ...] | list[str], verdict) -> dict:
    """One image's prediction, the same on the command line and on the Predict page.

    Returns:
        ``{"image", "label", "confidence", "probabilities": {class: p}, "unfamiliar", "ood_score",
        "ood_threshold", "ood_method"[, "ood_reason"]}`` (:meth:`core.serving.ood.Verdict.to_dict`).
    """
    return {"image": image, **described(probs, class_names), **verdict.to_dict()}


def probability_column(class_name: str) -> str:
    """The CSV column of one class's probability: ``p(frontal)`` (a table run's predictions use it too)."""
    return f"p({class_name})"


def predictions_csv(records: list[dict]) -> bytes:
    """:func:`prediction_record` rows as CSV: one row per image, one ``p(<class>)`` column per class."""
    import pandas as pd

    rows = [{**{k: v for k, v in r.items() if k != "probabilities"},
             **{probability_column(c): p for c, p in r["probabilities"].items()}} for r in records]  # fmt: skip
    return pd.DataFrame(rows).to_csv(index=False).encode()


def described(probs: np.ndarray, class_names: tuple[str, ...] | list[str]) -> dict:
    """``(K,)`` probabilities -> label, confidence and every class's probability (rounded)."""
    i = int(np.argmax(probs))
    return {"label": class_names[i], "confidence": round(float(probs[i]), 6),
            "probabilities": {n: round(float(v), 6) for n, v in zip(class_names, probs)}}  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """Changes applied to an image before preprocessing, to see where a model breaks.

    rotate: degrees counter-clockwise; brightness: added, in [-1, 1]; contrast: factor
    around the mean; noise: Gaussian sigma in [0, 1]; occlude: a gray square
    ``(row, col, side)`` as fractions of the image.
    """

    rotate: float = 0.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    brightness: float = 0.0
    contrast: float = 1.0
    noise: float = 0.0
    occlude: tuple[float, float, float] | None = None
    seed: int = 0

    def is_identity(self) -> bool:
        return self == Probe(seed=self.seed)


def apply_probe(img: Image.Image, probe: Probe) -> Image.Image:
    """Returns a changed copy of ``img`` (any mode; the result is "L" or "RGB")."""
    from core.data.images import to_mode

    if probe.is_identity():
        return img
    mode = "grayscale" if img.mode in ("L", "LA", "1", "I", "I;16", "F") else "rgb"
    img = to_mode(img, mode)
    if probe.rotate:
        fill = 0 if mode == "grayscale" else (0, 0, 0)
        img = img.rotate(probe.rotate, resample=Image.BILINEAR, expand=False, fillcolor=fill)
    if probe.flip_horizontal:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if probe.flip_vertical:
        img = img.transpose(Image.FLIP_TOP_BOTTOM)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if probe.contrast != 1.0:
        arr = (arr - arr.mean()) * probe.contrast + arr.mean()
    arr = arr + probe.brightness
    if probe.noise:
        arr = arr + np.random.default_rng(probe.seed).normal(0, probe.noise, arr.shape).astype(np.float32)
    if probe.occlude is not None:
        r, c, side = probe.occlude
        h, w = arr.shape[:2]
        s = max(1, int(round(side * min(h, w))))
        top, left = int(round(r * (h - s))), int(round(c * (w - s)))
        arr[top : top + s, left : left + s] = 0.5
    arr = np.clip(arr, 0, 1)
    return Image.fromarray((arr * 255).round().astype(np.uint8), "L" if mode == "grayscale" else "RGB")


@dataclass
class Served:
    """A loaded model ready for many concurrent callers (one per web session).

    Keras models are not documented as safe for concurrent ``predict`` calls, so calls are
    serialised by a lock: one CPU prediction of an image takes milliseconds, far less
    than the page round trip, so 20 sessions at once wait little.
    """

    run_id: str
    model: object
    spec: ModelInput
    lock: threading.Lock = field(default_factory=threading.Lock)
    calibration: ood.Calibration | None = None  # the "I don't know" threshold (None: see ood_reason)
    ood_reason: str | None = None  # why there is no calibration
    head: object = None  # x -> [penultimate features, probabilities] (core.serving.ood.head_model), or None
    forward: object = None  # the model as one graph (:func:`graph_function`); None: the model itself
    task: str = "images"  # the run's task (core.tasks), for the pages; serving itself never reads it

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """``(N, S, S, C)`` -> ``(N, classes)`` float32."""
        batch = np.asarray(batch, dtype=np.float32)
        with self.lock:
            return np.asarray((self.forward or self.model)(batch, training=False), dtype=np.float32)

    def predict_images(self, images: list[Image.Image], probe: Probe | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Preprocesses images (after an optional probe) and predicts them.

        Returns:
            ``(inputs (N, S, S, C), probabilities (N, classes))``.

        Raises:
            InputError: an image is unusable (e.g. a blank drawing for an MNIST model).
        """
        x = np.stack([preprocess(apply_probe(img, probe) if probe else img, self.spec) for img in images])
        return x, self.probabilities(x)

    def examine(self, batch: np.ndarray) -> tuple[np.ndarray, list[ood.Verdict]]:
        """Predicts ``(N, S, S, C)`` inputs and judges whether each is unlike the training data.

        Returns:
            ``(probabilities (N, classes), one verdict per input)``.
        """
        batch = np.asarray(batch, dtype=np.float32)
        if self.head is None:  # no Dense classifier to read features from: predictions only
            reason = self.ood_reason or _("this model's last layer cannot be read for a familiarity score")
            none = np.zeros((len(batch), 0))
            return self.probabilities(batch), ood.judge(None, none, none, reason)
        with self.lock:
            features, logits, probs = ood.head_outputs(self.head, self.model, batch)
        return probs, ood.judge(self.calibration, features, logits, self.ood_reason)

    def examine_images(
        self, images: list[Image.Image], probe: Probe | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[ood.Verdict]]:
        """:meth:`predict_images` plus the out-of-distribution verdicts.

        Returns:
            ``(inputs (N, S, S, C), probabilities (N, classes), verdicts)``.

        Raises:
            InputError: an image is unusable.
        """
        x = np.stack([preprocess(apply_probe(img, probe) if probe else img, self.spec) for img in images])
        probs, verdicts = self.examine(x)
        return x, probs, verdicts


def graph_function(model):
    """``model`` as one compiled TensorFlow graph: ``x (N, ...) -> outputs``, for serving.

    A Keras Functional model called eagerly walks its layers in Python: 6.7 ms for the shipped
    MNIST model on one image, against 1.0 ms for the same model traced once into a graph (on the
    2-core reference machine). In a room every phone's Send is one such call, under the served
    model's lock, with the server's one interpreter shared by 100 sessions (bench/room_load.py).
    The signature leaves the batch free, so every batch size uses the same trace. Returns the
    model itself when it cannot be traced (it is still callable the same way).
    """
    import tensorflow as tf

    try:
        shape = (None, *tuple(model.inputs[0].shape)[1:])
        fn = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
        fn.get_concrete_function()  # traced now, at load time, not on a visitor's first Send
    except (ValueError, TypeError, AttributeError, IndexError, tf.errors.OpError):
        return model

    def call(x, training: bool = False):
        return fn(tf.convert_to_tensor(x, tf.float32))

    return call


def serve(run: Run, *, digits: bool, reload: ood.Reload | None) -> Served:
    """Loads a run's model for serving, with its out-of-distribution calibration.

    The calibration is read from the run's ood.json, or computed from its reloaded
    validation data and cached there (:func:`core.serving.ood.ensure`); without one, predictions
    still work and say why there is no verdict. :func:`core.tasks.serve` passes the task's choices.

    Args:
        digits: inputs are prepared like MNIST digits.
        reload: reloads the run's validation data (None: no calibration unless ood.json has one).

    Raises:
        InputError: the run's config or checkpoint cannot be used.
    """
    model, spec = load_run_model(run), model_input_for(run, digits=digits)
    head = ood.head_model(model)
    if head is None:
        return Served(
            run.id, model, spec, ood_reason=_("this model's last layer cannot be read for a familiarity score"),
            forward=graph_function(model),
        )  # fmt: skip
    calibration, reason = ood.ensure(run, model, reload)
    return Served(run.id, model, spec, calibration=calibration, ood_reason=reason, head=graph_function(head),
                  forward=graph_function(model))  # fmt: skip
