"""Who is asking: this browser session's id and role (presenter or audience), and the key box."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.access.roles import ACCESS, KEY_ENV, Actor, Connection
from core.base.errors import InputError
from core.base.i18n import _
from pages._server import address_of


def init_state(defaults: Mapping[str, Any], state: MutableMapping[str, Any] | None = None) -> None:
    """Gives every key of ``defaults`` its default in the session state, unless it holds a value already.

    A page calls it once, at its top, with the table of the keys it owns; what a visitor chose
    survives reruns and page switches.

    Args:
        defaults: ``{key: default}``.
        state: where (default: ``st.session_state``; a dict in tests).
    """
    state = st.session_state if state is None else state
    for key, value in defaults.items():
        state.setdefault(key, value)


def session_id() -> str:
    """This browser session's id (stable across reruns; a reload is a new session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def connection() -> Connection:
    """Where this session's websocket came from: the peer address the server saw (uvicorn has
    already replaced it with the forwarded one when the peer is a trusted proxy, see
    ``FORWARDED_ALLOW_IPS``), the ``Host`` it named and the names of its headers.

    No runtime client (an in-process AppTest run): ``Connection(None)``, this computer's user.
    """
    from streamlit import runtime

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return Connection(None)
    headers = st.context.headers
    host = headers.get("host")
    return Connection(
        peer=address_of(runtime.get_instance(), ctx.session_id),
        host=host if isinstance(host, str) else None,
        headers=tuple(sorted({str(k).lower() for k in headers.keys()})),
    )


def actor() -> Actor:
    """This session as the core functions see it (checked there, not only here)."""
    return ACCESS.actor(session_id(), connection())


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
            granted = ACCESS.grant(session_id(), key, actor().address)
        except InputError as exc:
            st.toast(str(exc), icon=":material/error:")
        else:
            st.toast(_("Presenter view unlocked.") if granted else _("That presenter key is wrong."),
                     icon=":material/key:" if granted else ":material/error:")  # fmt: skip


def presenter_box() -> None:
    """The sidebar box to unlock (or leave) the presenter view."""
    if ACCESS.problem:
        st.sidebar.error(ACCESS.problem, icon=":material/key_off:")
        return
    if ACCESS.open_access() and is_presenter():
        return  # this computer's own user, on a server only it can reach
    with st.sidebar.expander(_("Presenter"), icon=":material/key:", expanded=False):
        if ACCESS.open_access():  # no key, and this connection came from elsewhere (a tunnel, a proxy)
            st.caption(_("This server has no presenter key: only the computer it runs on can present. To present "
                         "through a tunnel or a proxy, restart it with `{env}` set.").format(env=KEY_ENV))  # fmt: skip
            return
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
                    ok = ACCESS.grant(session_id(), key, actor().address)
                except InputError as exc:
                    st.error(str(exc))
                    return
                if ok:
                    st.rerun()
                st.error(_("That key is wrong."))
