"""Join: the audience's page, made for phones. Draw a digit (or send a photo), see what the
model reads, and say whether it was right: the room's wall shows everyone's submissions.

While the speaker runs a challenge (``core.challenge``), Join also offers "Design a network": a
layer picker made for thumbs, the network's size against the budget, Send, and then the network's
fate (waiting, training, its rank, or why it stopped early)."""

from __future__ import annotations

import hashlib
from functools import partial

import numpy as np
import streamlit as st

from core.access.limits import take
from core.access.roles import Actor
from core.base.errors import InputError
from core.base.i18n import N_, _, duration, number, percent
from core.challenge.board import Row
from core.challenge.contest import Challenge, Entry
from core.challenge.rules import MAX_LAYERS, MAX_NAME, PICKER, PICKER_WORDS, ChallengeSettings, Cost
from core.data.images import PixelBudget, open_image
from core.room.active import active_room
from core.room.folder import Room
from core.talk.live import live_talk
from pages._challenge import (
    CHOICE_WORDS,
    choice_text,
    entry_cost,
    layer_shapes,
    layer_text,
    metric_words,
    referee,
    run_error,
    score_text,
    signature,
    time_left,
)
from pages._drawpad import draw_pad
from pages._i18n import localized
from pages._router import ensure_router
from pages._runs import served_by_id
from pages._session import actor, init_state
from pages._widgets import css, file_upload

ensure_router()

PHOTO_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]  # iPhones convert HEIC to JPEG for these
PHOTO_PIXELS = 50_000_000  # one phone photo (a 48 MP camera); decoded at once to 1024 px
S = st.session_state
S.setdefault("join_last", None)  # the id of this phone's last submission
S.setdefault("join_pad_version", 0)  # a new pad (a blank canvas) after each sent drawing
S.setdefault("join_sent", None)  # what was sent last (a digest): the same image is never sent twice
init_state({
    "join_challenge": None,  # the challenge (its opening time) the picker's network belongs to
    "join_layers": [],  # the picked layers: [{"kind": "Conv2D", "filters": 8, "kernel_size": 3}, ...]
    "join_epochs": 1,
    "join_net_name": "",
    "join_editing": None,  # the id of the entry being changed (Send saves it), or None
})  # fmt: skip


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


# ----- the challenge: design a network ------------------------------------------------------------

WATCH_SECONDS = 5.0  # how soon a phone left on Join sees a challenge open, close or end
LIVE_SECONDS = 2.0  # the phone's own network, while it waits or trains
THUMB = "3rem"  # the layer buttons' least side: 48 CSS px, a thumb's width (Material's touch target)
STARTERS = [  # the network the picker proposes: the first that fits the challenge's budget
    [{"kind": "Conv2D", "filters": 8, "kernel_size": 3}, {"kind": "MaxPooling2D", "pool_size": 2},
     {"kind": "Conv2D", "filters": 16, "kernel_size": 3}, {"kind": "MaxPooling2D", "pool_size": 2},
     {"kind": "Dense", "units": 32}],
    [{"kind": "Conv2D", "filters": 4, "kernel_size": 3}, {"kind": "MaxPooling2D", "pool_size": 2},
     {"kind": "MaxPooling2D", "pool_size": 2}, {"kind": "Dense", "units": 16}],
]  # fmt: skip


def reset_picker(settings: ChallengeSettings) -> None:
    """A new challenge: the picker starts again from a network to change, the first starter within the budget
    at the most epochs the challenge allows (empty when none fits: one Dense layer over the pixels)."""
    epochs = max(1, min(settings.max_epochs, settings.epochs_allowed()))
    S.join_layers = next((list(s) for s in STARTERS if entry_cost(settings, s, epochs)[1] is None), [])
    S.join_epochs = epochs
    S.join_editing = None
    S.join_challenge = settings.opened


def move_layer(i: int, step: int) -> None:
    items = list(S.join_layers)
    j = i + step
    if 0 <= i < len(items) and 0 <= j < len(items):
        items[i], items[j] = items[j], items[i]
        S.join_layers = items


def remove_layer(i: int) -> None:
    S.join_layers = [item for k, item in enumerate(S.join_layers) if k != i]


def add_layer(kind: str) -> None:
    """Add's callback: the kind with the choices its pills show (the first of each by default)."""
    if kind in PICKER and len(S.join_layers) < MAX_LAYERS:
        choices = {name: S.get(f"join_add_{kind}_{name}", offered[0]) for name, offered in PICKER[kind].items()}
        S.join_layers = [*S.join_layers, {"kind": kind, **choices}]


def load_entry(entry: Entry) -> None:
    """Change's callback: the entry back into the picker; Send then saves it (``Challenge.edit``)."""
    S.join_layers = [dict(item) for item in entry.layers]
    S.join_epochs = entry.epochs
    S.join_net_name = entry.name
    S.join_editing = entry.id


def cancel_edit() -> None:
    S.join_editing = None


def send_network(ch: Challenge, me: Actor) -> None:
    """Send's (or Save's) callback: the core checks the budget, the rights and the limits."""
    try:
        if S.join_editing:
            entry = ch.edit(S.join_editing, S.join_layers, S.join_epochs, S.join_net_name, me)
            S.join_ch_note = _("Saved: {name} waits its turn to train.").format(name=entry.name)
        else:
            entry = ch.submit(S.join_layers, S.join_epochs, S.join_net_name, me)
            S.join_ch_note = _("Sent! {name} waits its turn to train.").format(name=entry.name)
    except InputError as exc:
        S.join_ch_error = str(exc)
        return
    S.join_editing = None


def act_on_entry(action, entry_id: str, me: Actor) -> None:
    """Stop's and Withdraw's callback (``action``: ``Challenge.stop`` or ``Challenge.withdraw``)."""
    try:
        S.join_ch_note = action(entry_id, me)
    except InputError as exc:
        S.join_ch_error = str(exc)
    if S.get("join_editing") == entry_id:
        S.join_editing = None


def meters(settings: ChallengeSettings, c: Cost | None) -> None:
    """The network's size against the budget, live."""
    if c is None:
        return
    if settings.budget == "compute":
        st.progress(min(1.0, c.params / settings.max_params), text=_("{used} / {limit} parameters").format(
            used=number(c.params), limit=number(settings.max_params)))  # fmt: skip
        st.progress(min(1.0, c.mac_epochs / settings.max_macs), text=_("{used} / {limit} multiply-adds × epochs").format(
            used=number(c.mac_epochs), limit=number(settings.max_macs)))  # fmt: skip
    else:
        st.caption(_("{params} parameters, {macs} multiply-adds per image; each network trains {n} s.").format(
            params=number(c.params), macs=number(c.macs), n=number(settings.seconds)))  # fmt: skip


def layer_list(items: list[dict], c: Cost | None) -> None:
    """The picked layers, each with large move-up, move-down and remove buttons (thumbs, not mice)."""
    shapes = layer_shapes(c, len(items))
    css(f'[class*="st-key-join_layer_"] button {{ min-width: {THUMB}; min-height: {THUMB}; }}')
    for i, item in enumerate(items):
        # The layer and its output; under it, its buttons side by side (columns would stack on a phone).
        box = st.container(border=True, gap="small", key=f"join_layer_{i}")
        dims = " → " + "×".join(str(d) for d in shapes[i]) if shapes[i] else ""
        box.markdown(f"**{i + 1}.** {layer_text(item)}{dims}")
        row = box.container(horizontal=True, horizontal_alignment="right", gap="small", wrap=False)
        # No help tooltips: a phone has no hover, and the arrows and the cross say what they do.
        row.button(":material/arrow_upward:", key=f"join_up_{i}", disabled=i == 0, on_click=move_layer, args=(i, -1))
        row.button(":material/arrow_downward:", key=f"join_down_{i}", disabled=i == len(items) - 1,
                   on_click=move_layer, args=(i, 1))  # fmt: skip
        row.button(":material/close:", key=f"join_remove_{i}", on_click=remove_layer, args=(i,))
    if not items:
        st.caption(_("No layers yet: the network is one Dense layer over the pixels. Add layers below."))


def layer_adder(full: bool) -> None:
    """Add a layer: its kind, then its few choices, as pills."""
    with st.container(border=True):
        kind = st.pills(_("Add a layer"), list(PICKER), format_func=lambda k: _(PICKER_WORDS[k]), default="Conv2D",
                        required=True, key="join_add_kind")  # fmt: skip
        for name, offered in PICKER[kind].items():
            if len(offered) > 1:  # a single choice is no choice
                st.pills(_(CHOICE_WORDS.get(name, name)), sorted(offered), format_func=partial(choice_text, name),
                         default=offered[0], required=True, key=f"join_add_{kind}_{name}")  # fmt: skip
        st.button(_("Add"), icon=":material/add:", key="join_add", width="stretch", disabled=full,
                  on_click=add_layer, args=(kind,))  # fmt: skip
        if full:
            st.caption(_("At most {n} layers.").format(n=MAX_LAYERS))


def picker(ch: Challenge, settings: ChallengeSettings, me: Actor, busy: Entry | None) -> None:
    """The network being designed: layers, epochs, name, its cost against the budget, and Send."""
    items = list(S.join_layers)
    allowed = settings.epochs_allowed()
    if not 1 <= (S.join_epochs or 0) <= allowed:  # a number kept from an earlier challenge
        S.join_epochs = max(1, min(int(S.join_epochs or 1), allowed))
    c, problem = entry_cost(settings, items, S.join_epochs)
    editing = S.join_editing
    if editing:
        st.markdown(_("**Changing your network**: save it before it starts training."))
    st.caption(_("Images of {shape} in, {n} classes out; a Flatten comes before the first Dense layer by itself.").format(
        shape="×".join(str(d) for d in c.summary.input_shape) if c else "?", n=len(settings.class_names)))  # fmt: skip
    layer_list(items, c)
    layer_adder(len(items) >= MAX_LAYERS)
    st.number_input(_("Epochs"), 1, allowed, key="join_epochs",
                    help=_("How many times the network sees every training image."))  # fmt: skip
    st.text_input(_("Name of your network"), max_chars=MAX_NAME, key="join_net_name",
                  placeholder=_("for example Tiny Tiger"))  # fmt: skip
    meters(settings, c)
    if problem:
        st.error(problem, icon=":material/block:")
    named = bool(str(S.get("join_net_name") or "").strip())
    if busy is not None and not editing:
        st.caption(_("{name} is waiting or training: stop it (or change it while it waits) to send another.").format(
            name=busy.name))  # fmt: skip
    elif not named:
        st.caption(_("Give your network a name to send it."))
    st.button(_("Save changes") if editing else _("Send my network"), icon=":material/send:", type="primary",
              width="stretch", key="join_send", disabled=problem is not None or not named or (busy is not None and not editing),
              on_click=send_network, args=(ch, me))  # fmt: skip
    if editing:
        st.button(_("Cancel"), key="join_cancel", width="stretch", on_click=cancel_edit)


def entry_card(ch: Challenge, settings: ChallengeSettings, entry: Entry, row: Row, me: Actor, state: str) -> bool:
    """This phone's network: waiting, training (epoch and accuracy), done (rank), or stopped and why; with
    Change (while it waits), Stop and Withdraw. Returns whether a button was pressed."""
    with st.container(border=True):
        st.markdown(_("**Your network: {name}**").format(name=entry.name))
        st.caption(_("{params} parameters · {macs} multiply-adds per image · {epochs} epochs").format(
            params=number(entry.params), macs=number(entry.macs), epochs=entry.epochs))  # fmt: skip
        best = percent(row.val_accuracy, 1) if row.val_accuracy is not None else "-"
        if row.pruned:
            st.warning(_("Your network was {why}.").format(why=row.pruned), icon=":material/content_cut:")
        elif row.status == "queued":
            st.info(_("Waiting its turn to train."), icon=":material/hourglass_top:")
        elif row.status == "running":
            st.progress(min(1.0, row.epoch / max(row.epochs, 1)), text=_("Training: epoch {k} of {n} done, best "
                        "validation accuracy {acc}").format(k=row.epoch, n=row.epochs, acc=best))  # fmt: skip
        elif row.status in ("completed", "stopped"):
            ranked = [r for r in ch.rows() if r.rank is not None]
            rank = next((r.rank for r in ranked if r.entry == entry.id), None)
            score = score_text(row, settings)
            text = (_("Done: {score} {metric}, rank {rank} of {n}.").format(score=score, metric=metric_words(settings),
                                                                             rank=rank, n=len(ranked))
                    if rank is not None else _("Done, with no score: it stopped before the end of an epoch."))  # fmt: skip
            st.success(text, icon=":material/check_circle:")
        else:
            st.error(_("Training failed: {error}").format(error=run_error(ch, entry) or _("no reason recorded")),
                     icon=":material/error:")  # fmt: skip
        pressed = False
        with st.container(horizontal=True, gap="small"):
            if row.status == "queued" and state == "open" and S.get("join_editing") != entry.id:
                pressed |= st.button(_("Change"), icon=":material/edit:", key="join_change", width="stretch",
                                     on_click=load_entry, args=(entry,))  # fmt: skip
            if row.active:
                pressed |= st.button(_("Stop"), icon=":material/stop_circle:", key="join_stop", width="stretch",
                                     on_click=act_on_entry, args=(ch.stop, entry.id, me))  # fmt: skip
            if state != "ended":  # the winner may be the room's model now: its run must stay
                pressed |= st.button(_("Withdraw"), icon=":material/delete:", key="join_withdraw", width="stretch",
                                     on_click=act_on_entry, args=(ch.withdraw, entry.id, me))  # fmt: skip
    return pressed


def opened_challenge(opened: str) -> tuple[Challenge, ChallengeSettings | None]:
    """The active room's challenge and its settings, for a fragment drawn for room ``opened``; when the active
    room is another one now, the whole page runs again."""
    room = active_room()
    if room is None or room.name != opened:
        st.rerun()
    ch = Challenge(room)
    return ch, ch.settings()


@st.fragment(run_every=LIVE_SECONDS)
@localized
def live_entry(opened: str, entry: Entry) -> None:
    """This phone's network while it waits or trains, every 2 s (only its run is read again, not every entry);
    the whole page again once it ends (or on a button), so the rest follows (rank, why it stopped, the picker)."""
    ch, settings = opened_challenge(opened)
    if settings is None:
        st.rerun()
    row = ch.row(entry)
    if entry_card(ch, settings, entry, row, actor(), ch.state()) or not row.active:
        st.rerun()


def challenge_news(ch: Challenge, settings: ChallengeSettings, state: str) -> None:
    """The deadline while open; "time is up" while the last networks train; the winner at the end."""
    if state == "open":
        st.caption(_("Design a small network, name it and send it: the Wall ranks them by {metric}. About {left} "
                     "left.").format(metric=metric_words(settings), left=duration(time_left(settings))))  # fmt: skip
    elif state == "closing":
        st.info(_("Time is up: no more networks. The last ones are finishing their training."),
                icon=":material/hourglass_bottom:")  # fmt: skip
    else:
        best = ch.winner()
        if best is None:
            st.info(_("The challenge has ended."), icon=":material/flag:")
            return
        st.success(_("The challenge has ended. The winner: **{name}** ({score} {metric}).").format(
            name=best.name, score=score_text(best, settings), metric=metric_words(settings)),
            icon=":material/trophy:")  # fmt: skip
        if ch.room.settings().model == best.run_id:
            st.caption(_("The room uses it now: draw a digit below and it reads it."))


@st.fragment
@localized
def challenge_part(opened: str) -> None:
    """The challenge on a phone: a fragment, so each tap on the picker reruns only this part."""
    ch, settings = opened_challenge(opened)
    if settings is None:
        return
    if S.get("join_challenge") != settings.opened:
        reset_picker(settings)
    me, state = actor(), ch.state()
    if S.get("join_ch_error"):
        st.error(S.pop("join_ch_error"), icon=":material/error:")
    if S.get("join_ch_note"):
        st.success(S.pop("join_ch_note"), icon=":material/check:")
    challenge_news(ch, settings, state)
    mine = ch.mine(me)
    busy = None
    if mine:
        row = ch.row(mine[0])
        if row.active:
            busy = mine[0]
            live_entry(opened, mine[0])
        else:
            entry_card(ch, settings, mine[0], row, me, state)
    if state == "open":
        picker(ch, settings, me, busy)


@st.fragment(run_every=WATCH_SECONDS)
@localized
def watch(opened: str, seen: tuple) -> None:
    """Draws nothing: the whole page again when the speaker opens another room, opens, closes or ends a
    challenge, or gives the room another model, so a phone left on Join follows the talk."""
    room = active_room()
    if room is not None and seen[0] is not None and seen[0][1] == "closing":
        referee(Challenge(room))  # past the deadline: the winner is crowned even if no Wall is open
    if room is None or room.name != opened or looks(room) != seen:
        st.rerun()


def looks(room: Room) -> tuple:
    """What the page was drawn from: the challenge's state and the room's model."""
    return signature(Challenge(room)), room.settings().model, live_talk() is not None


st.title(_("Join the talk"))
if live_talk() is not None:  # the speaker's steps are one tap away (the Wall's QR code opens them first)
    st.page_link("pages/follow.py", label=_("Follow the talk's steps"), icon=":material/slideshow:")
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
challenge = Challenge(room)
challenge_settings = challenge.settings()
if challenge_settings is not None:
    with st.expander(_("Design a network") if challenge.state() == "open" else _("The network challenge"),
                     icon=":material/emoji_events:", expanded=True):  # fmt: skip
        challenge_part(room.name)
phone(room.name)
watch(room.name, looks(room))
