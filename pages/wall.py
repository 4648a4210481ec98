"""Wall: the projector's view of the room. A QR code to join, the latest submissions with what
the model read (green right, red wrong, gray not yet said; "?" where the model said "I don't
know"), the running score and the room's confusion matrix; for the presenter, opening a room,
choosing its model, clearing the wall and moderating what is shown (hide, ban, approve)."""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from core.base.errors import InputError
from core.base.i18n import _, number, percent
from core.data.images import load_thumbnail
from core.plots.pictures import framed
from core.plots.results import confusion_figure
from core.plots.style import CHART_CONFIG
from core.room.active import active_room, open_room
from core.room.folder import Room
from core.room.network import join_url
from core.room.submissions import Submission
from core.serving.default_model import default_run
from pages._i18n import localized, with_language
from pages._router import ensure_router
from pages._runs import served_by_id, usable_runs
from pages._session import actor, is_presenter

ensure_router()

WALL_ITEMS = 24
COLUMNS = 6  # thumbnails large enough to read from the back of a room
GRID_COLUMNS = 3  # beside the matrix: three a row
MATRIX_HEIGHT = 330  # 10 classes under a 576-px-high projector's fold, beside the grid
REFRESH_SECONDS = 1.5
GREEN, RED, GRAY = (0, 150, 70), (210, 30, 40), (150, 150, 150)


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


room = active_room()
presenter = is_presenter()
if presenter:
    presenter_controls(room)
if room is None:
    st.title(_("Wall"))
    st.info(_("No room is open yet. Open one above.") if presenter else _("No room is open yet. The speaker opens it."))
    st.stop()

settings = room.settings()
url, warning = join_url(st.get_option("server.address"), st.get_option("server.port"), st.session_state.get("wall_url"))
url = with_language(url)  # phones open the Join page in the talk's language
left, right = st.columns([1, 3])
with left:
    st.image(qr_png(url), width=260)
    st.markdown(_("**Join at** `{address}`").format(address=url.removeprefix("http://")))
    score(room)
with right:
    st.title(settings.title)
    if warning:  # here, full width: in the QR code's column it wrapped a word per line
        st.warning(warning, icon=":material/wifi_off:")
    live(room, presenter)
