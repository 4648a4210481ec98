"""Wall: the projector's view of the room. A QR code to join, the latest submissions with what
the model read (green right, red wrong, gray not yet said; "?" where the model said "I don't
know"), the running score and the room's confusion matrix; for the presenter, opening a room,
choosing its model, clearing the wall and moderating what is shown (hide, ban, approve).

The challenge (``core.challenge``): the presenter opens one; while it runs, the Wall shows its live
leaderboard (a chart of the leaders, the table of every network, the countdown), and at the end the
winner and its architecture, with the button that makes it the room's model."""

from __future__ import annotations

import io
import time
from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number, percent
from core.challenge.board import Row
from core.challenge.contest import Challenge
from core.challenge.rules import BUDGETS, DATA_KINDS, METRICS, ChallengeSettings
from core.data.folders import data_dir, list_datasets
from core.data.images import load_thumbnail
from core.data.mnist import find_mnist
from core.plots.architecture import architecture_figure
from core.plots.pictures import framed
from core.plots.results import confusion_figure
from core.plots.style import CHART_CONFIG
from core.room.active import active_room, open_room
from core.room.folder import Room
from core.room.network import join_url
from core.room.submissions import Submission
from core.runs.engines import engine_name, ray_address
from core.serving.default_model import default_run
from core.talk.live import live_talk
from pages._challenge import (
    BUDGET_WORDS,
    DATA_WORDS,
    ENGINE_WORDS,
    METRIC_WORDS,
    board_figure,
    board_frame,
    clock,
    diagram,
    metric_words,
    notes_since,
    referee,
    score_text,
    signature,
    time_left,
)
from pages._i18n import localized, localized_numbers, with_language
from pages._router import ensure_router, keep_jobs_moving
from pages._runs import served_by_id, usable_runs
from pages._session import actor, init_state, is_presenter

ensure_router()

WALL_ITEMS = 24
COLUMNS = 6  # thumbnails large enough to read from the back of a room
GRID_COLUMNS = 3  # beside the matrix: three a row
MATRIX_HEIGHT = 330  # 10 classes under a 576-px-high projector's fold, beside the grid
REFRESH_SECONDS = 1.5
GREEN, RED, GRAY = (0, 150, 70), (210, 30, 40), (150, 150, 150)
CHALLENGE_VIEW, DIGITS_VIEW = N_("Challenge"), N_("Digits")
BOARD_ROWS = 6  # table rows in view on a 576-px-high projector (it scrolls for more)
ROW_PX = 35  # st.dataframe's row (and header) height
LEADER = "background-color: #fff3c4"  # the leader's row in the table

init_state({"wall_view": CHALLENGE_VIEW, "wall_notes_seen": time.time()})
S = st.session_state


@st.cache_data(max_entries=4, show_spinner=False)
def qr_png(url: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=10, border=2)
    return buf.getvalue()


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(path: str, right: bool | None, mtime: float) -> np.ndarray:
    """A framed thumbnail, cached per file and verdict (every wall refresh reuses it)."""
    img = load_thumbnail(path)  # a white square when the file is gone
    return framed(img[..., None], GRAY if right is None else GREEN if right else RED, side=120)


def model_options() -> dict[str, str]:
    options = {"__default__": _("Shipped MNIST model (mnist-fast)")} if default_run() else {}
    options |= {r.id: f"{r.id} ({r.config().get('preset')})" for r in usable_runs()}
    return options


def presenter_controls(room: Room | None) -> None:
    """Open a room, choose its model, approval mode: presenter only (the core checks it too)."""
    with st.expander(_("Room settings (presenter)"), icon=":material/settings:", expanded=room is None):
        options = model_options()
        with st.form("open_room", border=False):
            title = st.text_input(_("Talk title"), value=room.settings().title if room else "", max_chars=80,
                                  key="room_title")  # fmt: skip
            model = st.selectbox(_("Model the room uses"), list(options), format_func=options.get)
            if st.form_submit_button(_("Open a new room"), icon=":material/meeting_room:"):
                try:
                    served = served_by_id(model)
                    open_room(title, model, list(served.spec.class_names), actor())
                except InputError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
        if room is not None:
            settings = room.settings()
            a, b = st.columns(2)
            on = a.toggle(_("Approve each submission before the wall shows it"), value=settings.approval,
                          key="wall_approval")  # fmt: skip
            if on != settings.approval:
                room.set_approval(on, actor())
            photos = b.toggle(_("Photos wait for approval"), value=settings.approve_photos, key="wall_approve_photos",
                              help=_("A camera sees more than digits: photos appear once you show them. "
                                     "Drawings do not wait."))  # fmt: skip
            if photos != settings.approve_photos:
                room.set_photo_approval(photos, actor())
            with st.popover(_("Clear the wall"), icon=":material/clear_all:"):
                st.write(_("Start the wall and its score afresh? What was sent stays in the room's dataset."))
                if st.button(_("Yes, clear it"), key="wall_clear", type="primary"):
                    room.clear_wall(actor())
                    st.rerun()
            st.text_input(_("Address to show (leave empty to detect it)"), key="wall_url",
                          help=_("For example http://192.168.1.20:8501 if the detected one is not what phones "
                                 "reach."))  # fmt: skip


def caption(sub: Submission) -> str:
    """What the model read and how sure; "?" first where it said "I don't know" (its guess follows)."""
    if sub.unfamiliar:
        text = "? " + _("I don't know (best guess {label} · {confidence})").format(
            label=sub.predicted, confidence=percent(sub.confidence, 0))  # fmt: skip
    else:
        text = f"{sub.predicted} · {percent(sub.confidence, 0)}"
    return text + (_(" (was {label})").format(label=sub.label) if sub.right is False else "")


def moderate(room: Room, sub: Submission, hide) -> None:
    """The presenter's hide (``hide``: its button's label) and ban buttons under a thumbnail."""
    with st.container(horizontal=True, gap="small"):  # side by side at their own width: a sixth of a wall is narrow
        if st.button(hide, key=f"hide_{sub.id}", help=_("Hide it for good")):
            room.hide(sub.id, actor())
            st.rerun()
        if st.button(":material/block:", key=f"ban_{sub.id}", help=_("Ban this sender")):
            room.ban(sub.id, actor())
            st.rerun()


def moderation(room: Room, subs: list[Submission]) -> None:
    """Submissions waiting for approval, each with show, hide and ban buttons."""
    waiting = [s for s in subs if not s.approved and not s.hidden and not s.cleared]
    if waiting:
        st.markdown(_("**Waiting for approval: {n}**").format(n=len(waiting)))
        cols = st.columns(COLUMNS)
        for i, sub in enumerate(waiting[:COLUMNS]):
            with cols[i]:
                st.image(thumbnail(str(room.image_path(sub)), None, 0.0), width="stretch", caption=caption(sub))
                if st.button(_("Show"), key=f"ok_{sub.id}", type="primary", width="stretch"):
                    room.approve(sub.id, actor())
                    st.rerun()
                moderate(room, sub, _("Hide"))


@st.fragment(run_every=REFRESH_SECONDS)
@localized
def score(room: Room) -> None:
    """The three numbers, one under the other under the QR code (the right column keeps its height for the
    grid and the matrix); reruns alone every 1.5 s."""
    subs = room.submissions()
    right, labelled = room.score()
    st.metric(_("Submissions"), number(sum(not s.hidden and not s.cleared for s in subs)))
    st.metric(_("Read right"), _("{right} of {labelled}").format(right=right, labelled=labelled) if labelled else "-",
              help=_("Among the submissions whose senders said what they were."))  # fmt: skip
    st.metric(_("Room accuracy"), percent(right / labelled, 0) if labelled else "-")


@st.fragment(run_every=REFRESH_SECONDS)
@localized
def live(room: Room, presenter: bool) -> None:
    """The grid and the matrix side by side; reruns alone every 1.5 s (the page does not)."""
    subs = room.submissions()  # from the room's cache: parsed once, then only what was appended
    shown = [s for s in subs if s.visible][:WALL_ITEMS]
    _right, labelled = room.score()
    if presenter:
        moderation(room, subs)
    if not shown:
        st.info(_("Nothing on the wall yet: scan the code and draw a digit."), icon=":material/qr_code_2:")
        return
    grid, matrix = st.columns([3, 2], gap="medium") if labelled else (st.container(), None)
    per_row = GRID_COLUMNS if matrix is not None else COLUMNS  # alone, the digits take the whole width
    with grid:
        cols = st.columns(per_row)
        for i, sub in enumerate(shown):
            with cols[i % per_row]:
                path = room.image_path(sub)
                mtime = path.stat().st_mtime if path.exists() else 0.0
                st.image(thumbnail(str(path), sub.right, mtime), width="stretch", caption=caption(sub))
                if presenter:
                    moderate(room, sub, ":material/visibility_off:")
    if matrix is not None:
        matrix.plotly_chart(confusion_figure(room.confusion(), room.settings().class_names, height=MATRIX_HEIGHT),
                            config=CHART_CONFIG, key="wall_cm")  # fmt: skip


# ----- the challenge ------------------------------------------------------------------------------


def challenge_form(room: Room, settings: ChallengeSettings | None) -> None:
    """Open a challenge: data, budget, metric, deadline (presenter only; the core checks it too)."""
    with st.expander(_("Challenge (presenter)"), icon=":material/emoji_events:"):
        if settings is not None and settings.ended is None:
            st.warning(_("A challenge is running: opening a new one stops its networks."), icon=":material/warning:")
        title = st.text_input(_("Challenge title"), value=_("The best digit reader"), max_chars=80, key="ch_title")
        data = st.segmented_control(_("Data"), list(DATA_KINDS), format_func=lambda k: _(DATA_WORDS[k]),
                                    default="mnist", required=True, key="ch_data")  # fmt: skip
        folder, image_size = None, 28
        if data == "mnist" and find_mnist(None) is None:
            st.warning(_("No mnist.npz in {root}: each network will download MNIST from the internet (11 MB). Put "
                         "the file there before the talk.").format(root=data_dir()), icon=":material/cloud_download:")  # fmt: skip
        if data == "folder":
            folders = list_datasets()["folders"]
            if not folders:
                st.warning(_("No dataset folder in {root}: put class folders there (or import a zip on Train).").format(
                    root=data_dir()), icon=":material/folder_off:")  # fmt: skip
            else:
                a, b = st.columns([3, 1])
                folder = a.selectbox(_("Dataset folder"), folders, format_func=lambda p: Path(p).name, key="ch_folder")
                image_size = b.number_input(_("Image size"), 8, 128, 28, key="ch_image_size",
                                            help=_("Each image is resized to this square, in grayscale."))  # fmt: skip
        budget = st.segmented_control(_("Budget of each network"), list(BUDGETS), format_func=lambda k: _(BUDGET_WORDS[k]),
                                      default="compute", required=True, key="ch_budget")  # fmt: skip
        limits: dict = {}
        if budget == "compute":
            a, b, c = st.columns(3)
            limits["max_params"] = a.number_input(_("Most parameters"), 100, 10_000_000, 50_000, step=5_000,
                                                  key="ch_max_params")  # fmt: skip
            limits["max_macs"] = b.number_input(_("Most multiply-adds × epochs"), 10_000, 10**12, 5_000_000, step=500_000,
                                                key="ch_max_macs", help=_("Multiply-adds for one image, times the "
                                                                          "epochs: what training a network costs."))  # fmt: skip
            limits["max_epochs"] = c.number_input(_("Most epochs"), 1, 50, 3, key="ch_max_epochs")
            st.caption(_("Each network: at most {params} parameters and {macs} multiply-adds × epochs.").format(
                params=number(limits["max_params"]), macs=number(limits["max_macs"])))  # fmt: skip
        else:
            limits["seconds"] = st.number_input(_("Seconds of training for each network"), 5, 3600, 60, step=15,
                                                key="ch_seconds")  # fmt: skip
        a, b = st.columns([2, 1])
        metric = a.segmented_control(_("Ranked by"), list(METRICS), format_func=lambda k: _(METRIC_WORDS[k]),
                                     default="val_accuracy", required=True, key="ch_metric")  # fmt: skip
        minutes = b.number_input(_("Minutes to the deadline"), 1, 240, 10, key="ch_minutes")
        engine = engine_name()
        if engine == "ray":
            a, b = st.columns(2)
            limits["cpus"] = a.number_input(_("CPUs for each network"), 1, 64, 1, key="ch_cpus")
            limits["gpus"] = b.number_input(_("GPUs for each network"), 0.0, 8.0, 0.0, step=0.25, key="ch_gpus")
            st.caption(_(ENGINE_WORDS[engine]) + " " + _("Cluster: `{address}`.").format(address=ray_address()))
        else:
            st.caption(_(ENGINE_WORDS[engine]))
        if st.button(_("Open the challenge"), key="ch_open", type="primary", icon=":material/flag:"):
            new = ChallengeSettings(data=data, folder=folder, budget=budget, metric=metric, minutes=minutes,
                                    image_size=image_size, title=title.strip(), **limits)  # fmt: skip
            try:
                with st.spinner(_("Checking the data...")):
                    Challenge.open(room, new, actor())
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                S.wall_view = CHALLENGE_VIEW  # the board, not the digits: set before the switch is drawn
                st.rerun()


def budget_words(settings: ChallengeSettings) -> str:
    if settings.budget == "compute":
        text = _("At most {params} parameters, {macs} multiply-adds × epochs, {epochs} epochs.").format(
            params=number(settings.max_params), macs=number(settings.max_macs), epochs=settings.max_epochs)  # fmt: skip
    else:
        text = _("Each network trains {n} s.").format(n=number(settings.seconds))
    return text + " " + _("Ranked by {metric}.").format(metric=metric_words(settings))


def winner(ch: Challenge, settings: ChallengeSettings, rows: list[Row], presenter: bool) -> None:
    """The winner's name, score and architecture; for the presenter, the button that makes it the room's model."""
    best = ch.winner(rows)
    if best is None:
        st.info(_("The challenge has ended with no score: no network finished an epoch."), icon=":material/flag:")
        return
    st.success(_("**{name}** wins: {score} {metric}, {params} parameters.").format(
        name=best.name, score=score_text(best, settings), metric=metric_words(settings),
        params=number(best.params)), icon=":material/trophy:")  # fmt: skip
    rows = diagram(settings, ch.entry(best.entry))
    if rows:
        st.plotly_chart(architecture_figure(rows), config=CHART_CONFIG, key="wall_ch_arch")
    if ch.room.settings().model == best.run_id:
        st.caption(_("The room uses it now: the next digits drawn on Join go to it."))
    elif presenter and st.button(_("Make it the room's model"), key="wall_ch_model", type="primary",
                                 icon=":material/swap_horiz:"):  # fmt: skip
        try:
            ch.make_room_model(actor())
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.rerun()


def challenge_moderation(ch: Challenge, state: str) -> None:
    """The presenter's controls, kept to one row: a network, then hide its name, stop, withdraw; end now."""
    entries = {e.id: e for e in ch.entries() if not e.withdrawn}
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        chosen = None
        if entries:
            chosen = st.selectbox(_("Network"), list(entries), format_func=lambda i: entries[i].shown_name,
                                  key="wall_ch_entry", width=240)  # fmt: skip
        entry = entries.get(chosen)
        done = None
        if entry is not None:
            hidden = entry.name_hidden
            if st.button(_("Show name") if hidden else _("Hide name"), key="wall_ch_hide",
                         icon=":material/visibility:" if hidden else ":material/visibility_off:"):  # fmt: skip
                done = partial(ch.hide_name, entry.id, not hidden, actor())
            if state != "ended":  # after the end the winner may be the room's model: its run must stay
                if st.button(_("Stop"), key="wall_ch_stop", icon=":material/stop_circle:"):
                    done = partial(ch.stop, entry.id, actor())
                if st.button(_("Withdraw"), key="wall_ch_withdraw", icon=":material/delete:"):
                    done = partial(ch.withdraw, entry.id, actor())
        if state != "ended":
            with st.popover(_("End now"), icon=":material/sports_score:"):
                st.write(_("End the challenge now? Waiting networks are cancelled, training ones stop, and the best "
                           "so far wins."))  # fmt: skip
                if st.button(_("Yes, end it"), key="wall_ch_end", type="primary"):
                    done = partial(ch.end, actor())
    if done is not None:
        try:
            said = done()
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
            return
        if isinstance(said, str) and said:
            st.toast(said, icon=":material/check:")
        st.rerun()


@st.fragment(run_every=1.0)
@localized
def countdown(room: Room) -> None:
    """Under the QR code while the Wall shows the challenge: the time left and the networks sent; every second."""
    ch = Challenge(room)
    settings = ch.settings()
    if settings is None:
        return
    state = ch.state()
    shown = {"open": clock(time_left(settings)), "closing": _("Time is up"), "ended": _("Ended")}[state]
    st.metric(_("Time left"), shown)
    st.metric(_("Networks"), number(sum(not e.withdrawn for e in ch.entries())))


@st.fragment(run_every=REFRESH_SECONDS)
@localized
def board(room: Room, presenter: bool) -> None:
    """The challenge's live view: countdown, leaderboard chart and table; the winner at the end. Reruns alone
    every 1.5 s."""
    ch = Challenge(room)
    settings = ch.settings()
    if settings is None:
        return
    state, rows = ch.state(), ch.rows()
    st.markdown("### " + (settings.title or _("Challenge")))
    if state == "closing":
        st.info(_("No more networks: the ones still training finish, then the winner is announced."),
                icon=":material/hourglass_bottom:")  # fmt: skip
    fig = board_figure(rows)
    if state == "ended":
        crown, bars = st.columns([3, 2]) if fig is not None else (st.container(), None)
        with crown:
            winner(ch, settings, rows, presenter)
        if bars is not None:
            bars.plotly_chart(fig, config=CHART_CONFIG, key="wall_ch_chart")
    elif not rows:
        st.info(_("No network yet: open Join on your phone and design one."), icon=":material/smartphone:")
    elif fig is not None:
        st.plotly_chart(fig, config=CHART_CONFIG, key="wall_ch_chart")
    if rows:
        frame, percents, decimals, widths = board_frame(rows)
        leader = [r.rank == 1 for r in rows]
        styled = localized_numbers(frame, percents=percents, decimals=decimals).apply(
            lambda row: [LEADER if leader[row.name] else ""] * len(row), axis=1)  # fmt: skip
        st.dataframe(styled, hide_index=True, width="stretch", height=ROW_PX * (min(len(rows), BOARD_ROWS) + 1) + 3,
                     column_config={c: st.column_config.Column(width=w) for c, w in widths.items()}, placeholder="-",
                     key="wall_ch_table")  # fmt: skip
    training = sum(r.status == "running" for r in rows)
    now = ngettext("{n} network is training now.", "{n} networks are training now.", training).format(n=training)
    st.caption(" ".join((_(ENGINE_WORDS.get(settings.engine, settings.engine)), budget_words(settings), now)))
    if presenter:
        challenge_moderation(ch, state)


@st.fragment(run_every=REFRESH_SECONDS)
@localized
def referee_part(room: Room, seen: tuple | None) -> None:
    """The challenge's clock, whatever the Wall shows: the referee's pass (early stops, the winner after the
    deadline, the job queue), its notes as toasts, and the whole page again when the challenge opens,
    closes or ends."""
    ch = Challenge(room)
    settings = ch.settings()
    if settings is not None and settings.ended is None:
        keep_jobs_moving()  # fragments do not pass through the router, which starts queued jobs
        referee(ch)
    for when, text in notes_since(ch, S.wall_notes_seen):
        st.toast(text, icon=":material/content_cut:", duration="long")
        S.wall_notes_seen = max(S.wall_notes_seen, when)
    if signature(ch) != seen:
        st.rerun()


room = active_room()
presenter = is_presenter()
if presenter and room is None:
    presenter_controls(room)
if room is None:
    st.title(_("Wall"))
    st.info(_("No room is open yet. Open one above.") if presenter else _("No room is open yet. The speaker opens it."))
    st.stop()

challenge = Challenge(room)
challenge_settings = challenge.settings()
if presenter:  # side by side and folded: the room's matrix (or the leaderboard) stays above a projector's fold
    room_part, challenge_part = st.columns(2)
    with room_part:
        presenter_controls(room)
    with challenge_part:
        challenge_form(room, challenge_settings)
referee_part(room, signature(challenge))  # before the board: what it stops shows in this run
settings = room.settings()
url, warning = join_url(st.get_option("server.address"), st.get_option("server.port"), st.session_state.get("wall_url"))
talking = live_talk() is not None
if talking and url.endswith("/join"):  # a talk is on: phones open its steps first (Follow links to Join)
    url = url.removesuffix("/join") + "/follow"
url = with_language(url)  # phones open the Join page in the talk's language
challenge_view = challenge_settings is not None and S.wall_view == CHALLENGE_VIEW
left, right = st.columns([1, 3])
with left:
    st.image(qr_png(url), width=200 if challenge_view else 260)  # smaller beside the leaderboard
    at = _("**Follow the talk at** `{address}`") if talking else _("**Join at** `{address}`")
    st.markdown(at.format(address=url.removeprefix("http://")))
    if challenge_settings is not None:  # here, not above the board: the leaders stay above the projector's fold
        st.segmented_control(_("Show"), [CHALLENGE_VIEW, DIGITS_VIEW], format_func=_, required=True, key="wall_view",
                             label_visibility="collapsed")  # fmt: skip
    if challenge_view:
        countdown(room)
    else:
        score(room)
with right:
    if not challenge_view:
        st.title(settings.title)
    if warning:  # here, full width: in the QR code's column it wrapped a word per line
        st.warning(warning, icon=":material/wifi_off:")
    if challenge_view:
        board(room, presenter)
    else:
        live(room, presenter)
