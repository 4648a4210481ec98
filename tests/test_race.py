"""core.teaching.race and race_results: results from racer folders, the gang start, fair shares, rights, and one real tiny race."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, seed_race

from core.access.roles import LOCAL, Actor, NotAllowedError
from core.base.errors import InputError
from core.base.storage import write_json_atomic
from core.runs import jobs
from core.runs.jobs import JobManager
from core.runs.procs import start_ticks
from core.runs.store import ACTIVE_STATES, RunStore
from core.tasks import Job
from core.teaching import race, race_results
from core.training import TrainConfig

AUDIENCE = Actor("someone", presenter=False)


def config(npz, epochs=1, preset="mnist-mlp", name="", **settings) -> TrainConfig:
    return TrainConfig.from_preset("mnist", str(npz), preset, settings={"epochs": epochs, **settings}, name=name)


def wait_for(predicate, timeout: float, manager: JobManager) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        manager.pump()  # what the app does every second
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


# ----- results -------------------------------------------------------------------------------


def test_seconds_to_target_is_the_first_epoch_end_at_or_above_it(tmp_path):
    seed_race(tmp_path / "runs")
    (found,) = race_results.races()
    fast, big, tiny = found.racers
    assert [r.label for r in found.racers] == ["fast", "big", "tiny"]
    assert fast.seconds_to_target == 20.0 and big.seconds_to_target == 45.0  # epoch ends, nothing interpolated
    assert tiny.seconds_to_target is None and tiny.best_accuracy == 0.90
    assert fast.points == [(10.0, 0.95), (20.0, 0.981), (30.0, 0.985)]
    assert found.winner() is fast and found.verdict() == "winner"
    assert big.best_accuracy == 0.992 and found.duration == 70.0  # the big one wins on accuracy, not the race
    assert fast.params == 1000 and big.macs == 100_000
    assert fast.measured_epoch_seconds == 10.0 and big.measured_epoch_seconds == 25.0  # epochs of 25, 20, 25 s
    assert (
        fast.threads == 1
        and fast.cpus == [0, 1]
        and race_results.describe_share(fast) == "1 thread, cores 0, 1 (shared)"
    )


def test_the_median_epoch_and_the_estimate_for_the_racers_share(tmp_path):
    seed_race(tmp_path / "runs", racers=[("a", [(10.0, 0.5), (30.0, 0.6), (40.0, 0.7)], "completed"),
                                         ("b", [(8.0, 0.4)], "completed")])  # fmt: skip
    a, b = race_results.races()[0].racers
    assert race_results.describe_share(a) == "1 thread, core 0" and race_results.describe_share(b) == "1 thread, core 1"
    assert a.measured_epoch_seconds == 10.0  # durations 10, 20, 10
    full = race.estimate_epoch_seconds(a.macs, 54_000, 32)  # the whole 2-core machine
    assert a.estimated_epoch_seconds > full  # one core of two: its compute takes twice as long
    assert a.estimated_epoch_seconds == pytest.approx(race.estimate_epoch_seconds(2 * a.macs, 54_000, 32))
    assert race.cores_each({"shared": True, "intra": 1}, cores=2, racers=3) == pytest.approx(2 / 3)
    assert race.cores_each({"shared": False, "intra": 4}, cores=8, racers=2) == 4.0
    assert race.estimate_for_share(a.macs, 54_000, 32, 8.0) == pytest.approx(
        full
    )  # more cores: no faster than calibrated


def test_ties_go_to_the_earlier_racer_and_nobody_can_win_yet(tmp_path):
    seed_race(tmp_path / "runs", racers=[("a", [(10.0, 0.99)], "completed"), ("b", [(10.0, 0.99)], "completed")])
    assert race_results.races()[0].winner().label == "a"

    paths = seed_race(tmp_path / "runs", race="race-20261121-100000-abcd", target=0.995)
    st = json.loads((paths[1] / "status.json").read_text())
    write_json_atomic(paths[1] / "status.json", {**st, "status": "running", "pid": os.getpid(),
                                                 "pid_start": start_ticks(os.getpid())})  # fmt: skip
    newest = race_results.races()[0]
    assert newest.id == "race-20261121-100000-abcd" and newest.live
    assert newest.winner() is None and newest.verdict() == "none_yet"
    write_json_atomic(paths[1] / "status.json", {**st, "status": "stopped"})
    assert race_results.races()[0].verdict() == "none_reached"


def test_a_replay_shows_the_race_as_it_stood(tmp_path):
    seed_race(tmp_path / "runs")
    full = race_results.races()[0]
    at = full.at(20.0)
    fast, big, tiny = at.racers
    assert fast.points == [(10.0, 0.95), (20.0, 0.981)] and fast.seconds_to_target == 20.0
    assert big.points == [] and big.seconds_to_target is None and big.status == "running"
    assert fast.measured_epoch_seconds == 10.0 and big.measured_epoch_seconds is None  # nothing measured yet
    assert tiny.status == "completed"  # its last epoch ended at 14 s
    assert at.winner() is fast and full.at(19.9).winner() is None and full.at(19.9).verdict() == "none_yet"


def test_a_racer_notes_when_each_epoch_ended(tmp_path):
    run = race.RacerRun(seed_race(tmp_path / "runs")[0])
    (run.path / "race.csv").unlink()
    before = time.time()
    run.update_status(status="running", epoch=1, batch=3)  # a status within an epoch: nothing noted
    run.update_status(status="running", epochs_done=1)  # the callback's write after epoch 1's history row
    run.update_status(status="running", epochs_done=1, batch=5)
    run.update_status(status="completed", epochs_done=2)
    rows = (run.path / "race.csv").read_text().splitlines()
    assert rows[0] == "epoch,time" and [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    # times are kept to the millisecond: one written within 0.5 ms of `before` may round below it
    assert all(before - 0.001 <= float(r.split(",")[1]) <= time.time() + 0.01 for r in rows[1:])
    assert run.status()["status"] == "completed"  # and the status itself is written as usual


def test_an_epoch_without_its_end_time_is_timed_by_the_epochs(tmp_path):
    paths = seed_race(tmp_path / "runs")
    (paths[0] / "race.csv").write_text("epoch,time\n2,junk\n")
    (paths[0] / "history.csv").write_text("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n"
                                          "1,1,0.5,1,0.97,0.001,12\n2,1,0.5,1,0.99,0.001,13\n")  # fmt: skip
    assert race_results.races()[0].racers[0].points == [(12.0, 0.97), (25.0, 0.99)]


def test_damaged_racer_folders_give_empty_cells(tmp_path):
    root = tmp_path / "runs"
    paths = seed_race(root)
    (paths[0] / "history.csv").write_text(
        "epoch,val_accuracy,seconds\nx,y,z\n1,nan,5\n1,0.5,-3\n2,1.7,4\n3,0.9\n"
    )  # fmt: skip  (junk, NaN, repeated epoch, >100%, torn)
    (paths[1] / "race.csv").write_bytes(b"\xff\xfe garbage\n1,2,3\n")
    cfg = json.loads((paths[1] / "config.json").read_text())
    cfg.update(spec={"layers": "junk"}, n_params="many", macs=None)
    cfg["race"].update(index="first", target="high", cpus="all", started="soon", applied=[1])
    write_json_atomic(paths[1] / "config.json", cfg)
    (paths[2] / "status.json").write_text("{not json")
    (paths[2] / "history.csv").unlink()
    junk = root / "20261120-100009-junk"
    junk.mkdir()
    write_json_atomic(junk / "config.json", {"race": "race-x"})  # no id: not a racer
    odd = root / "20261120-100010-odd"
    odd.mkdir()
    write_json_atomic(odd / "config.json", {"race": {"id": "../../etc"}})  # not a valid race id
    (found,) = race_results.races()
    assert len(found.racers) == 3 and found.target == 0.98
    damaged = {r.run_id: r for r in found.racers}
    first, second, third = (damaged[p.name] for p in paths)
    assert first.points == [] and first.seconds_to_target is None and first.measured_epoch_seconds is not None
    assert second.params is None and second.macs is None and second.estimated_epoch_seconds is None
    assert second.index == race.MAX_RACERS and second.cpus == [] and second.points  # sorted last, curve kept
    assert third.status == "damaged" and third.points == [] and third.best_accuracy is None
    assert found.verdict() in ("winner", "none_reached")


# ----- planning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("racers", "cpus", "intra", "cores", "shared"),
    [
        (2, [0, 1], 1, [[0], [1]], False),
        (3, [0, 1], 1, [[0, 1], [0, 1], [0, 1]], True),  # pinned round-robin, one would get a core alone
        (4, [0, 1], 1, [[0, 1]] * 4, True),
        (2, list(range(8)), 4, [[0, 1, 2, 3], [4, 5, 6, 7]], False),
        (3, [2, 5, 7, 9, 11, 13, 15], 2, [[2, 5], [7, 9], [11, 13]], False),
    ],
)
def test_each_racer_gets_its_share_of_threads_and_cores(racers, cpus, intra, cores, shared):
    plans = race.plan_threads(racers, cpus)
    assert [p["cpus"] for p in plans] == cores
    assert all(p["intra"] == intra and p["inter"] == 1 and p["shared"] is shared for p in plans)


def test_race_configs_record_the_race_in_each_config(mnist_npz):
    racers = race.race_configs([config(mnist_npz), config(mnist_npz, preset="mnist-fast"), config(mnist_npz)], 0.9,
                               cpus=[0, 1], race="race-x")  # fmt: skip
    infos = [r.to_dict()["race"] for r in racers]
    assert [i["label"] for i in infos] == ["mnist-mlp", "mnist-fast", "mnist-mlp (2)"]
    assert {i["id"] for i in infos} == {"race-x"} and [i["index"] for i in infos] == [0, 1, 2]
    assert all(i["target"] == 0.9 and i["racers"] == 3 and i["cores"] == 2 for i in infos)
    assert racers[0].run_name() == "race-mnist-mlp"


@pytest.mark.parametrize(
    ("n", "target", "other_data", "message"),
    [(1, 0.9, False, "2 to 4 racers"), (5, 0.9, False, "2 to 4 racers"), (2, 1.5, False, "at most 100%"),
     (2, 0, False, "above 0%"), (2, "high", False, "Received: 'high'"), (2, 0.9, True, "same data")],
)  # fmt: skip
def test_a_bad_race_is_refused_with_what_was_received(mnist_npz, tmp_path, n, target, other_data, message):
    configs = [config(mnist_npz) for _ in range(n)]
    if other_data:
        configs[1] = config(tmp_path / "other.npz")
    with pytest.raises(InputError, match=message):
        race.race_configs(configs, target)


def test_only_the_presenter_starts_or_stops_a_race(mnist_npz):
    with pytest.raises(NotAllowedError, match="Only the presenter can start a race"):
        race.start_race([config(mnist_npz), config(mnist_npz)], 0.9, actor=AUDIENCE)
    assert RunStore().list() == []
    with pytest.raises(NotAllowedError, match="Only the presenter can stop a race"):
        race.stop_race("race-x", actor=AUDIENCE)


def test_a_racer_takes_its_core_and_threads_before_tensorflow_starts():
    cpu = race.machine_cpus()[-1]
    code = ("import json; from core.teaching.race import apply_fairness; "
            f"print(json.dumps(apply_fairness({{'intra': 1, 'inter': 1, 'cpus': [{cpu}, 999]}})))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"cpus": [cpu], "intra": 1, "inter": 1}  # a core it may not use (999) is left out


def test_a_racer_gives_its_share_back_before_starting_the_next_jobs():
    """A child started by the last racer (the next race, a queued job) must not inherit its one core."""
    cpus = race.machine_cpus()
    code = ("import json, os, subprocess, sys; from core.teaching.race import apply_fairness, machine_cpus, release_share; "
            f"before = machine_cpus(); apply_fairness({{'intra': 1, 'inter': 1, 'cpus': [{cpus[0]}]}}); "
            "release_share(before); "
            "child = subprocess.run([sys.executable, '-c', 'import json, os; print(json.dumps([sorted(os.sched_getaffinity(0)), "
            "os.environ.get(\"TF_NUM_INTRAOP_THREADS\")]))'], capture_output=True, text=True); "
            "print(child.stdout.strip())")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [cpus, None]


# ----- the gang start ---------------------------------------------------------------------------


@pytest.fixture
def fake_start(monkeypatch):
    """Starting a job marks it running under this test's own process (nothing trains)."""
    starts: list[tuple[str, float]] = []

    def start(self, run):
        starts.append((run.id, time.time()))
        run.update_status(status="running", pid=os.getpid(), pid_start=start_ticks(os.getpid()))

    monkeypatch.setattr(jobs.JobManager, "_start", start)
    return starts


def finish(*runs) -> None:
    for run in runs:
        run.update_status(status="completed", pid=None)


def racers_of(rid: str) -> list:
    return sorted((r for r in RunStore().list(mark_interrupted=False) if jobs.race_id(r) == rid), key=lambda r: r.id)


def test_a_race_waits_for_an_empty_machine_then_starts_all_its_racers_at_once(fake_start, mnist_npz):
    manager = JobManager(max_running=1)
    before = manager.submit(Job(config(mnist_npz, name="before")), actor=LOCAL)
    rid = race.start_race([config(mnist_npz), config(mnist_npz, preset="mnist-fast"), config(mnist_npz)], 0.9,
                          actor=LOCAL, manager=manager)  # fmt: skip
    after = manager.submit(Job(config(mnist_npz, name="after")), actor=LOCAL)
    racers = racers_of(rid)
    assert [s[0] for s in fake_start] == [before.id]  # the race waits for the job ahead of it
    assert manager.pump() == [] and after.status()["status"] == "queued"  # and the job behind waits too

    finish(before)
    assert sorted(manager.pump()) == [r.id for r in racers]  # all three at once, whatever max_running says
    assert all(r.status()["status"] == "running" for r in racers)
    started = {r.config()["race"]["started"] for r in racers}
    assert len(started) == 1 and started.pop() <= min(t for _id, t in fake_start[1:])

    manager.max_running = 5
    finish(*racers[:2])
    assert manager.pump() == [] and after.status()["status"] == "queued"  # nothing joins a race while it runs
    finish(racers[2])
    assert manager.pump() == [after.id]


def test_jobs_ahead_of_a_race_still_use_the_free_slots(fake_start, mnist_npz):
    manager = JobManager(max_running=3)
    rid = race.start_race([config(mnist_npz), config(mnist_npz)], 0.9, actor=LOCAL, manager=manager)
    assert len(fake_start) == 2  # the machine was empty: the race started at once
    waiting = [manager.submit(Job(config(mnist_npz, name=f"w{i}")), actor=LOCAL) for i in range(2)]
    assert all(w.status()["status"] == "queued" for w in waiting)
    finish(*racers_of(rid))
    assert sorted(manager.pump()) == sorted(w.id for w in waiting)  # ordinary jobs share max_running again


def test_a_race_counts_as_one_job_of_the_session(fake_start, mnist_npz):
    presenter = Actor("web-session", presenter=True)
    four = [config(mnist_npz, preset=p) for p in ("mnist-mlp", "mnist-fast", "mnist-mlp", "mnist-fast")]
    rid = race.start_race(four, 0.9, actor=presenter)  # 4 runs: more than MAX_JOBS_PER_SESSION, but one race
    assert len(racers_of(rid)) == 4 > jobs.MAX_JOBS_PER_SESSION


def test_stop_race_stops_every_racer(fake_start, mnist_npz):
    manager = JobManager(max_running=1)
    manager.submit(Job(config(mnist_npz, name="busy")), actor=LOCAL)
    rid = race.start_race([config(mnist_npz), config(mnist_npz)], 0.9, actor=LOCAL, manager=manager)
    messages = race.stop_race(rid, actor=LOCAL, manager=manager)
    assert len(messages) == 2 and all("cancelled" in m for m in messages)
    assert all(r.status()["status"] == "stopped" for r in racers_of(rid))


# ----- a real race --------------------------------------------------------------------------------


def run_race(configs: list[TrainConfig], target: float) -> race_results.Race:
    """Starts a real race through the queue, waits for its end (stopping leftovers), reads it back."""
    manager = JobManager(max_running=1)
    rid = race.start_race(configs, target, actor=LOCAL, manager=manager)
    try:
        wait_for(lambda: not race_results.get_race(rid).live, timeout=240, manager=manager)
    finally:
        for run in manager.active():
            manager.stop(run.id, actor=LOCAL, force=True)
    return race_results.get_race(rid)


def test_a_tiny_real_race_finishes_with_results(mnist_npz):
    slow = config(mnist_npz, epochs=2)
    fast = config(mnist_npz, epochs=2, learning_rate=0.01)
    t0 = time.time()
    found = run_race([slow, fast], 0.5)
    wall = time.time() - t0
    assert [r.status for r in found.racers] == ["completed", "completed"], [r.error for r in found.racers]
    assert [r.label for r in found.racers] == ["mnist-mlp", "mnist-mlp (2)"]
    for r in found.racers:
        assert len(r.points) == 2 and 0 < r.points[0][0] < r.points[1][0] < wall  # wall seconds since the start
        assert r.params and r.macs and r.measured_epoch_seconds and r.estimated_epoch_seconds
        assert r.threads == max(1, len(race.machine_cpus()) // 2) and r.cpus
        ends = (RunStore().get(r.run_id).path / race.TIMES_FILE).read_text().splitlines()
        assert ends[0] == "epoch,time" and len(ends) == 3  # each epoch's end, on the clock all racers share
    if len(race.machine_cpus()) >= 2:
        assert not set(found.racers[0].cpus) & set(found.racers[1].cpus)  # disjoint cores
    assert found.verdict() in ("winner", "none_reached")
    if found.verdict() == "winner":
        w = found.winner()
        assert w.seconds_to_target == min(r.seconds_to_target or 1e9 for r in found.racers)
    assert not any(r.status().get("status") in ACTIVE_STATES for r in RunStore().list())


def test_an_image_folder_race_finishes_with_results(image_folder):
    configs = [TrainConfig.from_preset("images", str(image_folder), "orientation-fast",
                                       settings={"epochs": 2, "image_size": 16, **extra})
               for extra in ({}, {"learning_rate": 0.01})]  # fmt: skip
    found = run_race(configs, 0.5)
    assert [r.status for r in found.racers] == ["completed", "completed"], [r.error for r in found.racers]
    for r in found.racers:
        assert r.points and r.params and r.estimated_epoch_seconds and r.measured_epoch_seconds
        assert all(0 < s for s, _a in r.points)
