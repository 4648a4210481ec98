"""A challenge end to end on both engines: the local queue, and a Ray cluster of 2 nodes on this machine.

Two participants send 4 small networks (one at a time each); one more is refused over the budget, one
is stopped while it trains, a third per person is refused by the quota; the run folders, the leaderboard
and the winner (made the room's model) are checked. Ray comes with requirements-dev.txt (through
requirements-cluster.txt); without it the Ray half skips.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import stripes

from core.access import limits
from core.access.roles import LOCAL, Actor
from core.base.errors import InputError
from core.challenge import contest
from core.challenge.contest import Challenge
from core.challenge.rules import ChallengeSettings
from core.room.active import open_room
from core.runs.jobs import JobManager
from core.runs.store import Run

ANA, BIA = Actor("phone-ana", False, "10.0.0.1"), Actor("phone-bia", False, "10.0.0.2")
SMALL = [{"kind": "Conv2D", "filters": 4}, {"kind": "MaxPooling2D"}]
# About 0.4 G multiply-adds an image: seconds an epoch on one core, so it is still training when stopped.
SLOW = [{"kind": "Conv2D", "filters": 64, "kernel_size": 5}, {"kind": "Conv2D", "filters": 64, "kernel_size": 5},
        {"kind": "MaxPooling2D"}]  # fmt: skip
HUGE = [{"kind": "Conv2D", "filters": 64}, {"kind": "Dense", "units": 128}]


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-cluster.txt)")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    try:
        yield cluster.address
    finally:
        cluster.shutdown()


def dataset(root: Path, per_class: int = 100) -> Path:
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            stripes(o, size=64, seed=i).save(root / cls / f"{i:03d}.png")
    return root


def wait(predicate, manager: JobManager, timeout: float = 300.0, what: str = "") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        manager.pump()
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def idle(challenge: Challenge) -> bool:
    return not any(r.active for r in challenge.rows())


def scenario(tmp_path: Path, monkeypatch, engine: str) -> None:
    limits.reset()
    monkeypatch.setattr(contest, "ENTRIES_PER_PERSON", 2)
    data = dataset(tmp_path / "data" / "stripes")
    room = open_room("talk", "__default__", [str(d) for d in range(10)], LOCAL, tmp_path / "data")
    manager = JobManager(tmp_path / "runs", max_running=2)
    settings = ChallengeSettings(data="folder", folder=str(data), image_size=64, batch_size=32, max_params=300_000,
                                 max_macs=10**12, max_epochs=3, minutes=30)  # fmt: skip
    ch = Challenge.open(room, settings, LOCAL, manager)
    assert ch.settings().engine == engine and ch.settings().class_names == ["horizontal", "vertical"]

    first = [ch.submit(SMALL, 2, "Ana", ANA), ch.submit([{"kind": "MaxPooling2D"}, {"kind": "Dense", "units": 16}],
                                                        1, "Bia", BIA)]  # fmt: skip
    with pytest.raises(InputError, match="Over the budget"):
        ch.submit(HUGE, 1, "huge", BIA)
    with pytest.raises(InputError, match="still waiting or training"):
        ch.submit(SMALL, 1, "Ana again", ANA)
    wait(lambda: idle(ch), manager, what="the first two entries")
    second = [ch.submit([{"kind": "Conv2D", "filters": 8, "kernel_size": 5}, {"kind": "MaxPooling2D"}], 2, "Ana 2", ANA),
              ch.submit(SLOW, 3, "Bia slow", BIA)]  # fmt: skip
    slow = Run(manager.store.root / second[1].run_id)
    wait(lambda: (slow.status().get("batch") or 0) >= 1, manager, what="the slow entry's first batch")
    with pytest.raises(InputError, match="Only the person who sent"):
        ch.stop(second[1].id, ANA)
    assert "Stop requested" in ch.stop(second[1].id, BIA)
    wait(lambda: idle(ch), manager, what="the last two entries")
    with pytest.raises(InputError, match="the most this challenge takes from one person"):
        ch.submit(SMALL, 1, "Ana 3", ANA)

    entries = first + second
    rows = {r.entry: r for r in ch.rows()}
    assert set(rows) == {e.id for e in entries}
    assert [rows[e.id].status for e in entries] == ["completed", "completed", "completed", "stopped"]
    assert rows[second[1].id].epoch < 3
    for e in entries:
        run = Run(manager.store.root / e.run_id)
        config = json.loads((run.path / "config.json").read_text())
        assert config["challenge"] == {"room": room.name, "room_dir": str(room.path.resolve()), "entry": e.id,
                                       "name": e.name}  # fmt: skip
        assert config["job"]["engine"] == engine and config["data"] == str(data)
        assert config["job"]["resources"] == {"cpus": 1, "gpus": 0.0, **({"drivers": 3} if engine == "ray" else {})}
        if rows[e.id].status == "completed":
            assert rows[e.id].epoch == e.epochs and 0.0 <= rows[e.id].val_accuracy <= 1.0
            assert rows[e.id].test_accuracy is not None and run.checkpoint() is not None
            assert all(Path(f).is_file() for f, _label in json.loads((run.path / "split.json").read_text())["test"])
        if engine == "ray":
            status = run.status()
            assert status["engine"] == "ray" and status["node"] and status["remote_pid"] != status["pid"]
    ranked = ch.rows()
    assert ranked[0].rank == 1 and ranked[0].status == "completed"
    winner = ch.end(LOCAL)
    assert winner.entry == ranked[0].entry and ch.state() == "ended"
    assert ch.make_room_model(LOCAL) == winner.run_id
    assert room.settings().model == winner.run_id and room.settings().class_names == ["horizontal", "vertical"]


def test_a_challenge_on_the_local_engine(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_RAY_ADDRESS", raising=False)
    scenario(tmp_path, monkeypatch, "local")


def test_a_challenge_on_a_ray_cluster_of_two_nodes(tmp_path, monkeypatch, ray_cluster):
    monkeypatch.setenv("CNNLAB_RAY_ADDRESS", ray_cluster)
    scenario(tmp_path, monkeypatch, "ray")


def test_force_stop_on_ray_ends_the_task_on_the_cluster(tmp_path, monkeypatch, ray_cluster):
    monkeypatch.setenv("CNNLAB_RAY_ADDRESS", ray_cluster)
    limits.reset()
    data = dataset(tmp_path / "data" / "stripes", per_class=60)
    room = open_room("talk", "__default__", [str(d) for d in range(10)], LOCAL, tmp_path / "data")
    manager = JobManager(tmp_path / "runs")
    settings = ChallengeSettings(data="folder", folder=str(data), image_size=64, batch_size=16, max_params=300_000,
                                 max_macs=10**12, max_epochs=3)  # fmt: skip
    ch = Challenge.open(room, settings, LOCAL, manager)
    entry = ch.submit(SLOW, 3, "slow", ANA)
    run = Run(manager.store.root / entry.run_id)
    wait(lambda: (run.status().get("batch") or 0) >= 1 and run.status().get("remote_pid"), manager,
         what="the first batch")  # fmt: skip
    remote = run.status()["remote_pid"]
    assert "killed" in ch.stop(entry.id, LOCAL, force=True)
    assert run.status()["status"] == "stopped"
    deadline = time.time() + 60
    while time.time() < deadline and _alive(remote):
        time.sleep(0.5)
    assert not _alive(remote), "the Ray worker kept training after its driver was killed"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def test_an_unreachable_cluster_is_a_clear_message_not_a_hang(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-cluster.txt)")
    monkeypatch.setenv("CNNLAB_RAY_ADDRESS", "127.0.0.1:1")
    room = open_room("talk", "__default__", [str(d) for d in range(10)], LOCAL, tmp_path / "data")
    started = time.time()
    with pytest.raises(InputError, match="Could not reach the Ray cluster at 127.0.0.1:1"):
        Challenge.open(room, ChallengeSettings(), LOCAL, JobManager(tmp_path / "runs"))
    assert time.time() - started < 60


def test_ray_client_addresses_are_refused_with_the_way_that_works(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_RAY_ADDRESS", "ray://head:10001")
    room = open_room("talk", "__default__", [str(d) for d in range(10)], LOCAL, tmp_path / "data")
    with pytest.raises(InputError, match="ray start --address"):
        Challenge.open(room, ChallengeSettings(), LOCAL, JobManager(tmp_path / "runs"))
