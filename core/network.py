"""The address people in the room can reach this server at (for the Join QR code)."""

from __future__ import annotations

import os
import socket

from core.i18n import _

PUBLIC_URL_ENV = "CNNLAB_PUBLIC_URL"


def lan_address() -> str | None:
    """This machine's address on its local network, or None when it has none.

    Connecting a UDP socket sends nothing: it only asks the OS which interface would be
    used to reach an outside address (192.0.2.1 is reserved for documentation).
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def join_url(server_address: str | None, port: int, override: str | None = None) -> tuple[str, str | None]:
    """The URL to put on the wall and a warning when phones probably cannot reach it.

    Args:
        server_address: ``server.address`` (None or "" means every interface).
        port: ``server.port``.
        override: a URL the presenter typed, else ``$CNNLAB_PUBLIC_URL``.
    """
    override = override or os.environ.get(PUBLIC_URL_ENV)
    if override:
        return override.rstrip("/") + ("" if override.rstrip("/").endswith("/join") else "/join"), None
    if server_address in ("localhost", "127.0.0.1", "::1"):
        return f"http://localhost:{port}/join", _(
            "This server only listens on this computer, so phones cannot reach it. Start it with "
            "`streamlit run streamlit_app.py --server.address 0.0.0.0` for a talk."
        )
    host = server_address or lan_address()
    if not host:
        return (
            f"http://localhost:{port}/join",
            _("No network address was found: connect this computer to the room's Wi-Fi."),
        )
    return f"http://{host}:{port}/join", None
