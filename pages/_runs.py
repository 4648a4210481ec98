"""Runs on the pages: status icons, the live progress view of one run, and models served to every session."""

from __future__ import annotations

import streamlit as st

from core import tasks
from core.base.errors import InputError
from core.base.i18n import _, number, percent
from core.base.storage import read_text_tail
from core.plots.curves import Curve, curves_figure
from core.plots.style import CHART_CONFIG
from core.runs.progress import early_stop_epoch, phase_text, progress, stop_words
from core.runs.schema import class_names
from core.runs.store import Run, RunStore
from core.tasks.base import Task

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
    "damaged": ":material/broken_image:",
}


def render_run_progress(run, queue_pos: int | None = None) -> None:
    """Status, progress bar with ETA, live curves and log of one run (for a fragment)."""
    st_ = run.status()
    state = st_.get("status", "unknown")
    icon = STATUS_ICONS.get(state, ":material/help:")
    if state == "queued" and not st_.get("launched"):  # waiting its turn
        where = _("number {n} in the queue").format(n=queue_pos) if queue_pos else _("starting")
        st.info(_("**{run}** is waiting: {where}.").format(run=run.id, where=where), icon=icon)
    elif state in ("queued", "running") and progress(st_) is None:  # before the first batch: each phase in words
        doing = phase_text(st_) or _("loading its data and building the model...")
        st.progress(0.0, f"**{run.id}**: {doing}")
    elif state == "running":
        p = progress(st_)
        st.progress(p.fraction, p.text())
    elif state in ("failed", "interrupted", "damaged"):
        st.error(_("**{run}** {state}: {error}").format(run=run.id, state=_(state), error=st_.get("error") or _("no reason recorded")),
                 icon=icon)  # fmt: skip
    else:
        metrics = run.metrics() or {}
        acc = metrics.get("accuracy")
        best = st_.get("best_epoch")
        facts = []  # each a whole translated clause: word order stays each language's own
        if acc is not None:
            facts.append(_("test accuracy **{acc}**").format(acc=percent(acc, 2)))
        if metrics.get("mae") is not None:  # a regression on a table
            facts.append(_("test MAE **{mae}**").format(mae=number(metrics["mae"], 3)))
        if best:
            facts.append(_("best epoch {n}").format(n=best))
        if early_stop_epoch(st_):
            facts.append(_("early stopping at epoch {n}").format(n=early_stop_epoch(st_)))
        text = _("**{run}** {state}").format(run=run.id, state=_(state)) + (": " + ", ".join(facts) if facts else "")
        st.success(text + (f" ({stop_words(st_)})" if stop_words(st_) else ""), icon=icon)
        if state in ("completed", "stopped"):
            c1, c2 = st.columns(2)
            c1.page_link("pages/curves.py", label=_("Compare on Learning curves"), icon=":material/show_chart:")
            c2.page_link("pages/predict.py", label=_("Try it on Predict"), icon=":material/draw:")
    history = run.history()
    batches = run.batches()
    if history or batches:
        curve = Curve(run.id, history, st_.get("best_epoch"), early_stop_epoch(st_))
        c1, c2 = st.columns(2)
        if history:
            c1.plotly_chart(curves_figure([curve], "loss"), config=CHART_CONFIG, key=f"loss_{run.id}")
            second = (
                "mae" if any(r.get("val_mae") is not None or r.get("mae") is not None for r in history) else "accuracy"
            )
            c2.plotly_chart(curves_figure([curve], second), config=CHART_CONFIG, key=f"acc_{run.id}")
        if batches:
            fig = curves_figure([Curve(run.id, batches)], "loss", smoothing=0.6, x="step")
            fig.update_layout(title=_("Running loss, every few batches"), height=260)
            st.plotly_chart(fig, config=CHART_CONFIG, key=f"batch_{run.id}")
    log = run.log_path
    if log.exists():
        with st.expander(_("Log")):
            st.code(read_text_tail(log) or _("(empty)"), language="text")


def machine_speed() -> tuple[float, int]:
    """This machine's measured over estimated epoch time, and how many finished runs say so (see
    :func:`core.training.estimate.machine_factor`); read again at most every 30 s."""
    return _machine_speed(str(RunStore().root.resolve()))


@st.cache_data(ttl=30, show_spinner=False)
def _machine_speed(root: str) -> tuple[float, int]:
    from core.training.estimate import machine_factor

    return machine_factor(root)


def task_of(run: Run) -> Task | None:
    """The run's task (:mod:`core.tasks`), or None for a task this version does not know."""
    try:
        return tasks.of_run(run)
    except InputError:
        return None


def predicts_rows(run: object) -> bool:
    """True for a run whose task predicts table rows (:attr:`core.tasks.base.Task.inputs`); False for anything else."""
    task = task_of(run) if isinstance(run, Run) else None
    return task is not None and task.inputs == "rows"


def model_labels(runs: list[Run], shipped: Run | None) -> dict[str, str]:
    """How a model list names each run: its id, data, preset and test score (``"__default__"``: the shipped one)."""
    labels = {}
    for r in runs:
        s = r.summary()
        data = (s["dataset"] or "MNIST").rstrip("/").rsplit("/", 1)[-1]
        acc = (_("test acc {acc}").format(acc=percent(s["test_accuracy"])) if s["test_accuracy"] is not None
               else _("not tested"))  # fmt: skip
        mae = (r.metrics() or {}).get("mae")
        if mae is not None:  # a regression on a table
            acc = _("test MAE {mae}").format(mae=number(mae, 3))
        labels[r.id] = f"{r.id}: {data}, {s['preset']}, {acc}"
    if shipped:
        labels["__default__"] = _("Shipped MNIST model (mnist-fast, test acc {acc})").format(
            acc=percent((shipped.metrics() or {}).get("accuracy") or 0))  # fmt: skip
    return labels


def usable_runs() -> list:
    """Runs with a checkpoint that finished, stopped or were interrupted, newest first."""
    out = []
    for run in RunStore().list():
        if run.status().get("status") in ("completed", "stopped", "interrupted") and run.checkpoint() is not None:
            table = predicts_rows(run)  # a regression has no class names
            if (table or class_names(run.config().get("class_names"))) and not run.damage():
                out.append(run)
    return out


def served_model(run_path: str):
    """The run's model, loaded once per server and shared by every session.

    Keyed by the checkpoint's modification time, so a retrained or replaced checkpoint
    is picked up. Raises InputError when the checkpoint is gone or cannot be loaded.
    """
    with st.spinner(_("Loading the model...")):  # shown only if it takes more than a moment
        return load_served(run_path)


def load_served(run_path: str):
    """:func:`served_model` without the spinner, for a thread that draws no page (the server's warm-up).

    Raises:
        InputError: the checkpoint is gone or cannot be loaded.
    """
    run = Run(run_path)
    ckpt = run.checkpoint()
    if ckpt is None:
        raise InputError(_("Run {run} has no checkpoint any more (best.keras was deleted?).").format(run=run.id))
    return _served(run_path, ckpt.stat().st_mtime)


@st.cache_resource(max_entries=8, show_spinner=False)
def _served(run_path: str, mtime: float):
    from core.tasks import serve

    return serve(Run(run_path))


def served_by_id(model: str):
    """The served model of a run id, or of the shipped MNIST model (``"__default__"``).

    Raises:
        InputError: no such run, or its checkpoint cannot be used.
    """
    from core.serving.default_model import default_run

    run = default_run() if model == "__default__" else RunStore().get(model)
    if run is None:
        raise InputError(_("The shipped MNIST model is missing from this installation."))
    return served_model(str(run.path))
