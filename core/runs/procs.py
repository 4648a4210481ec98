"""Which process is a run's training process: never trust a pid read from a file.

A run's ``status.json`` names its process by ``pid`` and ``pid_start`` (the process's
start time in clock ticks since boot, from ``/proc/<pid>/stat``). A pid alone can be
recycled by another program, or be written by hand: -1, 0 or 1 would make ``kill`` reach
every process (as root), the init process or our own process group. So:

- :func:`alive` says a run's process still runs only when both the pid and its start
  time match (a recycled pid has another start time);
- :func:`signal_training` signals only a live, matching process whose command line is a
  CNN Lab training (``core.train``), and never our own process or process group.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")
TRAINING_MARK = "core.train"


def valid_pid(pid: object) -> int | None:
    """``pid`` as an int when it can name one ordinary process (not 0, -1, init or a group), else None."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 1:
        return None
    return pid


def start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks after boot), or None when it is gone or a zombie."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the name (field 2) may hold spaces and ')'
    if len(fields) < 20 or fields[0] == "Z":  # field 3 is the state; a zombie has finished
        return None
    try:
        return int(fields[19])  # field 22 of proc(5): starttime
    except ValueError:
        return None


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: object, started: object) -> bool:
    """True when the process ``pid`` that started at ``started`` still runs.

    Without a recorded start time (a run folder from an older version), the process must
    at least be a CNN Lab training to count as that run's.
    """
    pid = valid_pid(pid)
    if pid is None:
        return False
    ticks = start_ticks(pid)
    if ticks is None:
        return False
    if isinstance(started, int) and not isinstance(started, bool):
        return ticks == started
    return TRAINING_MARK in command_line(pid)


def signal_training(pid: object, started: object, sig: signal.Signals) -> bool:
    """Sends ``sig`` to a run's training process (and what it started), if it really is one.

    Returns:
        True when a signal was sent; False for a process that is gone or not ours to signal.
    """
    pid = valid_pid(pid)
    if pid is None or pid == os.getpid() or not isinstance(started, int) or not alive(pid, started):
        return False
    if TRAINING_MARK not in command_line(pid):
        return False
    try:
        pgid = os.getpgid(pid)
        if pgid == pid and pgid != os.getpgrp():  # the job leads its own group (start_new_session)
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
