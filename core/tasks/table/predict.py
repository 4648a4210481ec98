"""Predict new rows of a table with a trained table run.

The rows come as a CSV (a path, bytes, an upload), a :class:`core.data.table.csv_file.Table`, or a
pandas DataFrame of raw rows (a one-row form). Rows that cannot be used (a needed column
missing, a category never seen in training, text where a number is expected) are kept in
the output with an empty prediction and a ``problem``; every other row is predicted.

Shapes: R input rows give ``TablePredictions.frame`` (R, C + 2) for a regression (the input
columns, ``prediction``, ``problem``) and (R, C + 2 + K) for K classes (``p(<class>)`` columns).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.base.errors import InputError
from core.base.i18n import _
from core.data.table.csv_file import Table, read_table
from core.metrics.table import FIRST_DATA_ROW, HEADER_ROW, usable_rows
from core.models.table_net import CLASSIFICATION, TableFeatures, make_dataset, to_inputs
from core.serving.inference import probability_column

PREDICTION = "prediction"
PROBLEM = "problem"
PREDICT_BATCH = 1024
MODEL_CACHE_SIZE = 4  # loaded models kept (a page predicting one row at a time should not reload)

_cache: dict[tuple[str, float], object] = {}
_cache_lock = threading.Lock()


def run_features(run) -> TableFeatures:
    """What the run's model expects, from its config.json.

    Raises:
        InputError: not a table run, or a run that has not finished preparing its data.
    """
    config = run.config()
    if not isinstance(config, dict) or config.get("task") != "table":
        raise InputError(
            _("Expected a table run. Received: run {run} of task {task}.").format(
                run=run.id, task=(config or {}).get("task") if isinstance(config, dict) else None)
        )  # fmt: skip
    if not isinstance(config.get("features"), dict):
        raise InputError(_("Run {run} has no trained table model yet (no features in config.json).").format(run=run.id))
    return TableFeatures.from_dict(config["features"])


def table_columns_for(run) -> dict[str, str]:
    """The raw columns the run's model needs, name -> kind ("number" | "category"), in input order.

    Raises:
        InputError: see :func:`run_features`.
    """
    return dict(run_features(run).columns)


def load_table_model(run):
    """The run's best checkpoint (else its final model), loaded once and cached by file and time.

    Raises:
        InputError: the run has no model file, or the file cannot be loaded.
    """
    path = next((p for p in (run.path / "best.keras", run.path / "final.keras") if p.is_file()), None)
    if path is None:
        raise InputError(_("Run {run} has no model file (best.keras or final.keras) yet.").format(run=run.id))
    key = (str(path.resolve()), path.stat().st_mtime)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    import keras

    try:
        model = keras.models.load_model(path)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say which
        raise InputError(_("Could not load {file} of run {run}: {problem}").format(
            file=path.name, run=run.id, problem=f"{type(exc).__name__}: {exc}"[:300])) from None  # fmt: skip
    with _cache_lock:
        while len(_cache) >= MODEL_CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = model
    return model


def load_rows(source, name: str | None = None) -> tuple[pd.DataFrame, np.ndarray, str, list[str]]:
    """Raw rows to predict or evaluate, with their row numbers in the file.

    Unlike :func:`core.data.table.csv_file.read_table`, ONE data row is fine here (predicting one row is
    a use, training on one is not).

    Returns:
        ``(frame, row_numbers, source name, notes)``; a DataFrame's rows are numbered 2, 3, ...

    Raises:
        InputError: what ``read_table`` refuses (not a CSV, empty, header only, too large...).
    """
    if isinstance(source, Table):
        return source.frame, source.row_numbers, source.source, list(source.notes)
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame, np.arange(len(frame)) + FIRST_DATA_ROW, name or _("the rows"), []
    table = read_table(source, name, min_rows=1)  # one new row is enough to predict
    return table.frame, table.row_numbers, table.source, list(table.notes)


def predict_frame(model, frame: pd.DataFrame, features: TableFeatures) -> np.ndarray:
    """Model outputs for usable raw rows: (n, 1) for a regression, (n, K) class probabilities."""
    if len(frame) == 0:
        return np.zeros((0, max(1, len(features.classes))), np.float32)
    ds = make_dataset(to_inputs(frame, features), batch_size=PREDICT_BATCH)
    return np.asarray(model.predict(ds, verbose=0))


@dataclass
class TablePredictions:
    """The input rows with their predictions; unusable rows kept, with the reason."""

    frame: pd.DataFrame  # input rows + "prediction" (+ "p(<class>)") + "problem"
    problems: list[tuple[int, str]]  # (row number in the file, reason)
    task: str
    target: str
    class_names: list[str] | None
    row_numbers: np.ndarray | None = None  # (R,) each frame row's line in the file
    notes: list[str] | None = None  # extra columns ignored, reading notes

    def to_csv_bytes(self) -> bytes:
        """The frame as a UTF-8 CSV (comma separated, a header row), for download."""
        return self.frame.to_csv(index=False).encode("utf-8")

    def to_json(self) -> dict:
        """The CLI's answer: one entry per usable row and one per unusable row (row numbers of the file)."""
        rows = self.row_numbers if self.row_numbers is not None else np.arange(len(self.frame)) + FIRST_DATA_ROW
        bad = {r for r, _reason in self.problems}
        out = []
        for i, row in enumerate(rows.tolist()):
            if row in bad:
                continue
            record = self.frame.iloc[i]
            entry = {"row": int(row), "prediction": _plain(record[PREDICTION])}
            if self.class_names:
                entry["probabilities"] = {c: float(record[probability_column(c)]) for c in self.class_names}
            out.append(entry)
        return {"predictions": out, "unusable": [{"row": int(r), "reason": why} for r, why in self.problems],
                "task": self.task, "target": self.target, "notes": list(self.notes or [])}  # fmt: skip


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def predict_table(run, source, name: str | None = None) -> TablePredictions:
    """Predicts every usable row of ``source`` with a table run's model.

    Args:
        run: a table run (``core.runs.store.Run``) with a model file.
        source: a CSV path / bytes / upload, a ``core.data.table.csv_file.Table``, or a DataFrame of raw rows.
        name: the file name for messages (an upload's or path's by default).

    Returns:
        The rows with predictions. A file without a column the model needs is NOT an error:
        every row is then unusable, with the reason (the missing columns).

    Raises:
        InputError: the file cannot be read as a table, or the run is not a usable table run.
    """
    features = run_features(run)
    frame, row_numbers, _source, notes = load_rows(source, name)
    out = frame.copy()
    checked = frame.drop(columns=[features.target]) if features.target in frame.columns else frame  # no "ignored" note
    ok, problems = usable_rows(checked, features.columns, features.vocabularies, notes, row_numbers)
    if problems and problems[0][0] == HEADER_ROW and len(ok) == 0:
        problems = [(int(r), problems[0][1]) for r in row_numbers]  # missing columns: every row says why
    model = load_table_model(run) if len(ok) else None
    positions = frame.index.get_indexer(ok)
    outputs = predict_frame(model, frame.loc[ok], features) if model is not None else None
    prediction = pd.Series([None] * len(frame), dtype=object)
    if features.task == CLASSIFICATION:
        for k, cls in enumerate(features.classes):
            column = np.full(len(frame), np.nan)
            if outputs is not None:
                column[positions] = outputs[:, k]
            out[probability_column(cls)] = column
        if outputs is not None:
            prediction.iloc[positions] = [features.classes[i] for i in outputs.argmax(axis=1)]
    elif outputs is not None:
        prediction.iloc[positions] = outputs[:, 0].astype(float).tolist()
    out.insert(len(frame.columns), PREDICTION, prediction.to_numpy())
    reasons = {r: why for r, why in problems}
    out[PROBLEM] = [reasons.get(int(r), "") for r in row_numbers]
    return TablePredictions(out, problems, features.task, features.target,
                            list(features.classes) if features.task == CLASSIFICATION else None,
                            np.asarray(row_numbers), notes)  # fmt: skip


def predict_to_file(run, files: list[str], out: str | None) -> dict:
    """The CLI's prediction of ONE CSV of rows: the JSON of :meth:`TablePredictions.to_json`, and the rows
    with their predictions written to ``out`` when given.

    Raises:
        InputError: not exactly one file, a file that cannot be read, or ``out`` cannot be written.
    """
    import sys
    from pathlib import Path

    from core.base.storage import write_bytes_atomic

    if len(files) != 1:
        raise InputError(_("Expected ONE CSV file of rows for a table run. Received: {n} files.").format(n=len(files)))
    result = predict_table(run, files[0])
    print(f"{len(result.frame) - len(result.problems)} row(s) predicted, {len(result.problems)} unusable",
          file=sys.stderr)  # fmt: skip
    if not out:  # the JSON holds every prediction; a file is written only when asked for
        return result.to_json()
    path = Path(out)
    try:
        write_bytes_atomic(path, result.to_csv_bytes())
    except OSError as exc:
        raise InputError(
            _("Could not write {path}: {problem}.").format(path=path, problem=exc.strerror or exc)
        ) from None
    print(f"written to {path}", file=sys.stderr)
    return {**result.to_json(), "out": str(path)}
