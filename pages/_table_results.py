"""Table runs on Evaluate and Predict: metrics next to the baseline, charts, predicted CSVs, a one-row form.

The numbers come from ``core.tasks.table.evaluate`` and ``core.tasks.table.predict``; this module only draws them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number, percent
from core.plots.results import confusion_figure, predicted_actual_figure, probability_bars, residuals_figure
from core.plots.style import CHART_CONFIG
from core.runs.store import Run
from pages._i18n import localized_numbers
from pages._session import is_presenter
from pages._tables import table_files
from pages._widgets import file_upload

TEST_ROWS, UPLOAD = "__test__", "__upload__"  # "Evaluate on" choices that are not files
REPORT_COLUMNS = {"precision": N_("precision"), "recall": N_("recall"), "f1": N_("F1"), "support": N_("support")}
REGRESSION_METRICS = {"mae": N_("MAE"), "rmse": N_("RMSE"), "r2": N_("R²")}
METRIC_HELP = {
    "mae": N_("Mean absolute error: the typical miss, in the target's unit. Lower is better."),
    "rmse": N_("Root mean squared error: like MAE, but large misses weigh more. Lower is better."),
    "r2": N_("Share of the target's variance explained: 1 is perfect, 0 is no better than the mean, below 0 worse."),
}
NUMBER_FORMAT = "%.4g"


def _table_info(run: Run) -> dict:
    """The run's ``config.json`` "table" entry: task, target, columns, class names."""
    info = run.config().get("table")
    return info if isinstance(info, dict) else {}


# ----- metrics ------------------------------------------------------------------------------


def show_table_metrics(metrics: dict, key: str) -> None:
    """A table run's metrics beside the baseline; charts for a regression, the matrix for classes.

    Args:
        metrics: as in a table run's ``metrics.json`` (``core.tasks.table.evaluate.evaluate_table``).
        key: part of the charts' keys (one page may show two evaluations).
    """
    base = metrics.get("baseline") or {}
    n = metrics.get("n")
    if metrics.get("task") == "regression":
        cols = st.columns(len(REGRESSION_METRICS) + 1)
        for col, (name, label) in zip(cols, REGRESSION_METRICS.items()):
            value, ref = metrics.get(name), base.get(name)
            col.metric(_(label), "—" if value is None else number(value, 3),
                       None if value is None or ref is None else _("baseline {value}").format(value=number(ref, 3)),
                       delta_color="off", delta_arrow="off", help=_(METRIC_HELP[name]))  # fmt: skip
        cols[-1].metric(_("Test rows"), "—" if n is None else number(n))
        st.caption(_("Baseline: always predicting the training rows' mean of {target}. A model worth keeping has a "
                     "lower MAE and RMSE and a higher R² than it.").format(target=metrics.get("target", "")))  # fmt: skip
        pairs = metrics.get("predictions") or []
        if pairs:
            c1, c2 = st.columns(2)
            c1.plotly_chart(predicted_actual_figure(pairs, metrics.get("target", "")), config=CHART_CONFIG,
                            key=f"{key}_scatter")  # fmt: skip
            c2.plotly_chart(residuals_figure(pairs), config=CHART_CONFIG, key=f"{key}_residuals")
            st.caption(_("Left: each test row; on the dashed line the prediction is exact. Right: how far off the "
                         "predictions are; a pile centred on 0 has no bias."))  # fmt: skip
        return
    acc, ref = metrics.get("accuracy"), base.get("accuracy")
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Accuracy"), "—" if acc is None else percent(acc, 2))
    c2.metric(_("Baseline (majority class)"), "—" if ref is None else percent(ref, 2),
              help=_("Always answering the most common class of the training rows."))  # fmt: skip
    c3.metric(_("Test rows"), "—" if n is None else number(n))
    names = [str(c) for c in metrics.get("class_names") or []]
    if metrics.get("confusion_matrix") and names:
        st.plotly_chart(confusion_figure(metrics["confusion_matrix"], names), config=CHART_CONFIG,
                        key=f"{key}_cm")  # fmt: skip
    if metrics.get("per_class"):
        st.dataframe(
            localized_numbers(pd.DataFrame(metrics["per_class"]).T,
                              decimals={"precision": 3, "recall": 3, "f1": 3, "support": 0}),
            width="stretch", column_config={c: _(label) for c, label in REPORT_COLUMNS.items()},
        )  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=8)
def _evaluate(run_path: str, mtime: float, data: str | None, blob: bytes | None, name: str | None) -> dict:
    """``evaluate_table`` on the test rows (``data`` None), a CSV file, or an upload's bytes."""
    from core.tasks.table.evaluate import evaluate_table

    return evaluate_table(Run(run_path), blob if blob is not None else data, name=name)


def table_evaluation(run: Run) -> None:
    """The Evaluate page for a table run: its test rows, or another CSV with the target column."""
    ckpt = run.checkpoint()
    info = _table_info(run)
    st.caption(_("Predicting **{target}** ({task}) from a table.").format(target=info.get("target", "?"),
                                                                        task=_(info.get("task", "?"))))  # fmt: skip
    files = [p for p in table_files() if p != run.config().get("data")]
    options = [TEST_ROWS, *files] + ([UPLOAD] if is_presenter() else [])
    labels = {TEST_ROWS: _("Its test rows"), UPLOAD: _("Upload a CSV...")}
    target = st.selectbox(_("Evaluate on"), options, key="eval_table_target",
                          format_func=lambda p: labels.get(p, Path(p).name))  # fmt: skip
    blob = name = data = None
    if target == UPLOAD:
        up = file_upload(_("CSV with the same columns, the target column included"), type=["csv", "tsv", "txt"],
                              key="eval_table_upload")  # fmt: skip
        if up is None:
            st.stop()
        blob, name = up.getvalue(), up.name
    elif target != TEST_ROWS:
        data = target
    metrics = run.metrics() if target == TEST_ROWS else None
    if not metrics or "task" not in metrics:
        try:
            with st.spinner(_("Predicting the evaluation rows...")):
                metrics = _evaluate(str(run.path), ckpt.stat().st_mtime, data, blob, name)
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
    show_table_metrics(metrics, "eval")
    unusable = metrics.get("unusable") or []
    if unusable:
        st.warning(ngettext("{n} row could not be scored (row numbers as in the file):",
                            "{n} rows could not be scored (row numbers as in the file):", len(unusable)).format(
            n=number(len(unusable))), icon=":material/warning:")  # fmt: skip
        st.dataframe(pd.DataFrame(unusable).rename(columns={"row": _("row"), "reason": _("reason")}), hide_index=True,
                     width="stretch")  # fmt: skip
    from pages._export import export_section

    export_section(run, images=False)
    st.caption(_("The saved model holds its preprocessing: it predicts from raw rows (a dict of columns)."))


# ----- predict -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _predict_bytes(run_path: str, mtime: float, blob: bytes, name: str):
    from core.tasks.table.predict import predict_table

    return predict_table(Run(run_path), blob, name=name)


def _show_predictions(result, key: str) -> None:
    """The predicted rows, the unusable ones by row number, and the CSV download."""
    usable = len(result.frame) - len(result.problems)
    st.markdown(
        ngettext("**{n} row predicted**", "**{n} rows predicted**", usable).format(n=number(usable))
        + (", " + ngettext("{m} row could not be used", "{m} rows could not be used", len(result.problems)).format(
            m=number(len(result.problems))) if result.problems else "")
    )  # fmt: skip
    frame = result.frame
    probabilities = [c for c in frame.columns if c.startswith("p(") and c.endswith(")")]
    first = ["prediction", *probabilities, "problem"]  # what was asked first: a wide table cuts its right side
    frame = frame[[c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]]
    st.dataframe(
        localized_numbers(frame, percents=probabilities), hide_index=True, width="stretch", key=f"{key}_frame"
    )  # 0.0000006 reads as 0.0% (the CSV keeps every digit)
    if result.problems:
        st.warning(_("Rows the model could not use (row numbers as in the file, the header is row 1):"),
                   icon=":material/warning:")  # fmt: skip
        st.dataframe(pd.DataFrame(result.problems, columns=[_("row"), _("reason")]), hide_index=True, width="stretch",
                     key=f"{key}_problems")  # fmt: skip
    st.download_button(_("Download the rows with predictions (CSV)"), result.to_csv_bytes(), "predictions.csv",
                       "text/csv", icon=":material/download:", key=f"{key}_download")  # fmt: skip


def _vocabulary(run: Run, column: str) -> list[str]:
    """The training values of a category column, from the features stored in ``config.json``."""
    cfg = run.config()
    for holder in (cfg, cfg.get("table") or {}):
        features = holder.get("features") if isinstance(holder, dict) else None
        if isinstance(features, dict) and isinstance(features.get("vocabularies"), dict):
            return [str(v) for v in features["vocabularies"].get(column, [])]
    return []


def one_row_form(run: Run) -> None:
    """One widget per column the model needs; the prediction of that one row."""
    from core.tasks.table.predict import predict_table, table_columns_for

    try:
        columns = table_columns_for(run)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    row: dict[str, object] = {}
    with st.form("predict_table_form", border=True):
        cols = st.columns(min(3, max(1, len(columns))))
        for i, (name, kind) in enumerate(columns.items()):
            box = cols[i % len(cols)]
            if kind == "number":
                row[name] = box.number_input(name, value=None, format=NUMBER_FORMAT, key=f"ptf_{run.id}_{name}",
                                             placeholder=_("empty: the training mean"))  # fmt: skip
            else:
                values = _vocabulary(run, name)
                row[name] = box.selectbox(name, values, key=f"ptf_{run.id}_{name}") if values else box.text_input(
                    name, key=f"ptf_{run.id}_{name}")  # fmt: skip
        submitted = st.form_submit_button(_("Predict this row"), icon=":material/play_arrow:")
    if not submitted:
        return
    try:
        result = predict_table(run, pd.DataFrame([row]))
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if result.problems:
        st.error(result.problems[0][1], icon=":material/error:")
        return
    value = result.frame["prediction"].iloc[0]
    shown = number(float(value), 4) if result.task == "regression" else str(value)
    st.markdown(_("### {target}: {value}").format(target=result.target, value=shown))
    if result.class_names:
        probs = {c: float(result.frame[f"p({c})"].iloc[0]) for c in result.class_names if f"p({c})" in result.frame}
        if probs:
            st.plotly_chart(probability_bars(probs), config=CHART_CONFIG, key="ptf_bars")


def table_prediction(run: Run) -> None:
    """The Predict page for a table run: a CSV of new rows, or one row typed into a form."""
    info = _table_info(run)
    st.caption(_("This model predicts **{target}** ({task}) from the other columns of a row.").format(
        target=info.get("target", "?"), task=_(info.get("task", "?"))))  # fmt: skip
    tab_file, tab_form = st.tabs([_("A CSV of rows"), _("One row")])
    with tab_file:
        up = file_upload(_("CSV of new rows (with or without the target column)"), type=["csv", "tsv", "txt"],
                              key="predict_table_upload")  # fmt: skip
        if up is not None:
            ckpt = run.checkpoint()
            try:
                with st.spinner(_("Predicting...")):
                    result = _predict_bytes(str(run.path), ckpt.stat().st_mtime, up.getvalue(), up.name)
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                _show_predictions(result, "predict_table")
    with tab_form:
        one_row_form(run)
