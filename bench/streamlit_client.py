"""A minimal Streamlit client speaking the app's own websocket protocol (for load benchmarks).

It uses the protobuf messages of the installed ``streamlit`` package: a browser tab is a
websocket to ``/_stcore/stream`` that sends ``BackMsg.rerun_script`` with the widget states
and receives ``ForwardMsg`` deltas until ``script_finished``. Browsers on the same two cores
would eat the CPU being measured; this costs almost nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


@dataclass
class RunResult:
    seconds: float
    elements: list  # (element type, element proto) of every new element in this run
    exceptions: list[str] = field(default_factory=list)


class StreamlitClient:
    """One browser tab: a websocket session that reruns pages and fragments."""

    def __init__(self, url: str, page: str):
        self.url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.page = page
        self.widgets: dict[str, WidgetState] = {}
        self.ws = None
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (seconds)
        self._queue: asyncio.Queue = asyncio.Queue()
        self._reader = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=64 * 1024 * 1024,
                                           open_timeout=60, ping_interval=None)  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "auto_rerun":
                self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.auto_reruns.pop(msg.stop_auto_rerun.fragment_id, None)
            await self._queue.put(msg)

    def set_json(self, widget_id: str, value: dict) -> None:
        self.widgets[widget_id] = WidgetState(id=widget_id, json_value=json.dumps(value))

    async def rerun(self, triggers: tuple[str, ...] = (), fragment_id: str = "", timeout: float = 120) -> RunResult:
        """Sends one rerun (with one-shot button triggers) and collects its deltas until it ends."""
        back = BackMsg()
        cs = back.rerun_script
        cs.page_name = self.page
        cs.query_string = ""
        cs.widget_states.widgets.extend(self.widgets.values())
        cs.widget_states.widgets.extend(WidgetState(id=t, trigger_value=True) for t in triggers)
        if fragment_id:
            cs.fragment_id = fragment_id
            cs.is_auto_rerun = True
        while not self._queue.empty():
            self._queue.get_nowait()
        t0 = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        result = RunResult(0.0, [])
        deadline = t0 + timeout
        while True:
            msg = await asyncio.wait_for(self._queue.get(), timeout=max(0.1, deadline - time.perf_counter()))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                etype = element.WhichOneof("type")
                result.elements.append((etype, getattr(element, etype)))
                if etype == "exception":
                    result.exceptions.append(element.exception.message)
            elif kind == "script_finished":
                result.seconds = time.perf_counter() - t0
                return result

    @staticmethod
    def find(result: RunResult, etype: str, predicate=lambda e: True):
        return next((e for t, e in result.elements if t == etype and predicate(e)), None)
