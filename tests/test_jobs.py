"""core.runs.jobs: real training processes on tiny synthetic MNIST."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from core.access.roles import LOCAL
from core.base.errors import InputError
from core.runs import jobs
from core.runs.jobs import JobManager, queue_position
from core.runs.procs import start_ticks
from core.runs.store import Run, RunStore
from core.tasks import Job
from core.training import TrainConfig


def config(npz, epochs=1, preset="mnist-mlp", name=""):
    return TrainConfig.from_preset("mnist", str(npz), preset, settings={"epochs": epochs}, name=name)


def wait_for(predicate, timeout=120.0, manager: JobManager | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if manager is not None:
            manager.pump()  # what the app does every second
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def state(run: Run) -> str:
    return run.status().get("status")


@pytest.fixture
def manager(tmp_path):
    m = JobManager(tmp_path / "runs", max_running=1)
    yield m
    for run in m.active():  # never leave a training process behind
        m.stop(run.id, force=True, actor=LOCAL)


def test_submit_runs_a_training_process_to_completion(manager, mnist_npz):
    run = manager.submit(Job(config(mnist_npz, name="mlp")), actor=LOCAL)
    assert run.status().get("pid")  # started at once: the slot was free
    wait_for(lambda: state(run) == "completed", manager=manager)
    assert run.history() and run.checkpoint() is not None
    assert run.config()["preset"] == "mnist-mlp" and run.config()["spec"]["epochs"] == 1
    assert (run.metrics() or {}).get("accuracy") is not None


def test_second_job_waits_in_the_queue_then_runs(manager, mnist_npz):
    first = manager.submit(Job(config(mnist_npz, epochs=3, name="first")), actor=LOCAL)
    second = manager.submit(Job(config(mnist_npz, name="second")), actor=LOCAL)
    assert state(second) == "queued" and not second.status().get("pid")
    assert queue_position(manager, second.id) == 1
    # No pumping here: the first training starts the next job itself when it ends.
    wait_for(lambda: state(second) == "completed", timeout=180)
    assert state(first) == "completed"
    assert first.status()["ended"] <= second.status()["started"]


def test_stop_is_cooperative_and_safe_twice(manager, mnist_npz):
    run = manager.submit(Job(config(mnist_npz, epochs=500, name="long")), actor=LOCAL)
    wait_for(lambda: (run.status().get("epoch") or 0) >= 1, manager=manager)
    assert "Stop requested" in manager.stop(run.id, actor=LOCAL)
    assert "already requested" in manager.stop(run.id, actor=LOCAL)
    wait_for(lambda: state(run) == "stopped", manager=manager)
    assert run.checkpoint() is not None  # the best checkpoint is kept
    assert "already stopped" in manager.stop(run.id, actor=LOCAL)


def test_queued_job_is_cancelled_at_once(manager, mnist_npz):
    first = manager.submit(Job(config(mnist_npz, epochs=500, name="first")), actor=LOCAL)
    second = manager.submit(Job(config(mnist_npz, name="second")), actor=LOCAL)
    assert "cancelled" in manager.stop(second.id, actor=LOCAL)
    assert state(second) == "stopped"
    assert "killed" in manager.stop(first.id, force=True, actor=LOCAL)
    assert state(first) == "stopped"
    manager.pump()
    assert state(second) == "stopped"  # a cancelled job never starts


def test_bad_data_marks_the_run_failed_with_the_reason(manager, tmp_path):
    run = manager.submit(Job(config(tmp_path / "missing.npz", name="bad")), actor=LOCAL)
    wait_for(lambda: state(run) == "failed", manager=manager)
    assert "not found" in run.status()["error"]


def test_a_crashing_process_is_failed_with_its_stderr(manager):
    run = manager.store.create("crash", {"task": "mnist"})
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stderr.write('Segfault-ish boom\\n'); sys.exit(3)"],
                            stderr=(run.path / "stderr.txt").open("wb"))  # fmt: skip
    jobs._CHILDREN[run.id] = proc
    run.update_status(pid=proc.pid)
    proc.wait()
    manager.pump()
    assert state(run) == "failed" and "boom" in run.status()["error"]


def test_killed_from_outside_becomes_interrupted(manager, mnist_npz):
    run = manager.submit(Job(config(mnist_npz, epochs=500, name="victim")), actor=LOCAL)
    wait_for(lambda: state(run) == "running", manager=manager)
    os.kill(run.status()["pid"], signal.SIGKILL)
    wait_for(lambda: state(run) == "interrupted", manager=manager)
    assert "SIGKILL" in run.status()["error"]


def test_orphaned_running_run_becomes_interrupted_on_pump(manager):
    run = manager.store.create("orphan", {"task": "mnist"})
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.update_status(status="running", pid=dead.pid)
    manager.pump()
    assert state(run) == "interrupted"


def test_full_disk_gives_a_clear_error(manager, monkeypatch, mnist_npz):
    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunStore, "create", no_space)
    with pytest.raises(InputError, match="No space left on device"):
        manager.submit(Job(config(mnist_npz, name="full")), actor=LOCAL)


def test_a_bad_setting_is_refused_before_a_folder_is_made(manager, mnist_npz):
    with pytest.raises(InputError, match="epochs in 1..1000"):
        manager.submit(Job(config(mnist_npz, epochs=0)), actor=LOCAL)
    assert manager.store.list() == []


def test_a_finished_run_folder_is_never_trained_again(manager, mnist_npz):
    run = manager.submit(Job(config(mnist_npz, name="once")), actor=LOCAL)
    wait_for(lambda: state(run) == "completed", manager=manager)
    history = (run.path / "history.csv").read_text()
    cmd = [sys.executable, "-m", "core.train", "--run-dir", str(run.path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=jobs.ROOT)
    assert proc.returncode == 2 and "not queued" in proc.stdout
    assert state(run) == "completed" and (run.path / "history.csv").read_text() == history


def test_an_ignored_stop_escalates_only_when_the_run_is_silent(manager, monkeypatch):
    run = manager.store.create("stuck", {"task": "mnist"})
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # core.train"])
    jobs._CHILDREN[run.id] = sleeper
    run.update_status(status="running", pid=sleeper.pid, pid_start=start_ticks(sleeper.pid))
    run.request_stop()
    old = time.time() - 10 * jobs.STOP_GRACE_SECONDS
    os.utime(run.stop_path, (old, old))
    manager.pump()  # still reporting (status just updated): left alone
    assert sleeper.poll() is None
    monkeypatch.setattr(jobs, "iso_seconds", lambda iso: old)  # silent for long
    manager.pump()
    sleeper.wait(10)
    manager.pump()
    assert state(run) == "stopped"  # killed after a STOP: honest "stopped", checkpoint kept
