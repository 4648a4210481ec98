"""The room (core.room: folder, submissions, active) and who may do what (core.access.roles)."""

from __future__ import annotations

import dataclasses
import io
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.access import limits
from core.access.roles import LOCAL, Actor, NotAllowedError, _Access, require_presenter
from core.base.errors import InputError
from core.base.storage import read_json, write_json_atomic
from core.data import folders as datasets
from core.data.zip_import import import_zip
from core.room import folder as room_module
from core.room.active import active_room, open_room
from core.room.folder import Room
from core.room.submissions import sender_of
from core.runs.jobs import JobManager
from core.runs.store import RunStore
from core.serving.default_model import default_run
from core.tasks import Job
from core.training import TrainConfig

AUDIENCE = Actor("phone-1", False)
OTHER_PHONE = Actor("phone-2", False)
ON_WIFI = Actor("phone-3", False, "10.0.0.5")  # a phone with its network address, as a web page passes it
DIGITS = [str(d) for d in range(10)]


def digit_image(d: str, size: int = 140) -> Image.Image:
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).text((size // 4, 0), d, fill=0, font=ImageFont.load_default(size=int(size * 0.85)))
    return img


@pytest.fixture
def room(tmp_path) -> Room:
    return open_room("PyData SP", "__default__", DIGITS, LOCAL, tmp_path / "data")


def test_open_room_makes_it_the_active_one(room, tmp_path):
    assert active_room(tmp_path / "data").path == room.path
    assert room.settings().title == "PyData SP" and room.name.startswith("room-")


def test_submit_label_and_score(room):
    a = room.submit(digit_image("7"), "7", 0.98, "drawing", AUDIENCE)
    b = room.submit(digit_image("1"), "7", 0.61, "drawing", OTHER_PHONE)
    room.label(a.id, "7", AUDIENCE)
    room.label(b.id, "1", OTHER_PHONE)
    assert room.score() == (1, 2)
    cm = np.array(room.confusion())
    assert cm[7, 7] == 1 and cm[1, 7] == 1 and cm.sum() == 2
    assert (room.path / "7" / f"{a.id}.png").is_file() and (room.path / "1" / f"{b.id}.png").is_file()


def test_only_the_sender_or_the_presenter_labels(room):
    sub = room.submit(digit_image("3"), "3", 0.9, "drawing", AUDIENCE)
    with pytest.raises(InputError, match="Only the person who sent it"):
        room.label(sub.id, "8", OTHER_PHONE)
    with pytest.raises(InputError, match="Expected a label among"):
        room.label(sub.id, "../../etc", AUDIENCE)
    room.label(sub.id, "8", LOCAL)
    assert room.submissions()[0].label == "8"


def test_moderation_hides_for_good_and_approval_holds_new_ones(room):
    shown = room.submit(digit_image("2"), "2", 0.9, "drawing", AUDIENCE)
    assert room.submission(shown.id).visible
    room.label(shown.id, "2", AUDIENCE)
    with pytest.raises(NotAllowedError, match="Only the presenter can hide submissions"):
        room.hide(shown.id, AUDIENCE)
    room.hide(shown.id, LOCAL)
    sub = room.submissions()[0]
    assert sub.hidden and not sub.visible
    assert not (room.path / "2" / f"{sub.id}.png").exists() and (room.path / ".hidden" / f"{sub.id}.png").is_file()
    room.label(shown.id, "5", LOCAL)  # relabelling a hidden one never brings it back
    assert not room.submissions()[0].visible and not (room.path / "5").exists()

    with pytest.raises(NotAllowedError):
        room.set_approval(True, AUDIENCE)
    room.set_approval(True, LOCAL)
    waiting = room.submit(digit_image("4"), "4", 0.9, "drawing", AUDIENCE)
    assert not next(s for s in room.submissions() if s.id == waiting.id).visible
    with pytest.raises(NotAllowedError):
        room.approve(waiting.id, AUDIENCE)
    room.approve(waiting.id, LOCAL)
    assert next(s for s in room.submissions() if s.id == waiting.id).visible


def test_submissions_per_phone_are_rate_limited(room, monkeypatch):
    monkeypatch.setitem(limits.RATES, "room", limits.Rate(2, 60, "submissions to the room"))
    for _ in range(2):
        room.submit(digit_image("1"), "1", 0.5, "drawing", AUDIENCE)
    with pytest.raises(InputError, match="at most 2 submissions to the room per 1 min"):
        room.submit(digit_image("1"), "1", 0.5, "drawing", AUDIENCE)
    room.submit(digit_image("1"), "1", 0.5, "drawing", OTHER_PHONE)  # another phone is not slowed


def test_the_rooms_labelled_submissions_are_an_image_folder_dataset(room, tmp_path, monkeypatch):
    """... which an MNIST model can be evaluated on (core.tasks.evaluate_run, as the Evaluate page does)."""
    from core.tasks import evaluate_run

    for d in "0123456789" * 2:
        sub = room.submit(digit_image(d, 200), d, 0.9, "drawing", AUDIENCE if d < "5" else OTHER_PHONE)
        room.label(sub.id, d, LOCAL)
    hidden = room.submit(digit_image("9"), "9", 0.9, "drawing", AUDIENCE)
    room.label(hidden.id, "9", AUDIENCE)
    room.hide(hidden.id, LOCAL)
    pending = room.submit(digit_image("6"), "6", 0.9, "drawing", AUDIENCE)  # never labelled
    assert str(room.path) in datasets.list_datasets(tmp_path / "data")["folders"]
    scan = datasets.scan_image_folder(room.path, min_per_class=1)
    assert scan.class_names == DIGITS and len(scan.train_files) == 20  # not the hidden, not the pending one
    assert not any(pending.id in f or hidden.id in f for f in scan.train_files)
    result = evaluate_run(default_run(), str(room.path))
    assert result.metrics["n"] == 20 and result.metrics["accuracy"] >= 0.6  # printed digits, an MNIST model
    # A visitor's evaluations are charged and limited (seconds of the room's CPU each); the CLI's are not.
    monkeypatch.setitem(limits.RATES, "heavy", limits.Rate(1, 60, "evaluations and explanations"))
    evaluate_run(default_run(), str(room.path), actor=AUDIENCE)
    with pytest.raises(InputError, match="at most 1 evaluations and explanations per 1 min per visitor"):
        evaluate_run(default_run(), str(room.path), actor=AUDIENCE)
    evaluate_run(default_run(), str(room.path))


def test_room_refuses_class_names_that_leave_its_folder(tmp_path):
    with pytest.raises(InputError, match="usable as folder names"):
        open_room("x", "__default__", ["a", "../b"], LOCAL, tmp_path)
    with pytest.raises(NotAllowedError, match="Only the presenter can open a room"):
        open_room("x", "__default__", DIGITS, AUDIENCE, tmp_path)


def test_a_damaged_events_line_is_skipped(room):
    room.submit(digit_image("1"), "1", 0.5, "drawing", AUDIENCE)
    with (room.path / ".events.jsonl").open("a") as fh:
        fh.write('{"type": "submit", "id": 5}\n[1,2]\n{"type": "label", "id": "nope"\n')
    assert len(room.submissions()) == 1


def dataset_files(room: Room) -> set[str]:
    """The image files of the room's dataset (``<label>/<id>.png``), as Evaluate and Train see them."""
    return {f"{p.parent.name}/{p.name}" for p in room.path.glob("*/*.png") if not p.parent.name.startswith(".")}


def test_origin_and_unfamiliar_are_stored(room):
    unsure = room.submit(digit_image("4"), "4", 0.38, "drawing", ON_WIFI, unfamiliar=True)
    plain = room.submit(digit_image("1"), "1", 0.9, "drawing", AUDIENCE)  # no address: the session stands in
    assert room.submission(unsure.id).origin == sender_of("10.0.0.5") != room.submission(unsure.id).sender
    assert room.submission(unsure.id).unfamiliar and not room.submission(plain.id).unfamiliar
    assert room.submission(plain.id).origin == sender_of("phone-1")
    events = [json.loads(line) for line in (room.path / ".events.jsonl").read_text().splitlines()]
    assert events[0]["origin"] == sender_of("10.0.0.5") and events[0]["unfamiliar"] is True
    assert events[0]["bytes"] == (room.path / ".pending" / f"{unsure.id}.png").stat().st_size
    assert "cleared" not in events[0]  # computed when reading, never stored


def test_an_i_dont_know_submission_takes_any_label_from_its_sender(room):
    unsure = room.submit(digit_image("4"), "4", 0.38, "drawing", ON_WIFI, unfamiliar=True)
    room.label(unsure.id, "9", ON_WIFI)
    assert room.submission(unsure.id).label == "9" and (room.path / "9" / f"{unsure.id}.png").is_file()
    room.label(unsure.id, "4", ON_WIFI)  # its best guess was right after all
    assert room.submission(unsure.id).right and (room.path / "4" / f"{unsure.id}.png").is_file()
    assert room.score() == (1, 1)


def test_a_photo_waits_for_the_presenter_by_default_and_a_drawing_does_not(room):
    assert room.settings().approve_photos and not room.settings().approval
    photo = room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE)
    drawing = room.submit(digit_image("3"), "3", 0.9, "drawing", AUDIENCE)
    assert not room.submission(photo.id).approved and not room.submission(photo.id).visible
    assert room.submission(drawing.id).visible

    with pytest.raises(NotAllowedError, match="Only the presenter can change how submissions are shown"):
        room.set_photo_approval(False, AUDIENCE)
    assert room.settings().approve_photos
    room.set_photo_approval(False, LOCAL)
    assert not room.settings().approve_photos and read_json(room.path / ".room.json")["approve_photos"] is False
    assert room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE).approved
    room.set_approval(True, LOCAL)  # approval mode: everything waits, drawings too
    assert not room.submit(digit_image("3"), "3", 0.9, "drawing", AUDIENCE).approved
    assert not room.settings().approve_photos  # one setting did not undo the other

    settings = read_json(room.path / ".room.json")
    del settings["approve_photos"]  # a room file from before the setting: photos wait
    write_json_atomic(room.path / ".room.json", settings)
    assert room.settings().approve_photos and not room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE).approved


def test_a_labelled_photo_enters_the_dataset_only_once_approved(room):
    photo = room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE)
    room.label(photo.id, "2", AUDIENCE)
    sub = room.submission(photo.id)
    assert sub.label == "2" and not sub.approved
    assert not (room.path / "2" / f"{photo.id}.png").exists() and f"2/{photo.id}.png" not in dataset_files(room)
    assert room.image_path(sub) == room.path / ".pending" / f"{photo.id}.png" and room.image_path(sub).is_file()

    room.approve(photo.id, LOCAL)
    sub = room.submission(photo.id)
    assert sub.visible and room.image_path(sub) == room.path / "2" / f"{photo.id}.png"
    assert room.image_path(sub).is_file() and not (room.path / ".pending" / f"{photo.id}.png").exists()
    room.label(photo.id, "7", AUDIENCE)  # relabelled once approved: it moves with its label
    assert dataset_files(room) == {f"7/{photo.id}.png"}

    waiting = room.submit(digit_image("3"), "3", 0.9, "photo", AUDIENCE)  # approved first, labelled after
    room.approve(waiting.id, LOCAL)
    assert dataset_files(room) == {f"7/{photo.id}.png"}  # unlabelled: not in the dataset yet
    room.label(waiting.id, "3", AUDIENCE)
    assert dataset_files(room) == {f"7/{photo.id}.png", f"3/{waiting.id}.png"}

    hidden = room.submit(digit_image("5"), "5", 0.9, "photo", AUDIENCE)
    room.label(hidden.id, "5", AUDIENCE)
    room.hide(hidden.id, LOCAL)
    room.approve(hidden.id, LOCAL)  # approving a hidden one never brings it into the dataset
    assert (room.path / ".hidden" / f"{hidden.id}.png").is_file() and not (room.path / "5").exists()
    assert room.image_path(room.submission(hidden.id)).is_file()


def test_clearing_the_wall_hides_older_ones_from_it_but_keeps_them_in_the_dataset(room):
    old = [room.submit(digit_image(d), "7", 0.9, "drawing", AUDIENCE) for d in "71"]
    for sub, label in zip(old, "71"):
        room.label(sub.id, label, AUDIENCE)
    waiting = room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE)
    assert room.score() == (1, 2) and np.array(room.confusion()).sum() == 2
    with pytest.raises(NotAllowedError, match="Only the presenter can clear the wall"):
        room.clear_wall(AUDIENCE)
    assert room.score() == (1, 2)

    room.clear_wall(LOCAL)
    new = room.submit(digit_image("3"), "3", 0.9, "drawing", OTHER_PHONE)
    room.label(new.id, "3", OTHER_PHONE)
    subs = {s.id: s for s in room.submissions()}
    assert len(subs) == 4 and [s.id for s in subs.values() if s.visible] == [new.id]
    assert all(subs[s.id].cleared and not subs[s.id].hidden for s in old) and not subs[new.id].cleared
    assert room.score() == (1, 1)
    cm = np.array(room.confusion())
    assert cm.sum() == 1 and cm[3, 3] == 1
    room.approve(waiting.id, LOCAL)  # waiting before the clear: approving it does not bring it back
    assert not room.submission(waiting.id).visible
    assert dataset_files(room) == {f"7/{old[0].id}.png", f"1/{old[1].id}.png", f"3/{new.id}.png"}
    assert len(datasets.scan_image_folder(room.path, min_per_class=1).train_files) == 3  # clearing is not deleting
    room.label(old[1].id, "4", AUDIENCE)  # a cleared one can still be labelled: it stays in the dataset
    assert (room.path / "4" / f"{old[1].id}.png").is_file() and room.score() == (1, 1)


def test_a_ban_hides_the_senders_submissions_and_refuses_them_even_after_a_reload(room):
    first = room.submit(digit_image("1"), "1", 0.9, "drawing", ON_WIFI)
    room.label(first.id, "1", ON_WIFI)
    second = room.submit(digit_image("2"), "2", 0.9, "drawing", ON_WIFI)
    same_wifi = room.submit(digit_image("5"), "5", 0.9, "drawing", Actor("phone-4", False, "10.0.0.5"))
    elsewhere = room.submit(digit_image("3"), "3", 0.9, "drawing", Actor("phone-5", False, "10.0.0.6"))
    with pytest.raises(NotAllowedError, match="Only the presenter can ban senders"):
        room.ban(first.id, AUDIENCE)
    assert not room.banned()

    room.ban(second.id, LOCAL)
    assert room.banned() == {sender_of("phone-3"), sender_of("10.0.0.5")}
    for sub in (first, second, same_wifi):
        assert room.submission(sub.id).hidden and (room.path / ".hidden" / f"{sub.id}.png").is_file()
    assert not (room.path / "1" / f"{first.id}.png").exists()
    assert room.submission(elsewhere.id).visible and room.score() == (0, 0)
    for banned in (ON_WIFI, Actor("phone-3", False, "10.0.0.9"), Actor("a-reload", False, "10.0.0.5")):
        with pytest.raises(InputError, match="The speaker has stopped submissions from this phone"):
            room.submit(digit_image("1"), "1", 0.9, "drawing", banned)
    assert len(room.submissions()) == 4 and len(list((room.path / ".pending").glob("*.png"))) == 1
    room.submit(digit_image("3"), "3", 0.9, "drawing", Actor("phone-5", False, "10.0.0.6"))  # others go on


def test_a_full_room_refuses_new_submissions_and_keeps_every_accepted_one(room, monkeypatch):
    monkeypatch.setattr(room_module, "MAX_ROOM_SUBMISSIONS", 3)
    kept = [room.submit(digit_image(d), d, 0.9, "drawing", AUDIENCE) for d in "123"]
    events = (room.path / ".events.jsonl").read_bytes()
    allowance = limits.left("room", OTHER_PHONE.session)
    with pytest.raises(InputError, match=r"This room is full \(3 submissions.*The speaker can open a new room"):
        room.submit(digit_image("4"), "4", 0.9, "drawing", OTHER_PHONE)
    assert (room.path / ".events.jsonl").read_bytes() == events and len(list(room.path.rglob("*.png"))) == 3
    assert {s.id for s in room.submissions()} == {s.id for s in kept}
    assert limits.left("room", OTHER_PHONE.session) == allowance  # a refusal costs no allowance
    room.label(kept[0].id, "1", AUDIENCE)  # full of submissions: labels still go in

    monkeypatch.setattr(room_module, "MAX_ROOM_SUBMISSIONS", 100)
    count, used = room.usage()
    assert count == 3 and used == (room.path / ".events.jsonl").stat().st_size + sum(
        p.stat().st_size for p in room.path.rglob("*.png")
    )
    monkeypatch.setattr(room_module, "MAX_ROOM_BYTES", used + 100)  # less than one more image and its event
    events = (room.path / ".events.jsonl").read_bytes()
    with pytest.raises(InputError, match="This room is full"):
        room.submit(digit_image("4"), "4", 0.9, "drawing", OTHER_PHONE)
    assert (room.path / ".events.jsonl").read_bytes() == events and len(list(room.path.rglob("*.png"))) == 3
    assert len(room.submissions()) == 3


def test_one_address_gets_30_submissions_a_minute_however_many_sessions_it_opens(room):
    accepted, refused = 0, []
    for n in range(40):
        try:
            room.submit(digit_image("1"), "1", 0.5, "drawing", Actor(f"reload-{n}", False, "10.0.0.5"))
            accepted += 1
        except InputError as exc:
            refused.append(str(exc))
    assert accepted == 30 and len(refused) == 10 and len(room.submissions()) == 30
    assert "at most 30 submissions to the room per 1 min per network address" in refused[0]
    room.submit(digit_image("1"), "1", 0.5, "drawing", Actor("reload-99", False, "10.0.0.6"))  # another address


def fresh_parse(room: Room) -> list:
    """What the room reads without its cache (as a new process would)."""
    room_module._CACHE.clear()
    return room.submissions()


def test_the_incremental_cache_reads_what_a_fresh_parse_reads(room):
    a = room.submit(digit_image("1"), "1", 0.9, "drawing", AUDIENCE)
    b = room.submit(digit_image("2"), "2", 0.9, "photo", ON_WIFI)
    cached = room.submissions()
    state = room_module._CACHE[str(room.path)]
    room.label(a.id, "7", AUDIENCE)
    room.approve(b.id, LOCAL)
    c = room.submit(digit_image("3"), "3", 0.9, "drawing", OTHER_PHONE)
    room.clear_wall(LOCAL)
    d = room.submit(digit_image("4"), "4", 0.9, "drawing", OTHER_PHONE)
    room.ban(b.id, LOCAL)
    incremental = room.submissions()
    assert room_module._CACHE[str(room.path)] is state  # the same state, only the appended bytes parsed
    assert state.offset == (room.path / ".events.jsonl").stat().st_size
    assert incremental != cached and len(incremental) == 4
    assert incremental == fresh_parse(room)
    assert room.banned() == {sender_of("phone-3"), sender_of("10.0.0.5")}

    # A line still being written is not read; once completed, it is.
    line = json.dumps({"type": "label", "id": c.id, "label": "8"}) + "\n"
    with (room.path / ".events.jsonl").open("a") as fh:
        fh.write(line[:30])
    assert room.submission(c.id).label is None and room.submissions() == fresh_parse(room)
    with (room.path / ".events.jsonl").open("a") as fh:
        fh.write(line[30:])
    assert room.submission(c.id).label == "8" and room.submissions() == fresh_parse(room)

    # A writer that died mid-line: the next event starts a new line and is not lost with it.
    with (room.path / ".events.jsonl").open("a") as fh:
        fh.write(json.dumps({"type": "hide", "id": d.id})[:-1])
    room.label(d.id, "9", OTHER_PHONE)
    assert room.submission(d.id).label == "9" and not room.submission(d.id).hidden
    assert room.submissions() == fresh_parse(room)

    # A replaced file (a new inode) is parsed again from its start.
    events = room.path / ".events.jsonl"
    first_line = events.read_text().splitlines()[0] + "\n"
    tmp = room.path / "events.tmp"
    tmp.write_text(first_line)
    os.replace(tmp, events)
    assert [s.id for s in room.submissions()] == [a.id]


def test_what_the_room_hands_out_cannot_change_its_cache(room):
    sub = room.submit(digit_image("1"), "1", 0.9, "drawing", AUDIENCE)
    subs = room.submissions()
    subs.clear()
    with pytest.raises(dataclasses.FrozenInstanceError):
        room.submission(sub.id).label = "7"
    assert room.submissions()[0].label is None and room.submission(sub.id) == room.submissions()[0]
    assert room.submission("nope") is None
    room.settings().class_names.append("x")
    assert room.settings().class_names == DIGITS


def test_settings_are_read_again_only_when_their_file_changes(room, monkeypatch):
    reads = []
    original = room_module.read_json
    monkeypatch.setattr(room_module, "read_json", lambda path: reads.append(path) or original(path))
    room.settings()
    room.settings()
    room.settings()
    assert len(reads) <= 1
    settings = read_json(room.path / ".room.json")
    write_json_atomic(room.path / ".room.json", {**settings, "title": "Renamed"})
    assert room.settings().title == "Renamed"
    room.set_approval(True, LOCAL)
    assert room.settings().approval and room.settings().title == "Renamed"


def test_an_old_events_file_without_the_new_fields_loads(tmp_path):
    path = tmp_path / "data" / "room-20261101-1900-old"
    (path / ".pending").mkdir(parents=True)
    write_json_atomic(path / ".room.json", {"title": "Old", "model": "__default__", "class_names": DIGITS,
                                            "approval": False, "created": "2026-11-01T19:00:00"})  # fmt: skip
    old = {"type": "submit", "id": "190000-abcd", "time": 1.8e9, "sender": sender_of("p"), "source": "drawing",
           "predicted": "3", "confidence": 0.8, "label": None, "hidden": False, "approved": True}  # fmt: skip
    lines = [old, {"type": "label", "id": "190000-abcd", "label": "3"}]
    (path / ".events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    room = Room(path)
    sub = room.submission("190000-abcd")
    assert sub is not None and sub.label == "3" and sub.visible
    assert sub.origin == "" and not sub.unfamiliar and not sub.cleared
    assert room.settings().approve_photos and room.usage()[0] == 1 and not room.banned()
    room.ban(sub.id, LOCAL)  # a submission without an origin bans its sender only
    assert room.banned() == {sender_of("p")} and room.submission(sub.id).hidden


def test_no_event_is_dropped_past_16_mib(room):
    """The events file used to be read up to 16 MiB: a submission past that vanished without a word."""
    with (room.path / ".events.jsonl").open("a") as fh:
        fh.write(json.dumps({"type": "note", "text": "x" * (17 * 1024**2)}) + "\n")
    sub = room.submit(digit_image("1"), "1", 0.9, "drawing", AUDIENCE)
    assert room.submission(sub.id) is not None and fresh_parse(room)[0].id == sub.id


# ----- roles ------------------------------------------------------------------------------


def _presenter_only_actions(tmp_path, mnist_npz, room):
    store = RunStore(tmp_path / "runs")
    run = store.create("x", {"task": "mnist"})
    run.update_status(status="completed")
    manager = JobManager(tmp_path / "runs")
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")
    sub = room.submit(digit_image("1"), "1", 0.5, "drawing", AUDIENCE)
    zip_bytes = io.BytesIO()
    return {
        "start a training": lambda a: manager.submit(Job(cfg), actor=a),
        "stop a training": lambda a: manager.stop(run.id, actor=a),
        "delete runs": lambda a: store.delete(run.id, actor=a),
        "write notes": lambda a: run.write_note("mine now", actor=a),
        "import data": lambda a: import_zip(zip_bytes.getvalue(), "x", tmp_path / "data", actor=a),
        "hide submissions": lambda a: room.hide(sub.id, a),
        "approve submissions": lambda a: room.approve(sub.id, a),
        "change how submissions are shown": lambda a: room.set_approval(True, a),
        "ban senders": lambda a: room.ban(sub.id, a),
        "clear the wall": lambda a: room.clear_wall(a),
        "choose the room's model": lambda a: room.set_model("__default__", DIGITS, a),
        "open a room": lambda a: open_room("y", "__default__", DIGITS, a, tmp_path / "data"),
    }


def test_the_audience_can_do_none_of_the_presenters_actions(tmp_path, mnist_npz, room):
    actions = _presenter_only_actions(tmp_path, mnist_npz, room)
    for words, action in actions.items():
        with pytest.raises(NotAllowedError, match=f"Only the presenter can {words}"):
            action(AUDIENCE)
    assert RunStore(tmp_path / "runs").list()[0].note() == ""  # nothing was written
    assert len(RunStore(tmp_path / "runs").list()) == 1
    assert len(list((tmp_path / "data").glob("room-*"))) == 1


def test_require_presenter_refuses_anything_that_is_not_an_actor():
    for fake in (None, "presenter", {"presenter": True}, True):
        with pytest.raises(NotAllowedError):
            require_presenter(fake, "delete runs")


def test_access_modes(monkeypatch, capsys):
    access = _Access()
    monkeypatch.delenv("CNNLAB_PRESENTER_KEY", raising=False)
    access.configure("localhost")
    assert access.open_access() and access.actor("any").presenter  # alone on a laptop
    access.configure("0.0.0.0")
    assert access.generated and not access.open_access() and not access.actor("s").presenter
    assert f"Presenter key for this run: {access.key}" in capsys.readouterr().err
    assert not access.grant("s", "wrong") and access.grant("s", access.key)
    assert access.actor("s").presenter and not access.actor("t").presenter
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret-presenter")
    access.configure("localhost")  # a key is set: even on localhost, only its holder presents
    assert not access.open_access() and not access.actor("u").presenter and access.grant("u", "s3cret-presenter")


def test_key_guesses_are_rate_limited(monkeypatch):
    access = _Access()
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret-presenter")
    access.configure("0.0.0.0")
    for _ in range(5):
        assert not access.grant("guesser", "nope")
    with pytest.raises(InputError, match="Slow down: at most 5 presenter key attempts"):
        access.grant("guesser", "s3cret-presenter")
