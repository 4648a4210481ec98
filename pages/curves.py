"""Learning curves: every run in a table; overlay, smooth and compare the selected ones."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.base.storage import MAX_CSV_BYTES
from core.plots.curves import Curve, curves_figure
from core.plots.style import CHART_CONFIG
from core.runs.jobs import JobManager
from core.runs.progress import early_stop_epoch
from core.runs.store import ACTIVE_STATES, MAX_NOTE_CHARS, Run, RunStore
from core.teaching.compare import differences
from core.teaching.diagnosis import diagnose
from core.teaching.remedy import remedy_for
from core.training import SETTINGS
from pages._export import code_section
from pages._i18n import localized, localized_numbers
from pages._prefill import open_in_train
from pages._replay import replay_section
from pages._router import ensure_router
from pages._runs import STATUS_ICONS, task_of
from pages._session import actor, init_state, is_presenter
from pages._widgets import choose_many

ensure_router()

MAX_DOWNLOAD_BYTES = 300 * 1024 * 1024  # larger checkpoints: say where the file is instead
init_state({"curves_selected": None, "curves_smoothing": 0.0, "curves_view": "epochs"})


# The runs table's columns, in order (their headers are translated where shown).
COLUMNS = {"run": N_("run"), "status": N_("status"), "dataset": N_("dataset"), "preset": N_("preset"),
           "epochs": N_("epochs"), "best_val_acc": N_("best val acc"), "test_acc": N_("test acc"),
           "test_mae": N_("test MAE"),
           "seconds": N_("seconds"), "date": N_("date"), "error": N_("error")}  # fmt: skip
# "What differs" rows that are not settings (settings show their own label).
DIFF_ROWS = {"dataset": N_("dataset"), "preset": N_("preset"), "input": N_("input"), "augment": N_("augmentation"),
             "layers": N_("layers"), "parameters": N_("parameters")}  # fmt: skip
VIEWS = [N_("epochs"), N_("batches")]


def _prefills(run: Run) -> bool:
    """The run's task can pre-fill the Train form with a remedy (images: yes; a table: not yet)."""
    task = task_of(run)
    return task is not None and task.prefills_train


def runs_table(runs: list[Run]) -> pd.DataFrame:
    rows = []
    for r in runs:
        s = r.summary()
        rows.append({
            "run": r.id,
            "status": _(s["status"]),
            "dataset": (s["dataset"] or "mnist (Keras)").rsplit("/", 1)[-1],
            "preset": s["preset"],
            "epochs": s["epochs"],
            "best_val_acc": s["best_val_accuracy"],
            "test_acc": s["test_accuracy"],
            "test_mae": (r.metrics() or {}).get("mae"),  # a regression on a table: no accuracy
            "seconds": s["train_seconds"],
            "date": (s["created"] or "")[:16].replace("T", " "),
            "error": s["error"] or "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def run_tools(run: Run) -> None:
    """Downloads, note and delete for one run."""
    summary = run.summary()
    st.markdown(f"**{STATUS_ICONS.get(summary['status'], '')} {run.id}**")
    err = summary["error"]
    if err:
        st.error(err)
    c1, c2 = st.columns(2)
    hist = run.history_path
    ok = hist.is_file() and hist.stat().st_size <= MAX_CSV_BYTES
    c1.download_button(_("History CSV"), hist.read_bytes() if ok else b"", file_name=run.download_name(hist),
                       disabled=not ok, key=f"dl_h_{run.id}", icon=":material/download:")  # fmt: skip
    best = run.best_path
    if best.is_file() and best.stat().st_size <= MAX_DOWNLOAD_BYTES:
        c2.download_button(_("Best model (.keras)"), best.read_bytes(), file_name=run.download_name(best),
                           key=f"dl_m_{run.id}", icon=":material/download:")  # fmt: skip
    elif best.exists():
        c2.caption(_("Best model: {mb} MB, too large to download here: `{path}`").format(
            mb=number(best.stat().st_size / 1e6, 0), path=best.resolve()))  # fmt: skip
    else:
        c2.caption(_("No checkpoint (yet)."))
    code_section(run, summary["status"])
    # For the audience these are shown disabled; the core refuses them anyway (a crafted click).
    only = None if is_presenter() else _("Only the presenter can change runs.")
    note = st.text_area(_("Note"), run.note(), key=f"note_{run.id}", height=70, max_chars=MAX_NOTE_CHARS,
                        disabled=only is not None, help=only)  # fmt: skip
    if st.button(_("Save note"), key=f"save_{run.id}", disabled=only is not None, help=only):
        try:
            run.write_note(note, actor=actor())
            st.toast(_("Note saved."))
        except InputError as exc:
            st.error(str(exc))
    with st.popover(_("Delete this run"), icon=":material/delete:", disabled=only is not None, help=only):
        st.write(_("Delete **{run}** and its models for good?").format(run=run.id))
        if st.button(_("Yes, delete"), key=f"del_{run.id}", type="primary", disabled=only is not None):
            try:
                RunStore().delete(run.id, actor=actor())
            except (InputError, OSError) as exc:
                st.error(str(exc))
            else:
                st.rerun()  # the selection is repaired at the top of the next run


st.title(_("Learning curves"))
JobManager().pump()  # finished or vanished processes get their honest status first
runs = RunStore().list()
if not runs:
    st.info(_("No runs yet: train one on the Train page (or with `python -m core.train`)."))
    st.stop()

table = runs_table(runs)
st.dataframe(
    localized_numbers(table, percents=["best_val_acc", "test_acc"], decimals={"seconds": 1, "test_mae": 3}),
    hide_index=True,
    width="stretch",
    column_config={key: _(label) for key, label in COLUMNS.items()},
)

ids = [r.id for r in runs]
if st.session_state.curves_selected is None or not set(st.session_state.curves_selected) <= set(ids):
    st.session_state.curves_selected = ids[:1]
selected = choose_many(_("Runs to compare"), ids, key="curves_selected")
c1, c2 = st.columns([2, 1])
c1.slider(
    _("Smoothing"),
    0.0,
    0.95,
    step=0.05,
    key="curves_smoothing",
    help=_("Exponential moving average; the raw curve stays faint behind."),
)
c2.segmented_control(_("View"), VIEWS, key="curves_view", required=True, format_func=_)
chosen = [Run(RunStore().root / i) for i in selected]
live = any(r.status().get("status") in ACTIVE_STATES for r in chosen)


FINDING_ICONS = {"healthy": ":material/check_circle:", "early_stop": ":material/front_hand:",
                 "overfitting": ":material/trending_up:", "underfitting": ":material/trending_flat:",
                 "lr_too_high": ":material/warning:", "diverged": ":material/error:",
                 "lr_too_low": ":material/speed:", "too_early": ":material/hourglass_top:",
                 "unreadable": ":material/broken_image:"}  # fmt: skip


def in_plain_words(runs: list[Run]) -> None:
    """What each run's curves say: the finding, its evidence, and one thing to try."""
    st.markdown("**" + _("In plain words") + "**")
    for r in runs:
        with st.container(border=True):
            if len(runs) > 1:
                st.markdown(f"`{r.id}`")
            findings = diagnose(r.history(), r.status(), r.metrics())
            stopped_early = any(f.kind == "early_stop" for f in findings)
            for f in findings:
                st.markdown(f"{FINDING_ICONS.get(f.kind, '')} **{f.title}**: {f.evidence}")
                st.caption(f.advice)
                remedy = remedy_for(f.kind, r.config(), stopped_early) if is_presenter() and _prefills(r) else None
                if remedy is not None and st.button(remedy.label, key=f"remedy_{r.id}_{f.kind}",
                                                    icon=":material/tune:", help="; ".join(remedy.changes)):  # fmt: skip
                    open_in_train(remedy, r.id, f.title)


def second_metrics(curves: list[Curve]) -> list[str]:
    """The charts after the loss: accuracy, MAE (a regression on a table logs "mae", no accuracy), or both."""
    logged = {key for c in curves for row in c.rows for key, v in row.items() if v is not None}
    out = [m for m in ("accuracy", "mae") if m in logged or f"val_{m}" in logged]
    return out or ["accuracy"]


@st.fragment(run_every=2.0 if live else None)
@localized
def charts() -> None:
    fresh = [Run(r.path) for r in chosen if r.path.is_dir()]
    if not fresh:
        st.caption(_("Pick one or more runs."))
        return
    smoothing = st.session_state.curves_smoothing
    by_epoch = st.session_state.curves_view == "epochs"
    if by_epoch:
        curves = [Curve(r.id, r.history(), r.status().get("best_epoch"), early_stop_epoch(r.status())) for r in fresh]
    else:
        curves = [Curve(r.id, r.batches()) for r in fresh]
    if not any(c.rows for c in curves):
        st.info(_("No finished epoch yet: the curves appear after the first one.") if by_epoch
                else _("No batches logged yet."), icon=":material/hourglass_top:")  # fmt: skip
    else:
        x = "epoch" if by_epoch else "step"
        metrics = ["loss", *second_metrics(curves)]
        # One run: the charts side by side. Several: one above the other, full width, so
        # none is squeezed under its legend.
        slots = st.columns(len(metrics)) if len(curves) == 1 else [st.container() for _m in metrics]
        for slot, metric in zip(slots, metrics):
            slot.plotly_chart(curves_figure(curves, metric, smoothing, x=x, height=380 if len(curves) == 1 else 430),
                              config=CHART_CONFIG, key=f"{x}_{metric}")  # fmt: skip
        if by_epoch:
            st.caption(_("Dashed: training. Solid: validation. Open star: the best epoch (its checkpoint is kept). "
                         "x: where early stopping fired. Click a run in the legend to hide it."))  # fmt: skip
            in_plain_words(fresh)
    for r in fresh:
        s = r.status()
        if s.get("status") == "running":
            st.caption(
                _("{run}: running, epoch {epoch}/{epochs}, batch {batch}/{batches}").format(
                    run=r.id, epoch=s.get("epoch"), epochs=s.get("epochs"), batch=s.get("batch"),
                    batches=s.get("steps_per_epoch"))
            )  # fmt: skip


charts()
replay_section(chosen)

if len(chosen) > 1:
    st.subheader(_("What differs"))
    diff = pd.DataFrame(differences(chosen))
    if diff.empty:
        st.caption(_("Same settings (only the seed or the data order may differ)."))
    else:
        labels = {**DIFF_ROWS, **{s.name: s.label for s in SETTINGS}}
        st.dataframe(diff.rename(index=lambda k: _(labels.get(k, k))), width="stretch")

st.subheader(_("Runs"))
for r in chosen:
    with st.container(border=True):
        run_tools(r)
