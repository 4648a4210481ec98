"""Score a table run on its held-out test rows or on another CSV, next to its baseline.

The metrics dict is the one training writes as ``metrics.json``:

- regression: ``{"task", "target", "n", "mae", "rmse", "r2", "baseline": {"mae", "rmse", "r2",
  "prediction"}, "predictions": [[true, predicted], ...]}`` (at most ``MAX_PAIRS`` pairs, for the
  scatter and the residuals);
- classification: the image runs' keys (``"accuracy"``, ``"loss"``, ``"confusion_matrix"``,
  ``"per_class"``, ``"class_names"``, ``"n"``) plus ``"task"``, ``"target"`` and
  ``"baseline": {"accuracy", "prediction"}``.

Rows that cannot be scored are listed in ``"unusable"`` (row number, reason) and left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import _, ngettext, number
from core.data.table.listing import listing
from core.metrics.table import classification_metrics, regression_metrics, usable_rows
from core.models.table_net import CLASSIFICATION, TableFeatures, category_text, parse_number

MAX_PAIRS = 5_000  # (true, predicted) pairs kept in metrics.json: enough for a scatter, a few hundred kB


def score(features: TableFeatures, y_true: list, outputs: np.ndarray, baseline_prediction) -> dict:
    """The metrics of model ``outputs`` against raw true values, beside the constant baseline.

    Args:
        features: the run's features (task, classes).
        y_true: (n,) true values: numbers (regression) or class names (classification).
        outputs: (n, 1) predictions or (n, K) class probabilities.
        baseline_prediction: the training mean (regression) or majority class (classification).

    Raises:
        InputError: no rows to score.
    """
    from core.metrics.classes import metrics_from_probs

    if len(y_true) == 0:
        raise InputError(_("Expected at least 1 row with a known target value to score. Received: none."))
    if features.task == CLASSIFICATION:
        index = {c: i for i, c in enumerate(features.classes)}
        onehot = np.eye(len(features.classes), dtype=np.float32)[[index[y] for y in y_true]]  # (n, K)
        metrics = metrics_from_probs(onehot, np.asarray(outputs, np.float64), list(features.classes),
                                     "categorical_crossentropy")  # fmt: skip
        base = classification_metrics(y_true, [baseline_prediction] * len(y_true))
        return {"task": features.task, "target": features.target, **metrics,
                "baseline": {"accuracy": base["accuracy"], "prediction": baseline_prediction}}  # fmt: skip
    predicted = np.asarray(outputs, np.float64).reshape(-1)
    truth = np.asarray(y_true, np.float64)
    metrics = regression_metrics(truth, predicted)
    base = regression_metrics(truth, np.full(truth.shape, float(baseline_prediction)))
    step = max(1, int(np.ceil(len(truth) / MAX_PAIRS)))  # every step-th row: a spread-out sample, deterministic
    pairs = [[round(float(t), 6), round(float(p), 6)] for t, p in zip(truth[::step], predicted[::step])]
    return {"task": features.task, "target": features.target, **metrics,
            "baseline": {"mae": base["mae"], "rmse": base["rmse"], "r2": base["r2"],
                         "prediction": float(baseline_prediction)},
            "predictions": pairs}  # fmt: skip


def true_values(features: TableFeatures, values: pd.Series, row_numbers) -> tuple[list, list[tuple[int, str]], list]:
    """The target cells as scored values, and the rows whose cell cannot be scored.

    Returns:
        ``(values, problems, positions)``: the usable values, ``(row, reason)`` for the others
        (empty, not a number, a class the model does not know) and the usable positions.
    """
    out, problems, positions = [], [], []
    known = set(features.classes)
    for i, (value, row) in enumerate(zip(values.tolist(), row_numbers)):
        if features.task == CLASSIFICATION:
            text = category_text(value)
            if text is None or text not in known:
                problems.append((int(row), _("{target}: {value} is not a class the model knows ({known})").format(
                    target=features.target, value=repr(text or ""), known=", ".join(features.classes))))  # fmt: skip
                continue
            out.append(text)
        else:
            try:
                number_ = parse_number(value)
            except (TypeError, ValueError):
                number_ = None
            if number_ is None or np.isnan(number_):
                problems.append((int(row), _("{target}: expected a number. Received: {value}").format(
                    target=features.target, value=repr(value))))  # fmt: skip
                continue
            out.append(number_)
        positions.append(i)
    return out, problems, positions


@dataclass
class ScorableRows:
    """The rows of a CSV (or of a run's test split) that a table run can score."""

    frame: pd.DataFrame  # the usable rows, target column included
    y: list  # their true values: numbers, or class names
    problems: list[tuple[int, str]]  # (row, reason) of the rows left out
    label: str  # the file's name, for messages
    notes: list[str]


def scorable_rows(run, source=None, name: str | None = None) -> ScorableRows:
    """A table run's test rows (``source`` None, re-read from its CSV by split.json) or another CSV's,
    without the rows that cannot be scored.

    Raises:
        InputError: not a table run, no baseline (an unfinished run), the CSV gone or unreadable,
            no target column, or no row that can be scored.
    """
    from core.base.storage import read_json
    from core.tasks.table.predict import load_rows, run_features

    features = run_features(run)
    config = run.config()
    if (config.get("table") or {}).get("baseline") is None:
        raise InputError(_("Run {run} has no baseline recorded: it did not finish training.").format(run=run.id))
    if source is None:
        split = read_json(run.path / "split.json") or {}
        test = set((split.get("rows") or {}).get("test") or [])
        if not test:
            raise InputError(_("Run {run} has no test rows recorded; pass --data FILE.csv.").format(run=run.id))
        frame, rows, label, notes = load_rows(config.get("data"))
        keep = np.isin(rows, list(test))
        frame, rows = frame.loc[keep].reset_index(drop=True), np.asarray(rows)[keep]
    else:
        frame, rows, label, notes = load_rows(source, name)
        frame, rows = frame.reset_index(drop=True), np.asarray(rows)
    if features.target not in frame.columns:
        raise InputError(
            _("Expected the column {target} (the true values) in {file} to score the model. Its columns: {columns}").format(
                target=repr(features.target), file=label, columns=listing(list(frame.columns), 30))
        )  # fmt: skip
    ok, problems = usable_rows(frame.drop(columns=[features.target]), features.columns, features.vocabularies, notes,
                               rows)  # fmt: skip
    if problems and len(ok) == 0 and problems[0][0] == 1:
        raise InputError(problems[0][1])  # a needed column is missing: nothing can be scored
    usable = frame.loc[ok]
    y, bad, positions = true_values(features, usable[features.target], np.asarray(rows)[frame.index.get_indexer(ok)])
    problems = sorted(problems + bad)
    usable = usable.iloc[positions]
    if len(usable) == 0:
        raise InputError(
            ngettext("No row of {file} can be scored: {count} row is unusable ({first}).",
                     "No row of {file} can be scored: {count} rows are unusable ({first}).", len(problems)).format(
                file=label, count=number(len(problems)), first=problems[0][1] if problems else "")
        )  # fmt: skip
    return ScorableRows(usable, y, problems, str(label), notes)


def evaluate_table(run, source=None, name: str | None = None) -> dict:
    """A table run's metrics on its test rows (``source`` None) or on another CSV with the target column.

    Args:
        run: a finished table run.
        source: None for the run's own test rows (re-read from its CSV); else what
            :func:`core.tasks.table.predict.predict_table` accepts.

    Returns:
        The metrics (see the module docstring) with ``"unusable"``: ``[{"row", "reason"}]``
        and ``"source"``.

    Raises:
        InputError: see :func:`scorable_rows`.
    """
    from core.tasks.table.predict import load_table_model, predict_frame, run_features

    rows = scorable_rows(run, source, name)
    features = run_features(run)
    outputs = predict_frame(load_table_model(run), rows.frame, features)
    metrics = score(features, rows.y, outputs, run.config()["table"]["baseline"])
    return {**metrics, "source": rows.label, "unusable": [{"row": int(r), "reason": why} for r, why in rows.problems],
            "notes": rows.notes}  # fmt: skip
