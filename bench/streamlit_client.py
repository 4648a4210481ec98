"""A minimal Streamlit client speaking the app's own websocket protocol (for load benchmarks).

It uses the protobuf messages of the installed ``streamlit`` package: a browser tab is a
websocket to ``/_stcore/stream`` that sends ``BackMsg.rerun_script`` with the widget states
and receives ``ForwardMsg`` deltas until ``script_finished``. Browsers on the same two cores
would eat the CPU being measured; this costs almost nothing.

What a browser does and this client does too:

- A widget drawn inside an ``st.fragment`` reruns only that fragment: the rerun carries the
  ``fragment_id`` of the widget's delta (``ForwardMsg.delta.fragment_id``) and
  ``is_auto_rerun = False``; only a ``run_every`` refresh is an auto rerun (``auto=True``).
  :meth:`StreamlitClient.fragment_of` gives a widget's fragment ("" outside any: a full rerun).
- A fragment rerun replaces only its part of the page, so :meth:`StreamlitClient.find` looks at
  what one rerun sent, and :meth:`StreamlitClient.find_on_page` at the whole page as it stands.
- Widget states of widgets no longer on the page are dropped after a run, as the browser does.
- ``local_addr`` connects from a given source address (any of 127.0.0.0/8 on Linux), so a
  server that limits per client address sees each simulated phone as its own.
- The XSRF cookie comes from the server (``/_stcore/health`` sets ``_streamlit_xsrf``); an HTTP
  request that changes something (an upload) sends it back as the cookie and as ``X-Xsrftoken``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"


@dataclass
class Element:
    """One element a run sent: its type ("markdown", "button"...), proto, fragment and place."""

    type: str
    proto: Any
    fragment_id: str = ""
    path: tuple[int, ...] = ()


@dataclass
class RunResult:
    seconds: float
    elements: list[Element]  # every element this run sent (a fragment run: only the fragment's)
    exceptions: list[str] = field(default_factory=list)
    fragment_id: str = ""  # the fragment this run reran ("" for the whole page)
    status: int | None = None  # ForwardMsg.ScriptFinishedStatus of the run's end


class StreamlitClient:
    """One browser tab: a websocket session that reruns pages and fragments."""

    def __init__(self, url: str, page: str, local_addr: str | None = None, headers: dict[str, str] | None = None):
        self.http_url = url.rstrip("/")
        self.headers = dict(headers or {})  # sent with the websocket's opening request (a proxy's, a Host)
        self.url = self.http_url.replace("http://", "ws://") + "/_stcore/stream"
        self.page = page
        self.local_addr = local_addr
        self.local_address: str | None = None  # the source address the server sees, once connected
        self.session_id: str | None = None  # from the first new_session message
        self.xsrf: str | None = None  # the _streamlit_xsrf cookie's value
        self.widgets: dict[str, WidgetState] = {}
        self.page_elements: dict[tuple[int, ...], Element] = {}  # the page as it stands, by delta path
        self._fragments: dict[str, str] = {}  # widget id -> fragment id of its delta
        self.ws = None
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (seconds)
        self.page_script_hash = ""  # the page shown, from the navigation message (sent back, as the browser does)
        self._queue: asyncio.Queue = asyncio.Queue()
        self._reader = None

    async def connect(self, timeout: float = 60) -> None:
        """Opens the websocket (first fetching the XSRF cookie, as the page load does)."""
        status, headers, _body = await http_request("GET", self.http_url + "/_stcore/health",
                                                    local_addr=self.local_addr, timeout=timeout)  # fmt: skip
        self.xsrf = cookie_value(headers, XSRF_COOKIE) or self.xsrf
        extra = ({"Cookie": f"{XSRF_COOKIE}={self.xsrf}"} if self.xsrf else {}) | self.headers
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=64 * 1024 * 1024,
                                           open_timeout=timeout, ping_interval=None, proxy=None,
                                           additional_headers=extra,
                                           local_addr=(self.local_addr, 0) if self.local_addr else None)  # fmt: skip
        self.local_address = self.ws.local_address[0] if self.ws.local_address else None
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                kind = msg.WhichOneof("type")
                if kind == "auto_rerun":
                    self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
                elif kind == "stop_auto_rerun":
                    self.auto_reruns.pop(msg.stop_auto_rerun.fragment_id, None)
                elif kind == "new_session":
                    if msg.new_session.initialize.session_id:
                        self.session_id = msg.new_session.initialize.session_id
                    if not msg.metadata.run.fragment_ids:  # a page run: the browser drops every run_every timer,
                        self.auto_reruns.clear()  # and the run announces its fragments' (their ids may change)
                elif kind == "navigation" and msg.navigation.page_script_hash:
                    self.page_script_hash = msg.navigation.page_script_hash
                await self._queue.put(msg)
        finally:
            await self._queue.put(None)  # the connection ended: a waiting rerun fails at once

    @property
    def closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    # ----- widget states -------------------------------------------------------------------

    def set_json(self, widget_id: str, value: dict) -> None:
        self.widgets[widget_id] = WidgetState(id=widget_id, json_value=json.dumps(value))

    def set_strings(self, widget_id: str, values: list[str]) -> None:
        """A pills / segmented control choice (its options' ``content`` strings)."""
        state = WidgetState(id=widget_id)
        state.string_array_value.data.extend(values)
        self.widgets[widget_id] = state

    def fragment_of(self, widget_id: str) -> str:
        """The fragment a widget was drawn in ("" outside any fragment: its rerun is the page's)."""
        return self._fragments.get(widget_id, "")

    # ----- runs ----------------------------------------------------------------------------

    async def send_back(self, back: BackMsg) -> None:
        await self.ws.send(back.SerializeToString())

    async def rerun(self, triggers: tuple[str, ...] = (), fragment_id: str = "", auto: bool = False,
                    timeout: float = 120) -> RunResult:  # fmt: skip
        """Sends one rerun (with one-shot button triggers) and collects its deltas until it ends.

        ``fragment_id``: rerun only that fragment (a widget inside it changed, or with
        ``auto=True`` its ``run_every`` timer fired). A run that ends early for another
        (``st.rerun()``) is followed to the end of the run that replaced it.
        """
        back = BackMsg()
        cs = back.rerun_script
        cs.page_name = self.page
        # The page's hash too: a fragment's st.rerun() reruns the page of the request's hash (only the name: Home).
        cs.page_script_hash = self.page_script_hash
        cs.query_string = ""
        cs.widget_states.widgets.extend(s for k, s in self.widgets.items() if k not in triggers)
        cs.widget_states.widgets.extend(WidgetState(id=t, trigger_value=True) for t in triggers)
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = auto
        while not self._queue.empty():
            self._queue.get_nowait()
        t0 = time.perf_counter()
        await self.send_back(back)
        result = RunResult(0.0, [], fragment_id=fragment_id)
        touched: set[tuple[int, ...]] = set()
        run_fragments: set[str] = {fragment_id} if fragment_id else set()
        deadline = t0 + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no end of the run in {timeout:.0f} s")
            msg = await asyncio.wait_for(self._queue.get(), timeout=left)
            if msg is None:
                raise ConnectionError("the server closed the connection")
            kind = msg.WhichOneof("type")
            if kind == "new_session":  # a run starts (a fragment run too): what came before is stale
                result.elements, result.exceptions, touched = [], [], set()
                run_fragments = set(msg.metadata.run.fragment_ids)
            elif kind == "delta":
                path = tuple(msg.metadata.delta_path)
                touched.add(path)
                if msg.delta.WhichOneof("type") == "add_block":  # a block where an element was: that one is gone
                    self.page_elements.pop(path, None)
                if msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    etype = element.WhichOneof("type")
                    item = Element(etype, getattr(element, etype), msg.delta.fragment_id, path)
                    result.elements.append(item)
                    self.page_elements[path] = item
                    widget_id = getattr(item.proto, "id", "")
                    if isinstance(widget_id, str) and widget_id:
                        self._fragments[widget_id] = msg.delta.fragment_id
                    if etype == "exception":
                        result.exceptions.append(element.exception.message)
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # st.rerun(): the next run's messages follow
                result.seconds = time.perf_counter() - t0
                result.status = msg.script_finished
                self._settle(touched, run_fragments)
                return result

    def _settle(self, touched: set[tuple[int, ...]], run_fragments: set[str]) -> None:
        """After a run: drop what it no longer drew (a fragment run: only inside its fragments)."""
        for path, item in list(self.page_elements.items()):
            if path not in touched and (not run_fragments or item.fragment_id in run_fragments):
                del self.page_elements[path]
        alive = {getattr(e.proto, "id", "") for e in self.page_elements.values()}
        for widget_id in [w for w in self.widgets if w not in alive]:
            del self.widgets[widget_id]

    @staticmethod
    def find(result: RunResult, etype: str, predicate=lambda e: True):
        """The first element of type ``etype`` (its proto) that this run sent and ``predicate`` accepts."""
        return next((e.proto for e in result.elements if e.type == etype and predicate(e.proto)), None)

    def find_on_page(self, etype: str, predicate=lambda e: True):
        """Like :meth:`find`, on the whole page as it stands after the runs so far."""
        items = sorted(self.page_elements.items())
        return next((e.proto for _path, e in items if e.type == etype and predicate(e.proto)), None)


# ----- plain HTTP from a chosen source address (the XSRF cookie, uploads) -------------------------


def cookie_value(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


async def http_request(method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b"",
                       local_addr: str | None = None, timeout: float = 60) -> tuple[int, list[tuple[str, str]], bytes]:  # fmt: skip
    """One HTTP/1.1 request on its own connection: (status, headers, body).

    Raises:
        OSError: the connection failed or the server closed it before answering.
    """
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 80, local_addr=(local_addr, 0) if local_addr else None),
        timeout,
    )
    try:
        lines = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
                 f"Host: {parts.netloc}", "Connection: close", f"Content-Length: {len(body)}"]  # fmt: skip
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        writer.write(body)

        async def exchange():
            try:
                await writer.drain()
            except ConnectionError:
                pass  # the server may answer (413, 403) and close before reading the whole body
            raw = await reader.read()
            head, _sep, rest = raw.partition(b"\r\n\r\n")
            if not head:
                raise ConnectionResetError("no answer")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            pairs = [tuple(s.strip() for s in h.split(":", 1)) for h in header_lines if ":" in h]
            return int(status_line.split()[1]), pairs, rest

        return await asyncio.wait_for(exchange(), timeout)
    finally:
        writer.close()


def multipart(data: bytes, filename: str, content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """A multipart/form-data body holding one file, and its Content-Type header."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()  # fmt: skip
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
