"""The router's helpers: the favicon, and making sure every page runs under st.navigation."""

from __future__ import annotations

import contextlib
import threading

import numpy as np
import streamlit as st
from PIL import Image


def app_icon() -> Image.Image:
    """A 32x32 favicon: a 3x3 kernel grid in the theme's blue."""
    icon = np.full((32, 32, 3), 255, np.uint8)
    for i in range(3):
        for j in range(3):
            shade = (31, 95, 214) if (i + j) % 2 == 0 else (140, 175, 235)
            icon[2 + i * 10 : 10 + i * 10, 2 + j * 10 : 10 + j * 10] = shade
    return Image.fromarray(icon)


_ROUTED = threading.local()  # set while streamlit_app.py runs a page (same thread, same run)


@contextlib.contextmanager
def routed():
    """Marks the page run by the router (``with routed(): page.run()``); an unexpected error in the page is
    logged with an id and only the id is shown (``pages._errors``)."""
    from pages._errors import guarded

    _ROUTED.on = True
    try:
        with guarded():
            yield
    finally:
        _ROUTED.on = False


def ensure_router() -> None:
    """Makes sure a page runs under ``streamlit_app.py``'s ``st.navigation``; call it first.

    Why: with a ``pages/`` folder, a fresh Streamlit server starts in its legacy multipage
    mode, so the first visitor opening a page URL (``/learn``) would get that file run on
    its own: no router, no sidebar, every ``pages/*.py`` listed as a page. Turning the
    legacy flag off and rerunning sends the run through the router instead.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not getattr(_ROUTED, "on", False) and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_STATE = {"warm": False, "pumped": 0.0}
_STATE_LOCK = threading.Lock()
PUMP_EVERY_SECONDS = 5.0


def warm_up() -> None:
    """Once per server, in a background thread: TensorFlow, the shipped model, one prediction, ``gc.freeze()``.

    Call it once the page has run (the router does, after ``page.run()``): the first page does not
    wait for TensorFlow (about 2.5 s to import on the 2-core reference machine, more when loaded),
    and the first prediction finds the model loaded and its graphs traced (``bench/startup.py``).
    A page that needs the model meanwhile waits for this load (Streamlit's per-key cache lock)
    instead of loading it twice.

    Why the freeze: TensorFlow and Keras make millions of long-lived objects, and every full garbage
    collection (Streamlit's after each script run, and Keras's ``clear_session`` that Streamlit
    calls before each) walked all of them: about 0.3 s of CPU per page run, with every other
    visitor waiting (30 phones on Join: p50 submit-to-prediction 13.5 s without the freeze,
    0.08 s with it; bench/room_load.py). ``gc.freeze`` moves the objects alive now into a
    permanent generation that collections skip. It keeps alive only what forms reference cycles
    among those objects: TensorFlow's are module-level and live as long as the server anyway; the
    first visitors' page-run objects alive at that moment are frozen too, once, a bounded amount
    (objects freed by reference counting are still freed).
    """
    with _STATE_LOCK:
        if _STATE["warm"]:
            return
        _STATE["warm"] = True
    threading.Thread(target=_warm, name="cnnlab-warm-up", daemon=True).start()


def _warm() -> None:
    import gc

    try:
        # First what most pages import: a page that needs them then finds them imported, instead
        # of importing them itself while TensorFlow's import holds the interpreter (2-4 s for
        # pandas on a busy laptop, measured). The order is the point: no sorting.
        # isort: off
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        import streamlit.emojis  # noqa: F401  (a regex compiled once, 0.3-0.8 s)
        import keras  # noqa: F401  (the import is the point)
        # isort: on

        from core.serving.default_model import default_run
        from pages._runs import load_served

        shipped = default_run()
        if shipped is not None:
            _predict_once(load_served(str(shipped.path)))
    except Exception:  # a broken install must not stop the app: Predict says why
        pass
    gc.collect()
    gc.freeze()


def _predict_once(served) -> None:
    """What Predict does on its first image, on a made-up one: traces the model's graphs, imports plotly."""
    import plotly.io

    from core.plots.results import probability_bars
    from core.serving import explain

    size, channels = served.spec.image_size, 1 if served.spec.color_mode == "grayscale" else 3
    x = np.zeros((1, size, size, channels), np.float32)
    x[0, size // 4 : 3 * size // 4, size // 2 - max(1, size // 14) : size // 2 + max(1, size // 14)] = 1.0  # a "1"
    probs, _verdicts = served.examine(x)
    convs = explain.conv_layers(served.model)
    if convs:
        with served.lock:
            explain.gradcam(served.model, x[0], convs[-1], 0)
            explain.feature_maps(served.model, x[0], convs[:1])
    plotly.io.to_json(probability_bars(dict(zip(served.spec.class_names, probs[0]))), validate=False)


def keep_jobs_moving() -> None:
    """Gives vanished training processes their final status and starts queued jobs.

    At most every few seconds for the whole server (each call lists every run), not on
    every page run of every visitor; training processes start the next job themselves.
    """
    import time

    from core.runs.jobs import JobManager

    with _STATE_LOCK:
        if time.monotonic() - _STATE["pumped"] < PUMP_EVERY_SECONDS:
            return
        _STATE["pumped"] = time.monotonic()
    JobManager().pump()


def switch_page(page: str) -> None:
    """``st.switch_page`` keeping the language and projector mode.

    Why: a page switched to from the server gets none of the browser's widget values, so the
    sidebar's language and projector switches would fall back to their defaults (the talk's
    Portuguese became English at its first step on another page). The address keeps them instead,
    as a shared link does (``pages/_i18n.py``, ``pages/_projector.py`` read it when the session lost them).
    """
    state = st.session_state
    params = {"lang": state.get("lang", "en").replace("_", "-")}
    if state.get("projector"):
        params["projector"] = "1"
    st.switch_page(page, query_params=params)
