"""Errors a visitor must not see the inside of: logged on the server with an id, the id shown.

A traceback tells a hostile visitor the server's paths, versions and code; the presenter needs
it. So an unexpected exception in a page or a fragment is written to the server's log (stderr)
with a short id, and the page shows that id. ``.streamlit/config.toml`` also sets
``client.showErrorDetails = "none"`` for whatever escapes this (a widget callback).

Tests set ``CNNLAB_RAISE_ERRORS=1`` so that AppTest still sees the exception itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import traceback

import streamlit as st

from core.base.i18n import _

LOG = logging.getLogger("cnnlab")


def report(exc: BaseException) -> str:
    """Logs ``exc`` with its traceback under a new id, shows the id; returns it."""
    error_id = secrets.token_hex(4)
    LOG.error("CNN Lab error %s:\n%s", error_id, "".join(traceback.format_exception(exc)))
    st.error(_("Something went wrong on the server (error `{id}`). Nothing you sent was lost; try again, or give "
               "the speaker this id: the details are in the server's log.").format(id=error_id),
             icon=":material/error:")  # fmt: skip
    return error_id


@contextlib.contextmanager
def guarded():
    """Runs a page (or a fragment) and reports any unexpected exception (not ``st.rerun``/``st.stop``)."""
    try:
        yield
    except Exception as exc:
        if os.environ.get("CNNLAB_RAISE_ERRORS") == "1":
            raise
        report(exc)
