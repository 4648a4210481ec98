"""Tables on the Train page: pick or upload a CSV, look at it, choose the column to predict.

Reading, kinds and proposals are ``core.data.table``'s; this module only draws them and keeps
the choices in widgets.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import core
from core.base.errors import InputError
from core.base.i18n import N_, _, language, ngettext, number
from core.data.table.columns import KIND_LABELS
from core.data.table.csv_file import Table, read_table
from core.data.table.proposals import (
    TASKS,
    check_target,
    declared_target,
    propose_drop,
    propose_target,
    propose_task,
    target_note,
)
from pages._data import data_status, refresh_data_status
from pages._session import actor, is_presenter
from pages._widgets import choose_many, file_upload

SHIPPED = Path(core.__file__).parent / "assets" / "tables"  # the CSVs that ship with the app
UPLOAD = "__upload__"  # the file choice that opens the uploader
PREVIEW_ROWS = 10  # first rows shown
TASK_LABELS = {"regression": N_("regression (a number)"), "classification": N_("classification (a class)")}
DELIMITER_NAMES = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab"), "|": N_("vertical bar")}
DECIMAL_NAMES = {".": N_("point"), ",": N_("comma")}
MODEL_KINDS = ("number", "category")  # the reader's kinds a table model takes (text and date are left out)


def table_files() -> list[str]:
    """The CSV files to offer: the data folder's (``list_datasets()["tables"]``), then the shipped ones."""
    files = list(data_status().get("tables", []))
    for path in sorted(SHIPPED.glob("*.csv")):
        if str(path) not in files and str(path.resolve()) not in files:
            files.append(str(path))
    return files


@st.cache_data(max_entries=16, show_spinner=False)
def _read_path(path: str, mtime: float, lang: str) -> Table:  # lang: the notes are text
    return read_table(path)


def read_path(path: str) -> Table:
    """The table in the CSV file ``path`` (cached while the file is unchanged).

    Raises:
        InputError: the file cannot be read as a table (the reader's message), or is gone.
    """
    try:
        mtime = Path(path).stat().st_mtime
    except OSError as exc:
        raise InputError(_("Cannot open {path}: {problem}").format(path=Path(path).name, problem=exc)) from exc
    return _read_path(path, mtime, language())


@st.cache_data(max_entries=8, show_spinner=False)
def read_bytes(data: bytes, name: str, lang: str) -> Table:
    """The table in an upload's bytes (``lang`` keys the cache: the notes are text)."""
    return read_table(data, name=name)


def reading_notes(table: Table) -> list[str]:
    """What the reader found and did, as sentences: delimiter, decimal mark, encoding, then its notes."""
    found = _("Read as {encoding}, fields separated by a {delimiter}, decimal {decimal}.").format(
        encoding=table.encoding, delimiter=_(DELIMITER_NAMES.get(table.delimiter, repr(table.delimiter))),
        decimal=_(DECIMAL_NAMES.get(table.decimal, repr(table.decimal))))  # fmt: skip
    return [found, *table.notes]


def show_table(table: Table) -> None:
    """Preview, row count, each column's kind and empty cells, and the reading notes."""
    n = len(table.frame)
    st.caption(ngettext("**{name}**: {rows} data row, {cols} columns.", "**{name}**: {rows} data rows, {cols} columns.",
                        n).format(name=table.source, rows=number(n), cols=number(len(table.columns))))  # fmt: skip
    st.dataframe(table.frame.head(PREVIEW_ROWS), hide_index=True, width="stretch", key="table_preview")
    kinds = pd.DataFrame({
        _("column"): [c.name for c in table.columns],
        _("kind"): [_(KIND_LABELS.get(c.kind, c.kind)) for c in table.columns],
        _("missing values"): [c.missing for c in table.columns],
        _("distinct values"): [c.distinct for c in table.columns],
        _("examples"): [", ".join(c.examples) for c in table.columns],
    })  # fmt: skip
    st.dataframe(kinds, hide_index=True, width="stretch", key="table_kinds")
    for note in reading_notes(table):
        st.caption(note)


def upload_table() -> str | None:
    """The presenter's CSV upload: checked and previewed, then saved into the data folder on a click.

    Returns:
        The saved file's path once saved (it is then chosen), else None.
    """
    up = file_upload(_("CSV file"), type=["csv", "tsv", "txt"], key="train_table_upload")
    if up is None:
        st.caption(_("A spreadsheet saved as CSV: a header row, then one row per example (comma, semicolon or tab "
                     "separated)."))  # fmt: skip
        return None
    try:
        table = read_bytes(up.getvalue(), up.name, language())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    show_table(table)
    stem = Path(up.name).stem
    name = st.text_input(_("Name in the data folder"), placeholder=stem, key="train_table_name") or stem
    if not st.button(_("Save it and use it"), icon=":material/save:", key="train_table_save"):
        return None
    from core.data.table.store import save_table_upload  # engineer W's module

    try:
        path = save_table_upload(up, name, actor=actor())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    refresh_data_status()
    st.success(_("Saved as {name} in the data folder.").format(name=Path(path).name), icon=":material/check:")
    return str(path)


def choose_table() -> dict | None:
    """The table part of the data section.

    Returns:
        ``{"task": "table", "data", "classes", "n", "separate_test", "settings", "features", "table"}``
        (``settings``: the target, the table task and the left-out columns; ``table``: the file read),
        or None while nothing usable is chosen (a message says why).
    """
    state = st.session_state
    files = table_files()
    if state.get("train_table_saved") in files:  # a file saved just now is chosen (set before the widget exists)
        state["train_table_file"] = state.pop("train_table_saved")
    options = files + ([UPLOAD] if is_presenter() else [])
    if not options:
        st.info(_("No CSV file in the data folder."))
        return None
    labels = {str(p): Path(p).name + (" " + _("(shipped)") if str(SHIPPED) in str(p) else "") for p in files}
    labels[UPLOAD] = _("Upload a CSV...")
    path = st.selectbox(_("CSV file"), options, key="train_table_file", format_func=lambda p: labels.get(p, p))
    if path == UPLOAD:
        saved = upload_table()
        if saved is not None:
            state["train_table_saved"] = saved
            st.rerun()
        return None
    try:
        table = read_path(path)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    show_table(table)
    return choose_target(table, path)


def _class_text(value: object) -> str:
    """A class value as the model names it: 3.0 -> "3" (a whole-number column read as floats)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def choose_target(table: Table, path: str) -> dict | None:
    """Target column, task and columns to leave out for ``table`` (read from ``path``)."""
    names = [c.name for c in table.columns]
    key = f"{Path(path).name}_{len(names)}"  # each file keeps its own choices
    c1, c2 = st.columns([1, 1])
    guess, why = propose_target(table, declared_target(path))
    target = c1.selectbox(_("Column to predict"), names, index=names.index(guess), key=f"train_table_target_{key}")
    c1.caption(_("Proposed: {column}, {why}.").format(column=guess, why=why))
    proposed = propose_task(table, target)
    task = c2.segmented_control(_("Task"), list(TASKS), default=proposed, required=True,
                                key=f"train_table_task_{key}_{target}", format_func=lambda t: _(TASK_LABELS[t]))  # fmt: skip
    c2.caption(_("Proposed from the column: {task}.").format(task=_(TASK_LABELS[proposed])))
    others = [n for n in names if n != target]
    proposed_drop = [n for n in propose_drop(table) if n != target]
    drop = choose_many(_("Columns to leave out"), others, default=proposed_drop, key=f"train_table_drop_{key}_{target}",
                          help=_("An id column (a different value in every row) teaches nothing; it is proposed here."))  # fmt: skip
    unused = [c.name for c in table.columns if c.name != target and c.name not in drop and c.kind not in MODEL_KINDS]
    if unused:
        st.caption(_("Text and date columns are not used by the model: {columns}.").format(columns=", ".join(unused)))
    used = [c.name for c in table.columns if c.name != target and c.name not in drop and c.kind in MODEL_KINDS]
    try:
        check_target(table, target, task)
        if not used:
            raise InputError(_("No column is left to predict {target} from: keep at least one number or category "
                               "column.").format(target=target))  # fmt: skip
        note = target_note(table, target)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    if note:
        st.info(note, icon=":material/info:")
    values = table.frame[target].dropna()
    classes = sorted({_class_text(v) for v in values}) if task == "classification" else []
    return {"task": "table", "data": path, "classes": classes, "n": int(len(values)), "separate_test": False,
            "settings": {"target": target, "table_task": task, "drop": list(drop)}, "features": used,
            "table": table}  # fmt: skip
