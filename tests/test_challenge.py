"""The hands-on challenge (core.challenge): its rules, leaderboard, early stop, and who may do what.

The end-to-end runs on both engines are in tests/test_challenge_engines.py.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from core.access import limits
from core.access.roles import LOCAL, Actor, NotAllowedError
from core.base.errors import InputError
from core.base.storage import read_json, write_json_atomic
from core.challenge import contest
from core.challenge.board import Row, rank, to_prune
from core.challenge.contest import Challenge
from core.challenge.rules import (
    MAX_LAYERS,
    ChallengeSettings,
    check_budget,
    clean_name,
    complete_layers,
    cost,
    entry_spec,  # fmt: skip
    layers_from_dicts,
)
from core.room.active import open_room
from core.room.submissions import sender_of
from core.runs import procs
from core.runs.jobs import JobManager, is_entry
from core.tasks import Job
from core.training import TrainConfig

ANA, BIA = Actor("phone-ana", False, "10.0.0.1"), Actor("phone-bia", False, "10.0.0.2")
SMALL = [{"kind": "Conv2D", "filters": 4}, {"kind": "MaxPooling2D"}]
DIGITS = [str(d) for d in range(10)]


@pytest.fixture(autouse=True)
def fresh_limits():
    limits.reset()
    yield
    limits.reset()


class NoStart(JobManager):
    """A job manager that queues but never starts a process: the rights are the point here."""

    def pump(self) -> list[str]:
        return []


@pytest.fixture
def challenge(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_RAY_ADDRESS", raising=False)
    room = open_room("talk", "__default__", DIGITS, LOCAL, tmp_path / "data")
    return Challenge.open(room, ChallengeSettings(data="mnist", max_params=20_000, max_macs=2_000_000, max_epochs=2),
                          LOCAL, NoStart(tmp_path / "runs"))  # fmt: skip


# ----- rules -------------------------------------------------------------------------------------


def test_the_picker_offers_only_its_choices():
    assert [layer.kind for layer in layers_from_dicts(SMALL)] == ["Conv2D", "MaxPooling2D"]
    for bad in ([{"kind": "Conv2D", "filters": 7}], [{"kind": "LSTM"}], [{"kind": "Dense", "units": 32, "x": 1}],
                [{"kind": "Dropout"}] * (MAX_LAYERS + 1), "Conv2D", [None], [{"kind": ["Conv2D"]}],
                [{"kind": "Conv2D", "filters": 8.0}], [{"kind": "Dense", "units": True}]):  # fmt: skip
        with pytest.raises(InputError):
            layers_from_dicts(bad)


def test_flatten_is_added_where_a_classifier_needs_it():
    kinds = [layer.kind for layer in complete_layers(layers_from_dicts(SMALL + [{"kind": "Dense"}]))]
    assert kinds == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert [layer.kind for layer in complete_layers(layers_from_dicts(SMALL))][-1] == "Flatten"
    with pytest.raises(InputError, match="cannot come after a Dense"):
        complete_layers(layers_from_dicts([{"kind": "Dense"}, {"kind": "Conv2D"}]))


def test_the_counted_cost_is_the_built_model_s():
    from core.models import build_model

    settings = ChallengeSettings()
    layers = layers_from_dicts(SMALL + [{"kind": "Dense", "units": 16}, {"kind": "Dropout", "rate": 0.5}])
    c = cost(settings, layers, 2, 10)
    spec = entry_spec(settings, layers, 2)
    assert build_model(spec, spec.input_shape(), 10).count_params() == c.params
    assert c.mac_epochs == 2 * c.macs > 0


def test_the_budget_refuses_with_the_numbers():
    settings = ChallengeSettings(max_params=10_000, max_macs=100_000, max_epochs=2)
    small = layers_from_dicts(SMALL)
    check_budget(settings, cost(settings, small, 1, 10))
    with pytest.raises(InputError, match="parameters, at most 10,000"):
        check_budget(settings, cost(settings, layers_from_dicts([{"kind": "Dense", "units": 128}]), 1, 10))
    roomy = ChallengeSettings(max_params=10**6, max_macs=50_000, max_epochs=2)
    with pytest.raises(InputError, match="multiply-adds x 2 epochs"):
        check_budget(roomy, cost(roomy, small, 2, 10))
    with pytest.raises(InputError, match="1 to 2 epochs"):
        check_budget(settings, cost(settings, small, 3, 10))
    seconds = ChallengeSettings(budget="seconds", max_params=10_000)
    check_budget(
        seconds, cost(seconds, layers_from_dicts([{"kind": "Dense", "units": 128}]), 5, 10)
    )  # time is the budget


def test_settings_are_checked():
    for bad in ({"data": "imagenet"}, {"budget": "money"}, {"metric": "loss"}, {"max_epochs": 0},
                {"minutes": 10_000}, {"cpus": True}, {"data": "folder"}):  # fmt: skip
        with pytest.raises(InputError):
            ChallengeSettings(**bad).check()
    with pytest.raises(InputError):
        ChallengeSettings.from_dict(["not", "a", "dict"])


def test_names_are_one_printable_line():
    assert clean_name("  Ana\x00\n  the\tgreat  ") == "Ana the great"
    assert len(clean_name("x" * 500)) == 30
    assert clean_name("![boo](http://evil.example/a.png)") == "! boo http //evil.example/a.pn"  # 30 characters
    assert (
        clean_name(":red[**Ana**] <b>") == "red Ana b" and clean_name("LeNet-5 v2.0, Ana's!") == "LeNet-5 v2.0, Ana's!"
    )
    with pytest.raises(InputError):
        clean_name("\x07 \n")


# ----- the leaderboard ---------------------------------------------------------------------------


def row(entry: str, curve: list[float], status: str = "running", epochs: int = 4, params: int = 100) -> Row:
    return Row(entry, entry, "o", entry, status, len(curve), epochs, params, 1000, 1.0,
               max(curve) if curve else None, None, curve)  # fmt: skip


def test_rank_by_the_metric_then_fewer_parameters():
    rows = rank([row("a", [0.5]), row("b", [0.9], params=300), row("c", [0.9], params=200), row("d", [])],
                "val_accuracy")  # fmt: skip
    assert [(r.entry, r.rank) for r in rows] == [("c", 1), ("b", 2), ("a", 3), ("d", None)]


def test_asha_stops_the_bottom_of_a_rung_never_the_leader():
    rows = [row("lead", [0.95, 0.97]), row("good", [0.9]), row("weak", [0.5]), row("done", [0.8], "completed"),
            row("worse", [0.4], epochs=1)]  # fmt: skip
    stopped = {r.entry: (rung, cut) for r, rung, cut in to_prune(rows)}
    assert set(stopped) == {"weak", "good"}  # the top third at rung 1 of 5 is the leader alone
    assert stopped["weak"] == (1, 0.95)
    assert to_prune(rows[:2]) == []  # fewer than 3 entries reached the rung: nobody is judged
    assert to_prune([row("a", [0.9]), row("b", [0.8]), row("c", [], status="queued")]) == []


# ----- who may do what -----------------------------------------------------------------------------


def test_only_the_presenter_opens_ends_and_moderates(challenge):
    with pytest.raises(NotAllowedError):
        Challenge.open(challenge.room, ChallengeSettings(), ANA, challenge.manager)
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    for act in (lambda: challenge.end(ANA), lambda: challenge.hide_name(entry.id, True, ANA),
                lambda: challenge.make_room_model(ANA)):  # fmt: skip
        with pytest.raises(NotAllowedError):
            act()
    challenge.hide_name(entry.id, True, LOCAL)
    assert [r.name for r in challenge.rows()] == ["Entry 1"]


def test_a_participant_changes_only_their_own_entry(challenge):
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    for act in (lambda: challenge.stop(entry.id, BIA), lambda: challenge.withdraw(entry.id, BIA),
                lambda: challenge.edit(entry.id, SMALL, 2, "mine now", BIA)):  # fmt: skip
        with pytest.raises(InputError, match="Only the person who sent"):
            act()
    edited = challenge.edit(entry.id, [{"kind": "Dense", "units": 16}], 2, "Ana 2", ANA)
    config = read_json(challenge.manager.store.root / entry.run_id / "config.json")
    assert [layer["kind"] for layer in config["spec"]["layers"]] == ["Flatten", "Dense"]
    assert config["spec"]["epochs"] == 2 and config["challenge"]["name"] == "Ana 2" == edited.name
    assert config["job"]["owner"] == sender_of(ANA.session) and config["run_id"] == entry.run_id
    assert "cancelled" in challenge.stop(entry.id, ANA)


def test_an_entry_cannot_change_once_it_started(challenge):
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    run = challenge.manager.store.get(entry.run_id)
    run.update_status(pid=12345)  # launched
    with pytest.raises(InputError, match="started training"):
        challenge.edit(entry.id, SMALL, 2, "Ana", ANA)


def test_one_entry_at_a_time_and_a_few_in_all(challenge, monkeypatch):
    monkeypatch.setattr(contest, "ENTRIES_PER_PERSON", 2)
    first = challenge.submit(SMALL, 1, "Ana", ANA)
    with pytest.raises(InputError, match="still waiting or training"):
        challenge.submit(SMALL, 1, "Ana again", ANA)
    challenge.stop(first.id, ANA)  # cancelled: a new one may go
    challenge.submit(SMALL, 1, "Ana 2", ANA)
    challenge.stop(challenge.mine(ANA)[0].id, ANA)
    with pytest.raises(InputError, match="the most this challenge takes from one person"):
        challenge.submit(SMALL, 1, "Ana 3", ANA)
    assert len(challenge.entries()) == 2


def test_refusals_queue_nothing(challenge):
    runs = challenge.manager.store.root
    with pytest.raises(InputError, match="Over the budget"):
        challenge.submit([{"kind": "Dense", "units": 128}], 1, "big", ANA)
    with pytest.raises(InputError, match="name"):
        challenge.submit(SMALL, 1, "  ", ANA)
    with pytest.raises(InputError, match="epochs"):
        challenge.submit(SMALL, "2", "Ana", ANA)
    assert not runs.exists() or not any(runs.iterdir())
    assert challenge.entries() == []


def test_banned_phones_and_a_closed_challenge_are_refused(challenge):
    sub = challenge.room.submit(
        __import__("PIL.Image", fromlist=["Image"]).new("L", (28, 28)), "1", 0.9, "drawing", BIA
    )
    challenge.room.ban(sub.id, LOCAL)
    with pytest.raises(InputError, match="stopped submissions from this phone"):
        challenge.submit(SMALL, 1, "Bia", BIA)
    settings = read_json(challenge.path / "challenge.json")
    write_json_atomic(challenge.path / "challenge.json", {**settings, "deadline": time.time() - 1})
    with pytest.raises(InputError, match="closed"):
        challenge.submit(SMALL, 1, "Ana", ANA)
    assert challenge.state() == "closing"


def test_entries_wait_behind_the_presenter_s_jobs(challenge, mnist_npz):
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    job = challenge.manager.submit(Job(TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")), actor=LOCAL)
    order = [r.id for r in challenge.manager.queued()]
    assert order == [job.id, entry.run_id]
    assert is_entry(challenge.manager.store.get(entry.run_id)) and not is_entry(job)


def test_a_rapid_phone_is_slowed_down(challenge):
    for i in range(limits.RATES["challenge"].count):
        with pytest.raises(InputError, match="Over the budget"):
            challenge.submit([{"kind": "Dense", "units": 128}], 1, f"try {i}", ANA)  # each try is charged
    with pytest.raises(InputError, match="Slow down"):
        challenge.submit(SMALL, 1, "Ana", ANA)


def test_a_new_challenge_keeps_the_old_one_beside_it(challenge):
    challenge.submit(SMALL, 1, "Ana", ANA)
    again = Challenge.open(challenge.room, ChallengeSettings(data="mnist"), LOCAL, challenge.manager)
    assert again.entries() == [] and again.state() == "open"
    kept = [p for p in challenge.room.path.iterdir() if p.name.startswith(".challenge-")]
    assert len(kept) == 1 and json.loads((kept[0] / "challenge.json").read_text())["data"] == "mnist"
    assert challenge.manager.store.get(challenge.manager.store.list()[0].id).status()["status"] == "stopped"


def _finished(challenge, entry, val: float = 0.9) -> None:
    """Writes what a completed training leaves in the entry's run folder (no process runs here)."""
    run = challenge.manager.store.get(entry.run_id)
    (run.path / "history.csv").write_text(
        f"epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n1,0.5,0.8,0.4,{val},0.001,1.0\n"
    )
    run.update_status(status="completed", test_accuracy=val)


def test_a_stop_names_the_network_never_its_run(challenge):
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    said = challenge.stop(entry.id, ANA)
    assert "'Ana'" in said and "cancelled" in said and entry.run_id not in said
    assert "already ended" in challenge.stop(entry.id, ANA)


def test_the_end_of_a_training_crowns_the_winner_with_no_wall_open(challenge):
    from core.challenge.contest import referee_after

    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    _finished(challenge, entry)
    run = challenge.manager.store.get(entry.run_id)
    referee_after(run)
    assert challenge.state() == "open"  # before the deadline nothing is decided
    settings = read_json(challenge.path / "challenge.json")
    write_json_atomic(challenge.path / "challenge.json", {**settings, "deadline": time.time() - 1})
    referee_after(run)
    assert challenge.state() == "ended" and challenge.winner().entry == entry.id
    referee_after(challenge.manager.store.create("not-an-entry", {"task": "mnist"}))  # any other run: nothing


def test_withdrawing_the_room_s_model_keeps_its_run(challenge):
    entry = challenge.submit(SMALL, 1, "Ana", ANA)
    other = challenge.submit(SMALL, 1, "Bia", BIA)
    for e in (entry, other):
        _finished(challenge, e)
    challenge.end(LOCAL)
    challenge.room.set_model(entry.run_id, DIGITS, LOCAL)
    challenge.withdraw(entry.id, LOCAL)
    challenge.withdraw(other.id, BIA)
    assert (challenge.manager.store.root / entry.run_id).is_dir()  # Join still serves it
    assert not (challenge.manager.store.root / other.run_id).exists()


def test_the_cluster_gets_as_many_entries_as_it_trains_at_once_plus_one(tmp_path, monkeypatch):
    assert ChallengeSettings(cluster_cpus=8, cpus=2).drivers() == 5
    assert ChallengeSettings(cluster_cpus=1, cpus=4).drivers() == 2  # a cluster smaller than an entry still gets one
    started = []
    me = {"pid": os.getpid(), "pid_start": procs.start_ticks(os.getpid())}  # "running": a live process of its own
    monkeypatch.setattr(JobManager, "_start", lambda self, run: (started.append(run.id), run.update_status(**me)))
    manager = JobManager(tmp_path / "runs")
    config = TrainConfig.from_preset("mnist", None, "mnist-mlp")
    for i in range(5):
        manager.enqueue_entry(Job(config), owner=f"o{i}", engine="ray", resources={"cpus": 1, "drivers": 3})
    assert len(started) == 3 and len(manager.queued()) == 2  # the others wait here, not in 5 processes
    monkeypatch.setenv("CNNLAB_RAY_MAX_JOBS", "2")
    manager.enqueue_entry(Job(config), owner="o5", engine="local")
    assert len(started) == 4  # the local slot is the local engine's own; the cluster's stay taken


def test_an_mnist_challenge_trains_on_the_data_folder_s_file_by_its_full_path(tmp_path, monkeypatch, mnist_npz):
    monkeypatch.delenv("CNNLAB_RAY_ADDRESS", raising=False)
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(mnist_npz.parent))  # the entries' processes may start elsewhere
    room = open_room("talk", "__default__", DIGITS, LOCAL, tmp_path / "rooms")
    ch = Challenge.open(room, ChallengeSettings(data="mnist", folder="/planted"), LOCAL, NoStart(tmp_path / "runs"))
    assert ch.settings().folder == str(mnist_npz.resolve())
    entry = ch.submit(SMALL, 1, "Ana", ANA)
    assert read_json(ch.manager.store.root / entry.run_id / "config.json")["data"] == str(mnist_npz.resolve())
