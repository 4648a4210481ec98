"""What a phone sent and what became of it: the :class:`Submission` record, and a room's event log replayed.

Each line of a room's ``.events.jsonl`` is one event (submit, label, hide, approve, clear, ban);
:class:`ParsedEvents` applies them in order to give every submission its label and flags.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field, replace

from core.access.roles import Actor


@dataclass(frozen=True)
class Submission:
    """One thing sent from a phone, and what became of it.

    Frozen: the parsed events are shared by every session (``core.room.folder._CACHE``); nobody can change them.
    """

    id: str
    time: float
    sender: str  # a hash of the web session: the same phone, without keeping its id
    source: str  # "drawing" or "photo"
    predicted: str
    confidence: float
    label: str | None = None  # what the sender said it really was
    hidden: bool = False
    approved: bool = True  # False while waiting for the presenter (approval mode)
    origin: str = ""  # a hash of the network address it came from (of the session without one)
    unfamiliar: bool = False  # the model said "I don't know" (``predicted`` is only its best guess)
    cleared: bool = False  # sent before the presenter last cleared the wall (computed, not stored)

    @property
    def right(self) -> bool | None:
        return None if self.label is None else self.label == self.predicted

    @property
    def visible(self) -> bool:
        """On the wall and in its score: approved, not hidden, not cleared."""
        return self.approved and not self.hidden and not self.cleared


STORED = tuple(f for f in Submission.__dataclass_fields__ if f != "cleared")  # what a submit event keeps


def sender_of(session: str | None) -> str:
    return hashlib.sha256((session or "local").encode()).hexdigest()[:12]


def origin_of(actor: Actor) -> str:
    """A hash of where ``actor`` connects from: its address, or its session when it has none."""
    address = actor.address if isinstance(actor.address, str) else None  # never trust what a page passes in
    return sender_of(address or actor.session)


@dataclass
class ParsedEvents:
    """A room's events file as parsed so far."""

    key: tuple[int, int, int] | None = None  # (st_ino, st_size, st_mtime_ns) when last read
    offset: int = 0  # bytes parsed: the end of the last complete line
    subs: dict[str, Submission] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)
    image_bytes: int = 0  # the submissions' images, as their submit events say
    newest_first: list[Submission] | None = None  # sorted on demand, dropped at each change

    def apply(self, event: dict) -> None:
        kind, sid = event.get("type"), event.get("id")
        subs = self.subs
        if kind == "submit" and isinstance(sid, str) and isinstance(event.get("time"), int | float):
            with contextlib.suppress(TypeError, ValueError):
                sub = Submission(**{k: event[k] for k in STORED if k in event})
                if {sub.sender, sub.origin} & self.banned:
                    sub = replace(sub, hidden=True)
                subs[sid] = sub
                size = event.get("bytes")
                self.image_bytes += size if isinstance(size, int) and size > 0 else 0
        elif kind == "clear":
            for k, sub in subs.items():
                if not sub.cleared:
                    subs[k] = replace(sub, cleared=True)
        elif kind == "ban":
            who = {w for w in (event.get("sender"), event.get("origin")) if isinstance(w, str) and w}
            self.banned |= who
            for k, sub in subs.items():
                if not sub.hidden and {sub.sender, sub.origin} & who:
                    subs[k] = replace(sub, hidden=True)
        elif isinstance(sid, str) and sid in subs:
            sub = subs[sid]
            if kind == "label" and (event.get("label") is None or isinstance(event.get("label"), str)):
                subs[sid] = replace(sub, label=event.get("label"))
            elif kind == "hide":
                subs[sid] = replace(sub, hidden=True)
            elif kind == "approve":
                subs[sid] = replace(sub, approved=True)
            else:
                return
        else:
            return
        self.newest_first = None

    def parse(self, raw: bytes) -> None:
        """Applies the complete lines of ``raw`` (the bytes after ``offset``); a torn last line waits."""
        end = raw.rfind(b"\n") + 1
        for line in raw[:end].splitlines():
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue  # damage: skip it
            if isinstance(event, dict):
                self.apply(event)
        self.offset += end

    def ordered(self) -> list[Submission]:
        if self.newest_first is None:
            self.newest_first = sorted(self.subs.values(), key=lambda s: s.time, reverse=True)
        return self.newest_first
