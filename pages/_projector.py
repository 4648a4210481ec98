"""Projector mode: the sidebar out of the way and tighter margins, for a 1280x720 screen at 125%."""

from __future__ import annotations

import streamlit as st

from core.base.i18n import _

KEY = "projector"
_APPLY = "projector_apply"  # set when the switch (or ?projector=1) changed: the browser follows once
# Streamlit applies initial_sidebar_state only when it changes, and a browser whose user ever
# clicked the sidebar's arrow keeps that choice (localStorage) over it: click the arrow instead.
_FOLLOW = """<script>
setTimeout(() => {
  const want = %s, bar = document.querySelector('[data-testid="stSidebar"]');
  const open = bar && bar.getBoundingClientRect().width > 0;
  if (want && open) document.querySelector('[data-testid="stSidebarCollapseButton"] button')?.click();
  if (!want && !open) document.querySelector('[data-testid="stExpandSidebarButton"]')?.click();
}, 50);
</script>"""


def _changed() -> None:
    st.session_state[_APPLY] = True
    if st.session_state[KEY]:  # the address says it, so a reload or a shared link keeps it
        st.query_params["projector"] = "1"
    else:
        st.query_params.pop("projector", None)


def projector_mode() -> None:
    """Call right after ``st.set_page_config``: ``?projector=1`` or the sidebar switch collapse the sidebar."""
    if st.query_params.get("projector") == "1" and KEY not in st.session_state:
        st.session_state[KEY] = True
        st.session_state[_APPLY] = True
    on = bool(st.session_state.get(KEY, False))
    st.set_page_config(initial_sidebar_state="collapsed" if on else "auto")


def projector_switch() -> None:
    """The sidebar's "Projector mode" switch; tells the browser to collapse or open the sidebar once."""
    st.sidebar.toggle(_("Projector mode"), key=KEY, on_change=_changed,
                      help=_("Hides this sidebar and puts the pages on top (the arrow at the top left brings "
                             "the sidebar back)."))  # fmt: skip
    if st.session_state.get(_APPLY):
        st.sidebar.html(_FOLLOW % ("true" if st.session_state[KEY] else "false"), unsafe_allow_javascript=True)


def projector_applied() -> None:
    """Call once the page has run: the sidebar's click was sent. Kept until then, since a rerun
    (the router's first one on a fresh server, a page's own) drops what this run had drawn."""
    st.session_state.pop(_APPLY, None)


_SCROLL = """<script>
(() => {
  let tries = 0;
  const go = () => {
    const el = document.querySelector('.st-key-%s');
    if (el) {  // below Streamlit's header, not under it
      el.style.scrollMarginTop = (document.querySelector('[data-testid="stHeader"]')?.offsetHeight || 0) + 'px';
      el.scrollIntoView({block: 'start'});
    }
    else if (tries++ < 50) setTimeout(go, 100);
  };
  setTimeout(go, 100);
})();
</script>"""


def scroll_into_view(key: str) -> None:
    """Once: scrolls the browser to the container made with ``st.container(key=key)`` (Streamlit keeps
    the scroll position across reruns, so what a button just started can be a screen below)."""
    st.html(_SCROLL % key, unsafe_allow_javascript=True)
