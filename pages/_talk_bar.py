"""The presenter's view of a talk: a bar above every page, the keyboard, and moving to a step's page.

While the presenter presents (``talk_presenting`` in their session), the router calls
:func:`talk_bar` before the page runs: it moves to the step's page, set as the step says, once per
step (``talk_applied``), and draws the bar: previous and next, the step's number and title, the next
step's title, a clock, the speaker notes and the step's lines. Arrows, Page Up / Page Down and space
(what presentation clickers send) press previous and next, unless a field, a slider or a menu has
the keyboard.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.base.errors import InputError
from core.base.i18n import _, language
from core.talk.deck import Deck
from core.talk.live import LiveTalk, end_talk, go_to, live_talk, talk_deck
from pages._projector import scroll_into_view
from pages._router import switch_page
from pages._session import actor, is_presenter

TALK_PAGE = "pages/talk.py"  # a slide's page (pages/_talk_views.py PAGES)
PRESENTING = "talk_presenting"
APPLIED = "talk_applied"  # the live step (its signature) this session's pages were last set to
SCROLL = "talk_scroll"  # what the new step's page scrolls to, once

# Installed once per browser tab; finds the buttons at each key press (Streamlit redraws them).
_KEYS = """<script>
(() => {
  if (window.__cnnlabTalkKeys) return;
  window.__cnnlabTalkKeys = true;
  const NEXT = ['ArrowRight', 'ArrowDown', 'PageDown', ' '], PREVIOUS = ['ArrowLeft', 'ArrowUp', 'PageUp'];
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.repeat) return;
    const t = e.target, tag = (t && t.tagName || '').toLowerCase();
    if (['input', 'textarea', 'select', 'button'].includes(tag) || (t && t.isContentEditable)) return;
    if (t && t.closest && t.closest('[role="slider"],[role="listbox"],[role="option"],[role="tab"],[role="menu"]')) return;
    const which = NEXT.includes(e.key) ? 'next' : PREVIOUS.includes(e.key) ? 'prev' : null;
    // The newest button: while a page is redrawn, the previous run's bar may still be there (stale).
    const button = which && [...document.querySelectorAll('.st-key-talk_' + which + ' button')]
      .filter((b) => !b.closest('[data-stale="true"]')).pop();
    if (!button || button.disabled) return;
    e.preventDefault();
    button.click();
  }, true);
})();
</script>"""

# The clock: the time of day and how long the talk has run, ticking in the browser (no rerun).
_CLOCK = """<div class="talk-clock" style="font-variant-numeric: tabular-nums; white-space: nowrap">
<span id="talk-now">--:--</span> · <span id="talk-run">0:00</span></div>
<script>
(() => {
  clearInterval(window.__cnnlabClock);
  const started = %f * 1000, pad = (n) => String(n).padStart(2, '0');
  const tick = () => {
    const now = new Date(), s = Math.max(0, Math.floor((now - started) / 1000));
    const a = document.getElementById('talk-now'), b = document.getElementById('talk-run');
    if (a) a.textContent = pad(now.getHours()) + ':' + pad(now.getMinutes());
    if (b) b.textContent = Math.floor(s / 60) + ':' + pad(s %% 60);
  };
  tick();
  window.__cnnlabClock = setInterval(tick, 1000);
})();
</script>"""


# Presenting: a tighter bar, and the page's own title smaller, so the live view starts higher on a projector.
_STYLE = """<style>
.st-key-talk_bar { padding: 0.35rem 0.75rem !important; gap: 0.25rem !important; }
.st-key-talk_bar p { margin-bottom: 0.1rem; }
[data-testid="stMain"] h1 { font-size: 2rem !important; padding: 0.25rem 0 0.5rem 0 !important; }
</style>"""


def presenting() -> tuple[LiveTalk, Deck] | None:
    """The live talk and its deck (in the presenter's language) when this session presents it."""
    if not st.session_state.get(PRESENTING) or not is_presenter():
        return None
    talk = live_talk()
    deck = talk_deck(talk, language()) if talk is not None else None
    if deck is None:
        st.session_state.pop(PRESENTING, None)
        return None
    return talk, deck


def _move(step: int) -> None:
    try:
        go_to(step, actor())
    except InputError as exc:
        st.session_state["talk_problem"] = str(exc)


def _leave() -> None:
    st.session_state.pop(PRESENTING, None)


def _end() -> None:
    try:
        end_talk(actor())
    except InputError as exc:
        st.session_state["talk_problem"] = str(exc)
    st.session_state.pop(PRESENTING, None)


def follow_the_step(current_page: str) -> None:
    """Once per step: sets the step's page as its view says and goes there (a rerun) if it is not this one."""
    live = presenting()
    if live is None:
        return
    talk, deck = live
    if st.session_state.get(APPLIED) == talk.signature:
        return
    st.session_state[APPLIED] = talk.signature
    # Here, not at the top: every page imports this module, and Home is drawn before pandas is imported.
    from pages._talk_views import open_view, scroll_target

    view = deck.steps[talk.step].view
    target = open_view(view, st.session_state)
    st.session_state[SCROLL] = scroll_target(view) if target != TALK_PAGE else None
    if Path(target).stem != current_page:
        switch_page(target)


@st.fragment(run_every=1.0)
def _remote(seen: tuple) -> None:
    """Draws nothing: the page again when the talk moved elsewhere (the presenter's phone used as a remote,
    another presenter's tab), so the projector follows too."""
    talk = live_talk()
    if talk is None or talk.signature != seen:
        st.rerun()


def talk_bar(current_page: str) -> None:
    """The presenter's bar above the page: previous, next, where the talk is, the clock and the notes; the
    step's lines too, except on the Talk page (it shows them as the slide)."""
    live = presenting()
    if live is None:
        return
    talk, deck = live
    step, n = deck.steps[talk.step], len(deck.steps)
    st.html(_KEYS, unsafe_allow_javascript=True)
    _remote(talk.signature)
    st.html(_STYLE)
    following = deck.steps[talk.step + 1].title if talk.step + 1 < n else _("the end")
    with st.container(border=True, key="talk_bar"):
        cols = st.columns([0.55, 0.55, 6.5, 1.6, 2.1], vertical_alignment="center")
        cols[0].button("", icon=":material/arrow_back:", key="talk_prev", disabled=talk.step == 0,
                       on_click=_move, args=(talk.step - 1,), help=_("Previous step (←, Page Up)"))  # fmt: skip
        cols[1].button("", icon=":material/arrow_forward:", key="talk_next", disabled=talk.step >= n - 1,
                       on_click=_move, args=(talk.step + 1,), help=_("Next step (→, Page Down, space)"),
                       type="primary")  # fmt: skip
        cols[2].markdown(_("**{i}/{n}** · {title}").format(i=talk.step + 1, n=n, title=step.title)
                         + "  \n:gray[" + _("Next: {title}").format(title=following) + "]")  # fmt: skip
        with cols[3]:
            st.html(_CLOCK % talk.started, unsafe_allow_javascript=True)
        with cols[4].popover(_("Notes"), icon=":material/speaker_notes:", width="stretch"):
            st.markdown(step.notes or _("No notes for this step."))
            st.button(_("Leave the presenter view"), key="talk_leave", on_click=_leave, icon=":material/logout:")
            st.button(_("End the talk"), key="talk_end", on_click=_end, icon=":material/stop_circle:")
        if step.lines and current_page != Path(TALK_PAGE).stem:
            st.markdown(step.lines)
    scroll = st.session_state.pop(SCROLL, None)
    if scroll:
        scroll_into_view(scroll)
    problem = st.session_state.pop("talk_problem", None)
    if problem:
        st.error(problem, icon=":material/error:")
    with st.sidebar:
        st.subheader(_("Speaker notes"))
        st.markdown(step.notes or _("No notes for this step."))
        st.caption(_("Next: {title}").format(title=following))
