"""Follow: the talk's current step on a phone, read-only; it moves when the speaker moves.

A small fragment asks for the live step twice a second (:func:`core.talk.live.live_talk` reads a
file only when it changed) and reruns the page only when the step changed, or, on a step showing a
training, when the run moved on. What a step shows is computed once for every phone
(``pages/_talk_views.py``).
"""

from __future__ import annotations

import streamlit as st

from core.base.i18n import _, language
from core.talk.live import live_talk, talk_deck
from core.talk.needs import find_curves
from core.talk.views import View
from pages._i18n import localized
from pages._router import ensure_router
from pages._talk_views import JOIN_PAGE, show_view

ensure_router()

POLL_SECONDS = 0.5  # a phone sees a new step within about half a second of the speaker's key
IDLE_POLL_SECONDS = 2.0  # no talk on yet


@st.cache_data(ttl=1.0, show_spinner=False, max_entries=8)
def _run_progress(view: View) -> tuple:
    """What a train or curves step's phones redraw on: the run and its epochs done (once a second for all)."""
    runs = find_curves(view)
    if isinstance(runs, str):
        return ()
    status = runs[0].status()
    return runs[0].id, status.get("status"), status.get("epochs_done")


def signature() -> tuple | None:
    talk = live_talk()
    if talk is None:
        return None
    deck = talk_deck(talk, language())
    view = deck.steps[talk.step].view if deck is not None else None
    extra = _run_progress(view) if view is not None and view.kind in ("train", "curves") else ()
    return (*talk.signature, *extra)


@st.fragment(run_every=POLL_SECONDS)
@localized
def watch(seen: tuple | None) -> None:
    """Draws nothing: the page again when the talk moved (or, on a training's step, the run did)."""
    if signature() != seen:
        st.rerun()


@st.fragment(run_every=IDLE_POLL_SECONDS)
@localized
def wait_for_a_talk() -> None:
    """Draws nothing: the page again when a talk starts (a slower poll: nothing is being followed yet)."""
    if live_talk() is not None:
        st.rerun()


def page() -> None:
    talk = live_talk()
    deck = talk_deck(talk, language()) if talk is not None else None
    if deck is None:
        st.title(_("Follow the talk"))
        st.info(_("No talk is on right now. This page shows the speaker's steps as soon as one starts."),
                icon=":material/co_present:")  # fmt: skip
        st.page_link(JOIN_PAGE, label=_("Draw a digit on Join meanwhile"), icon=":material/draw:")
        return
    step = deck.steps[talk.step]
    st.caption(_("{title} · step {i} of {n}").format(title=deck.title, i=talk.step + 1, n=talk.steps))
    st.subheader(step.title, anchor=False)
    if step.lines:
        st.markdown(step.lines)
    show_view(step.view)


page()
current = signature()
if current is None:
    wait_for_a_talk()
else:
    watch(current)
