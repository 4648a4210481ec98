import json
import subprocess
import sys

import pytest

from core.access.roles import LOCAL
from core.base.errors import InputError
from core.base.storage import append_csv, read_csv, read_json, write_json_atomic
from core.runs.procs import start_ticks
from core.runs.store import RunStore, open_run, validate_run_id


def test_atomic_json_and_half_written_reads(tmp_path):
    path = tmp_path / "s.json"
    write_json_atomic(path, {"a": 1})
    assert read_json(path) == {"a": 1}
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    path.write_text('{"a": ')  # a torn write from another tool
    damaged = read_json(path)
    assert not damaged and damaged.why == "s.json is not valid JSON"
    assert read_json(tmp_path / "missing.json") is None


def test_csv_append_and_torn_last_line(tmp_path):
    path = tmp_path / "h.csv"
    append_csv(path, {"epoch": 1, "loss": 0.5}, ["epoch", "loss"])
    append_csv(path, {"epoch": 2, "loss": 0.25}, ["epoch", "loss"])
    with path.open("a") as fh:
        fh.write("3")  # a row being written right now
    assert read_csv(path) == [{"epoch": 1.0, "loss": 0.5}, {"epoch": 2.0, "loss": 0.25}]


def test_create_unique_ids_and_list(tmp_path):
    store = RunStore(tmp_path)
    a = store.create("my run/../x", {"task": "mnist"})
    b = store.create("my run/../x", {"task": "mnist"})
    assert a.id != b.id and "/" not in a.id and ".." not in a.id
    assert a.status()["status"] == "queued" and a.config()["run_id"] == a.id
    assert {r.id for r in store.list()} == {a.id, b.id}


def test_orphaned_running_run_becomes_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run = store.create("x", {})
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a pid that no longer exists
    run.update_status(status="running", pid=proc.pid)
    [listed] = store.list()
    assert listed.status()["status"] == "interrupted"
    assert "ended without finishing" in listed.status()["error"]


def test_run_ids_and_run_folders_are_validated(tmp_path):
    for bad in ("../etc", "a/b", "", ".."):
        with pytest.raises(InputError):
            validate_run_id(bad)
    with pytest.raises(InputError, match="not a CNN Lab run folder"):
        open_run(tmp_path)
    with pytest.raises(InputError, match="not found"):
        open_run(tmp_path / "nope")


def test_delete_refuses_a_live_run(tmp_path):
    import os

    store = RunStore(tmp_path)
    run = store.create("x", {})
    run.update_status(status="running", pid=os.getpid(), pid_start=start_ticks(os.getpid()))  # alive
    with pytest.raises(InputError, match="stop it first"):
        store.delete(run.id, actor=LOCAL)
    run.update_status(status="completed")
    store.delete(run.id, actor=LOCAL)
    assert store.list() == []


def test_runs_list_cli(tmp_path):
    store = RunStore(tmp_path)
    store.create("hello", {"task": "mnist", "preset": "mnist-mlp"})
    out = subprocess.run(
        [sys.executable, "-m", "core.runs.store", "list", "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    runs = json.loads(out.stdout.strip().splitlines()[-1])["runs"]
    assert runs[0]["preset"] == "mnist-mlp" and runs[0]["status"] == "queued"
