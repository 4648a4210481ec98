"""AppTest of the meetup features: an audience session cannot change anything, even by
crafting widget state; the presenter key (typed, or in the link); Join and Wall."""

from __future__ import annotations

import io

import pytest
from conftest import ROOT
from PIL import Image, ImageDraw, ImageFont
from streamlit.testing.v1 import AppTest

from core.access.roles import LOCAL, Actor
from core.room.active import active_room, open_room
from core.runs.store import RunStore

APP = str(ROOT / "streamlit_app.py")
KEY = "s3cret-key-of-the-talk"


@pytest.fixture
def audience(monkeypatch):
    """A server with a presenter key: a new visitor is audience."""
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", KEY)


def app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def page_titles(at) -> set[str]:
    return {m.value for m in at.markdown} | {c.value for c in at.caption}


def seeded_run(tmp_path):
    run = RunStore().create("done", {"task": "mnist", "preset": "mnist-mlp"})
    run.update_status(status="completed")
    (run.path / "history.csv").write_text(
        "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n1,1,0.5,1,0.5,0.001,1\n"
    )
    return run


def crafted(widget):
    """The widget as a hand-made websocket message sees it: a browser shows it disabled, a
    crafted client ignores that (AppTest itself refuses to touch disabled widgets)."""
    widget.proto.disabled = False
    return widget


def test_audience_cannot_delete_or_write_notes_even_by_crafted_clicks(audience, tmp_path):
    """The page shows the controls disabled; forged clicks on them change nothing (Streamlit
    drops values of disabled widgets, and the core refuses the audience: tests/test_room.py)."""
    run = seeded_run(tmp_path)
    at = app()
    at.switch_page("pages/curves.py").run()
    assert at.button(key=f"del_{run.id}").disabled and at.button(key=f"save_{run.id}").disabled
    crafted(at.button(key=f"del_{run.id}")).click().run()
    crafted(at.text_area(key=f"note_{run.id}")).set_value("audience was here").run()
    crafted(at.button(key=f"save_{run.id}")).click().run()
    assert not at.exception
    assert run.path.is_dir() and run.note() == "" and RunStore().list()[0].id == run.id


def test_audience_navigation_has_no_train_page_and_evaluate_no_upload(audience):
    at = app()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/train.py").run()
    at = app()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    assert "Upload a zip" not in at.selectbox(key="eval_target").options


def test_the_key_in_the_link_unlocks_and_leaves_the_address_bar(audience, tmp_path):
    at = app(key=KEY)
    assert "key" not in at.query_params
    at.switch_page("pages/train.py").run()  # now in the navigation
    assert not at.exception


def test_a_wrong_key_in_the_box_is_refused_and_the_right_one_unlocks(audience):
    at = app()
    at.text_input(key="presenter_key").input("guess")  # typed into the form, sent by its button
    next(b for b in at.button if b.label == "Unlock").click().run()
    assert any("That key is wrong" in e.value for e in at.error)
    at.text_input(key="presenter_key").input(KEY)
    next(b for b in at.button if b.label == "Unlock").click().run()
    at.switch_page("pages/train.py").run()
    assert not at.exception


def printed(d: str) -> bytes:
    img = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(img).text((35, 0), d, fill=0, font=ImageFont.load_default(size=120))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_join_sends_a_photo_says_wrong_and_the_wall_shows_it(audience, tmp_path):
    open_room("PyData SP", "__default__", [str(d) for d in range(10)], LOCAL)
    phone = app()
    phone.switch_page("pages/join.py").run()
    phone.segmented_control(key="join_how").set_value("Photo").run()
    phone.file_uploader(key="join_photo").upload("seven.png", printed("7"), "image/png").run()
    next(b for b in phone.button if b.label == "Send this photo").click().run()
    assert not phone.exception
    assert any("The model read **7**" in m.value for m in phone.markdown)
    sub = active_room().submissions()[0]
    send = next(b for b in phone.button if b.label == "Send this photo")
    assert send.disabled and "Sent. Take or choose another photo to send one more." in [c.value for c in phone.caption]
    phone.run()  # the page again, with the same photo still chosen: nothing is sent again
    assert len(active_room().submissions()) == 1
    labels = [b.label for b in phone.button]  # the answer's buttons come before Send: in view just after sending
    assert labels.index("Yes, that's right") < labels.index("Send this photo")
    phone.pills(key=f"join_wrong_{sub.id}").set_value("1").run()  # "no, it was a 1"
    assert any("It was a 1: noted." in s.value for s in phone.success)

    wall = app()
    wall.switch_page("pages/wall.py").run()
    assert not wall.exception
    assert not wall.get("image")[1:] and {m.label: m.value for m in wall.metric}["Read right"] == "-"  # a photo waits
    active_room().approve(sub.id, LOCAL)
    wall.run()
    metrics = {m.label: m.value for m in wall.metric}
    assert metrics["Read right"] == "0 of 1" and metrics["Submissions"] == "1"
    captions = [c for el in wall.get("image") for c in el.captions]
    assert any(c.startswith("7 · ") and "(was 1)" in c for c in captions), captions
    assert not [b for b in wall.button if (b.key or "").startswith(("hide_", "ban_"))]  # the audience does not moderate
    assert not [b for b in wall.button if b.label == "Open a new room" or b.key == "wall_clear"]
    assert not [t for t in wall.toggle if t.key in ("wall_approval", "wall_approve_photos")]


def test_the_presenter_hides_from_the_wall(tmp_path):
    room = open_room("Talk", "__default__", [str(d) for d in range(10)], LOCAL)
    phone = app()
    phone.switch_page("pages/join.py").run()
    phone.segmented_control(key="join_how").set_value("Photo").run()
    phone.file_uploader(key="join_photo").upload("two.png", printed("2"), "image/png").run()
    next(b for b in phone.button if b.label == "Send this photo").click().run()
    sub = room.submissions()[0]
    wall = app()  # localhost, no key: the presenter
    wall.switch_page("pages/wall.py").run()
    wall.button(key=f"hide_{sub.id}").click().run()
    assert not wall.exception
    assert room.submissions()[0].hidden
    wall.run()
    assert {m.label: m.value for m in wall.metric}["Submissions"] == "0"


def seeded_room():
    """A room with two phones' drawings on the wall (labelled: one wrong, one right) and a photo waiting."""
    room = open_room("Talk", "__default__", [str(d) for d in range(10)], LOCAL)
    troll, other = Actor("troll", False, "10.0.0.5"), Actor("other", False, "10.0.0.6")
    rude = room.submit(Image.open(io.BytesIO(printed("8"))), "8", 0.9, "drawing", troll)
    room.label(rude.id, "3", troll)
    kind = room.submit(Image.open(io.BytesIO(printed("1"))), "1", 0.9, "drawing", other)
    room.label(kind.id, "1", other)
    photo = room.submit(Image.open(io.BytesIO(printed("2"))), "2", 0.9, "photo", other)
    return room, rude, kind, photo


def test_the_presenter_bans_clears_and_lets_photos_through(audience, tmp_path):
    room, rude, kind, photo = seeded_room()
    wall = app(key=KEY)
    wall.switch_page("pages/wall.py").run()
    assert not wall.exception
    assert wall.toggle(key="wall_approve_photos").value and not wall.toggle(key="wall_approval").value
    assert wall.button(key=f"ok_{photo.id}") and wall.button(key=f"ban_{photo.id}")  # the photo waits
    assert wall.button(key=f"ban_{rude.id}").proto.help == "Ban this sender"

    wall.button(key=f"ban_{rude.id}").click().run()
    assert not wall.exception
    assert room.submission(rude.id).hidden and room.banned() and room.submission(kind.id).visible
    assert {m.label: m.value for m in wall.metric}["Submissions"] == "2"  # the drawing and the waiting photo
    assert not [b for b in wall.button if b.key == f"ban_{rude.id}"]

    wall.toggle(key="wall_approve_photos").set_value(False).run()
    assert not wall.exception and not room.settings().approve_photos
    assert room.submit(Image.open(io.BytesIO(printed("4"))), "4", 0.9, "photo", Actor("p", False)).approved

    wall.button(key="wall_clear").click().run()
    assert not wall.exception
    assert not [s for s in room.submissions() if s.visible]
    assert {m.label: m.value for m in wall.metric}["Submissions"] == "0"
    assert any("Nothing on the wall yet" in i.value for i in wall.info)
    assert not [b for b in wall.button if (b.key or "").startswith("ok_")]  # nor waiting for approval
    assert len(room.submissions()) == 4 and (room.path / "1" / f"{kind.id}.png").is_file()  # still in the dataset
    assert not (room.path / "3" / f"{rude.id}.png").exists()  # banned: hidden, never in the dataset


def test_the_wall_marks_what_the_model_did_not_know(audience, tmp_path):
    room = open_room("Talk", "__default__", [str(d) for d in range(10)], LOCAL)
    phone = Actor("phone", False, "10.0.0.5")
    unsure = room.submit(Image.open(io.BytesIO(printed("4"))), "4", 0.38, "drawing", phone, unfamiliar=True)
    sure = room.submit(Image.open(io.BytesIO(printed("7"))), "7", 0.97, "drawing", phone)
    wall = app()
    wall.switch_page("pages/wall.py").run()
    assert not wall.exception
    captions = [c for el in wall.get("image") for c in el.captions]
    assert "? I don't know (best guess 4 · 38%)" in captions and "7 · 97%" in captions, captions
    room.label(unsure.id, "9", phone)
    room.label(sure.id, "7", phone)
    wall.run()
    captions = [c for el in wall.get("image") for c in el.captions]
    assert "? I don't know (best guess 4 · 38%) (was 9)" in captions, captions
    assert {m.label: m.value for m in wall.metric}["Read right"] == "1 of 2"


def test_join_without_a_room_waits(tmp_path):
    at = app()
    at.switch_page("pages/join.py").run()
    assert any("has not opened the room yet" in i.value for i in at.info)


def test_an_i_dont_know_answer_offers_no_yes_and_asks_what_it_was(audience, tmp_path):
    import numpy as np

    open_room("Talk", "__default__", [str(d) for d in range(10)], LOCAL)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (140, 140), dtype=np.uint8))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    phone = app()
    phone.switch_page("pages/join.py").run()
    phone.segmented_control(key="join_how").set_value("Photo").run()
    phone.file_uploader(key="join_photo").upload("noise.png", buf.getvalue(), "image/png").run()
    next(b for b in phone.button if b.label == "Send this photo").click().run()
    assert not phone.exception
    sub = active_room().submissions()[0]
    assert sub.unfamiliar  # the shipped model's calibration calls noise unfamiliar
    assert any(m.value == "## I don't know" for m in phone.markdown)
    assert not [b for b in phone.button if b.label == "Yes, that's right"]
    pills = phone.pills(key=f"join_wrong_{sub.id}")
    assert pills.label == "What was it?" and sub.predicted in pills.options  # any class, the guess included
    pills.set_value(sub.predicted).run()
    assert any(f"It was a {sub.predicted}: noted." in s.value for s in phone.success)  # never "it got it right"
    assert active_room().submission(sub.id).label == sub.predicted
