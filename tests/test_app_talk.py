"""AppTest of talk mode: the shipped decks play from the first step to the last in both languages,
with and without the data; the presenter's bar moves the talk; Follow shows the step read-only."""

from __future__ import annotations

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "streamlit_app.py")


def app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [e.value for e in at.error] + [t.value for t in at.title] + [h.value for h in at.header]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("deck", ["xray-orientation", "three-apis"])
def test_a_shipped_deck_plays_to_its_end_without_data(deck):
    at = app()
    at.switch_page("pages/talk.py").run()
    at.button(key=f"talk_start_{deck}").click().run()
    assert not at.exception, at.exception
    seen = 0
    while True:
        print(seen, texts(at)[:300].replace("\n", " | "))
        assert not at.exception, (seen, at.exception)
        seen += 1
        nxt = at.button(key="talk_next")
        if nxt.disabled:
            break
        nxt.click().run()
    assert seen >= 10
