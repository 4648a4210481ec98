"""Join: the audience's page, made for phones. Draw a digit (or send a photo), see what the
model reads, and say whether it was right: the room's wall shows everyone's submissions."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from core.access.limits import take
from core.access.roles import Actor
from core.base.errors import InputError
from core.base.i18n import N_, _, percent
from core.data.images import PixelBudget, open_image
from core.room.active import active_room
from core.room.folder import Room
from pages._drawpad import draw_pad
from pages._i18n import localized
from pages._router import ensure_router
from pages._runs import served_by_id
from pages._session import actor
from pages._widgets import file_upload

ensure_router()

PHOTO_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]  # iPhones convert HEIC to JPEG for these
PHOTO_PIXELS = 50_000_000  # one phone photo (a 48 MP camera); decoded at once to 1024 px
S = st.session_state
S.setdefault("join_last", None)  # the id of this phone's last submission
S.setdefault("join_pad_version", 0)  # a new pad (a blank canvas) after each sent drawing
S.setdefault("join_sent", None)  # what was sent last (a digest): the same image is never sent twice


def digest(data: bytes) -> str:
    """What identifies an image this phone sent (its bytes' hash)."""
    return hashlib.sha256(data).hexdigest()


def send(room: Room, served, img, source: str, me: Actor) -> bool:
    """Predicts one image and puts it in the room (the core checks rate, size and bans).

    Returns whether it was sent; a refusal is kept in ``join_error`` for the page to show.
    """
    try:
        take("predict", me.session, address=me.address)
        x, probs, verdicts = served.examine_images([img])
        top = int(np.argmax(probs[0]))
        sub = room.submit(img, served.spec.class_names[top], float(probs[0][top]), source, me,
                          unfamiliar=bool(verdicts[0].unfamiliar))  # fmt: skip
    except InputError as exc:
        S.join_error = str(exc)
        return False
    S.join_last = sub.id
    return True


def send_drawing(room: Room, served, me: Actor) -> None:
    """Send's callback: runs before the page, so the answer shows in the same run, above a blank pad."""
    drawing = S.pop("join_drawing", None)
    if drawing is not None and send(room, served, drawing, "drawing", me):
        S.join_pad_version += 1  # a new, blank pad: this drawing cannot be sent a second time


def send_photo(room: Room, served, data: bytes, name: str, budget: PixelBudget, me: Actor) -> None:
    """Send's callback for a photo: decoded (checked) here, then sent once."""
    try:
        img, _info = open_image(data, budget=budget)
    except InputError as exc:
        S.join_error = f"{name}: {exc}"
        return
    if send(room, served, img, "photo", me):
        S.join_sent = digest(data)


def answer(room: Room, sub_id: str, label: str | None, me: Actor) -> None:
    """Records what it really was: a button's or the pills' callback, so the run that follows
    already shows the thanks (no second rerun for each phone's answer)."""
    label = label if label is not None else S.get(f"join_wrong_{sub_id}")
    if label is None:
        return
    try:
        room.label(sub_id, label, me)
    except InputError as exc:
        S.join_problem = str(exc)


def feedback(room: Room, me: Actor) -> None:
    """The last submission's reading, and the buttons to say right or wrong.

    An "I don't know" answer offers no "Yes, that's right": the model did not claim anything.
    """
    sub = room.submission(S.join_last) if S.join_last else None
    if sub is None:
        return
    with st.container(border=True):
        if sub.unfamiliar:
            st.markdown(_("## I don't know"))
            st.warning(_("This does not look like anything the model was trained on. Its best guess would be "
                         "**{label}** ({confidence}), but it is not to be trusted.").format(
                label=sub.predicted, confidence=percent(sub.confidence, 0)), icon=":material/help:")  # fmt: skip
        else:
            st.markdown(_("## The model read **{label}**  \n{confidence} sure").format(
                label=sub.predicted, confidence=percent(sub.confidence, 0)))  # fmt: skip
        if S.get("join_problem"):
            st.error(S.pop("join_problem"), icon=":material/error:")
        if sub.label is not None:
            st.success(_("Thanks! It got it right.") if sub.right and not sub.unfamiliar
                       else _("Thanks! It was a {label}: noted.").format(label=sub.label), icon=":material/check:")  # fmt: skip
            return
        names = room.settings().class_names
        if sub.unfamiliar:
            choices, question = names, _("What was it?")
        else:
            st.button(_("Yes, that's right"), icon=":material/thumb_up:", type="primary", width="stretch",
                      on_click=answer, args=(room, sub.id, sub.predicted, me))  # fmt: skip
            choices, question = [n for n in names if n != sub.predicted], _("No, it was:")
        st.pills(question, choices, key=f"join_wrong_{sub.id}", on_change=answer, args=(room, sub.id, None, me))


@st.fragment
@localized
def phone(opened: str) -> None:
    """Draw (or photograph), send, answer: a fragment, so a pen stroke, Send and the answer rerun
    only this part of the page, not the router, the sidebar and the title (bench/room_load.py).

    Each run reads the active room again: when the speaker opens another one (``opened`` was
    the room's name when the page was drawn), the whole page follows it.
    """
    room = active_room()
    if room is None or room.name != opened:
        st.rerun()
    try:
        served = served_by_id(room.settings().model)
    except InputError as exc:
        st.error(_("The room's model cannot be used right now: {problem}").format(problem=exc),
                 icon=":material/error:")  # fmt: skip
        return
    me = actor()
    digits = served.spec.digits
    how = st.segmented_control(_("How"), [N_("Draw"), N_("Photo")] if digits else [N_("Photo")],
                               default="Draw" if digits else "Photo", format_func=_, key="join_how", required=True,
                               label_visibility="collapsed", width="stretch")  # fmt: skip
    budget = PixelBudget(PHOTO_PIXELS, N_("a submission"), me.session, me.address)
    if S.get("join_error"):
        st.error(S.pop("join_error"), icon=":material/error:")
    feedback(room, me)  # first: the answer to what was just sent is in view, above the next drawing
    if how == "Draw":
        try:
            S.join_drawing = draw_pad(f"join_pad_{S.join_pad_version}", budget)
        except InputError as exc:
            st.error(str(exc))
            S.join_drawing = None
        st.button(_("Send my digit"), icon=":material/send:", type="primary", width="stretch",
                  disabled=S.join_drawing is None, on_click=send_drawing, args=(room, served, me))  # fmt: skip
    else:
        photo = file_upload(_("Take or choose a photo"), type=PHOTO_TYPES, key="join_photo")
        if photo is None:
            return
        sent = S.join_sent == digest(photo.getvalue())
        if sent:
            st.caption(_("Sent. Take or choose another photo to send one more."))
            if room.settings().approve_photos:
                st.info(_("Photos wait for the speaker's approval before the wall shows them."),
                        icon=":material/hourglass_top:")  # fmt: skip
        st.button(_("Send this photo"), icon=":material/send:", type="primary", width="stretch", disabled=sent,
                  on_click=send_photo, args=(room, served, photo.getvalue(), photo.name, budget, me))  # fmt: skip


st.title(_("Join the talk"))
room = active_room()
if room is None:
    st.info(_("The speaker has not opened the room yet. Keep this page open, or reload it in a moment."),
            icon=":material/hourglass_top:")  # fmt: skip
    st.stop()
settings = room.settings()
try:
    served = served_by_id(settings.model)
except InputError as exc:
    st.error(_("The room's model cannot be used right now: {problem}").format(problem=exc), icon=":material/error:")
    st.stop()
digits = served.spec.digits
st.caption(f"**{settings.title}**: " + (_("draw one digit, large, in the middle, then send it.") if digits
           else _("send a photo of: {classes}.").format(classes=", ".join(settings.class_names))))  # fmt: skip
phone(room.name)
