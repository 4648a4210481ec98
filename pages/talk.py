"""Talk: choose a deck and give it. Each step opens a page of the app as the step says; the phones follow.

Without a talk on: the decks (shipped, and the data folder's ``decks/``), with their steps, and the
refused files with their reason. With one on: a step without a page of its own (a slide, or a view
whose data this machine lacks) is shown here, large; the bar above (``pages/_talk_bar.py``) moves on.
"""

from __future__ import annotations

import streamlit as st

from core.base.errors import InputError
from core.base.i18n import LANGUAGES, _, language, ngettext
from core.talk.deck import Deck
from core.talk.library import library, save_deck, user_folder
from core.talk.live import live_talk, start_talk, talk_deck
from core.talk.needs import missing
from core.talk.views import VIEWS
from pages._router import ensure_router
from pages._session import actor, is_presenter
from pages._talk_bar import APPLIED, PRESENTING, presenting
from pages._widgets import file_upload

ensure_router()
S = st.session_state


def _start(deck: Deck) -> None:
    try:
        start_talk(deck, actor())
    except InputError as exc:
        S["talk_problem"] = str(exc)
        return
    S[PRESENTING] = True
    S.pop(APPLIED, None)


def _present() -> None:
    S[PRESENTING] = True
    S.pop(APPLIED, None)


def deck_card(deck: Deck) -> None:
    with st.container(border=True):
        top, button = st.columns([4, 1.4], vertical_alignment="center")
        n = len(deck.steps)
        top.markdown(f"**{deck.title}**  \n" + ngettext("{n} step", "{n} steps", n).format(n=n)
                     + f" · {LANGUAGES.get(deck.language, deck.language)}"
                     + (f" · {deck.description}" if deck.description else ""))  # fmt: skip
        button.button(_("Start"), key=f"talk_start_{deck.id}", type="primary", icon=":material/play_arrow:",
                      on_click=_start, args=(deck,), disabled=not is_presenter())  # fmt: skip
        with st.expander(_("Steps")):
            for i, step in enumerate(deck.steps, start=1):
                problem = missing(step.view)
                st.markdown(f"{i}. **{step.title}** · {_(VIEWS[step.view.kind][0])}"
                            + (f"  \n:orange[{problem}]" if problem else ""))  # fmt: skip


def add_deck() -> None:
    """An uploaded deck is checked (a bad one is refused with its line) and saved in the data folder."""
    upload = file_upload(_("Add a deck (a Markdown file)"), type=["md"], key="talk_upload",
                         max_upload_size=1)  # fmt: skip
    if upload is None or S.get("talk_uploaded") == upload.file_id:
        return
    try:
        deck = save_deck(upload.getvalue(), upload.name, actor())
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    S.talk_uploaded = upload.file_id
    S.talk_added = deck.title
    st.rerun()  # the list above shows it


def chooser() -> None:
    st.title(_("Talk"))
    st.markdown(_("A deck is a talk's steps: each shows a few lines and a page of this app in the state the step "
                  "says. Start one: the bar above each page moves through it (arrows, Page Up / Page Down or a "
                  "presentation clicker), and everyone on **Follow** sees the same step on their phone."))  # fmt: skip
    added = S.pop("talk_added", None)
    if added:
        st.success(_("Added: {title}").format(title=added), icon=":material/check:")
    found = library()
    for deck in found.choose(language()):
        deck_card(deck)
    st.caption(_("Your own decks: Markdown files in `{folder}` (the README shows the format).").format(
        folder=user_folder()))  # fmt: skip
    if is_presenter():
        add_deck()
    for name, problem in found.refused:
        st.error(_("{name} was not loaded: {problem}").format(name=name, problem=problem), icon=":material/error:")


def slide() -> None:
    """The current step as a slide: its title, its lines, and why its view cannot show here if it cannot."""
    talk, deck = presenting()
    step = deck.steps[talk.step]
    st.title(step.title)
    if step.lines:
        st.markdown(step.lines)
    problem = missing(step.view)
    if problem:
        st.info(problem, icon=":material/info:")


talk = live_talk()
problem = S.pop("talk_problem", None)
if problem:
    st.error(problem, icon=":material/error:")
if talk is not None and presenting() is not None:
    slide()
elif talk is not None:
    deck = talk_deck(talk, language())
    title = deck.title if deck else talk.deck
    st.title(_("Talk"))
    st.info(_("**{title}** is on, at step {i} of {n}.").format(title=title, i=talk.step + 1, n=talk.steps),
            icon=":material/co_present:")  # fmt: skip
    if is_presenter():
        st.button(_("Present it here"), type="primary", icon=":material/co_present:", on_click=_present)
    st.divider()
    chooser()
else:
    chooser()
