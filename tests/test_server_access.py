"""A real server (``streamlit run``) and real connections: who presents through a proxy or
another Host, and the upload caps per session, address and server (issue 22)."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid

import pytest
from browser import AppServer

from bench.streamlit_client import XSRF_COOKIE, StreamlitClient, http_request, multipart


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """No presenter key, listening on 127.0.0.1 only (the default setup of a laptop); uploads
    capped at 2 MB a session, 3 MB an address and 5 MB in all, to test with small files."""
    root = tmp_path_factory.mktemp("server")
    saved = {k: os.environ.get(k) for k in ("CNNLAB_PRESENTER_KEY", "CNNLAB_UPLOAD_MB_PER_SESSION",
                                            "CNNLAB_UPLOAD_MB_PER_ADDRESS", "CNNLAB_UPLOAD_MB_TOTAL")}  # fmt: skip
    os.environ.pop("CNNLAB_PRESENTER_KEY", None)
    os.environ.update(CNNLAB_UPLOAD_MB_PER_SESSION="2", CNNLAB_UPLOAD_MB_PER_ADDRESS="3", CNNLAB_UPLOAD_MB_TOTAL="5")
    app = AppServer(root / "data", root / "runs", root / "streamlit.log")
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()


TRAIN_TITLE = "Train a model"
NO_KEY_NOTE = "This server has no presenter key: only the computer it runs on can present."


async def _page_texts(
    url: str, headers: dict | None = None, local_addr: str | None = None, page: str = ""
) -> list[str]:
    client = StreamlitClient(url, page, local_addr=local_addr, headers=headers)
    await client.connect()
    try:
        result = await client.rerun(timeout=120)
        assert not result.exceptions, result.exceptions
        return [getattr(e.proto, "body", "") for e in result.elements]
    finally:
        await client.close()


def test_this_computers_own_browser_presents_without_a_key(server):
    texts = asyncio.run(_page_texts(server.url))
    assert texts and not any(NO_KEY_NOTE in t for t in texts)  # the presenter needs no box
    assert TRAIN_TITLE in asyncio.run(_page_texts(server.url, page="train"))  # the presenter's Train page


@pytest.mark.parametrize(
    "headers, local_addr",
    [
        ({"X-Forwarded-For": "203.0.113.9"}, None),  # a reverse proxy or a tunnel agent on this machine
        ({"Forwarded": "for=203.0.113.9"}, None),
        (None, "127.0.0.77"),  # another address than this computer's own loopback one
    ],
)
def test_a_proxied_or_foreign_connection_is_audience(server, headers, local_addr):
    texts = asyncio.run(_page_texts(server.url, headers, local_addr))
    assert any(NO_KEY_NOTE in t for t in texts), texts
    assert TRAIN_TITLE not in asyncio.run(_page_texts(server.url, headers, local_addr, page="train"))


async def _handshake_status(url: str, host: str) -> int:
    """The status of a websocket handshake that names ``host`` (101: accepted)."""
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "streamlit"}  # fmt: skip
    parts = url.removeprefix("http://")
    reader, writer = await asyncio.open_connection(*parts.split(":"))
    try:
        head = "\r\n".join(
            ["GET /_stcore/stream HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in headers.items()]
        )
        writer.write((head + "\r\n\r\n").encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 30)
        return int(line.split()[1])
    finally:
        writer.close()


def test_a_localhost_server_refuses_a_websocket_that_names_another_host(server):
    asyncio.run(_page_texts(server.url))  # the first run sets server.allowedHosts (pages/_server.py)
    port = server.url.rsplit(":", 1)[1]
    assert asyncio.run(_handshake_status(server.url, f"127.0.0.1:{port}")) == 101
    assert asyncio.run(_handshake_status(server.url, f"localhost:{port}")) == 101
    assert asyncio.run(_handshake_status(server.url, "rebound.example.org")) != 101  # DNS rebinding, a tunnel


def test_uploads_held_are_capped_per_session_per_address_and_in_all(server):
    async def scenario():
        clients = []
        try:
            out = []
            for addr, sizes in (("127.0.0.60", [0.9, 0.9, 0.9]), ("127.0.0.60", [0.9, 0.9]),
                                ("127.0.0.61", [0.9, 0.9]), ("127.0.0.62", [0.9, 0.9])):  # fmt: skip
                client = StreamlitClient(server.url, "", local_addr=addr)
                await client.connect()
                await client.rerun(timeout=120)
                clients.append(client)  # kept open: its files stay held
                statuses = []
                for size in sizes:
                    body, ctype = multipart(os.urandom(int(size * 1024**2)), "f.png", "image/png")
                    headers = {"Content-Type": ctype, "Cookie": f"{XSRF_COOKIE}={client.xsrf}",
                               "X-Xsrftoken": client.xsrf}  # fmt: skip
                    status, _h, _b = await http_request(
                        "PUT", f"{server.url}/_stcore/upload_file/{client.session_id}/{uuid.uuid4()}", headers, body,
                        local_addr=addr,
                    )  # fmt: skip
                    statuses.append(status)
                out.append(statuses)
            return out
        finally:
            for client in clients:
                await client.close()

    a1, a2, b, c = asyncio.run(scenario())
    assert a1 == [204, 204, 413]  # one session: 2 MB
    assert a2 == [204, 413]  # a new session, same address: 3 MB for the address (1.8 held + 0.9, then no more)
    assert b == [204, 204]  # a neighbour is not slowed: 2 x 0.9 for its own address; the server holds 4.5 MB
    assert c == [413, 413]  # the server holds at most 5 MB in all
