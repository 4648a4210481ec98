"""core.base.storage: the one atomic write (a synced temp file) and the one cross-process lock."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from core.access.roles import LOCAL
from core.base.storage import locked, synced_temp, write_bytes_atomic
from core.data.table.store import save_table_upload

CSV = b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n"


def test_synced_temp_holds_the_data_in_the_folder_and_is_gone_after(tmp_path):
    with synced_temp(tmp_path, b"hello", prefix=".x.") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.") and tmp.name.endswith(".tmp")
        assert tmp.read_bytes() == b"hello"
    assert not tmp.exists()
    assert list(tmp_path.iterdir()) == []


def test_synced_temp_is_removed_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError), synced_temp(tmp_path, b"x") as tmp:
        raise RuntimeError("disk full")
    assert not tmp.exists() and list(tmp_path.iterdir()) == []


def test_write_bytes_atomic_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_write_bytes_atomic_keeps_the_old_file_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def refuse(src, dst):
        raise OSError("no")

    monkeypatch.setattr("core.base.storage.os.replace", refuse)
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_saved_table_never_replaces_another_and_leaves_no_temp(tmp_path):
    first = save_table_upload(CSV, "my data.csv", actor=LOCAL, root=tmp_path)
    second = save_table_upload(CSV.replace(b"x", b"z"), "my data.csv", actor=LOCAL, root=tmp_path)
    assert (first.name, second.name) == ("my_data.csv", "my_data_2.csv")
    assert first.read_bytes() == CSV and b"z" in second.read_bytes()
    assert sorted(p.name for p in first.parent.iterdir()) == ["my_data.csv", "my_data_2.csv"]


def test_locked_creates_the_file_and_its_folder(tmp_path):
    path = tmp_path / "deep" / "er" / ".lock"
    with locked(path):
        assert path.is_file()


def test_locked_makes_threads_wait_their_turn(tmp_path):
    path, events = tmp_path / ".lock", []
    inside = threading.Event()

    def holder():
        with locked(path):
            events.append("a in")
            inside.set()
            time.sleep(0.3)
            events.append("a out")

    def waiter():
        inside.wait(5)
        with locked(path):
            events.append("b in")

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert events == ["a in", "a out", "b in"]


def _hold(path: str, ready, seconds: float) -> None:
    with locked(path):
        ready.set()
        time.sleep(seconds)


def test_locked_excludes_another_process_and_is_released_after(tmp_path):
    path = tmp_path / ".lock"
    ready = multiprocessing.Event()
    proc = multiprocessing.get_context("fork").Process(target=_hold, args=(str(path), ready, 0.5))
    proc.start()
    try:
        assert ready.wait(10)
        started = time.monotonic()
        with locked(path):
            waited = time.monotonic() - started
    finally:
        proc.join(10)
    assert waited > 0.2  # it had to wait for the other process
    started = time.monotonic()
    with locked(path):  # released: no wait now
        assert time.monotonic() - started < 0.2


def test_the_job_store_and_the_room_use_the_shared_lock(tmp_path):
    from core.room.folder import Room
    from core.runs.jobs import JobManager

    manager = JobManager(tmp_path / "runs")
    with manager._lock():
        assert (tmp_path / "runs" / ".jobs.lock").is_file()
    room = Room(tmp_path / "room")
    with room._lock():
        assert (Path(tmp_path) / "room" / ".lock").is_file()
