"""Follow: the talk's current step on a phone, read-only; it moves when the speaker moves.

A small fragment marks the live step twice a second (:func:`core.talk.live.live_talk` reads a file
only when it changed); when the mark differs from the step drawn (the step moved, or on a training's
step the run did), the page's script presses a hidden button that redraws the step's fragment alone.
What a step shows is computed once for every phone (``pages/_talk_views.py``).
"""

from __future__ import annotations

import hashlib

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
REFRESH = "follow_refresh"
_STYLE = "<style>.st-key-follow_refresh { display: none !important; }</style>"
# Once per tab: when the talk's mark differs from the drawn one, press the hidden button (at most every 1.5 s
# while the redraw is under way).
_SCRIPT = """<script>
(() => {
  if (window.__cnnlabFollow) return;
  window.__cnnlabFollow = true;
  let pressed = 0;
  setInterval(() => {
    const live = document.querySelector('.follow-live'), drawn = document.querySelector('.follow-drawn');
    if (!live || !drawn || live.dataset.sig === drawn.dataset.sig || Date.now() - pressed < 1500) return;
    const button = [...document.querySelectorAll('.st-key-follow_refresh button')]
      .filter((b) => !b.closest('[data-stale="true"]')).pop();
    if (button) { pressed = Date.now(); button.click(); }
  }, 100);
})();
</script>"""


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


def marker(name: str, sig: tuple | None) -> None:
    """An invisible mark of what the page shows (``follow-drawn``) or what the talk is at (``follow-live``)."""
    digest = hashlib.sha1(repr(sig).encode()).hexdigest()[:16]
    st.html(f'<div class="{name}" data-sig="{digest}" style="display:none"></div>')


@st.fragment(run_every=POLL_SECONDS)
@localized
def watch() -> None:
    """Marks where the talk is, twice a second (one stat of a file); the page's script redraws the step."""
    marker("follow-live", signature())


@st.fragment(run_every=IDLE_POLL_SECONDS)
@localized
def wait_for_a_talk() -> None:
    """The same, slower, while no talk is on."""
    marker("follow-live", signature())


@st.fragment
@localized
def content(talk_on: bool) -> None:
    """The step, redrawn alone (no router, no sidebar) when the hidden button is pressed by the page's script.

    Why a fragment pressed from the browser rather than ``st.rerun()``: 100 phones rerunning the whole app at
    once took 1.0 s for a slide and 1.9 s for a layer table on the 2-core machine, the sidebar and the
    navigation half of it (``bench/talk_follow.py``).
    """
    st.button("refresh", key=REFRESH)  # hidden (``_STYLE``)
    sig = signature()
    if (sig is not None) != talk_on:
        st.rerun()  # a talk started or ended: the whole page, whose poll changes its pace
    page()
    marker("follow-drawn", sig)


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


st.html(_STYLE + _SCRIPT, unsafe_allow_javascript=True)
talk_on = live_talk() is not None
content(talk_on)
if talk_on:
    watch()
else:
    wait_for_a_talk()
