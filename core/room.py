"""The room: what the audience sends from their phones during a talk, kept as a dataset.

A room is a folder in the data folder (``room-<date>-<name>/``), so everything people
labelled is an image-folder dataset that Evaluate and Train can use::

    room-20261125-1900-meetup/
        .room.json        the room's settings: model shown, classes, approval mode
        .events.jsonl     append-only: submit, label, hide, approve (one JSON object a line)
        .pending/<id>.png a submission nobody labelled yet
        .hidden/<id>.png  hidden by the presenter (never shown, never in the dataset)
        <label>/<id>.png  labelled by the person who sent it ("it was a 4")

Anyone may submit and label their own submission (rate-limited); only the presenter
opens a room, chooses its model, hides, approves or switches approval on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from core.datasets import data_dir
from core.errors import InputError
from core.i18n import N_, _
from core.images import downscale
from core.limits import take
from core.roles import Actor, require_presenter
from core.storage import read_json, write_json_atomic

ACTIVE = ".active-room.json"  # in the data folder: which room the Join page sends to
SETTINGS, EVENTS = ".room.json", ".events.jsonl"
PENDING, HIDDEN = ".pending", ".hidden"
KEEP_SIDE = 280  # submissions are kept at most this large (a drawing pad's size)
MAX_EVENTS_BYTES = 16 * 1024**2


@dataclass
class Submission:
    """One thing sent from a phone, and what became of it."""

    id: str
    time: float
    sender: str  # a hash of the web session: the same phone, without keeping its id
    source: str  # "drawing" or "photo"
    predicted: str
    confidence: float
    label: str | None = None  # what the sender said it really was
    hidden: bool = False
    approved: bool = True  # False while waiting for the presenter (approval mode)

    @property
    def right(self) -> bool | None:
        return None if self.label is None else self.label == self.predicted

    @property
    def visible(self) -> bool:
        return self.approved and not self.hidden


@dataclass
class RoomSettings:
    title: str
    model: str  # a run id, or "__default__" for the shipped MNIST model
    class_names: list[str]
    approval: bool = False  # every submission waits for the presenter before the wall shows it
    created: str = field(default_factory=lambda: dt.datetime.now().astimezone().isoformat(timespec="seconds"))


def sender_of(session: str | None) -> str:
    return hashlib.sha256((session or "local").encode()).hexdigest()[:12]


class Room:
    """One room folder (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name

    # ----- reading -----------------------------------------------------------------------

    def settings(self) -> RoomSettings:
        data = read_json(self.path / SETTINGS) or {}
        names = data.get("class_names")
        ok = isinstance(names, list) and all(isinstance(n, str) for n in names) and len(names) >= 2
        return RoomSettings(
            title=str(data.get("title") or self.name)[:200],
            model=str(data.get("model") or "__default__"),
            class_names=list(names) if ok else [str(d) for d in range(10)],
            approval=data.get("approval") is True,
            created=str(data.get("created") or ""),
        )

    def submissions(self) -> list[Submission]:
        """Every submission, newest first, with its label, hidden and approved flags applied."""
        subs: dict[str, Submission] = {}
        for event in self._events():
            kind, sid = event.get("type"), event.get("id")
            if kind == "submit" and isinstance(sid, str):
                with contextlib.suppress(TypeError):
                    subs[sid] = Submission(**{k: event[k] for k in Submission.__dataclass_fields__ if k in event})
            elif sid in subs:
                sub = subs[sid]
                if kind == "label":
                    sub.label = event.get("label")
                elif kind == "hide":
                    sub.hidden = True
                elif kind == "approve":
                    sub.approved = True
        return sorted(subs.values(), key=lambda s: s.time, reverse=True)

    def _events(self) -> list[dict]:
        path = self.path / EVENTS
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_EVENTS_BYTES)
        except OSError:
            return []
        events = []
        for line in raw.splitlines():
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue  # a torn last line, or damage: skip it
            if isinstance(event, dict):
                events.append(event)
        return events

    def image_path(self, sub: Submission) -> Path:
        if sub.hidden:
            return self.path / HIDDEN / f"{sub.id}.png"
        return self.path / (sub.label if sub.label else PENDING) / f"{sub.id}.png"

    def confusion(self) -> list[list[int]]:
        """The room's confusion matrix (rows: what people said, columns: what the model read)."""
        from core.evaluation import confusion_matrix

        names = self.settings().class_names
        labelled = [s for s in self.submissions() if s.visible and s.label in names and s.predicted in names]
        true = [names.index(s.label) for s in labelled]
        pred = [names.index(s.predicted) for s in labelled]
        return confusion_matrix(true, pred, len(names)).tolist()

    def score(self) -> tuple[int, int]:
        """(read right, labelled) over the visible submissions."""
        labelled = [s for s in self.submissions() if s.visible and s.label is not None]
        return sum(s.right for s in labelled), len(labelled)

    # ----- writing -------------------------------------------------------------------------

    def submit(self, image: Image.Image, predicted: str, confidence: float, source: str, actor: Actor) -> Submission:
        """Keeps one submission (image shrunk to ``KEEP_SIDE``) and its prediction.

        Raises:
            InputError: this phone sends too fast, or the prediction is not one of the room's classes.
        """
        take("room", actor.session)
        settings = self.settings()
        if predicted not in settings.class_names:
            raise InputError(
                _("Expected a prediction among {classes}. Received: {value}").format(
                    classes=settings.class_names, value=repr(predicted)
                )
            )
        sub = Submission(
            id=f"{time.strftime('%H%M%S')}-{secrets.token_hex(4)}",
            time=time.time(),
            sender=sender_of(actor.session),
            source="photo" if source == "photo" else "drawing",
            predicted=predicted,
            confidence=round(float(confidence), 4),
            approved=not settings.approval,
        )
        small, _shrunk = downscale(image, KEEP_SIDE)
        with self._lock():
            (self.path / PENDING).mkdir(parents=True, exist_ok=True)
            small.save(self.path / PENDING / f"{sub.id}.png")
            self._append({"type": "submit", **asdict(sub)})
        return sub

    def label(self, sub_id: str, label: str, actor: Actor) -> None:
        """Records what a submission really was; its sender (or the presenter) may say so.

        Raises:
            InputError: an unknown submission or class, or someone else's submission.
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
            if not sub.hidden:
                self._move(sub, label)
            self._append({"type": "label", "id": sub.id, "label": label})

    def hide(self, sub_id: str, actor: Actor) -> None:
        """Hides a submission from the wall and from the dataset, for good."""
        require_presenter(actor, N_("hide submissions"))
        with self._lock():
            sub = self._find(sub_id)
            (self.path / HIDDEN).mkdir(exist_ok=True)
            with contextlib.suppress(OSError):
                os.replace(self.image_path(sub), self.path / HIDDEN / f"{sub.id}.png")
            self._append({"type": "hide", "id": sub.id})

    def approve(self, sub_id: str, actor: Actor) -> None:
        require_presenter(actor, N_("approve submissions"))
        with self._lock():
            self._append({"type": "approve", "id": self._find(sub_id).id})

    def set_approval(self, on: bool, actor: Actor) -> None:
        """Approval mode: every new submission waits for the presenter before the wall shows it."""
        require_presenter(actor, N_("change how submissions are shown"))
        write_json_atomic(self.path / SETTINGS, {**asdict(self.settings()), "approval": bool(on)})

    def set_model(self, model: str, class_names: list[str], actor: Actor) -> None:
        require_presenter(actor, N_("choose the room's model"))
        class_names = _check_classes(class_names)
        write_json_atomic(self.path / SETTINGS, {**asdict(self.settings()), "model": model,
                                                 "class_names": list(class_names)})  # fmt: skip

    # ----- plumbing ----------------------------------------------------------------------------

    def _find(self, sub_id: str) -> Submission:
        for sub in self.submissions():
            if sub.id == sub_id:
                return sub
        raise InputError(_("No submission {id} in this room.").format(id=repr(str(sub_id)[:40])))

    def _move(self, sub: Submission, label: str) -> None:
        (self.path / label).mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            os.replace(self.image_path(sub), self.path / label / f"{sub.id}.png")

    def _append(self, event: dict) -> None:
        with (self.path / EVENTS).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")

    @contextlib.contextmanager
    def _lock(self):
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _check_classes(class_names: list[str]) -> list[str]:
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


def open_room(title: str, model: str, class_names: list[str], actor: Actor, root: str | Path | None = None) -> Room:
    """Starts a new room (a new dataset folder) and makes it the one the Join page sends to."""
    require_presenter(actor, N_("open a room"))
    class_names = _check_classes(class_names)
    from core.runs import slugify

    root = Path(root) if root is not None else data_dir()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    path = root / f"room-{stamp}-{slugify(title or 'talk')}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"room-{stamp}-{slugify(title or 'talk')}-{n}"
    path.mkdir(parents=True)
    room = Room(path)
    write_json_atomic(path / SETTINGS, asdict(RoomSettings(title or path.name, model, list(class_names))))
    write_json_atomic(root / ACTIVE, {"room": path.name})
    return room


def active_room(root: str | Path | None = None) -> Room | None:
    """The room the Join page sends to, or None before the presenter opened one."""
    root = Path(root) if root is not None else data_dir()
    name = (read_json(root / ACTIVE) or {}).get("room")
    if not isinstance(name, str) or "/" in name or not name.startswith("room-"):
        return None
    path = root / name
    return Room(path) if (path / SETTINGS).is_file() else None
