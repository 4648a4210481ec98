"""``python -m core.evaluate --run RUN_DIR [--data PATH]``: test metrics of a run (a table run: see core.tasks.table.evaluate)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.cli import make_parser, run_cli
from core.base.errors import InputError
from core.base.i18n import _, ngettext

EVAL_BATCH = 512


def evaluation_data(run, data: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x (N, S, S, C), one-hot y, class names: the run's test split or another dataset.

    ``data`` is, for an MNIST run, an .npz or a folder of digit images (a room's drawings,
    prepared like MNIST); for an image-folder run, a class-folder dataset (its ``test/`` part
    if it has one, else every image). Its classes must be among the model's.
    """
    from core.data import folders as datasets
    from core.data import mnist as mnist_files
    from core.serving.inference import load_and_preprocess, model_input_for
    from core.training import mnist_to_model_input, one_hot

    spec = model_input_for(run)
    names = list(spec.class_names)
    if spec.task == "mnist" and not (data and Path(data).is_dir()):
        mnist = mnist_files.load_mnist(data or run.config().get("data"))
        return mnist_to_model_input(mnist.x_test), one_hot(mnist.y_test, 10), names
    files, labels = _test_split(run) if data is None else _folder_files(data, names)
    if spec.task == "mnist":  # digit drawings or photos: prepared like MNIST; blank ones skipped
        kept = []
        for f, label in zip(files, labels):
            try:
                kept.append((load_and_preprocess(f, spec), label))
            except InputError:
                continue
        if not kept:
            raise InputError(_("No readable digit in {data}.").format(data=data))
        return np.stack([x for x, _ in kept]), one_hot(np.array([y for _, y in kept]), len(names)), names
    x = datasets.load_image_arrays(files, spec.image_size, spec.color_mode)
    return x, one_hot(np.array(labels), len(names)), names


def _test_split(run) -> tuple[list[str], list[int]]:
    from core.base.storage import read_json

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


def _folder_files(data: str, names: list[str]) -> tuple[list[str], list[int]]:
    """The dataset's files and their labels as the model's class indices."""
    from core.data import folders as datasets

    scan = datasets.scan_image_folder(data, min_per_class=1)
    unknown = [n for n in scan.class_names if n not in names]
    if unknown:
        raise InputError(
            _("The classes of {data} ({classes}) do not match the model's ({model}): it does not know {unknown}.").format(
                data=data, classes=", ".join(scan.class_names), model=", ".join(names), unknown=", ".join(unknown))
        )  # fmt: skip
    remap = [names.index(n) for n in scan.class_names]
    labels = [remap[label] for label in (scan.test_labels or scan.train_labels)]
    return scan.test_files or scan.train_files, labels


@dataclass
class Evaluation:
    """A run's predictions on an evaluation set, with the metrics of DESIGN.md."""

    x: np.ndarray  # (N, S, S, C) what the model saw
    y: np.ndarray  # (N,) true class indices
    probs: np.ndarray  # (N, K)
    class_names: list[str]
    metrics: dict


def evaluate_run(
    run, data: str | None = None, probabilities: Callable[[np.ndarray], np.ndarray] | None = None, actor=None
) -> Evaluation:
    """Predicts a run's test split (or ``data``) and computes its metrics.

    Args:
        run: the run (its checkpoint is loaded unless ``probabilities`` is given).
        data: another dataset; None for the run's own test split.
        probabilities: ``(N, S, S, C) -> (N, K)``, e.g. a served model shared by a web server.
        actor: a web visitor (``core.access.roles.Actor``), charged one "heavy" action; None: no limit.

    Raises:
        InputError: no test split, missing images, other classes, no usable checkpoint, or the
            visitor evaluates too often.
    """
    from core.access.limits import take_for
    from core.metrics.classes import metrics_from_probs, predict_probs
    from core.serving.inference import load_run_model

    take_for("heavy", actor)
    x, y, names = evaluation_data(run, data)
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


def _handler(args) -> dict:
    from core.runs.store import open_run
    from core.tasks.table.evaluate import evaluate_table
    from core.tasks.table.predict import is_table_run

    run = open_run(args.run)
    print(f"Evaluating {run.id} ...", file=sys.stderr)
    if is_table_run(run):  # a CSV: its test rows, or another CSV with the target column
        return evaluate_table(run, args.data)
    return evaluate_run(run, args.data).metrics


def main(argv: list[str] | None = None) -> int:
    p = make_parser("python -m core.evaluate", "Evaluate a run on its test split or on another dataset.")
    p.add_argument("--run", required=True, help="a run folder (runs/<id>)")
    p.add_argument("--data", help="mnist .npz or class-folder dataset (a CSV for a table run); default: the run's "
                                  "test split")  # fmt: skip
    return run_cli(p, _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
