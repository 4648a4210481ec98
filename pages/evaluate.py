"""Evaluate: test metrics, confusion matrix, per-class report, where the model is wrong; export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core import plots
from core.default_model import default_run
from core.errors import InputError
from core.evaluate import Evaluation, evaluate_run
from core.evaluation import gallery_indices, to_tflite
from core.runs import Run
from core.zip_import import import_zip
from pages._data import data_status, refresh_data_status
from pages._router import ensure_router
from pages._runs import served_model, usable_runs
from pages._session import actor, is_presenter

ensure_router()

GALLERY_SIZE = 48
GREEN, RED = (0, 150, 70), (210, 30, 40)
MODES = {"all": "All", "errors": "Mistakes", "confident-errors": "Most-confident mistakes first"}


@st.cache_data(show_spinner="Predicting the evaluation images...", max_entries=8)
def evaluate(run_path: str, mtime: float, data: str | None) -> Evaluation:
    """The run's predictions and metrics on its test split or ``data`` (the CLI's code path)."""
    return evaluate_run(Run(run_path), data, served_model(run_path).probabilities)


@st.cache_data(show_spinner="Converting to TensorFlow Lite...", max_entries=4)
def tflite_bytes(run_path: str, mtime: float) -> bytes:
    return to_tflite(served_model(run_path).model)


st.title("Evaluate")
runs = usable_runs()
shipped = default_run()
options = {r.id: r for r in runs}
if shipped:
    options["Shipped MNIST model"] = shipped
if not options:
    st.info("No trained model yet: train one on the Train page.")
    st.stop()
choice = st.selectbox("Model", list(options), key="eval_model")
run = options[choice]
ckpt = run.checkpoint()
if ckpt is None:
    st.error("This run's checkpoint is gone (best.keras was deleted); nothing to evaluate.")
    st.stop()

status = data_status()
task = run.config().get("task")
targets = (  # an MNIST model can also read a folder of digit images (a room's drawings)
    ["Its test split"]
    + (status["mnist"] if task == "mnist" else [])
    + status["folders"]
    + (["Upload a zip"] if task == "images" and is_presenter() else [])
)
target = st.selectbox(
    "Evaluate on",
    targets,
    key="eval_target",
    format_func=lambda p: p if p in ("Its test split", "Upload a zip") else Path(p).name,
)
data = None if target == "Its test split" else target
if target == "Upload a zip":
    up = st.file_uploader("Zip of class folders (the same classes as the model)", type=["zip"], key="eval_zip")
    if up is None or not st.button("Import and evaluate", key="eval_import"):
        st.stop()
    try:
        report = import_zip(up, Path(up.name).stem, actor=actor())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    refresh_data_status()
    st.success(
        f"Imported {report.name} into the data folder ({', '.join(f'{c}: {k}' for c, k in report.class_counts.items())})."
    )
    data = report.path

try:
    result = evaluate(str(run.path), ckpt.stat().st_mtime, data)
except InputError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
x, y, probs, names, metrics = result.x, result.y, result.probs, result.class_names, result.metrics

c1, c2, c3 = st.columns(3)
c1.metric("Accuracy", f"{metrics['accuracy']:.2%}")
c2.metric("Loss", f"{metrics['loss']:.4f}")
c3.metric("Images", f"{metrics['n']:,}")
# The matrix gets the page's width (side by side with the report, its cells were too narrow
# for their numbers on a projector); the per-class report follows.
st.plotly_chart(plots.confusion_figure(metrics["confusion_matrix"], names), config=plots.CHART_CONFIG, key="cm")
st.dataframe(
    pd.DataFrame(metrics["per_class"]).T,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")},
)

st.subheader("Gallery: predicted (true)")
a, b, c = st.columns(3)
# A drop-down, not buttons: three long labels scrolled sideways and hid "All" on a projector.
mode = a.selectbox("Show", list(MODES), index=1, format_func=MODES.get, key="eval_mode")
true_cls = b.selectbox("True class", ["any"] + names, key="eval_true")
pred_cls = c.selectbox("Predicted class", ["any"] + names, key="eval_pred")
cell = None
if true_cls != "any" and pred_cls != "any":
    cell = (names.index(true_cls), names.index(pred_cls))
idx = gallery_indices(y, probs, mode, cell)
if true_cls != "any" and cell is None:
    idx = idx[y[idx] == names.index(true_cls)]
if pred_cls != "any" and cell is None:
    idx = idx[probs[idx].argmax(axis=1) == names.index(pred_cls)]
st.caption(f"{len(idx):,} image(s) match; showing up to {GALLERY_SIZE}. Green frame: right. Red frame: wrong.")
pred = probs.argmax(axis=1)
cols = st.columns(8)
for n, i in enumerate(idx[:GALLERY_SIZE]):
    ok = pred[i] == y[i]
    cols[n % 8].image(
        plots.framed(x[i], GREEN if ok else RED),
        caption=f"{names[pred[i]]} ({names[y[i]]}) {probs[i, pred[i]]:.0%}",
        width="stretch",
    )

st.subheader("Export")
e1, e2 = st.columns(2)
e1.download_button("Model (.keras)", ckpt.read_bytes(), f"{run.id}.keras", icon=":material/download:", key="dl_keras")
try:
    blob = tflite_bytes(str(run.path), ckpt.stat().st_mtime)
except Exception as exc:  # the converter rejects some layers; say so instead of failing the page
    e2.warning(f"TensorFlow Lite conversion failed: {exc}")
else:
    e2.download_button(
        f"TensorFlow Lite for phones ({len(blob) / 1e6:.1f} MB)",
        blob,
        f"{run.id}.tflite",
        icon=":material/smartphone:",
        key="dl_tflite",
    )
