"""AppTest of the challenge on the pages: the presenter opens it on the Wall; a phone designs a network on
Join (add, move, remove, the counts against the budget), sends it, and follows it; the Wall ranks it,
crowns the winner and makes it the room's model; the audience sees no presenter control."""

from __future__ import annotations

import json
import os

import pytest
from conftest import HISTORY, ROOT
from streamlit.testing.v1 import AppTest

from core.access.roles import LOCAL
from core.base.storage import write_json_atomic
from core.challenge.contest import Challenge
from core.challenge.rules import ChallengeSettings, cost, layers_from_dicts
from core.room.active import active_room, open_room
from core.runs.jobs import JobManager
from core.runs.procs import start_ticks
from core.runs.store import RunStore

APP = str(ROOT / "streamlit_app.py")
KEY = "s3cret-key-of-the-talk"
DIGITS = [str(d) for d in range(10)]


@pytest.fixture
def audience(monkeypatch):
    """A server with a presenter key: a new visitor is audience."""
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", KEY)


@pytest.fixture
def no_training(monkeypatch):
    """Entries queue but never start: no training process in a page test."""
    monkeypatch.setattr(JobManager, "pump", lambda self: [])


def app(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def challenge(**settings) -> Challenge:
    room = open_room("Talk", "__default__", DIGITS, LOCAL)
    return Challenge.open(room, ChallengeSettings(**settings), LOCAL)


def board_of(at: AppTest):
    """The Wall's leaderboard table (a DataFrame)."""
    [table] = at.dataframe
    return table.value


def chart_bars(at: AppTest) -> dict[str, float]:
    """The Wall's leaderboard chart: each bar's name and score, best first."""
    [bar] = [d for c in at.get("plotly_chart") for d in json.loads(c.proto.spec)["data"] if d["type"] == "bar"]
    return dict(zip(bar["y"], bar["x"]))


def progress_texts(at: AppTest) -> list[str]:
    return [p.text for p in at.get("progress")]


def layer_texts(at: AppTest) -> list[str]:
    """The picked layers as the phone lists them ("**1.** Convolution · 8 filters · 3×3 → 28×28×8")."""
    return [m.value for m in at.markdown if m.value.startswith("**") and m.value[2:3].isdigit()]


def counts(items: list[dict], epochs: int, **settings) -> tuple[int, int]:
    """Parameters and multiply-adds x epochs by the core's arithmetic (the reference for the page's numbers)."""
    c = cost(ChallengeSettings(**settings), layers_from_dicts(items), epochs, 10)
    return c.params, c.mac_epochs


def train(run_id: str, status: str, accuracies: list[float], test: float | None = None) -> None:
    """An entry's run as the trainer leaves it after ``len(accuracies)`` epochs (no training here)."""
    run = RunStore().get(run_id)
    rows = "".join(f"{e},1.0,{a},1.0,{a},0.001,{e * 2.0}\n" for e, a in enumerate(accuracies, 1))
    (run.path / "history.csv").write_text(HISTORY + rows)
    alive = {"pid": os.getpid(), "pid_start": start_ticks(os.getpid())} if status == "running" else {}  # not orphaned
    run.update_status(status=status, **alive, **({"test_accuracy": test} if test is not None else {}))
    if status == "completed":
        (run.path / "best.keras").write_bytes(b"a checkpoint")
        config = run.config()
        write_json_atomic(run.config_path, {**config, "class_names": DIGITS})


def test_the_presenter_opens_a_challenge_on_the_wall(tmp_path):
    open_room("Talk", "__default__", DIGITS, LOCAL)
    wall = app("wall")  # localhost, no key: the presenter
    assert wall.button(key="ch_open")
    assert any("Networks train on this machine" in c.value for c in wall.caption)
    wall.text_input(key="ch_title").input("Smallest winner").run()
    wall.number_input(key="ch_max_params").set_value(20_000).run()
    wall.number_input(key="ch_minutes").set_value(5).run()
    wall.button(key="ch_open").click().run()
    assert not wall.exception, wall.exception
    settings = Challenge(active_room()).settings()
    assert settings.title == "Smallest winner" and settings.max_params == 20_000 and settings.engine == "local"
    assert settings.class_names == DIGITS and abs(settings.deadline - settings.opened - 300) < 1
    assert any("No network yet" in i.value for i in wall.info)
    assert {m.label: m.value for m in wall.metric}["Time left"].startswith(("5:00", "4:5"))
    assert any("At most 20,000 parameters" in c.value for c in wall.caption)


def test_a_dataset_folder_challenge_needs_a_folder(tmp_path):
    open_room("Talk", "__default__", DIGITS, LOCAL)
    wall = app("wall")
    wall.segmented_control(key="ch_data").set_value("folder").run()
    assert any("No dataset folder" in w.value for w in wall.warning)
    wall.button(key="ch_open").click().run()
    assert any("Choose the dataset folder" in e.value for e in wall.error)
    assert Challenge(active_room()).settings() is None


def add(at: AppTest, kind: str, **choices) -> None:
    """Picks a layer's kind and choices with the pills, then Add."""
    at.pills(key="join_add_kind").set_value(kind).run()
    for name, value in choices.items():
        at.pills(key=f"join_add_{kind}_{name}").set_value(value).run()
    at.button(key="join_add").click().run()
    assert not at.exception, at.exception


def test_the_picker_adds_moves_and_removes_layers_and_the_counts_follow(tmp_path):
    challenge()
    phone = app("join")
    assert phone.expander[0].label == "Design a network"
    start = phone.session_state["join_layers"]  # a network to change, within the budget
    assert [item["kind"] for item in start] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Dense"]
    assert phone.number_input(key="join_epochs").value == 3
    params, macs = counts(start, 3)
    assert f"{params:,} / 50,000 parameters" in progress_texts(phone)
    assert f"{macs:,} / 5,000,000 multiply-adds × epochs" in progress_texts(phone)
    assert layer_texts(phone)[:2] == ["**1.** Convolution · 8 filters · 3×3 → 28×28×8",
                                      "**2.** Max pooling · 2×2 → 14×14×8"]  # fmt: skip

    add(phone, "Dense", units=64)
    items = phone.session_state["join_layers"]
    assert items[-1] == {"kind": "Dense", "units": 64} and len(items) == 6
    assert f"{counts(items, 3)[0]:,} / 50,000 parameters" in progress_texts(phone)
    assert layer_texts(phone)[-1] == "**6.** Dense · 64 units → 64"
    assert phone.button(key="join_up_0").disabled and phone.button(key="join_down_5").disabled

    phone.button(key="join_up_1").click().run()  # the first pooling before the first convolution
    items = phone.session_state["join_layers"]
    assert [i["kind"] for i in items[:2]] == ["MaxPooling2D", "Conv2D"]
    assert layer_texts(phone)[:2] == ["**1.** Max pooling · 2×2 → 14×14×1",
                                      "**2.** Convolution · 8 filters · 3×3 → 14×14×8"]  # fmt: skip
    assert f"{counts(items, 3)[1]:,} / 5,000,000 multiply-adds × epochs" in progress_texts(phone)

    phone.button(key="join_down_0").click().run()  # and back
    assert phone.session_state["join_layers"][:2] == start[:2]
    phone.button(key="join_remove_5").click().run()
    assert phone.session_state["join_layers"] == start
    assert f"{counts(start, 3)[0]:,} / 50,000 parameters" in progress_texts(phone)
    for _layer in start:
        phone.button(key="join_remove_0").click().run()
    assert any(c.value.startswith("No layers yet") for c in phone.caption)
    assert "7,850 / 50,000 parameters" in progress_texts(phone)  # one Dense layer over the 784 pixels


def test_an_invalid_or_over_budget_network_says_why_and_send_refuses(no_training, tmp_path):
    ch = challenge(max_params=5_000)
    phone = app("join")
    assert counts(phone.session_state["join_layers"], 3)[0] <= 5_000  # the proposed network fits this budget
    phone.text_input(key="join_net_name").input("Greedy").run()
    assert not phone.button(key="join_send").disabled
    add(phone, "Dense", units=128)
    errors = [e.value for e in phone.error]
    assert any(e.startswith("Over the budget:") and "at most 5,000" in e for e in errors), errors
    assert phone.button(key="join_send").disabled
    phone.button(key="join_send").proto.disabled = False  # a crafted client: the core refuses it too
    phone.button(key="join_send").click().run()
    assert not phone.exception
    assert any(e.value.startswith("Over the budget:") for e in phone.error) and ch.entries() == []

    add(phone, "Conv2D")  # a convolution after a Dense layer: no network at all
    assert any("cannot come after a Dense layer" in e.value for e in phone.error)
    assert not progress_texts(phone) and phone.button(key="join_send").disabled


def test_a_sent_network_waits_can_change_and_the_wall_ranks_it(no_training, tmp_path):
    ch = challenge()
    phone = app("join")
    assert phone.button(key="join_send").disabled  # no name yet
    phone.text_input(key="join_net_name").input("Tiny Tiger").run()
    phone.number_input(key="join_epochs").set_value(2).run()
    phone.button(key="join_send").click().run()
    assert not phone.exception
    [entry] = ch.entries()
    assert entry.name == "Tiny Tiger" and entry.epochs == 2 and entry.layers == phone.session_state["join_layers"]
    assert entry.params == counts(entry.layers, 2)[0]
    assert any("Sent! Tiny Tiger waits its turn" in s.value for s in phone.success)
    assert any(i.value == "Waiting its turn to train." for i in phone.info)
    assert phone.button(key="join_send").disabled  # one network at a time

    phone.button(key="join_change").click().run()  # back into the picker; Save changes it (still waiting)
    assert phone.button(key="join_send").label == "Save changes"
    phone.button(key="join_remove_4").click().run()
    phone.button(key="join_send").click().run()
    assert not phone.exception
    [entry] = ch.entries()
    assert [i["kind"] for i in entry.layers] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D"]
    assert any("Saved: Tiny Tiger" in s.value for s in phone.success)

    train(entry.run_id, "running", [0.81])
    phone.run()
    assert "Training: epoch 1 of 2 done, best validation accuracy 81.0%" in progress_texts(phone)
    assert not [b for b in phone.button if b.key == "join_change"]  # it started: no more changes

    wall = app("wall")
    board = board_of(wall)
    assert board.iloc[0]["Network"] == "Tiny Tiger" and board.iloc[0]["#"] == "1"
    assert board.iloc[0]["Status"] == "training" and board.iloc[0]["Epochs"] == "1/2"
    assert any("1 network is training now." in c.value for c in wall.caption)


def test_the_wall_marks_early_stops_hides_names_and_crowns_the_winner(no_training, tmp_path):
    from core.access.roles import Actor

    ch = challenge()
    layers = [{"kind": "Conv2D", "filters": 4, "kernel_size": 3}, {"kind": "MaxPooling2D", "pool_size": 2},
              {"kind": "Dense", "units": 16}]  # fmt: skip
    phones = [Actor(f"phone-{i}", False, f"10.0.0.{i}") for i in range(3)]
    entries = [ch.submit(layers, 3, name, p) for name, p in zip(("Ant", "Bee", "Cat"), phones)]
    train(entries[0].run_id, "completed", [0.90, 0.93, 0.95], test=0.94)
    train(entries[1].run_id, "completed", [0.88, 0.90, 0.91], test=0.90)
    train(entries[2].run_id, "running", [0.40])  # far behind the top third at the first rung
    wall = app("wall")
    assert not wall.exception
    board = board_of(wall)
    assert list(board["Network"]) == ["Ant", "Bee", "Cat"]
    assert board.iloc[2]["Status"] == "stopped early"  # the referee's pass, marked with why
    assert board.iloc[2]["Note"].startswith("stopped early at epoch 1: 40.0% validation accuracy, behind the top third")
    assert (RunStore().get(entries[2].run_id).path / "STOP").exists()
    assert chart_bars(wall) == {"Ant": 0.95, "Bee": 0.91, "Cat": 0.40}

    wall.selectbox(key="wall_ch_entry").set_value(entries[1].id).run()
    wall.button(key="wall_ch_hide").click().run()
    assert not wall.exception
    assert "Bee" not in list(board_of(wall)["Network"]) and list(chart_bars(wall)) == ["Ant", "Entry 2", "Cat"]

    RunStore().get(entries[2].run_id).update_status(status="stopped")
    wall.button(key="wall_ch_end").click().run()
    assert not wall.exception
    assert ch.state() == "ended" and ch.settings().winner == entries[0].id
    assert any(s.value.startswith("**Ant** wins: 95.0% best validation accuracy") for s in wall.success)
    wall.button(key="wall_ch_model").click().run()
    assert not wall.exception
    assert active_room().settings().model == entries[0].run_id
    assert any("The room uses it now" in c.value for c in wall.caption)


def test_the_audience_sees_no_presenter_control_and_follows_the_end(audience, no_training, tmp_path):
    ch = challenge()
    wall = app("wall")
    assert not wall.exception
    assert not [b for b in wall.button if (b.key or "").startswith(("ch_", "wall_ch_"))]
    assert not [s for s in wall.selectbox if s.key == "wall_ch_entry"]
    assert any("No network yet" in i.value for i in wall.info)

    phone = app("join")
    phone.text_input(key="join_net_name").input("Mine").run()
    phone.button(key="join_send").click().run()
    [entry] = ch.entries()
    assert not entry.owner == "" and ch.mine(LOCAL) == []  # the phone's own entry, not the presenter's
    train(entry.run_id, "completed", [0.7, 0.8, 0.85])
    ch.end(LOCAL)
    phone.run()
    assert not phone.exception
    assert phone.expander[0].label == "The network challenge"
    assert any("The winner: **Mine** (85.0% best validation accuracy)" in s.value for s in phone.success)
    assert any(s.value.startswith("Done: 85.0% best validation accuracy, rank 1 of 1") for s in phone.success)
    assert not [b for b in phone.button if b.key == "join_send"]  # closed: no picker
    wall.run()
    assert any(s.value.startswith("**Mine** wins") for s in wall.success)
    assert not [b for b in wall.button if b.key == "wall_ch_model"]


def test_the_chart_escapes_names_and_numbers_a_name_sent_twice():
    from core.challenge.board import Row
    from pages._challenge import board_figure

    def row(name: str, acc: float | None) -> Row:
        return Row(name, name, "o", "r", "running", 1, 3, 100, 1000, 1.0, acc, None)

    assert board_figure([row("Ana", None)]) is None  # no score yet: no chart
    fig = board_figure([row("Ana", 0.5), row("<b>Bo</b>", 0.9), row("Ana", 0.7)])
    assert list(fig.data[0].y) == ["&lt;b&gt;Bo&lt;/b&gt;", "Ana", "Ana (2)"] and list(fig.data[0].x) == [0.9, 0.7, 0.5]
