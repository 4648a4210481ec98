"""The room (core.room) and who may do what (core.roles)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core import datasets, limits
from core.default_model import default_run
from core.errors import InputError
from core.jobs import JobManager
from core.roles import LOCAL, Actor, NotAllowedError, _Access, require_presenter
from core.room import Room, active_room, open_room
from core.runs import RunStore
from core.training import TrainConfig
from core.zip_import import import_zip

AUDIENCE = Actor("phone-1", False)
OTHER_PHONE = Actor("phone-2", False)
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
    shown = room.submit(digit_image("2"), "2", 0.9, "photo", AUDIENCE)
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


def test_the_rooms_labelled_submissions_are_an_image_folder_dataset(room, tmp_path):
    """... which an MNIST model can be evaluated on (core.evaluate, as the Evaluate page does)."""
    from core.evaluate import evaluate_run

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
        "start a training": lambda a: manager.submit(cfg, actor=a),
        "stop a training": lambda a: manager.stop(run.id, actor=a),
        "delete runs": lambda a: store.delete(run.id, actor=a),
        "write notes": lambda a: run.write_note("mine now", actor=a),
        "import data": lambda a: import_zip(zip_bytes.getvalue(), "x", tmp_path / "data", actor=a),
        "hide submissions": lambda a: room.hide(sub.id, a),
        "approve submissions": lambda a: room.approve(sub.id, a),
        "change how submissions are shown": lambda a: room.set_approval(True, a),
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
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret")
    access.configure("localhost")  # a key is set: even on localhost, only its holder presents
    assert not access.open_access() and not access.actor("u").presenter and access.grant("u", "s3cret")


def test_key_guesses_are_rate_limited(monkeypatch):
    access = _Access()
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret")
    access.configure("0.0.0.0")
    for _ in range(5):
        assert not access.grant("guesser", "nope")
    with pytest.raises(InputError, match="Slow down: at most 5 presenter key attempts"):
        access.grant("guesser", "s3cret")
