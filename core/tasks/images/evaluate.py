"""Evaluate an image run: its test split (from split.json) or another folder, and the metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _, ngettext
from core.base.storage import read_json
from core.data import folders
from core.runs.store import Run
from core.serving.inference import ModelInput
from core.training.data import one_hot

EVAL_BATCH = 512


@dataclass
class Evaluation:
    """A run's predictions on an evaluation set, with its metrics (docs/ARCHITECTURE.md, "The run folder")."""

    x: np.ndarray  # (N, S, S, C) what the model saw
    y: np.ndarray  # (N,) true class indices
    probs: np.ndarray  # (N, K)
    class_names: list[str]
    metrics: dict


def folder_data(run: Run, data: str | None, spec: ModelInput) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, S, S, C), one-hot y, class names: the run's test split, or a class-folder dataset.

    ``data`` is a class-folder dataset (its ``test/`` part if it has one, else every image);
    its classes must be among the model's.
    """
    names = list(spec.class_names)
    files, labels = test_files(run) if data is None else folder_files(data, names)
    x = folders.load_image_arrays(files, spec.image_size, spec.color_mode)
    return x, one_hot(np.array(labels), len(names)), names


def test_files(run: Run) -> tuple[list[str], list[int]]:
    """The test images listed in the run's split.json, and their labels.

    Raises:
        InputError: no split recorded, a damaged one, or images that are gone.
    """
    split = read_json(run.path / "split.json")
    if not split or not isinstance(split.get("test"), list) or not split["test"]:
        raise InputError(_("Run {run} has no test split recorded; pass --data FOLDER.").format(run=run.id))
    try:
        files = [str(f) for f, _ in split["test"]]
        labels = [int(label) for _, label in split["test"]]
    except (TypeError, ValueError):
        raise InputError(_("Run {run}'s split.json is damaged; pass --data FOLDER.").format(run=run.id)) from None
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise InputError(
            ngettext("{n} test image of run {run} is gone, e.g. {example}; pass --data FOLDER.",
                     "{n} test images of run {run} are gone, e.g. {example}; pass --data FOLDER.", len(missing)).format(
                n=len(missing), run=run.id, example=missing[0])
        )  # fmt: skip
    return files, labels


def folder_files(data: str, names: list[str]) -> tuple[list[str], list[int]]:
    """The dataset's files and their labels as the model's class indices."""
    scan = folders.scan_image_folder(data, min_per_class=1)
    unknown = [n for n in scan.class_names if n not in names]
    if unknown:
        raise InputError(
            _("The classes of {data} ({classes}) do not match the model's ({model}): it does not know {unknown}.").format(
                data=data, classes=", ".join(scan.class_names), model=", ".join(names), unknown=", ".join(unknown))
        )  # fmt: skip
    remap = [names.index(n) for n in scan.class_names]
    labels = [remap[label] for label in (scan.test_labels or scan.train_labels)]
    return scan.test_files or scan.train_files, labels


def evaluate_arrays(
    run: Run, x: np.ndarray, y: np.ndarray, names: list[str], probabilities: Callable[[np.ndarray], np.ndarray] | None
) -> Evaluation:
    """Predicts ``x`` (N, S, S, C) in batches and scores it against one-hot ``y``.

    Args:
        probabilities: ``(N, S, S, C) -> (N, K)``, e.g. a served model shared by a web server;
            None loads the run's checkpoint.
    """
    from core.metrics.classes import metrics_from_probs, predict_probs
    from core.serving.inference import load_run_model

    if probabilities is None:
        model = load_run_model(run)
        probabilities = lambda batch: predict_probs(model, batch)  # noqa: E731
    probs = (
        np.concatenate([probabilities(x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
        if len(x)
        else (np.zeros((0, len(names)), np.float32))
    )
    loss = (run.config().get("spec") or {}).get("loss", "categorical_crossentropy")
    return Evaluation(x, y.argmax(axis=1), probs, names, metrics_from_probs(y, probs, names, loss))
