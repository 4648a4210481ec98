"""A room folder: what the audience sends from their phones during a talk, kept as a dataset.

A room is a folder in the data folder (``room-<date>-<name>/``), so everything people
labelled is an image-folder dataset that Evaluate and Train can use::

    room-20261125-1900-meetup/
        .room.json        the room's settings: model shown, classes, approval modes
        .events.jsonl     append-only: submit, label, hide, approve, clear, ban (one JSON object a line)
        .pending/<id>.png a submission not (yet) in the dataset: unlabelled, or waiting for approval
        .hidden/<id>.png  hidden or banned by the presenter (never shown, never in the dataset)
        <label>/<id>.png  labelled by the person who sent it ("it was a 4") and approved

Anyone may submit and label their own submission (rate-limited per session and per network
address); only the presenter opens a room (:mod:`core.room.active`), chooses its model, hides,
bans, approves, clears the wall or switches approval on. A room has a quota (``MAX_ROOM_BYTES``,
``MAX_ROOM_SUBMISSIONS``): past it a submission is refused with a message, never dropped.

Every phone reads the room on each rerun and the wall every 1.5 s, so the events file is
parsed once per process and then only its appended bytes (``_CACHE``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from PIL import Image

from core.access.limits import env_int, take
from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, number
from core.base.storage import locked, read_json, write_json_atomic
from core.data.images import downscale
from core.room.submissions import STORED, ParsedEvents, Submission, origin_of, sender_of

SETTINGS, EVENTS = ".room.json", ".events.jsonl"
PENDING, HIDDEN = ".pending", ".hidden"
KEEP_SIDE = 280  # submissions are kept at most this large (a drawing pad's size)


# The quota of one room (images and events together): a full room refuses new submissions
# with a message; the speaker opens a new room. It also bounds what a reader parses.
MAX_ROOM_BYTES = env_int("CNNLAB_ROOM_MAX_MB", 500) * 1024**2
MAX_ROOM_SUBMISSIONS = env_int("CNNLAB_ROOM_MAX_SUBMISSIONS", 20_000)
MAX_CACHED_ROOMS = 8  # parsed rooms kept in memory (the open one, and a few the presenter looked at)


@dataclass
class RoomSettings:
    title: str
    model: str  # a run id, or "__default__" for the shipped MNIST model
    class_names: list[str]
    approval: bool = False  # every submission waits for the presenter before the wall shows it
    approve_photos: bool = True  # photos wait for the presenter (a camera sees more than digits)
    created: str = field(default_factory=lambda: dt.datetime.now().astimezone().isoformat(timespec="seconds"))


_CACHE: dict[str, ParsedEvents] = {}  # room folder -> its parsed events
_SETTINGS_CACHE: dict[str, tuple[tuple[int, int, int], RoomSettings]] = {}
_CACHE_LOCK = threading.Lock()  # the wall's fragment and every phone's session are threads


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns


def _remember(cache: dict, key: str, value) -> None:
    cache.pop(key, None)  # re-inserted last: the dict's order is least recently used first
    while len(cache) >= MAX_CACHED_ROOMS:
        cache.pop(next(iter(cache)))
    cache[key] = value


class Room:
    """One room folder (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name

    # ----- reading -----------------------------------------------------------------------

    def settings(self) -> RoomSettings:
        """The room's settings (read again only when the file changed: every rerun asks)."""
        path = self.path / SETTINGS
        try:
            stamp = _stamp(path.stat())
        except OSError:
            stamp = None
        with _CACHE_LOCK:
            cached = _SETTINGS_CACHE.get(str(path))
        if stamp is None or cached is None or cached[0] != stamp:
            settings = self._read_settings()
            if stamp is not None:
                with _CACHE_LOCK:
                    _remember(_SETTINGS_CACHE, str(path), (stamp, settings))
        else:
            settings = cached[1]
        return replace(settings, class_names=list(settings.class_names))  # the caller's own copy

    def _read_settings(self) -> RoomSettings:
        data = read_json(self.path / SETTINGS) or {}
        names = data.get("class_names")
        ok = isinstance(names, list) and all(isinstance(n, str) for n in names) and len(names) >= 2
        return RoomSettings(
            title=str(data.get("title") or self.name)[:200],
            model=str(data.get("model") or "__default__"),
            class_names=list(names) if ok else [str(d) for d in range(10)],
            approval=data.get("approval") is True,
            approve_photos=data.get("approve_photos") is not False,  # rooms from before it: photos wait
            created=str(data.get("created") or ""),
        )

    def submissions(self) -> list[Submission]:
        """Every submission, newest first, with its label, hidden, approved and cleared flags applied."""
        with _CACHE_LOCK:
            return list(self._state().ordered())

    def submission(self, sub_id: str) -> Submission | None:
        """One submission by id, or None (cheap: a phone asks on every rerun)."""
        with _CACHE_LOCK:
            return self._state().subs.get(sub_id)

    def banned(self) -> set[str]:
        """The senders and origins (hashes) the presenter banned."""
        with _CACHE_LOCK:
            return set(self._state().banned)

    def usage(self) -> tuple[int, int]:
        """(submissions, bytes of images and events) against ``MAX_ROOM_SUBMISSIONS`` and ``MAX_ROOM_BYTES``."""
        with _CACHE_LOCK:
            state = self._state()
            return len(state.subs), state.image_bytes + (state.key[1] if state.key else 0)

    def _state(self) -> ParsedEvents:
        """The parsed events, brought up to date with the file (call with ``_CACHE_LOCK`` held).

        Unchanged file: the cached state. A file that grew: only the bytes after the last complete
        line are parsed. Replaced or shrunk: parsed again from its start.
        """
        key = str(self.path)
        state = _CACHE.get(key)
        try:
            fh = (self.path / EVENTS).open("rb")
        except OSError:
            _CACHE.pop(key, None)
            return ParsedEvents()
        with fh:
            stamp = _stamp(os.fstat(fh.fileno()))
            if state is not None and state.key == stamp:
                return state
            if state is None or state.key is None or state.key[0] != stamp[0] or stamp[1] < state.key[1]:
                state = ParsedEvents()
            fh.seek(state.offset)
            state.parse(fh.read(max(0, stamp[1] - state.offset)))  # what the stamp saw: the next read goes on
            state.key = stamp
        _remember(_CACHE, key, state)
        return state

    def image_path(self, sub: Submission) -> Path:
        """Where its image is: hidden, in the dataset (labelled and approved) or pending."""
        if sub.hidden:
            return self.path / HIDDEN / f"{sub.id}.png"
        if sub.label and sub.approved:
            return self.path / sub.label / f"{sub.id}.png"
        return self.path / PENDING / f"{sub.id}.png"

    def confusion(self) -> list[list[int]]:
        """The wall's confusion matrix (rows: what people said, columns: what the model read)."""
        from core.metrics.classes import confusion_matrix

        names = self.settings().class_names
        labelled = [s for s in self.submissions() if s.visible and s.label in names and s.predicted in names]
        true = [names.index(s.label) for s in labelled]
        pred = [names.index(s.predicted) for s in labelled]
        return confusion_matrix(true, pred, len(names)).tolist()

    def score(self) -> tuple[int, int]:
        """(read right, labelled) over the visible submissions (cleared ones no longer count)."""
        labelled = [s for s in self.submissions() if s.visible and s.label is not None]
        return sum(s.right for s in labelled), len(labelled)

    # ----- writing -------------------------------------------------------------------------

    def submit(self, image: Image.Image, predicted: str, confidence: float, source: str, actor: Actor,
               unfamiliar: bool = False) -> Submission:  # fmt: skip
        """Keeps one submission (image shrunk to ``KEEP_SIDE``) and its prediction.

        Args:
            unfamiliar: the model said "I don't know"; ``predicted`` is its best guess.

        Raises:
            InputError: this phone (or its network address) sends too fast or was banned, the room
                is full, or the prediction is not one of the room's classes.
        """
        sender, origin = sender_of(actor.session), origin_of(actor)
        self._check_open(actor, sender, origin, 0)  # before the allowance: a refusal costs nothing
        take("room", actor.session, address=actor.address)
        settings = self.settings()
        if predicted not in settings.class_names:
            raise InputError(
                _("Expected a prediction among {classes}. Received: {value}").format(
                    classes=settings.class_names, value=repr(predicted)
                )
            )
        source = "photo" if source == "photo" else "drawing"
        sub = Submission(
            id=f"{time.strftime('%H%M%S')}-{secrets.token_hex(4)}",
            time=time.time(),
            sender=sender,
            source=source,
            predicted=predicted,
            confidence=round(float(confidence), 4),
            approved=not (settings.approval or (source == "photo" and settings.approve_photos)),
            origin=origin,
            unfamiliar=bool(unfamiliar),
        )
        small, _shrunk = downscale(image, KEEP_SIDE)
        buf = io.BytesIO()
        small.save(buf, "PNG")
        png = buf.getvalue()
        event = {"type": "submit", **{k: v for k, v in asdict(sub).items() if k in STORED}, "bytes": len(png)}
        with self._lock():
            self._check_open(actor, sender, origin, len(png) + len(json.dumps(event)) + 1)  # again, in order
            target = self.path / PENDING / f"{sub.id}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
            try:
                self._append(event)
            except BaseException:
                target.unlink(missing_ok=True)  # no image without its event
                raise
        return sub

    def _check_open(self, actor: Actor, sender: str, origin: str, adding: int, new: int = 1) -> None:
        """Raises InputError when this phone was banned, or the room cannot take ``new`` more submissions
        and ``adding`` more bytes."""
        with _CACHE_LOCK:
            state = self._state()
            banned = bool({sender, origin} & state.banned)
            count, used = len(state.subs), state.image_bytes + (state.key[1] if state.key else 0)
        if banned and not actor.presenter:
            raise InputError(_("The speaker has stopped submissions from this phone."))
        if count + new > MAX_ROOM_SUBMISSIONS or used + adding > MAX_ROOM_BYTES:
            raise InputError(
                _("This room is full ({count} submissions, {mb} MB). The speaker can open a new room.").format(
                    count=number(count), mb=number(used / 1024**2, 0))
            )  # fmt: skip

    def label(self, sub_id: str, label: str, actor: Actor) -> None:
        """Records what a submission really was; its sender (or the presenter) may say so.

        The image enters the dataset (``<label>/``) only once the submission is approved, and
        never when hidden. An "I don't know" submission takes any of the room's classes.

        Raises:
            InputError: an unknown submission or class, someone else's submission, or a full room.
        """
        settings = self.settings()
        if label not in settings.class_names:
            raise InputError(
                _("Expected a label among {classes}. Received: {value}").format(
                    classes=settings.class_names, value=repr(label)
                )
            )
        with self._lock():
            sub = self._find(sub_id)
            if sub.sender != sender_of(actor.session) and not actor.presenter:
                raise InputError(_("Only the person who sent it can say what it was."))
            if sub.label == label:
                return  # nothing new: a repeated click adds no event
            if not actor.presenter:
                self._check_open(actor, "", "", 200, new=0)  # labels grow the events file too: bounded by the quota
            if not sub.hidden and sub.approved:
                self._move(sub, self.path / label)
            self._append({"type": "label", "id": sub.id, "label": label})

    def hide(self, sub_id: str, actor: Actor) -> None:
        """Hides a submission from the wall and from the dataset, for good."""
        require_presenter(actor, N_("hide submissions"))
        with self._lock():
            sub = self._find(sub_id)
            self._move(sub, self.path / HIDDEN)
            self._append({"type": "hide", "id": sub.id})

    def ban(self, sub_id: str, actor: Actor) -> None:
        """Bans whoever sent ``sub_id``: its session and its network address.

        Everything they sent is hidden (as :meth:`hide`) and :meth:`submit` refuses them from now on,
        a reload (a new session) from the same address included.
        """
        require_presenter(actor, N_("ban senders"))
        with self._lock():
            sub = self._find(sub_id)
            who = {w for w in (sub.sender, sub.origin) if w}
            for other in self.submissions():
                if not other.hidden and {other.sender, other.origin} & who:
                    self._move(other, self.path / HIDDEN)
            self._append({"type": "ban", "sender": sub.sender, "origin": sub.origin, "time": time.time()})

    def approve(self, sub_id: str, actor: Actor) -> None:
        """Shows a waiting submission; one already labelled enters the dataset now."""
        require_presenter(actor, N_("approve submissions"))
        with self._lock():
            sub = self._find(sub_id)
            if sub.label and not sub.hidden:
                self._move(sub, self.path / sub.label)
            self._append({"type": "approve", "id": sub.id})

    def clear_wall(self, actor: Actor) -> None:
        """Starts the wall afresh: what was sent so far leaves the wall and its score, not the dataset."""
        require_presenter(actor, N_("clear the wall"))
        with self._lock():
            self._append({"type": "clear", "time": time.time()})

    def set_approval(self, on: bool, actor: Actor) -> None:
        """Approval mode: every new submission waits for the presenter before the wall shows it."""
        require_presenter(actor, N_("change how submissions are shown"))
        self._write_settings(approval=bool(on))

    def set_photo_approval(self, on: bool, actor: Actor) -> None:
        """New photos wait for the presenter before the wall shows them (drawings do not)."""
        require_presenter(actor, N_("change how submissions are shown"))
        self._write_settings(approve_photos=bool(on))

    def set_model(self, model: str, class_names: list[str], actor: Actor) -> None:
        require_presenter(actor, N_("choose the room's model"))
        class_names = check_classes(class_names)
        self._write_settings(model=model, class_names=list(class_names))

    # ----- plumbing ----------------------------------------------------------------------------

    def _write_settings(self, **changes) -> None:
        with self._lock():  # read, change, write: two presenter tabs must not undo each other
            write_json_atomic(self.path / SETTINGS, {**asdict(self._read_settings()), **changes})

    def _find(self, sub_id: str) -> Submission:
        sub = self.submission(sub_id) if isinstance(sub_id, str) else None
        if sub is None:
            raise InputError(_("No submission {id} in this room.").format(id=repr(str(sub_id)[:40])))
        return sub

    def _move(self, sub: Submission, folder: Path) -> None:
        """Moves the image to ``folder``, from where it is (or, in a room from an older version, might be)."""
        folder.mkdir(exist_ok=True)
        candidates = [self.image_path(sub), self.path / PENDING / f"{sub.id}.png"]
        if sub.label:
            candidates.append(self.path / sub.label / f"{sub.id}.png")
        for source in candidates:
            with contextlib.suppress(OSError):
                os.replace(source, folder / f"{sub.id}.png")
                return

    def _append(self, event: dict) -> None:
        with (self.path / EVENTS).open("a+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            torn = False
            if size:
                fh.seek(size - 1)
                torn = fh.read(1) != b"\n"  # a writer died mid-line: start a new one so this event survives
            fh.write((b"\n" if torn else b"") + json.dumps(event).encode() + b"\n")

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """The room's lock: one read-change-write at a time, across processes."""
        return locked(self.path / ".lock")


def check_classes(class_names: list[str]) -> list[str]:
    """Class names become folder names: refuse any that could leave the room's folder."""
    names = list(class_names)
    bad = [n for n in names if not isinstance(n, str) or not n or "/" in n or "\\" in n or n.startswith(".")]
    if bad or len(names) < 2:
        raise InputError(
            _("Expected at least 2 class names usable as folder names. Received: {names}").format(
                names=repr(names[:12])
            )
        )
    return names
