"""The web server's own defences (pages/_server.py, pages/_errors.py): no traceback in a browser,
no Keras clean-up after every rerun (issue 22)."""

from __future__ import annotations

import logging

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "streamlit_app.py")
SECRET = "/srv/secret/path/in/a/traceback"


def test_streamlit_still_has_the_hook_we_replace():
    """A later Streamlit that renames it would bring back a clear_session per rerun without a word."""
    from streamlit.runtime.scriptrunner import script_runner

    assert callable(script_runner._clean_problem_modules)


def test_an_unexpected_error_shows_an_id_and_never_the_traceback(monkeypatch, caplog):
    import core.room.active

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"disk on fire at {SECRET}")

    monkeypatch.setattr(core.room.active, "active_room", broken)
    monkeypatch.setenv("CNNLAB_RAISE_ERRORS", "0")  # as in production
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    with caplog.at_level(logging.ERROR, logger="cnnlab"):
        at.switch_page("pages/join.py").run()
    assert not at.exception  # nothing of Streamlit's own exception box
    shown = " ".join(str(e.value) for e in at.error)
    assert "Something went wrong on the server (error `" in shown
    everything = " ".join(str(getattr(e, "value", "")) for e in at.main) + shown
    assert SECRET not in everything and "Traceback" not in everything
    error_id = shown.split("error `", 1)[1].split("`", 1)[0]
    logged = [r.getMessage() for r in caplog.records if error_id in r.getMessage()]
    assert logged and SECRET in logged[0] and "Traceback" in logged[0]  # the presenter finds it by its id


def test_keras_state_survives_a_rerun(monkeypatch):
    """Streamlit's stock clean-up calls keras.backend.clear_session() after each run once Keras is imported."""
    keras = pytest.importorskip("keras")
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.run()
    assert not at.exception
    assert calls == []
