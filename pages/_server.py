"""What the web server does differently for a room of 100 phones: installed once per process.

- Streamlit calls ``keras.backend.clear_session()`` after every script run of every session as
  soon as Keras is imported (``script_runner._clean_problem_modules``). In this server the
  models are shared by every session and loaded once, so that call only costs: a full garbage
  collection and TensorFlow's kernel cache thrown away, on every rerun of every phone (30% of the
  server's time with 30 phones on Join, issue 22), and it resets Keras's global state while
  another session's thread may be predicting. We keep Streamlit's matplotlib clean-up.
- Uploads are held in memory by Streamlit until a page lets go of them, and any session can
  ``PUT`` files: :class:`core.access.limits.UploadQuota` caps what one session, one address and the
  whole server hold (the check happens where the file is stored, not in a page).
- ``server.allowedHosts`` follows :func:`core.room.network.allowed_hosts` unless the speaker set it.
"""

from __future__ import annotations

import sys
import threading

from core.access.limits import UploadQuota
from core.base.errors import InputError

_INSTALLED: set[str] = set()
_LOCK = threading.Lock()


def install() -> None:
    """Installs both hooks (idempotent; the router calls it on every run, it costs a set lookup)."""
    if len(_INSTALLED) == 3:
        return
    with _LOCK:
        if "hosts" not in _INSTALLED:
            _allow_hosts()
            _INSTALLED.add("hosts")
        if "cleanup" not in _INSTALLED:
            _keep_keras_state()
            _INSTALLED.add("cleanup")
        if "uploads" not in _INSTALLED and _cap_uploads():
            _INSTALLED.add("uploads")


def _allow_hosts() -> None:
    from streamlit import config

    from core.room.network import allowed_hosts

    if config.get_option("server.allowedHosts"):
        return  # the speaker's own list (config.toml, a flag or STREAMLIT_SERVER_ALLOWED_HOSTS)
    hosts = allowed_hosts(config.get_option("server.address"))
    if hosts:
        config.set_option("server.allowedHosts", hosts, "CNN Lab (core.room.network.allowed_hosts)")


def _clean_matplotlib_only() -> None:
    """Streamlit's post-run clean-up, less its ``keras.backend.clear_session()`` (see the module docstring)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: S110  (as Streamlit's own: a clean-up never breaks a page)
            pass


def _keep_keras_state() -> None:
    from streamlit.runtime.scriptrunner import script_runner

    # A renamed hook in a later Streamlit would silently bring the cost back: tests/test_app_server.py checks it exists.
    script_runner._clean_problem_modules = _clean_matplotlib_only


def address_of(runtime, session_id: str) -> str | None:
    """The client address a session's websocket came from (None when it is gone or unknown, or
    under AppTest, whose runtime is a mock)."""
    client = runtime.get_client(session_id)
    address = getattr(getattr(client, "client_context", None), "remote_ip", None)
    return address if isinstance(address, str) else None


def _cap_uploads() -> bool:
    """Wraps the runtime's upload store so every stored file passes :meth:`UploadQuota.check`."""
    from streamlit import runtime

    if not runtime.exists():
        return False  # an in-process test run: no upload endpoint
    rt = runtime.get_instance()
    manager = rt.uploaded_file_mgr
    if getattr(manager, "_cnnlab_capped", False):
        return True
    original = manager.add_file
    quota = UploadQuota()

    def add_file(session_id: str, file) -> None:
        size = len(file.data)
        address = address_of(rt, session_id)
        session_held = address_held = total_held = 0
        with manager._lock:  # a snapshot; a race can pass a cap by one file at most
            storage = {s: dict(files) for s, files in manager.file_storage.items()}
        for sid, files in storage.items():
            held = sum(len(f.data) for fid, f in files.items() if fid != file.file_id)  # a re-sent id replaces
            total_held += held
            if sid == session_id:
                session_held += held
            elif address is not None and address_of(rt, sid) == address:
                address_held += held
        try:
            quota.check(size, session_held, address_held + session_held, total_held)
        except InputError as exc:
            from starlette.exceptions import HTTPException

            raise HTTPException(status_code=413, detail=str(exc)) from None
        original(session_id, file)

    manager.add_file = add_file
    manager._cnnlab_capped = True
    return True
