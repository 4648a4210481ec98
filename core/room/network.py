"""The address people in the room can reach this server at (for the Join QR code)."""

from __future__ import annotations

import os
import socket

from core.base.i18n import _

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


ALLOWED_HOSTS_ENV = "CNNLAB_ALLOWED_HOSTS"
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"]


def allowed_hosts(server_address: str | None) -> list[str] | None:
    """The ``Host`` names a websocket may name (Streamlit's ``server.allowedHosts``), or None for any.

    A server that listens on localhost only is reached by loopback names, plus a tunnel's or a
    proxy's host the speaker names in ``$CNNLAB_ALLOWED_HOSTS`` (comma-separated, ``*.example.org``
    allowed) or in ``$CNNLAB_PUBLIC_URL``: any other ``Host`` is a DNS-rebinding page or an
    unannounced tunnel, refused. A server on the network is reached by addresses this process
    cannot list for sure (several interfaces, a venue's DNS): any host, unless
    ``$CNNLAB_ALLOWED_HOSTS`` names them. Either way a connection that is not this computer's own
    is audience (``core.access.roles.Connection``).
    """
    from urllib.parse import urlparse

    named = [h.strip() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()]
    public = os.environ.get(PUBLIC_URL_ENV)
    if public and urlparse(public).hostname:
        named.append(urlparse(public).hostname)
    if server_address in LOOPBACK_HOSTS:
        return LOOPBACK_HOSTS + named
    return LOOPBACK_HOSTS + [server_address] + named if named and server_address else (named or None)
