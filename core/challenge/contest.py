"""A room's challenge on disk, and who may do what with it.

The challenge lives in its room's folder (``core.room.folder``)::

    room-.../.challenge/
        challenge.json        the presenter's settings (core.challenge.rules.ChallengeSettings)
        entries/<id>.json     one entry: who sent it, its layers and epochs, its run id, its fate
    room-.../.challenge-<time>/  an earlier challenge of the same room, kept when a new one opens

An entry trains as an ordinary run folder (``config.json`` has a ``challenge`` section), queued by
``core.runs.jobs.JobManager.enqueue_entry`` behind the presenter's jobs, on the engine chosen when the
challenge opened. The participant is the room's identity: the sender hash of their web session (and
their network address, for the limits). Rights are checked here: a participant submits, edits (until
it starts), stops and withdraws only their own entry; the presenter opens, moderates names, stops
anything, ends the challenge and makes the winner the room's model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from core.access.limits import env_int, take
from core.access.roles import LOCAL, Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, percent
from core.base.storage import read_json, write_json_atomic
from core.challenge import rules
from core.challenge.board import Row, rank, read_row, to_prune
from core.challenge.rules import ChallengeSettings, check_budget, clean_name, cost, entry_config
from core.data import folders
from core.room.folder import Room
from core.room.submissions import origin_of, sender_of
from core.runs.engines import check_cluster, engine_name
from core.runs.jobs import JobManager
from core.runs.store import ACTIVE_STATES, Run
from core.tasks import Job

FOLDER, SETTINGS, ENTRIES = ".challenge", "challenge.json", "entries"
ENTRIES_PER_PERSON = env_int("CNNLAB_CHALLENGE_ENTRIES_PER_PERSON", 3)  # one at a time, this many in all
ENTRIES_PER_ADDRESS = env_int("CNNLAB_CHALLENGE_ENTRIES_PER_ADDRESS", 60)  # a classroom behind one NAT
MAX_ENTRIES = env_int("CNNLAB_CHALLENGE_MAX_ENTRIES", 200)


@dataclass
class Entry:
    """One participant's network in the challenge."""

    id: str
    owner: str  # sender_of(session): the phone that sent it
    origin: str  # origin_of(actor): its network address, hashed
    name: str
    layers: list[dict]  # the picker's layers (core.challenge.rules.to_dicts)
    epochs: int
    run_id: str
    params: int
    macs: int
    submitted: float
    name_hidden: bool = False  # the presenter hid the name: the Wall shows "Entry <n>"
    pruned: str | None = None  # why it was stopped early (the leaderboard's rule), in words
    withdrawn: bool = False  # its owner (or the presenter) took it off the leaderboard

    @property
    def shown_name(self) -> str:
        return _("Entry {n}").format(n=self.id.split("-")[0].lstrip("0") or "0") if self.name_hidden else self.name


class EntryJob(Job):
    """An entry's training config with its ``challenge`` section (``TrainConfig.from_dict`` ignores it)."""

    def __init__(self, config, section: dict):
        super().__init__(config)
        self.section = section

    def to_dict(self) -> dict:
        return {**super().to_dict(), "challenge": self.section}


_LOCK = threading.Lock()  # one process's writers; the room's file lock orders processes


class Challenge:
    """The challenge of one room (see the module docstring)."""

    def __init__(self, room: Room, manager: JobManager | None = None):
        self.room = room
        self.path = room.path / FOLDER
        self.manager = manager or JobManager()

    # ----- opening and reading ---------------------------------------------------------------

    @classmethod
    def open(cls, room: Room, settings: ChallengeSettings, actor: Actor,
             manager: JobManager | None = None) -> Challenge:  # fmt: skip
        """Opens a new challenge in ``room`` (an earlier one is kept beside it, ended).

        Raises:
            InputError: not the presenter, a bad setting, data that cannot be trained on, or a Ray
                cluster that cannot be reached.
        """
        require_presenter(actor, N_("open a challenge"))
        now = time.time()
        settings = replace(settings, engine=engine_name(), opened=now, ended=None, winner=None,
                           deadline=now + settings.minutes * 60)  # fmt: skip
        settings.check()
        settings.class_names = _class_names(room, settings)
        if settings.data == "mnist":  # the data folder's file, by its full path: every entry's process finds it
            from core.data.mnist import find_mnist

            found = find_mnist(None)
            settings.folder = str(found.resolve()) if found else None
        if settings.engine == "ray":
            settings.cluster_cpus = float(check_cluster().get("cpus") or 0)
        challenge = cls(room, manager)
        with room._lock():
            if challenge.path.exists():
                old = challenge.settings()
                if old is not None and old.ended is None:
                    challenge._stop_all()
                os.replace(challenge.path, room.path / f"{FOLDER}-{int(time.time())}")
            (challenge.path / ENTRIES).mkdir(parents=True)
            write_json_atomic(challenge.path / SETTINGS, settings.to_dict())
        return challenge

    def settings(self) -> ChallengeSettings | None:
        """The settings, or None when this room has no challenge (or its file is damaged)."""
        data = read_json(self.path / SETTINGS)
        if data is None:
            return None
        try:
            return ChallengeSettings.from_dict(data)
        except InputError:
            return None

    def entries(self) -> list[Entry]:
        """Every entry, oldest first (withdrawn ones too)."""
        out = []
        known = {f.name for f in fields(Entry)}
        with contextlib.suppress(OSError):
            for path in sorted((self.path / ENTRIES).glob("*.json")):
                data = read_json(path)
                if isinstance(data, dict):
                    with contextlib.suppress(TypeError, ValueError):
                        out.append(Entry(**{k: v for k, v in data.items() if k in known}))
        return out

    def entry(self, entry_id: str) -> Entry:
        found = [e for e in self.entries() if e.id == entry_id]
        if not found:
            raise InputError(_("No entry {id} in this challenge.").format(id=repr(str(entry_id)[:40])))
        return found[0]

    def mine(self, actor: Actor) -> list[Entry]:
        """This phone's entries, newest first."""
        owner = sender_of(actor.session)
        return [e for e in reversed(self.entries()) if e.owner == owner and not e.withdrawn]

    def rows(self) -> list[Row]:
        """The leaderboard, best first (withdrawn entries left out)."""
        settings = self._settings()
        return rank([self.row(e) for e in self.entries() if not e.withdrawn], settings.metric)

    def row(self, entry: Entry) -> Row:
        """One entry's leaderboard row, read alone (a phone polls its own network, not the whole board); unranked."""
        return read_row(Run(self.manager.store.root / entry.run_id), entry.id, entry.shown_name, entry.owner,
                        entry.params, entry.macs, entry.epochs, entry.pruned)  # fmt: skip

    def winner(self, rows: list[Row] | None = None) -> Row | None:
        """The winner's row once the challenge ended (from ``rows`` when the caller has read them), else None."""
        settings = self._settings()
        return next((r for r in (self.rows() if rows is None else rows) if r.entry == settings.winner), None)

    def state(self, now: float | None = None) -> str:
        """ "open" (taking entries), "closing" (past the deadline, entries still training) or "ended"."""
        settings = self._settings()
        if settings.ended is not None:
            return "ended"
        return "open" if settings.open_for_entries(now) else "closing"

    # ----- a participant -----------------------------------------------------------------------

    def submit(self, layers: list[dict], epochs: int, name: str, actor: Actor) -> Entry:
        """Queues a participant's network.

        Raises:
            InputError: the challenge is closed, the phone was banned or sends too fast, it already has
                an entry waiting or training (or used all of its entries), or the network is invalid or
                over the budget.
        """
        settings, picked, name, c = self._check_entry(layers, epochs, name, actor)
        owner, origin = sender_of(actor.session), origin_of(actor)
        with _LOCK, self.room._lock():
            entries = self.entries()
            mine = [e for e in entries if e.owner == owner]
            active = [e for e in mine if not e.withdrawn and self._active(e)]
            if active:
                raise InputError(_("Your network {name} is still waiting or training: change it, or stop it "
                                   "first.").format(name=repr(active[0].name)))  # fmt: skip
            if len(mine) >= ENTRIES_PER_PERSON and not actor.presenter:
                raise InputError(_("You have sent {n} networks, the most this challenge takes from one "
                                   "person.").format(n=len(mine)))  # fmt: skip
            if sum(e.origin == origin for e in entries) >= ENTRIES_PER_ADDRESS and not actor.presenter:
                raise InputError(_("This network address has sent {n} networks, the most this challenge "
                                   "takes from one address.").format(n=ENTRIES_PER_ADDRESS))  # fmt: skip
            if len(entries) >= MAX_ENTRIES:
                raise InputError(_("This challenge is full ({n} networks).").format(n=MAX_ENTRIES))
            entry_id = f"{len(entries) + 1:03d}-{owner[:8]}"
            job = self._job(settings, entry_id, picked, epochs, name)
            run = self.manager.enqueue_entry(job, owner=owner, engine=settings.engine,
                                             resources=settings.resources())  # fmt: skip
            entry = Entry(entry_id, owner, origin, name, rules.to_dicts(picked), int(epochs), run.id, c.params, c.macs,
                          time.time())  # fmt: skip
            self._write(entry)
        return entry

    def edit(self, entry_id: str, layers: list[dict], epochs: int, name: str, actor: Actor) -> Entry:
        """Changes an entry that has not started training yet.

        Raises:
            InputError: as :meth:`submit`; someone else's entry; or it started already.
        """
        settings, picked, name, c = self._check_entry(layers, epochs, name, actor)
        with _LOCK, self.room._lock():
            entry = self._own(entry_id, actor)
            job = self._job(settings, entry.id, picked, epochs, name)
            if entry.withdrawn or not self.manager.replace_queued(entry.run_id, job):
                raise InputError(_("{name} has started training: it can no longer be changed.").format(
                    name=repr(entry.name)))  # fmt: skip
            entry = replace(entry, name=name, layers=rules.to_dicts(picked), epochs=int(epochs), params=c.params,
                            macs=c.macs)  # fmt: skip
            self._write(entry)
        return entry

    def stop(self, entry_id: str, actor: Actor, force: bool = False) -> str:
        """Stops an entry (its owner or the presenter): a waiting one is cancelled, a training one keeps
        its best checkpoint. Returns the message to show, naming the network (a phone never sees a run id)."""
        entry = self._own(entry_id, actor)
        return self._stop(entry, force)

    def _stop(self, entry: Entry, force: bool = False) -> str:
        run = _run(self.manager, entry.run_id)
        before = run.status() if run is not None else {}
        if before.get("status") not in ACTIVE_STATES:
            return _("{name} has already ended.").format(name=repr(entry.name))
        self.manager.stop(entry.run_id, actor=LOCAL, force=force)
        if before.get("status") == "queued" and not before.get("pid"):
            return _("{name} was waiting: cancelled.").format(name=repr(entry.name))
        if force:
            return _("{name} was killed; its best checkpoint so far is kept.").format(name=repr(entry.name))
        return _("Stop requested: {name} stops after its current batch and keeps its best checkpoint.").format(
            name=repr(entry.name))  # fmt: skip

    def withdraw(self, entry_id: str, actor: Actor) -> str:
        """Takes an entry off the leaderboard (its owner or the presenter) and deletes its run once it ended."""
        entry = self._own(entry_id, actor)
        message = self._stop(entry) if self._active(entry) else ""
        with _LOCK, self.room._lock():
            self._write(replace(self.entry(entry_id), withdrawn=True))
        self._delete_ended_withdrawn()
        return message or _("{name} was withdrawn.").format(name=repr(entry.name))

    # ----- the presenter ---------------------------------------------------------------------------

    def hide_name(self, entry_id: str, hidden: bool, actor: Actor) -> None:
        """Hides (or shows again) an entry's name on the Wall: it reads "Entry <n>"."""
        require_presenter(actor, N_("moderate names"))
        with _LOCK, self.room._lock():
            self._write(replace(self.entry(entry_id), name_hidden=bool(hidden)))

    def end(self, actor: Actor) -> Row | None:
        """Ends the challenge now: waiting entries are cancelled, training ones stopped; returns the winner."""
        require_presenter(actor, N_("end the challenge"))
        self._stop_all()
        return self._finish()

    def make_room_model(self, actor: Actor) -> str:
        """Makes the winner the room's model: the next digits drawn on Join go to it. Returns its run id.

        Raises:
            InputError: not the presenter, no winner yet, or the winner left no usable checkpoint.
        """
        require_presenter(actor, N_("choose the room's model"))
        winner = self.winner()
        run = _run(self.manager, winner.run_id) if winner else None
        if run is None or run.checkpoint() is None:
            raise InputError(_("There is no winner with a trained model yet."))
        names = run.config().get("class_names")
        if not isinstance(names, list):
            raise InputError(_("The winner's run does not say its classes: it cannot serve the room."))
        self.room.set_model(run.id, [str(n) for n in names], actor)
        return run.id

    def tick(self) -> list[str]:
        """What the Wall calls every few seconds: stops entries that cannot win (ASHA's rule), deletes
        withdrawn entries' ended runs, and crowns the winner once the deadline passed and nothing trains.

        Returns:
            One sentence for each entry stopped early now.
        """
        settings = self.settings()
        if settings is None or settings.ended is not None:
            return []
        said = []
        rows = self.rows()
        for row, rung, cut in to_prune(rows):
            why = _("stopped early at epoch {rung}: {score} validation accuracy, behind the top third "
                    "({cut})").format(rung=rung, score=percent(row.curve[rung - 1], 1), cut=percent(cut, 1))  # fmt: skip
            with _LOCK, self.room._lock():
                self._write(replace(self.entry(row.entry), pruned=why))
            with contextlib.suppress(InputError):
                self.manager.stop(row.run_id, actor=LOCAL)
            said.append(f"{row.name}: {why}")
        self._delete_ended_withdrawn()
        if not settings.open_for_entries() and not any(r.active for r in rows):
            self._finish()
        return said

    # ----- plumbing ----------------------------------------------------------------------------------

    def _settings(self) -> ChallengeSettings:
        settings = self.settings()
        if settings is None:
            raise InputError(_("This room has no challenge open."))
        return settings

    def _check_entry(self, layers, epochs, name, actor: Actor):
        settings = self._settings()
        if not settings.open_for_entries():
            raise InputError(_("The challenge is closed: no more networks."))
        if {sender_of(actor.session), origin_of(actor)} & self.room.banned() and not actor.presenter:
            raise InputError(_("The speaker has stopped submissions from this phone."))
        take("challenge", actor.session, address=actor.address)
        if isinstance(epochs, bool) or not isinstance(epochs, int):
            raise InputError(_("Expected a whole number of epochs. Received: {value}").format(value=repr(epochs)[:40]))
        picked = rules.layers_from_dicts(layers)
        name = clean_name(name)
        c = cost(settings, picked, epochs, len(settings.class_names))
        check_budget(settings, c)
        return settings, picked, name, c

    def _job(self, settings: ChallengeSettings, entry_id: str, picked, epochs: int, name: str) -> EntryJob:
        """An entry's run: its config on the challenge's data, and its ``challenge`` section."""
        if settings.data == "room":
            data = str(self.room.path.resolve())
        else:
            data = settings.folder  # a dataset folder, MNIST's file (None: Keras's download)
        section = {"room": self.room.name, "room_dir": str(self.room.path.resolve()), "entry": entry_id, "name": name}
        return EntryJob(entry_config(settings, data, picked, epochs, name), section)

    def _own(self, entry_id: str, actor: Actor) -> Entry:
        entry = self.entry(entry_id)
        if entry.owner != sender_of(actor.session) and not actor.presenter:
            raise InputError(_("Only the person who sent this network (or the speaker) can change it."))
        return entry

    def _active(self, entry: Entry) -> bool:
        run = _run(self.manager, entry.run_id)
        return run is not None and run.status().get("status") in ACTIVE_STATES

    def _write(self, entry: Entry) -> None:
        write_json_atomic(self.path / ENTRIES / f"{entry.id}.json", asdict(entry))

    def _stop_all(self) -> None:
        for entry in self.entries():
            if self._active(entry):
                with contextlib.suppress(InputError):
                    self.manager.stop(entry.run_id, actor=LOCAL)

    def _finish(self) -> Row | None:
        """Marks the challenge ended and records the winner (the best by its metric); returns it."""
        with _LOCK, self.room._lock():
            settings = self._settings()
            if settings.ended is not None:
                return self.winner()
            rows = self.rows()
            winner = rows[0] if rows and rows[0].rank == 1 else None
            settings = replace(settings, ended=time.time(), winner=winner.entry if winner else None)
            write_json_atomic(self.path / SETTINGS, settings.to_dict())
        return winner

    def _delete_ended_withdrawn(self) -> None:
        """Deletes the runs of withdrawn entries once they ended, except the room's model (Join serves it)."""
        model = self.room.settings().model
        for entry in self.entries():
            run = _run(self.manager, entry.run_id)
            if (
                entry.withdrawn
                and run is not None
                and run.id != model
                and run.status().get("status") not in ACTIVE_STATES
            ):
                shutil.rmtree(run.path, ignore_errors=True)


def referee_after(run: Run) -> None:
    """After an entry's training process ended (``core.train``): the same pass as the Wall's (``Challenge.tick``),
    so the winner is crowned after the deadline even when no Wall is open. Any other run: nothing."""
    section = run.config().get("challenge")
    room_dir = section.get("room_dir") if isinstance(section, dict) else None
    if not isinstance(room_dir, str) or not (Path(room_dir) / FOLDER / SETTINGS).is_file():
        return
    Challenge(Room(room_dir), JobManager(run.path.parent)).tick()


def _run(manager: JobManager, run_id: str) -> Run | None:
    """The entry's run folder, or None when it is gone."""
    path = manager.store.root / run_id
    return Run(path) if path.is_dir() else None


def _class_names(room: Room, settings: ChallengeSettings) -> list[str]:
    """The classes entries learn, checked once at opening (the data must be trainable).

    Raises:
        InputError: a dataset folder that is not one, or a room with too few labelled digits. MNIST
            without a file in the data folder is Keras's download, tried by each entry.
    """
    if settings.data == "mnist":
        return [str(d) for d in range(10)]
    path = room.path if settings.data == "room" else Path(str(settings.folder))
    scan = folders.scan_image_folder(path)
    return list(scan.class_names)
