"""Evaluate: test metrics, confusion matrix, per-class report, where the model is wrong; export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.access.roles import Actor
from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number, percent
from core.data.zip_import import import_zip
from core.metrics.classes import gallery_indices
from core.plots.pictures import framed
from core.plots.results import confusion_figure
from core.plots.style import CHART_CONFIG
from core.runs.store import Run
from core.serving.default_model import default_run
from core.tasks import Evaluation, evaluate_run, proposed_run
from pages._data import data_status, refresh_data_status
from pages._export import export_section
from pages._i18n import localized_numbers
from pages._router import ensure_router
from pages._runs import model_labels, predicts_rows, served_model, task_of, usable_runs
from pages._session import actor, is_presenter
from pages._table_results import table_evaluation
from pages._widgets import file_upload

ensure_router()

GALLERY_SIZE = 48
GREEN, RED = (0, 150, 70), (210, 30, 40)
REPORT_COLUMNS = {"precision": N_("precision"), "recall": N_("recall"), "f1": N_("F1"), "support": N_("support")}
MODES = {"all": N_("All"), "errors": N_("Mistakes"), "confident-errors": N_("Most-confident mistakes first")}
TEST_SPLIT, UPLOAD = N_("Its test split"), N_("Upload a zip")  # the "Evaluate on" choices that are not folders


@st.cache_data(show_spinner=False, max_entries=8)
def evaluate(run_path: str, mtime: float, data: str | None, _actor: Actor) -> Evaluation:
    """The run's predictions and metrics on its test split or ``data`` (the CLI's code path).

    ``_actor`` (not part of the cache key) is charged only when it is computed, not when cached."""
    return evaluate_run(Run(run_path), data, served_model(run_path).probabilities, actor=_actor)


st.title(_("Evaluate"))
runs = usable_runs()
shipped = default_run()
options = {r.id: r for r in runs}
if shipped:
    options["__default__"] = shipped
if not options:
    st.info(_("No trained model yet: train one on the Train page."))
    st.stop()
labels = model_labels(runs, shipped)  # with its data and test accuracy, as on Predict
proposed = proposed_run(runs, shipped)
first = "__default__" if proposed is shipped else proposed.id
choice = st.selectbox(_("Model"), list(options), index=list(options).index(first), key="eval_model",
                      format_func=labels.get)  # fmt: skip
run = options[choice]
ckpt = run.checkpoint()
if ckpt is None:
    st.error(_("This run's checkpoint is gone (best.keras was deleted); nothing to evaluate."))
    st.stop()
if predicts_rows(run):  # metrics beside the baseline, charts of the rows; no image gallery, no TFLite
    table_evaluation(run)
    st.stop()

task = task_of(run)
if task is None:
    st.error(_("Run {run} was trained for a task this version does not know.").format(run=run.id),
             icon=":material/error:")  # fmt: skip
    st.stop()
status = data_status()
targets = (  # a digits model can also read a folder of digit images (a room's drawings)
    [TEST_SPLIT]
    + (status.get(task.sample_data, []) if task.sample_data != "folders" else [])
    + status["folders"]
    + ([UPLOAD] if not task.digits and is_presenter() else [])
)
target = st.selectbox(
    _("Evaluate on"),
    targets,
    key="eval_target",
    format_func=lambda p: _(p) if p in (TEST_SPLIT, UPLOAD) else Path(p).name,
)
data = None if target == TEST_SPLIT else target
if target == UPLOAD:
    up = file_upload(_("Zip of class folders (the same classes as the model)"), type=["zip"], key="eval_zip")
    if up is None or not st.button(_("Import and evaluate"), key="eval_import"):
        st.stop()
    try:
        report = import_zip(up, Path(up.name).stem, actor=actor())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    refresh_data_status()
    st.success(
        _("Imported {name} into the data folder ({counts}).").format(
            name=report.name, counts=", ".join(f"{c}: {k}" for c, k in report.class_counts.items()))
    )  # fmt: skip
    data = report.path

try:
    with st.spinner(_("Predicting the evaluation images...")):
        result = evaluate(str(run.path), ckpt.stat().st_mtime, data, actor())
except InputError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
x, y, probs, names, metrics = result.x, result.y, result.probs, result.class_names, result.metrics

c1, c2, c3 = st.columns(3)
c1.metric(_("Accuracy"), percent(metrics["accuracy"], 2))
c2.metric(_("Loss"), number(metrics["loss"], 4))
c3.metric(_("Images"), number(metrics["n"]))
# The matrix gets the page's width (side by side with the report, its cells were too narrow
# for their numbers on a projector); the per-class report follows.
st.plotly_chart(confusion_figure(metrics["confusion_matrix"], names), config=CHART_CONFIG, key="cm")
st.dataframe(
    localized_numbers(
        pd.DataFrame(metrics["per_class"]).T, decimals={"precision": 3, "recall": 3, "f1": 3, "support": 0}
    ),
    width="stretch",
    column_config={c: _(label) for c, label in REPORT_COLUMNS.items()},
)

st.subheader(_("Gallery: predicted (true)"))
a, b, c = st.columns(3)
# A drop-down, not buttons: three long labels scrolled sideways and hid "All" on a projector.
mode = a.selectbox(_("Show"), list(MODES), index=1, format_func=lambda m: _(MODES[m]), key="eval_mode")
any_label = {"any": _("any")}
true_cls = b.selectbox(_("True class"), ["any"] + names, key="eval_true", format_func=lambda v: any_label.get(v, v))
pred_cls = c.selectbox(
    _("Predicted class"), ["any"] + names, key="eval_pred", format_func=lambda v: any_label.get(v, v)
)
idx = gallery_indices(y, probs, mode, true=None if true_cls == "any" else names.index(true_cls),
                      predicted=None if pred_cls == "any" else names.index(pred_cls))  # fmt: skip
st.caption(
    ngettext("{n} image matches; showing up to {most}. Green frame: right. Red frame: wrong.",
             "{n} images match; showing up to {most}. Green frame: right. Red frame: wrong.", len(idx)).format(
        n=number(len(idx)), most=GALLERY_SIZE)
)  # fmt: skip
pred = probs.argmax(axis=1)
cols = st.columns(8)
for n, i in enumerate(idx[:GALLERY_SIZE]):
    ok = pred[i] == y[i]
    cols[n % 8].image(
        framed(x[i], GREEN if ok else RED),
        caption=f"{names[pred[i]]} ({names[y[i]]}) {percent(probs[i, pred[i]], 0)}",
        width="stretch",
    )

export_section(run)
