"""The talk being given: which deck, which step. Only the presenter starts, moves or ends it.

It is one small file in the data folder (``.talk.json``), so every process and every session sees
the same step. Followers' phones ask for it about twice a second each (100 phones: 200 reads a
second): :func:`live_talk` reads the file again only when its size or time changed.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.storage import read_json, write_json_atomic
from core.data.folders import data_dir
from core.talk.deck import Deck, read_deck
from core.talk.library import SHIPPED, library, user_folder

LIVE = ".talk.json"  # in the data folder


@dataclass(frozen=True)
class LiveTalk:
    """A talk in progress: the deck's ``id`` and file, how many steps it has, the current ``step``
    (0-based), when it started and when the step last moved (Unix seconds)."""

    deck: str
    file: str
    language: str
    steps: int
    step: int
    started: float
    moved: float

    @property
    def signature(self) -> tuple:
        """What a follower compares to know the step changed (a restarted deck too)."""
        return (self.deck, self.started, self.step)


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else data_dir()


def _write(talk: LiveTalk, root: Path) -> LiveTalk:
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(root / LIVE, talk.__dict__)
    return talk


def start_talk(deck: Deck, actor: Actor, root: str | Path | None = None, step: int = 0) -> LiveTalk:
    """Starts giving ``deck`` (at ``step``): every follower's phone moves to it."""
    require_presenter(actor, N_("start a talk"))
    now = time.time()
    step = min(max(0, int(step)), len(deck.steps) - 1)
    return _write(LiveTalk(deck.id, deck.source, deck.language, len(deck.steps), step, now, now), _root(root))


def go_to(step: int, actor: Actor, root: str | Path | None = None) -> LiveTalk:
    """Moves the talk to ``step`` (0-based, clamped to the deck).

    Raises:
        InputError: no talk is on.
    """
    require_presenter(actor, N_("move the talk"))
    talk = live_talk(root)
    if talk is None:
        raise InputError(_("No talk is on: start one on the Talk page."))
    step = min(max(0, int(step)), talk.steps - 1)
    if step == talk.step:
        return talk
    return _write(LiveTalk(talk.deck, talk.file, talk.language, talk.steps, step, talk.started, time.time()),
                  _root(root))  # fmt: skip


def end_talk(actor: Actor, root: str | Path | None = None) -> None:
    """Ends the talk: followers see that none is on."""
    require_presenter(actor, N_("end the talk"))
    try:
        (_root(root) / LIVE).unlink()
    except FileNotFoundError:
        pass


_SEEN: dict[str, tuple[tuple, LiveTalk | None]] = {}
_LOCK = threading.Lock()


def live_talk(root: str | Path | None = None) -> LiveTalk | None:
    """The talk in progress, or None; the file is read again only when it changed."""
    path = _root(root) / LIVE
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        return None
    with _LOCK:
        seen = _SEEN.get(str(path))
    if seen and seen[0] == stamp:
        return seen[1]
    talk = _parse(read_json(path, max_bytes=16 * 1024) or {})
    with _LOCK:
        _SEEN[str(path)] = (stamp, talk)
    return talk


def _parse(data: dict) -> LiveTalk | None:
    try:
        talk = LiveTalk(str(data["deck"]), str(data["file"]), str(data["language"]), int(data["steps"]),
                        int(data["step"]), float(data["started"]), float(data["moved"]))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None  # damaged or planted: no talk
    return talk if 0 <= talk.step < talk.steps else None


DECK_TTL_SECONDS = 2.0  # a deck edited during its talk shows within this (phones ask twice a second each)
_DECKS: dict[tuple, tuple[float, Deck | None]] = {}


def talk_deck(talk: LiveTalk, language: str, root: str | Path | None = None) -> Deck | None:
    """The live talk's deck in ``language`` when a translation with the same steps exists, else its own file.

    Remembered for :data:`DECK_TTL_SECONDS`: listing the deck folders for each of 100 phones' polls was a
    fifth of the server's time (``bench/talk_follow.py``).
    """
    key = (talk.deck, talk.file, talk.steps, language, str(_root(root)))
    now = time.monotonic()
    with _LOCK:
        hit = _DECKS.get(key)
    if hit is not None and now - hit[0] < DECK_TTL_SECONDS:
        return hit[1]
    deck = _find_deck(talk, language, root)
    with _LOCK:
        if len(_DECKS) > 64:
            _DECKS.clear()
        _DECKS[key] = (now, deck)
    return deck


def _find_deck(talk: LiveTalk, language: str, root: str | Path | None) -> Deck | None:
    found = library(root).find(talk.deck, language, talk.steps)
    if found is not None:
        return found
    path = Path(talk.file).resolve()
    if path.parent not in (SHIPPED, user_folder(root).resolve()):  # the file names only a deck folder's deck
        return None
    try:
        deck = read_deck(path)
    except InputError:
        return None
    return deck if len(deck.steps) == talk.steps else None
