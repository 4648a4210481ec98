"""Scores of a table model next to a baseline, and which rows of a prediction file can be used.

Regression is scored by MAE, RMSE and R² beside the baseline that always predicts the
training mean; classification by accuracy beside the baseline that always predicts the
training rows' most frequent class. A model that does not beat its baseline has learnt
nothing useful, whatever its numbers look like on their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import _
from core.models.table_net import MISSING_CATEGORY, NUMBER, category_text, parse_number

HEADER_ROW = 1  # rows are numbered as a person counts lines in the file: the header is row 1
FIRST_DATA_ROW = 2
MAX_LISTED = 5  # known values listed in an "unseen category" message


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype="float64").reshape(-1)
    p = np.asarray(y_pred, dtype="float64").reshape(-1)
    if t.shape != p.shape or t.size == 0:
        raise InputError(_("Expected as many predictions as true values (at least 1). Received: {p} and {t}").format(
            p=p.size, t=t.size))  # fmt: skip
    return t, p


def regression_metrics(y_true: Sequence[float], y_pred: Sequence[float]) -> dict:
    """MAE, RMSE and R² of predictions of a number.

    With residuals ``e_i = y_i - p_i`` over ``n`` rows and ``ȳ`` the mean of ``y_true``:

    - MAE = mean(|e_i|): the typical error, in the target's unit;
    - RMSE = sqrt(mean(e_i²)): like MAE but large errors weigh more (RMSE >= MAE);
    - R² = 1 - sum(e_i²) / sum((y_i - ȳ)²): the share of the variance explained. 1 is perfect,
      0 is as good as predicting ``ȳ``, and it is NEGATIVE for a model worse than that. It is
      None when every true value is the same (the denominator is 0).

    Returns:
        ``{"mae", "rmse", "r2", "n"}`` (plain floats, JSON-ready).

    Raises:
        InputError: the two sequences differ in length or are empty.
    """
    t, p = _pair(y_true, y_pred)
    e = t - p
    total = float(np.sum((t - t.mean()) ** 2))
    r2 = None if total == 0 else 1.0 - float(np.sum(e**2)) / total
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e**2))), "r2": r2, "n": int(t.size)}


def mean_baseline(y_train: Sequence[float], y_test: Sequence[float]) -> dict:
    """The regression baseline: always predict the TRAINING mean, scored on the test rows.

    Returns:
        :func:`regression_metrics` of that constant, plus ``"prediction"`` (the mean). Its R² is
        slightly below 0 unless the test mean equals the training mean.
    """
    train = np.asarray(y_train, dtype="float64").reshape(-1)
    if train.size == 0:
        raise InputError(_("Expected at least 1 training row for the baseline. Received: 0"))
    mean = float(train.mean())
    test = np.asarray(y_test, dtype="float64").reshape(-1)
    return {**regression_metrics(test, np.full(test.shape, mean)), "prediction": mean}


def classification_metrics(y_true: Sequence, y_pred: Sequence) -> dict:
    """Accuracy: the share of rows whose predicted class is the true class.

    Returns:
        ``{"accuracy", "n"}``.

    Raises:
        InputError: the two sequences differ in length or are empty.
    """
    t, p = list(np.asarray(y_true).reshape(-1)), list(np.asarray(y_pred).reshape(-1))
    if len(t) != len(p) or not t:
        raise InputError(_("Expected as many predictions as true values (at least 1). Received: {p} and {t}").format(
            p=len(p), t=len(t)))  # fmt: skip
    return {"accuracy": float(sum(a == b for a, b in zip(t, p)) / len(t)), "n": len(t)}


def majority_baseline(y_train: Sequence, y_test: Sequence) -> dict:
    """The classification baseline: always predict the training rows' most frequent class.

    Ties go to the class that sorts first, so the baseline does not depend on row order.

    Returns:
        :func:`classification_metrics` of that constant, plus ``"prediction"`` (the class).
    """
    counts = Counter(np.asarray(y_train).reshape(-1).tolist())
    if not counts:
        raise InputError(_("Expected at least 1 training row for the baseline. Received: 0"))
    top = max(counts.values())
    majority = sorted(c for c, n in counts.items() if n == top)[0]
    test = np.asarray(y_test).reshape(-1).tolist()
    return {**classification_metrics(test, [majority] * len(test)), "prediction": majority}


def usable_rows(
    frame: pd.DataFrame,
    columns: dict[str, str],
    vocabularies: dict[str, Sequence[str]],
    notes: list[str] | None = None,
    row_numbers: Sequence[int] | None = None,
) -> tuple[pd.Index, list[tuple[int, str]]]:
    """Which rows of a prediction file the model can predict, and why the others cannot.

    Rows are numbered as a person counts lines in the file: the header is row 1. Pass the
    reader's ``Table.row_numbers`` (blank lines and quoted line breaks skipped); without them
    frame position ``i`` is taken as row ``i + 2``.

    Args:
        frame: the rows to predict (raw, as read; extra columns allowed).
        columns: column -> kind ("number" | "category") the model needs (``TableFeatures.columns``).
        vocabularies: category column -> values seen in training (``TableFeatures.vocabularies``);
            ``""`` among them means an empty cell is a known value. Number columns need none:
            the model imputes an empty number with the training mean.
        notes: optional list that receives remarks (extra columns ignored).
        row_numbers: each frame row's line in the file (``core.data.table.csv_file.Table.row_numbers``).

    Returns:
        ``(ok_index, problems)``: the index labels of the usable rows (``frame.loc[ok_index]``)
        and one ``(row_number, reason)`` per unusable row, in file order. When needed columns
        are absent no row is usable and ``problems`` is ONE entry on the header row (row 1)
        that lists them.
    """
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        reason = _("The file lacks the column(s) the model needs: {columns}. Found: {have}").format(
            columns=", ".join(absent), have=", ".join(map(str, frame.columns)) or _("none"))  # fmt: skip
        return frame.index[:0], [(HEADER_ROW, reason)]
    extra = [str(c) for c in frame.columns if c not in columns]
    if extra and notes is not None:
        notes.append(_("Columns the model does not use were ignored: {columns}").format(columns=", ".join(extra)))
    known = {c: set(vocabularies.get(c, ())) for c, kind in columns.items() if kind != NUMBER}
    ok, problems = [], []
    for position, row in enumerate(frame[list(columns)].itertuples(index=False, name=None)):
        reasons = [r for r in (_cell_problem(c, k, v, known) for (c, k), v in zip(columns.items(), row)) if r]
        if reasons:
            line = int(row_numbers[position]) if row_numbers is not None else position + FIRST_DATA_ROW
            problems.append((line, "; ".join(reasons)))
        else:
            ok.append(position)
    return frame.index[ok], problems


def _cell_problem(column: str, kind: str, value, known: dict[str, set]) -> str | None:
    if kind == NUMBER:
        try:
            parse_number(value)  # an empty cell is fine: the model imputes the training mean
        except (TypeError, ValueError):
            return _("{column}: expected a number. Received: {value}").format(column=column, value=repr(value))
        return None
    text = category_text(value)
    if text is None:
        if MISSING_CATEGORY in known[column]:
            return None
        return _("{column}: empty, and the training rows never had it empty").format(column=column)
    if text not in known[column]:
        values = sorted(v for v in known[column] if v != MISSING_CATEGORY)
        shown = ", ".join(values[:MAX_LISTED]) + (", ..." if len(values) > MAX_LISTED else "")
        return _("{column}: {value} was never seen in training (known: {known})").format(
            column=column, value=repr(text), known=shown)  # fmt: skip
    return None
