"""Who is asking: this browser session's id and role (presenter or audience), and the key box."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import InputError
from core.i18n import _
from core.roles import ACCESS, KEY_ENV, Actor


def session_id() -> str:
    """This browser session's id (stable across reruns; a reload is a new session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def actor() -> Actor:
    """This session as the core functions see it (checked there, not only here)."""
    return ACCESS.actor(session_id())


def is_presenter() -> bool:
    return actor().presenter


def configure_access() -> None:
    """Decides, once per server, whether a key is needed; takes ``?key=...`` from the link.

    The key is removed from the address bar at once, so a projected URL does not show it.
    """
    ACCESS.configure(st.get_option("server.address"))
    key = st.query_params.get("key")
    if key is not None:
        del st.query_params["key"]
        try:
            granted = ACCESS.grant(session_id(), key)
        except InputError as exc:
            st.toast(str(exc), icon=":material/error:")
        else:
            st.toast(_("Presenter view unlocked.") if granted else _("That presenter key is wrong."),
                     icon=":material/key:" if granted else ":material/error:")  # fmt: skip


def presenter_box() -> None:
    """The sidebar box to unlock (or leave) the presenter view."""
    if ACCESS.open_access():
        return
    with st.sidebar.expander(_("Presenter"), icon=":material/key:", expanded=False):
        if is_presenter():
            st.caption(_("You are the presenter: you can train, stop, delete, import and moderate."))
            if st.button(_("Leave the presenter view"), key="presenter_leave"):
                ACCESS.revoke(session_id())
                st.rerun()
            return
        where = (_("set by the server's `{env}`").format(env=KEY_ENV) if not ACCESS.generated
                 else _("printed in the server log"))  # fmt: skip
        st.caption(_("The presenter key is {where}. Everyone else can look, predict and join.").format(where=where))
        with st.form("presenter_form", border=False):
            key = st.text_input(_("Presenter key"), type="password", key="presenter_key")
            if st.form_submit_button(_("Unlock")):
                try:
                    ok = ACCESS.grant(session_id(), key)
                except InputError as exc:
                    st.error(str(exc))
                    return
                if ok:
                    st.rerun()
                st.error(_("That key is wrong."))
