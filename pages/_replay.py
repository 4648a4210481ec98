"""Replay the epochs: a slider (and a Play button) over one run's replay record.

Shows, at the chosen epoch, the first-layer kernels, the confusion matrix on the fixed
validation sample, the sample images with their predictions, and the curves up to that
epoch. The record is read by :func:`core.runs.replay_record.read_replay`; this module only draws it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.base.i18n import N_, _, number, percent
from core.plots.curves import Curve, curves_figure
from core.plots.pictures import framed, kernel_tiles
from core.plots.results import confusion_figure
from core.plots.style import CHART_CONFIG
from core.runs.replay_record import Frame, Replay, kernel_change, read_replay, replay_dir, sample_accuracy, shown_epoch
from core.runs.store import ACTIVE_STATES, Run
from pages._i18n import localized
from pages._runs import task_of
from pages._session import init_state

NO_RECORD = N_("This run has no replay record (it was trained before replays were recorded, or by the API comparison).")
NO_REPLAY = N_(
    "Replay shows what an image network learns epoch by epoch (its first-layer kernels, sample images and "
    "confusion matrix); a table's network has none of these: its curves above tell its story."
)
PLAY_SECONDS = 1.0  # one epoch per second while playing
LIVE_SECONDS = 2.0  # while the run trains, new epochs appear this often (as the curves do)
GALLERY_COLUMNS = 4  # sample images per row, under the kernels (beside the taller confusion matrix)
GREEN, RED = (0, 150, 70), (210, 30, 40)  # right / wrong prediction frames, as on Evaluate
# replay_last: the newest epoch when last drawn; replay_hold: show the slider's epoch once before stepping.
STATE = {"replay_run": None, "replay_epoch": None, "replay_play": False, "replay_for": None, "replay_last": None,
         "replay_hold": False}  # fmt: skip


def replay_section(runs: list[Run]) -> None:
    """The "Replay the epochs" section for one of ``runs`` (the runs chosen on the page)."""
    with st.container(key="replay"):  # class st-key-replay: one box to find and to screenshot
        _section(runs)


def _section(runs: list[Run]) -> None:
    state = st.session_state
    init_state(STATE)
    st.subheader(_("Replay the epochs"))
    if not runs:
        st.caption(_("Pick a run above to replay its epochs."))
        return
    ids = [r.id for r in runs]
    if state.replay_run not in ids:
        state.replay_run = ids[0]
    if len(ids) > 1:
        st.selectbox(_("Run to replay"), ids, key="replay_run")
    run = runs[ids.index(state.replay_run)]
    if state.replay_for != run.id:  # another run: start at its newest epoch, paused
        state.replay_for, state.replay_epoch, state.replay_last, state.replay_play = run.id, None, None, False
    live = run.status().get("status") in ACTIVE_STATES
    task = task_of(run)
    if task is not None and not task.replays:
        st.caption(_(NO_REPLAY))
        return
    if not live and not replay_dir(run.path).is_dir():  # nothing to play: no button, one line
        st.caption(_(NO_RECORD))
        return
    st.button(_("Pause") if state.replay_play else _("Play the epochs"), key="replay_play_button", on_click=_toggle_play,
              icon=":material/pause:" if state.replay_play else ":material/play_arrow:")  # fmt: skip
    every = PLAY_SECONDS if state.replay_play else LIVE_SECONDS if live else None

    @st.fragment(run_every=every)
    @localized
    def replay_view() -> None:
        fresh = Run(run.path)
        _render(fresh, fresh.status().get("status") in ACTIVE_STATES)

    replay_view()


def _toggle_play() -> None:
    """Play from the start when at the end; otherwise play or pause where the slider is."""
    state = st.session_state
    if (
        not state.get("replay_play")
        and state.get("replay_epoch") is not None
        and state.get("replay_epoch") == state.get("replay_last")
    ):
        state.replay_epoch = 0
    state.replay_play, state.replay_hold = not state.get("replay_play"), True


def _step(last: int, live: bool) -> None:
    """Moves the slider: one epoch forward while playing (stops at the end), follows a live run."""
    state = st.session_state
    epoch, hold = state.get("replay_epoch"), state.get("replay_hold")
    state.replay_hold = False
    if epoch is None or epoch > last:
        state.replay_epoch = last
    elif state.get("replay_play") and not hold:
        state.replay_epoch = min(epoch + 1, last)
        if state.replay_epoch == last and not live:
            state.replay_play, state.replay_last = False, last
            st.rerun(scope="app")  # the whole page again: the button says Play, the timer stops
    elif not state.get("replay_play") and epoch == state.get("replay_last"):
        state.replay_epoch = last  # it was showing the newest epoch: keep showing the newest
    state.replay_last = last


def _render(run: Run, live: bool) -> None:
    replay = read_replay(run.path)
    if replay is None:
        st.caption(_(NO_RECORD))
        return
    if replay.problems:
        st.caption(_("Part of the replay record could not be read: {problems}.").format(
            problems="; ".join(replay.problems[:3])))  # fmt: skip
    if not replay.frames or not replay.class_names:
        st.info(_("No epoch recorded yet: the replay starts when training does."), icon=":material/hourglass_top:")
        return
    last = replay.epochs[-1]
    _step(last, live)
    state = st.session_state
    if last > 0:
        st.slider(_("Epoch"), 0, last, key="replay_epoch",
                  help=_("Epoch 0 is the model before training: random weights."))  # fmt: skip
    epoch = min(state.get("replay_epoch", last), last)
    shown = shown_epoch(replay, epoch)
    frame = replay.frames[shown]
    right, total, accuracy = sample_accuracy(frame)
    head = (_("Epoch {epoch} of {last} (so far)") if live else _("Epoch {epoch} of {last}")).format(
        epoch=shown, last=last
    )
    if shown == 0:
        head += " · " + _("before training: random weights")
    if accuracy is not None:
        head += " · " + _("{right} of {total} sample images right ({share})").format(
            right=number(right), total=number(total), share=percent(accuracy, 1))  # fmt: skip
    st.markdown(f"**{head}**")
    if shown != epoch:
        st.caption(_("Epoch {epoch} could not be read; showing epoch {shown}.").format(epoch=epoch, shown=shown))
    left, middle = st.columns(2, gap="medium")
    with left:
        _kernels(replay, frame)
        _gallery(replay, frame)
    with middle:
        st.plotly_chart(confusion_figure(frame.confusion.tolist(), replay.class_names),
                        config=CHART_CONFIG, key="replay_confusion")  # fmt: skip
        st.caption(_("Confusion matrix on a fixed sample of {n} validation images (rows: true class, columns: "
                     "predicted).").format(n=number(replay.sample_size or total)))  # fmt: skip
    _curves(run, shown, last)


def _kernels(replay: Replay, frame: Frame) -> None:
    if frame.kernels is None:
        st.info(_("This model has no convolution: there are no kernels to show."), icon=":material/grid_off:")
        return
    kh, kw, _cin, n = frame.kernels.shape
    st.image(kernel_tiles(frame.kernels), width="stretch")
    first = replay.frames.get(replay.epochs[0])
    moved = kernel_change(first, frame)
    change = ""
    if moved is not None:
        change = " " + _("Changed by {share} since epoch {epoch} (size of the change / size of the weights).").format(
            share=percent(moved, 0), epoch=first.epoch)  # fmt: skip
    st.caption(_("{n} of the {total} kernels ({kh}x{kw}) of the first convolution layer `{layer}`, each on its own "
                 "scale: red positive, blue negative, white zero.").format(
        n=n, total=max(n, replay.filters_total), kh=kh, kw=kw, layer=replay.layer) + change)  # fmt: skip


def _gallery(replay: Replay, frame: Frame) -> None:
    if replay.images is None or replay.labels is None:
        return
    names, probs = replay.class_names, frame.probs
    count = min(len(replay.images), len(probs), len(replay.labels))
    if not count:
        return
    for i in range(count):
        if i % GALLERY_COLUMNS == 0:
            cols = st.columns(GALLERY_COLUMNS)
        pred, true = int(np.argmax(probs[i])), int(replay.labels[i])
        image = replay.images[i].astype(np.float32) / 255.0  # (h, w, c) in [0, 1]
        cols[i % GALLERY_COLUMNS].image(framed(image, GREEN if pred == true else RED), width="stretch",
                      caption=_("{pred} · {confidence} (true: {true})").format(
                          pred=names[pred], confidence=percent(float(probs[i, pred]), 0), true=names[true]))  # fmt: skip
    st.caption(_("Sample validation images: the model's guess and its confidence at this epoch. Green frame: right. "
                 "Red frame: wrong."))  # fmt: skip


def _curves(run: Run, epoch: int, last: int) -> None:
    """Loss and accuracy up to ``epoch``, on axes fixed for the whole replay (nothing jumps while playing)."""
    rows = [r for r in run.history() if isinstance(r.get("epoch"), float) and r["epoch"] <= last]
    status = run.status()
    best = status.get("best_epoch")
    shown = [r for r in rows if r["epoch"] <= epoch]
    cols = st.columns(2)
    for slot, metric in zip(cols, ("loss", "accuracy")):
        curve = Curve(run.id, shown, best if isinstance(best, int) and best <= epoch else None)
        fig = curves_figure([curve], metric, height=340)
        values = [r.get(k) for r in rows for k in (metric, f"val_{metric}") if isinstance(r.get(k), float)]
        fig.update_xaxes(range=[0.5, max(last, 1) + 0.5], dtick=1)
        if values:
            lo, hi = min(values), max(values)
            pad = (hi - lo) * 0.08 or 0.05
            fig.update_yaxes(range=[lo - pad, hi + pad])
        if not shown:
            fig.add_annotation(text=_("Before training: no epoch yet"), showarrow=False, x=0.5, y=0.5, xref="paper",
                               yref="paper", font={"size": 16, "color": "#555"})  # fmt: skip
        slot.plotly_chart(fig, config=CHART_CONFIG, key=f"replay_{metric}")
