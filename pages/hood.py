"""Under the hood: the same MNIST CNN in low-level TensorFlow, Keras and Keras + XLA, side by side, measured live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, number, percent
from core.plots.race import TimedAccuracy, accuracy_time_figure
from core.plots.style import CHART_CONFIG
from core.runs.jobs import JobManager
from core.runs.store import ACTIVE_STATES, RunStore
from core.teaching.api_compare import ESTIMATOR_2019, WAYS, source, way_lines
from core.teaching.api_compare.results import WayResult, comparisons
from core.teaching.api_compare.runner import API_SETTINGS, comparison_configs
from pages._data import data_status
from pages._i18n import localized
from pages._router import ensure_router
from pages._runs import STATUS_ICONS
from pages._session import actor, init_state, is_presenter
from pages._sidebar import refresh_active_runs

ensure_router()

LAYOUTS = [N_("Side by side"), N_("One at a time")]
BUDGETS = [N_("One epoch"), N_("Quick demo")]
DEFAULT_DEMO_BATCHES = 60
MAX_BATCHES = {s.name: s for s in API_SETTINGS}["max_batches"].hi
init_state({"hood_layout": "One at a time", "hood_budget": "One epoch", "hood_group": None})
S = st.session_state

st.title(_("Under the hood: one network, three ways"))
st.markdown(
    _("The same MNIST network (Conv 32 5x5 → max-pool → Conv 64 5x5 → max-pool → Dense 1024 → Dropout 0.2 → "
      "Dense 10 softmax; Adam, learning rate 0.001) written three ways: by hand in low-level TensorFlow, in Keras, "
      "and in Keras with XLA compilation. The code below is the code that runs when you train them. A 2019 lecture "
      "compared the same network written by hand, with the Estimator API and in Keras; the Estimator API was removed "
      "in TensorFlow 2.16, so its numbers are shown as history only.")
)  # fmt: skip


# ----- 1. the code -------------------------------------------------------------------------

st.subheader(_("1. The code"))
c1, c2 = st.columns([1, 2], vertical_alignment="center")
layout = c1.segmented_control(_("Layout"), LAYOUTS, key="hood_layout", required=True, format_func=_,
                              label_visibility="collapsed", wrap=True)  # fmt: skip
c2.caption(_("On a projector, choose **One at a time**: each file gets the full width."))


def show_way(way: str) -> None:
    info = WAYS[way]
    text = source(info.files[-1])
    st.markdown(f"**{_(info.label)}**")
    st.caption(_("{n} lines of code").format(n=way_lines(way)))
    if len(info.files) > 1:  # XLA: the Keras module plus the one argument that differs
        st.caption(_("`{own}`, and everything in `{base}`").format(own=info.files[-1], base=info.files[0]))
    side = layout == "Side by side"
    # Side by side, long lines wrap (a third of a projector is narrow); one at a time, they keep their shape.
    height = "content" if text.count("\n") < 30 else 620 if side else 760
    st.code(text, language="python", line_numbers=True, wrap_lines=True, height=height)


if layout == "Side by side":
    for column, way in zip(st.columns(len(WAYS)), WAYS):
        with column:
            show_way(way)
else:
    for tab, way in zip(st.tabs([_(w.label) for w in WAYS.values()]), WAYS):
        with tab:
            show_way(way)
st.caption(_("Lines of code leave out blank lines, comments and docstrings."))


# ----- 2. train the three ------------------------------------------------------------------

st.subheader(_("2. Train the three"))
status = data_status()
mnist = status["mnist"][0] if status["mnist"] else None
if mnist is None:
    st.warning(
        _("No `mnist.npz` in the data folder (`{root}`). Put one there (Keras key names x_train, y_train, x_test, "
          "y_test), or start anyway: training then tries Keras's download, which needs internet.").format(root=status["root"]),
        icon=":material/download:",
    )  # fmt: skip
c1, c2 = st.columns([2, 1])
budget = c1.segmented_control(_("Budget for each"), BUDGETS, key="hood_budget", required=True, format_func=_, wrap=True)
batches = None
if budget == "Quick demo":
    batches = c2.number_input(_("Batches of 128 images"), 1, MAX_BATCHES, DEFAULT_DEMO_BATCHES, key="hood_batches")
st.caption(_("The three run one after another in the background (never at the same time, so none slows another "
             "down), from the same seed, data split and budget."))  # fmt: skip
if not is_presenter():
    st.info(_("Only the presenter can start the comparison; the results appear here for everyone."),
            icon=":material/lock:")  # fmt: skip
elif st.button(_("Train the three"), type="primary", icon=":material/play_arrow:"):
    try:
        runs = JobManager().submit_all(comparison_configs(mnist, max_batches=batches), actor=actor())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
    else:
        S.hood_group = runs[0].config()["api_compare"]["group"]
        refresh_active_runs()
        st.rerun()  # the sidebar's "Training now" lists the three at once


# ----- 3. results --------------------------------------------------------------------------

COLUMNS = {"way": N_("way"), "lines": N_("lines of code"), "seconds": N_("seconds per epoch"),
           "images": N_("images per second"), "accuracy": N_("test accuracy"), "lines_2019": N_("lines (2019)"),
           "seconds_2019": N_("seconds (2019)"), "accuracy_2019": N_("test accuracy (2019)")}  # fmt: skip


def results_table(results: list[WayResult]) -> pd.DataFrame:
    """Today's numbers beside the lecture's, as text ("—" where there is none: the Estimator row is history only)."""
    by_way = {r.way: r for r in results}

    def text(value: float | None, show) -> str:
        return "—" if value is None else show(value)

    def row(label: str, r: WayResult | None, lines: int | None, lecture) -> dict:
        lecture = lecture or (None, None, None)
        return {"way": label, "lines": text(lines, number), "seconds": text(r and r.seconds_per_epoch, lambda v: number(v, 1)),
                "images": text(r and r.images_per_second, lambda v: number(v, 0)),
                "accuracy": text(r and r.test_accuracy, lambda v: percent(v, 2)), "lines_2019": text(lecture[0], number),
                "seconds_2019": text(lecture[1], lambda v: number(v, 0)),
                "accuracy_2019": text(lecture[2], lambda v: percent(v, 0))}  # fmt: skip

    rows = []
    for key, info in WAYS.items():
        rows.append(row(_(info.label), by_way.get(key), way_lines(key), info.lecture))
        if key == "lowlevel":  # the lecture's order: by hand, Estimator, Keras
            rows.append(row(_("Estimator API (removed in TensorFlow 2.16)"), None, None, ESTIMATOR_2019))
    return pd.DataFrame(rows).rename(columns={k: _(v) for k, v in COLUMNS.items()})


def xla_verdict(results: list[WayResult]) -> str | None:
    """One sentence on what XLA did on this machine, from the measured seconds per epoch."""
    by_way = {r.way: r.seconds_per_epoch for r in results}
    plain, xla = by_way.get("keras"), by_way.get("keras_xla")
    if not plain or not xla:
        return None
    if xla < plain:
        return _("Here XLA made an epoch {ratio}× faster than plain Keras.").format(ratio=number(plain / xla, 2))
    return _("Here XLA made an epoch {ratio}× slower than plain Keras. On a CPU, its compile time is part of the fit, "
             "it compiles again for the last, smaller batch and for validation, and TensorFlow's CPU kernels for "
             "convolutions (oneDNN) are already fast: XLA pays off mostly on GPUs and TPUs.").format(
                 ratio=number(xla / plain, 2))  # fmt: skip


def show_progress(r: WayResult) -> None:
    label = _(WAYS[r.way].label)
    if r.status == "running" and r.progress is not None:
        st.progress(r.progress.fraction, f"{label}: {r.progress.text()}")
    elif r.status in ACTIVE_STATES:
        st.progress(0.0, _("{way}: waiting for its turn").format(way=label) if r.status == "queued"
                    else _("{way}: loading the data").format(way=label))  # fmt: skip
    elif r.status in ("failed", "interrupted", "damaged"):
        why = r.error or _("no reason recorded")
        st.error(f"{label}: {_(r.status)}: {why}", icon=STATUS_ICONS.get(r.status))
    else:
        done = _("{way}: {state}, test accuracy {acc} after {seconds} s of training").format(
            way=label, state=_(r.status), acc=percent(r.test_accuracy or 0, 2), seconds=number(r.train_seconds or 0, 1)
        )
        st.success(done, icon=STATUS_ICONS.get(r.status))  # fmt: skip


st.subheader(_("3. What they measured"))
groups = comparisons(RunStore())
if not groups:
    st.caption(_("No comparison yet: press **Train the three** (the presenter)."))
else:
    if S.hood_group not in groups:
        S.hood_group = next(iter(groups))
    st.selectbox(_("Comparison"), list(groups), key="hood_group")
    group = S.hood_group
    live = any(r.status in ACTIVE_STATES for r in groups[group])

    @st.fragment(run_every=2.0 if live else None)
    @localized
    def results_view() -> None:
        JobManager().pump()
        results = comparisons(RunStore()).get(group, [])
        for r in results:
            show_progress(r)
        table = results_table(results)
        st.dataframe(table, hide_index=True, width="stretch")  # numbers already written in the session's language
        st.caption(_("Seconds per epoch are the fit's wall time on this machine (a quick demo's batches are scaled up "
                     "to a whole epoch). The 2019 numbers are the lecture's, on its own machine: compare the ratios, "
                     "not the seconds."))  # fmt: skip
        verdict = xla_verdict(results)
        if verdict:
            st.info(verdict, icon=":material/bolt:")
        racers = [TimedAccuracy(_(WAYS[r.way].label), r.curve,
                                      (r.train_seconds, r.test_accuracy) if r.train_seconds and r.test_accuracy is not None else None)
                  for r in results]  # fmt: skip
        st.plotly_chart(accuracy_time_figure(racers), config=CHART_CONFIG, key="hood_chart")
        if live and not any(r.status in ACTIVE_STATES for r in results):
            st.rerun()  # all ended: rerun the page once to stop the timer

    results_view()
