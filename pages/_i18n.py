"""The language of this browser session, and the switch shown on every page.

The language comes, in this order, from the link (``?lang=pt-BR``), the session's choice,
or the browser's language; it is kept in the session and in the address bar, so a reload or
a shared link (or the Wall's QR code) keeps it. ``core.base.i18n`` does the translating; this
module only ties it to Streamlit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import streamlit as st

from core.base.i18n import LANGUAGES, _, normalize, number, percent, set_language

if TYPE_CHECKING:  # pandas takes 0.3 s to import: not before a page shows a table
    import pandas as pd
    from pandas.io.formats.style import Styler

KEY = "lang"


def _url_code(lang: str) -> str:
    return lang.replace("_", "-")  # pt_BR -> pt-BR, as people write it in links


def with_language(url: str) -> str:
    """``url`` opening in this session's language (the Wall's QR code: the talk's language)."""
    lang = st.session_state.get(KEY, "en")
    if lang == "en" or f"{KEY}=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}{KEY}={_url_code(lang)}"


def init_language() -> str:
    """Decides this run's language (link, session, browser) and tells the core; call first."""
    linked = normalize(st.query_params.get("lang"))
    if KEY not in st.session_state:
        browser = normalize(getattr(st.context, "locale", None))
        st.session_state[KEY] = linked or browser or "en"
    elif linked and linked != st.session_state[KEY] and st.session_state.get(f"{KEY}_linked") != linked:
        st.session_state[KEY] = linked  # a new link opened in this session
    st.session_state[f"{KEY}_linked"] = linked
    set_language(st.session_state[KEY])
    return st.session_state[KEY]


def sync_language() -> None:
    """Tells the core this session's language (a fragment's rerun starts without it)."""
    set_language(st.session_state.get(KEY, "en"))


def localized(fn):
    """For ``st.fragment`` functions: their reruns run on their own, in this session's language,
    and an unexpected error in them is logged with an id, never shown (``pages._errors``)."""
    from pages._errors import guarded

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        sync_language()
        with guarded():
            return fn(*args, **kwargs)

    return wrapper


def localized_numbers(frame: pd.DataFrame, percents: Iterable[str] = (), decimals: dict | None = None) -> Styler:
    """``frame`` for ``st.dataframe`` with its numbers written in the session's language.

    Only what is shown changes ("99,14%", "1.234"): sorting a column still uses the numbers.
    A column config's own ``format`` would use the browser's language instead, which is not
    the one chosen here when an English browser switches to Portuguese.

    Args:
        percents: columns of fractions, shown as percentages with one decimal.
        decimals: other numeric columns and their decimals (None: as many as the value has).
    """

    import pandas as pd

    def show(fmt):
        return lambda v: "" if v is None or pd.isna(v) else fmt(v)

    formats = {c: show(percent) for c in percents if c in frame.columns}
    formats |= {c: show(functools.partial(number, digits=d)) for c, d in (decimals or {}).items() if c in frame.columns}
    return frame.style.format(formats)


def _follow_link() -> None:
    st.query_params[KEY] = _url_code(st.session_state[KEY])
    st.session_state[f"{KEY}_linked"] = st.session_state[KEY]


def language_switch() -> None:
    """English / Português, in the sidebar of every page."""
    st.sidebar.segmented_control(
        _("Language"), list(LANGUAGES), format_func=LANGUAGES.get, key=KEY, required=True, on_change=_follow_link
    )
