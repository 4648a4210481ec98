"""The first choices made from a read table: the task and the columns to leave out proposed, the target checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _, ngettext, number
from core.data.table.columns import KIND_LABELS
from core.data.table.csv_file import MIN_DATA_ROWS, Table
from core.data.table.listing import listing

TASKS = ("regression", "classification")

CLASSIFICATION_MAX_DISTINCT = 10  # a whole-number target with at most 10 values is proposed as classes
MIN_ROWS_PER_CLASS = 2  # a class needs a row to learn from and one to check on
MAX_CLASSES = 100
MAX_CLASSES_LISTED = 10  # small classes named in the message
ID_NAMES = frozenset({"id", "index", "unnamed: 0", "row", "rowid", "row_id", "#"})  # compared lower-case
TARGET_NAMES = frozenset({"target", "label", "labels", "class", "y", "outcome", "species", "diagnosis", "result"})
TIME_NAMES = frozenset({"year", "month", "day", "date", "time", "timestamp", "week"})  # when, not what: rarely a target
DECLARED_TARGETS = Path(__file__).resolve().parents[2] / "assets" / "tables" / "targets.json"  # the shipped tables'


def declared_target(path: str | Path) -> str | None:
    """The column a shipped table was published to predict (``core/assets/tables/targets.json``), else None."""
    path = Path(path)
    if path.resolve().parent != DECLARED_TARGETS.parent:
        return None
    try:
        declared = json.loads(DECLARED_TARGETS.read_text())
    except (OSError, ValueError):
        return None
    value = declared.get(path.name) if isinstance(declared, dict) else None
    return value if isinstance(value, str) else None


def propose_target(table: Table, declared: str | None = None) -> tuple[str, str]:
    """The column a person would most likely predict, and why (shown beside the choice).

    In order: the table's declared target (a shipped table's); a column named like a target
    (``TARGET_NAMES``: target, label, class, species...); the last number or category column that
    is not an id nor named like a time (``TIME_NAMES``: penguins.csv ends with ``year``); the last column.
    """
    names = [c.name for c in table.columns]
    if declared in names:
        return declared, _("the column this table was published to predict")
    ids = set(propose_drop(table))
    usable = [c for c in table.columns if c.name not in ids and c.missing < len(table.frame)]
    for col in usable:
        if col.name.strip().lower() in TARGET_NAMES:
            return col.name, _("its name says it is what the table predicts")
    for col in reversed(usable):
        if col.kind in ("number", "category") and col.name.strip().lower() not in TIME_NAMES:
            return col.name, _("the last column of numbers or categories that is not an id nor a time")
    return names[-1], _("the last column")


def propose_task(table: Table, target: str) -> str:
    """Proposes "regression" or "classification" for predicting ``target``.

    A number column is regression unless it has at most ``CLASSIFICATION_MAX_DISTINCT`` (10)
    distinct values, all whole numbers (a 1..5 rating, a 0/1 flag): then classification.
    Category, text and date columns are classification.

    Raises:
        InputError: ``target`` is not a column.
    """
    col = table.column(target)
    if col.kind != "number":
        return "classification"
    values = table.frame[target].dropna().to_numpy()
    whole = bool(np.all(np.mod(values, 1) == 0))
    return "classification" if whole and col.distinct <= CLASSIFICATION_MAX_DISTINCT else "regression"


def propose_drop(table: Table) -> list[str]:
    """Columns proposed for leaving out: ids and columns empty in every row.

    An id is a column named like one (``ID_NAMES``: id, index, Unnamed: 0...), whole numbers that
    go up by one in every row, or a text column with a different value in every row. The caller
    leaves the target out of the proposal.
    """
    drop: list[str] = []
    n = len(table.frame)
    for col in table.columns:
        values = table.frame[col.name]
        if col.missing == n:
            drop.append(col.name)
        elif col.name.strip().lower() in ID_NAMES:
            drop.append(col.name)
        elif col.missing == 0 and n > 2 and col.kind == "number":
            steps = np.diff(values.to_numpy())
            if np.all(np.mod(values.to_numpy(), 1) == 0) and np.all(steps == 1):
                drop.append(col.name)
        elif col.missing == 0 and n > 2 and col.kind in ("text", "category") and col.distinct == n:
            drop.append(col.name)
    return drop


def check_target(table: Table, target: str, task: str) -> None:
    """Checks that ``target`` can be predicted as ``task``.

    Rows without a target value are not an error (training leaves them out; :func:`target_note`
    says how many) unless too few rows are left.

    Raises:
        InputError: no such column (the message lists them), an unknown task, a date column,
            fewer than 2 rows with a value, one value only, regression on a non-number column,
            more than ``MAX_CLASSES`` classes, or classes with fewer than ``MIN_ROWS_PER_CLASS`` rows.
    """
    col = table.column(target)
    if task not in TASKS:
        raise InputError(_("Expected the task 'regression' or 'classification'. Received: {task!r}").format(task=task))
    if col.kind == "date":
        raise InputError(_("{name!r} holds dates; pick a number or category column to predict.").format(name=target))
    values = table.frame[target].dropna()
    if len(values) < MIN_DATA_ROWS:
        raise InputError(
            _("{name!r} has a value in {count} of {rows} rows; at least {min} are needed to train on it.").format(
                name=target, count=number(len(values)), rows=number(len(table.frame)), min=MIN_DATA_ROWS)
        )  # fmt: skip
    if col.distinct < 2:
        raise InputError(
            _("{name!r} has one value only ({value}): there is nothing to predict. Pick another column.").format(
                name=target, value=values.iloc[0])
        )  # fmt: skip
    if task == "regression":
        if col.kind != "number":
            raise InputError(
                _("Regression predicts a number, but {name!r} holds {kind} values (for example {example!r}). "
                  "Choose classification, or another column.").format(
                    name=target, kind=_(KIND_LABELS[col.kind]), example=col.examples[0] if col.examples else "")
            )  # fmt: skip
        return
    counts = values.astype(str).value_counts() if col.kind != "number" else values.value_counts()
    if len(counts) > MAX_CLASSES:
        raise InputError(
            _("{name!r} has {count} different values: too many classes (at most {limit}). "
              "If it is a measurement, choose regression.").format(
                name=target, count=number(len(counts)), limit=number(MAX_CLASSES))
        )  # fmt: skip
    small = counts[counts < MIN_ROWS_PER_CLASS]
    if len(small):
        rows = [
            ngettext("{cls} ({n} row)", "{cls} ({n} rows)", n).format(cls=_class_text(k), n=n) for k, n in small.items()
        ]
        shown = listing(rows, MAX_CLASSES_LISTED)
        raise InputError(
            ngettext("{count} class of {name!r} has fewer than {min} rows: {shown}. Each class needs rows to learn "
                     "from and to check on; remove the rare rows or choose regression.",
                     "{count} classes of {name!r} have fewer than {min} rows: {shown}. Each class needs rows to "
                     "learn from and to check on; remove the rare rows or choose regression.", len(small)).format(
                count=number(len(small)), name=target, min=MIN_ROWS_PER_CLASS, shown=shown)
        )  # fmt: skip


def _class_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def target_note(table: Table, target: str) -> str | None:
    """A note for the run log when some rows have no ``target`` value (training leaves them out).

    Raises:
        InputError: ``target`` is not a column.
    """
    missing = table.column(target).missing
    if not missing:
        return None
    rows = table.row_numbers[table.frame[target].isna().to_numpy()].tolist() if len(table.row_numbers) else []
    return ngettext(
        "{count} row has no value in {name!r} and is left out of training (row {rows}).",
        "{count} rows have no value in {name!r} and are left out of training (rows {rows}).",
        missing,
    ).format(count=number(missing), name=target, rows=listing(rows))
