"""The data of a table run: check the choices against the CSV, then split and learn the preprocessing.

:func:`validate_table` is what :func:`core.tasks.validate` checks of a table run (the
same messages on the command line and on the page); :func:`prepare_table` is what training
does with the file: rows without a target value left out (counted in the run log), columns
left out, a split by seed (validation, test), and the preprocessing learnt from the training
rows only (:func:`core.models.table_net.fit_features`).

Shapes: a file of R rows, of which R' have a target value, gives ``TablePrepared.frame``
(R', C) and the index arrays ``train`` / ``validation`` / ``test`` into it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import _, ngettext, number
from core.data.table.columns import KIND_LABELS
from core.data.table.csv_file import Table, read_table
from core.data.table.listing import listing
from core.data.table.proposals import check_target, propose_drop, propose_task, target_note
from core.data.table.split import split_rows
from core.metrics.table import FIRST_DATA_ROW
from core.models.specs import ModelSpec
from core.models.summary import ModelSummary, summarize_spec
from core.models.table_net import (
    CATEGORY,
    CLASSIFICATION,
    NUMBER,
    OUTPUT,
    REGRESSION,
    TableFeatures,
    check_table_layers,
    encode_target,
    fit_features,
    parse_number,
)

MIXED_TARGET_SHARE = 0.5  # a text target whose values are at least half numbers was meant as numbers
MODEL_KINDS = {"number": NUMBER, "category": CATEGORY}  # read's column kinds the model takes


@dataclass
class TablePlan:
    """What a table run will learn from: the task, the target and the feature columns."""

    table: Table
    task: str  # "regression" | "classification"
    target: str
    columns: dict[str, str]  # feature column -> "number" | "category", in file order
    dropped: list[str]  # left out as asked (or as proposed when nothing was asked)
    ignored: dict[str, str] = field(default_factory=dict)  # text / date columns left out: column -> kind
    notes: list[str] = field(default_factory=list)  # for the run log

    def input_width(self) -> int:
        """Length of the preprocessed row before fitting: 1 per number, one-hot size per category."""
        width = 0
        for name, kind in self.columns.items():
            col = self.table.column(name)
            width += 1 if kind == NUMBER else col.distinct + (1 if col.missing else 0) + 1  # + the OOV slot
        return width

    def outputs(self) -> int:
        """Units of the output layer: 1 for a regression, the number of classes otherwise."""
        if self.task == REGRESSION:
            return 1
        return int(self.table.frame[self.target].dropna().astype(str).nunique())


def drop_list(value) -> list[str] | None:
    """``drop`` as a list of column names: None stays None ("the proposal"), ``"a,b"`` is split.

    Raises:
        InputError: not None, text or a list of text.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise InputError(
        _("Expected drop to be column names (a list, or text separated by commas). Received: {value}").format(
            value=repr(value)[:80])
    )  # fmt: skip


def plan_table(cfg, table: Table | None = None) -> TablePlan:
    """Checks the target, the task and the columns left out against the CSV file.

    Args:
        cfg: a :class:`core.training.TrainConfig` of task "table".
        table: the file already read (None: read ``cfg.data``).

    Raises:
        InputError: no file, not a readable CSV, no target or one not in the file, a target
            that cannot be predicted as the task (``check_target``), numbers mixed with
            text in the target, unknown columns to leave out, or nothing left to learn from.
    """
    if not cfg.data:
        raise InputError(_("Expected --data FILE.csv for --task table. Received: no file."))
    table = table if table is not None else read_table(cfg.data)
    names = [c.name for c in table.columns]
    target = (cfg.target or "").strip()
    if not target:
        raise InputError(
            _("Expected the column to predict (--target COLUMN) for --task table. Received: none. "
              "Columns of {file}: {columns}").format(file=table.source, columns=listing(names, 30))
        )  # fmt: skip
    table.column(target)  # raises with the columns there are
    _refuse_mixed_target(table, target, cfg.table_task)
    task = propose_task(table, target) if cfg.table_task == "auto" else cfg.table_task
    check_target(table, target, task)
    asked = drop_list(cfg.drop)
    if asked is None:
        dropped = [c for c in propose_drop(table) if c != target]
    else:
        unknown = [c for c in asked if c not in names]
        if unknown:
            raise InputError(
                _("Expected columns of {file} to leave out. Received: {unknown}, not in the file. Its columns: "
                  "{columns}").format(file=table.source, unknown=", ".join(map(repr, unknown)),
                                      columns=listing(names, 30))
            )  # fmt: skip
        if target in asked:
            raise InputError(
                _("The column to predict ({target}) cannot also be left out. Received: drop={drop}").format(
                    target=repr(target), drop=", ".join(asked))
            )  # fmt: skip
        dropped = list(dict.fromkeys(asked))
    columns, ignored = {}, {}
    for col in table.columns:
        if col.name == target or col.name in dropped:
            continue
        if col.kind in MODEL_KINDS:
            columns[col.name] = MODEL_KINDS[col.kind]
        else:
            ignored[col.name] = col.kind
    if not columns:
        raise InputError(
            _("Nothing is left to learn from: every column but {target} is left out or holds free text or dates. "
              "Received: drop={drop}").format(target=repr(target), drop=", ".join(dropped) or _("none"))
        )  # fmt: skip
    notes = list(table.notes)
    if dropped:
        notes.append(_("Columns left out: {columns}.").format(columns=", ".join(dropped)))
    if ignored:
        notes.append(
            _("Columns left out because a dense network cannot use free text or dates as they are: {columns}.").format(
                columns=", ".join(f"{c} ({_(KIND_LABELS[k])})" for c, k in ignored.items()))
        )  # fmt: skip
    return TablePlan(table, task, target, columns, dropped, ignored, notes)


def _refuse_mixed_target(table: Table, target: str, table_task: str) -> None:
    """A target read as text although most of its cells are numbers: one cell is a typo, say which."""
    col = table.column(target)
    if col.kind == "number" or table_task == CLASSIFICATION:
        return
    values = table.frame[target].dropna().tolist()
    numeric = []
    for v in values:
        try:
            parse_number(v)
            numeric.append(True)
        except (TypeError, ValueError):
            numeric.append(False)
    if not values or sum(numeric) < MIXED_TARGET_SHARE * len(values):
        return
    rows = table.row_numbers[table.frame[target].notna().to_numpy()]
    bad = [(int(r), v) for r, v, ok in zip(rows, values, numeric) if not ok]
    raise InputError(
        ngettext("The column to predict {target} mixes numbers with text: {count} cell is not a number (row {row} "
                 "holds {value}). Correct it in the file, or choose classification to predict it as classes.",
                 "The column to predict {target} mixes numbers with text: {count} cells are not numbers (row {row} "
                 "holds {value}). Correct them in the file, or choose classification to predict it as classes.",
                 len(bad)).format(target=repr(target), count=number(len(bad)), row=bad[0][0], value=repr(bad[0][1]))
    )  # fmt: skip


def table_summary(spec: ModelSpec, width: int, outputs: int) -> ModelSummary:
    """Parameters and multiply-adds of a table model, by arithmetic (nothing is built).

    Args:
        width: length of the preprocessed row (:meth:`TablePlan.input_width`).
        outputs: 1 (regression: a linear unit) or the number of classes (softmax).

    Raises:
        InputError: a layer a table model does not take (see ``check_table_layers``).
    """
    check_table_layers(spec.layers)
    activation = "linear" if outputs == 1 else "softmax"
    return summarize_spec(replace(spec, output_activation=activation), (width,), outputs, head=OUTPUT)


def validate_table(cfg) -> list[str]:
    """What :func:`core.tasks.validate` checks of a table run: the file, the choices and the model; returns warnings.

    Raises:
        InputError: see :func:`plan_table`; held-out fractions that leave too few training
            rows; a layer a table model does not take.
    """
    cfg.drop = drop_list(cfg.drop)
    plan = plan_table(cfg)
    warnings: list[str] = []
    if cfg.spec.augment:
        warnings.append(_("Augmentation applies to images only: it is ignored for a table."))
        cfg.spec.augment = {}
    if cfg.test_fraction <= 0:
        raise InputError(
            _("Expected test_fraction above 0 for a table: the held-out test rows are what the model and its "
              "baseline are scored on. Received: test_fraction={value}").format(value=cfg.test_fraction)
        )  # fmt: skip
    cfg.check_held_out(cfg.spec.validation_fraction + cfg.test_fraction)
    rows = int(plan.table.frame[plan.target].notna().sum())
    split_rows(rows, cfg.seed, cfg.spec.validation_fraction, cfg.test_fraction)  # too few rows: the message
    return warnings + cfg.check_model(table_summary(cfg.spec, plan.input_width(), plan.outputs()))


@dataclass
class TablePrepared:
    """A table run's rows, split, with the preprocessing learnt from the training rows."""

    plan: TablePlan
    frame: pd.DataFrame  # (R', C) the rows with a target value, in file order, index 0..R'-1
    row_numbers: np.ndarray  # (R',) each row's line in the file
    train: np.ndarray  # indices into frame
    validation: np.ndarray
    test: np.ndarray
    features: TableFeatures
    notes: list[str]

    def x(self, part: str) -> pd.DataFrame:
        """The raw feature columns of ``part`` ("train", "validation" or "test")."""
        return self.frame.iloc[getattr(self, part)][list(self.features.columns)]

    def y(self, part: str) -> np.ndarray:
        """The target of ``part`` as the model trains on it: float32 (n,) or int32 class indices (n,)."""
        return encode_target(self.frame.iloc[getattr(self, part)][self.plan.target], self.features)

    def facts(self) -> dict:
        """What training learnt of the data, for config.json (docs/ARCHITECTURE.md, "config.json")."""
        plan = self.plan
        table = {"task": plan.task, "target": plan.target, "columns": dict(self.features.columns),
                 "dropped": list(plan.dropped), "ignored": dict(plan.ignored), "rows": int(len(plan.table.frame)),
                 "rows_without_target": int(len(plan.table.frame) - len(self.frame)),
                 # how the file was read, for reproduce.py (core.export.script)
                 "csv": {"encoding": plan.table.encoding, "delimiter": plan.table.delimiter,
                         "decimal": plan.table.decimal, "header": [c.name for c in plan.table.columns]}}  # fmt: skip
        if plan.task == CLASSIFICATION:
            table["class_names"] = list(self.features.classes)
        return {"table": table, "features": self.features.to_dict(), "data_source": str(plan.table.source),
                "class_names": list(self.features.classes), "n_train": int(len(self.train)),
                "n_val": int(len(self.validation)), "n_test": int(len(self.test))}  # fmt: skip

    def split(self) -> dict:
        """split.json of a table run: the file rows (spreadsheet numbers) of each part."""
        return {"table": True, "rows": {part: self.row_numbers[getattr(self, part)].tolist()
                                        for part in ("train", "validation", "test")}}  # fmt: skip


def prepare_table(cfg, log: Callable[[str], None] = print) -> TablePrepared:
    """Reads, checks and splits a table run's CSV and learns its preprocessing (training rows only).

    Raises:
        InputError: see :func:`plan_table`, ``split_rows`` and ``fit_features``.
    """
    log(_("Reading {file} ...").format(file=cfg.data))
    plan = plan_table(cfg)
    table = plan.table
    notes = list(plan.notes)
    missing_target = table.frame[plan.target].isna().to_numpy()
    note = target_note(table, plan.target)
    if note:
        notes.append(note)
    keep = ~missing_target
    frame = table.frame.loc[keep].reset_index(drop=True)
    row_numbers = table.row_numbers[keep] if len(table.row_numbers) else np.arange(len(frame)) + FIRST_DATA_ROW
    parts = split_rows(len(frame), cfg.seed, cfg.spec.validation_fraction, cfg.test_fraction)
    train_rows = frame.iloc[parts["train"]]
    features = fit_features(train_rows[list(plan.columns)], plan.columns, train_rows[plan.target], plan.task)
    notes += missing_value_notes(features)
    log(_("{file}: {rows} rows with a value in {target}; {train} for training, {val} for validation, {test} for "
          "the test ({task}).").format(file=table.source, rows=number(len(frame)), target=repr(plan.target),
                                       train=number(len(parts["train"])), val=number(len(parts["validation"])),
                                       test=number(len(parts["test"])), task=plan.task))  # fmt: skip
    return TablePrepared(plan, frame, row_numbers, parts["train"], parts["validation"], parts["test"], features, notes)


def missing_value_notes(features: TableFeatures) -> list[str]:
    """What is done with empty cells of the training rows, one note per column that has some."""
    notes = []
    for column, empty in features.missing.items():
        if not empty:
            continue
        if features.columns[column] == NUMBER:
            notes.append(
                ngettext("{column}: {count} empty cell in the training rows; empty cells are imputed with the "
                         "training mean {mean} (inside the model, also when predicting).",
                         "{column}: {count} empty cells in the training rows; empty cells are imputed with the "
                         "training mean {mean} (inside the model, also when predicting).", empty).format(
                    column=repr(column), count=number(empty), mean=f"{features.means[column]:.4g}")
            )  # fmt: skip
        else:
            notes.append(
                ngettext("{column}: {count} empty cell in the training rows; an empty cell is its own category.",
                         "{column}: {count} empty cells in the training rows; an empty cell is its own category.",
                         empty).format(column=repr(column), count=number(empty))
            )  # fmt: skip
    return notes
