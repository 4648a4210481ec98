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
    """Marks the page run by the router (``with routed(): page.run()``)."""
    _ROUTED.on = True
    try:
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
