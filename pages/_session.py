"""Who is asking: the id of the browser session, for the rate limits and quotas in ``core``."""

from __future__ import annotations

from streamlit.runtime.scriptrunner import get_script_run_ctx


def session_id() -> str:
    """This browser session's id (stable across reruns; a reload is a new session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"
