"""Opening a room, and the active room: the one the Join page sends to."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from pathlib import Path

from core.access.roles import Actor, require_presenter
from core.base.i18n import N_
from core.base.storage import read_json, write_json_atomic
from core.data.folders import data_dir
from core.room.folder import SETTINGS, Room, RoomSettings, check_classes

ACTIVE = ".active-room.json"  # in the data folder: which room the Join page sends to


def open_room(title: str, model: str, class_names: list[str], actor: Actor, root: str | Path | None = None) -> Room:
    """Starts a new room (a new dataset folder) and makes it the one the Join page sends to."""
    require_presenter(actor, N_("open a room"))
    class_names = check_classes(class_names)
    from core.base.storage import slugify

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
