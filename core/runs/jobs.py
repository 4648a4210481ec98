"""Background training jobs: each one is ``python -m core.train`` in its own process.

A job *is* a run folder (``core.runs.store``): submitting creates the folder with status
``queued``; :meth:`JobManager.pump` starts queued runs, oldest first, while fewer than
``max_running`` are running. Any caller may pump (every page of the app does, and a
training process does when it ends, so the queue moves even with no browser open); a
file lock makes concurrent pumps safe. Everything lives on disk, so every session (and a
reloaded browser) sees the same jobs.

A race's racers (:mod:`core.teaching.race`, ``config["race"]["id"]``) are one exception: they wait
until nothing runs, then start all together whatever ``max_running`` says, and nothing else
starts until the last of them ends; jobs queued behind a race wait for it.

Why processes: a crash, an out-of-memory or a hung training never takes the web server
down, and stop is real (docs/ARCHITECTURE.md, "Decisions").
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

from core.access.limits import take
from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.storage import locked, read_text_tail, write_json_atomic
from core.runs import procs
from core.runs.queue import (
    ENGINES,
    ENTRY_PRIORITY,
    _job_units,
    _queue_order,
    drivers_of,
    engine_of,
    is_entry,
    race_id,  # fmt: skip
)
from core.runs.store import ACTIVE_STATES, Run, RunStore, iso_seconds, mark_if_orphaned, now_iso


class JobConfig(Protocol):
    """What a job's config offers the queue: :class:`core.tasks.Job` (a TrainConfig checked by its task) is one."""

    def validate(self) -> list[str]: ...
    def run_name(self) -> str: ...
    def to_dict(self) -> dict: ...


ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAX_RUNNING = 1
DEFAULT_MAX_QUEUE = 20  # queued + running jobs of everyone together
MAX_JOBS_PER_SESSION = 3
KEPT_ON_EDIT = ("job", "run_id", "created")  # what an edit of a queued entry keeps of its config.json
DEFAULT_MAX_CLUSTER_JOBS = 16
STOP_GRACE_SECONDS = 120.0  # a stopping run silent this long gets SIGTERM; twice this, SIGKILL
KILLED_MARK, TERM_MARK = "KILLED", "TERM"  # marker files: status.json is rewritten by training every second
TAIL_CHARS = 1500

# Processes this Python process started: polled so they are reaped (a zombie looks alive).
_CHILDREN: dict[str, subprocess.Popen] = {}


def max_running_default() -> int:
    """``$CNNLAB_MAX_JOBS`` (how many trainings may run at once), default 1."""
    try:
        return max(1, int(os.environ.get("CNNLAB_MAX_JOBS", DEFAULT_MAX_RUNNING)))
    except ValueError:
        return DEFAULT_MAX_RUNNING


def max_cluster_jobs() -> int:
    """``$CNNLAB_RAY_MAX_JOBS``: the most entries handed to a Ray cluster at once (each has a small driver process
    here); fewer when the cluster is smaller (``core.runs.queue.drivers_of``)."""
    try:
        return max(1, int(os.environ.get("CNNLAB_RAY_MAX_JOBS", DEFAULT_MAX_CLUSTER_JOBS)))
    except ValueError:
        return DEFAULT_MAX_CLUSTER_JOBS


def max_queue() -> int:
    """``$CNNLAB_MAX_QUEUE`` (queued and running jobs of everyone together), default 20."""
    try:
        return max(1, int(os.environ.get("CNNLAB_MAX_QUEUE", DEFAULT_MAX_QUEUE)))
    except ValueError:
        return DEFAULT_MAX_QUEUE


def _tail(path: Path, chars: int = TAIL_CHARS) -> str:
    return read_text_tail(path, chars).strip()


def _json_error(stdout: Path) -> str | None:
    """The ``"error"`` of the CLI's last JSON line, if it printed one."""
    for line in reversed(_tail(stdout, 20_000).splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        return obj.get("error") if isinstance(obj, dict) else None
    return None


class JobManager:
    """Starts, queues, stops and watches training processes over one runs folder."""

    def __init__(self, runs_root: str | Path | None = None, max_running: int | None = None):
        self.store = RunStore(runs_root)
        self.max_running = max_running or max_running_default()

    # ----- queries ------------------------------------------------------------------

    def active(self) -> list[Run]:
        """Queued and running runs, oldest first (the queue order)."""
        runs = [r for r in self.store.list(mark_interrupted=False) if r.status().get("status") in ACTIVE_STATES]
        return sorted(runs, key=_queue_order)

    def running(self) -> list[Run]:
        return [r for r in self.active() if r.status().get("status") == "running" or r.status().get("pid")]

    def queued(self) -> list[Run]:
        """Runs waiting for a free slot, in the order they will start."""
        return [r for r in self.active() if r.status().get("status") == "queued" and not r.status().get("pid")]

    # ----- submit / start -----------------------------------------------------------

    def submit(self, config: JobConfig, *, actor: Actor) -> Run:
        """Queues a training run and starts it if a slot is free.

        The config is checked here (the same checks as the command line), then written once
        as the new run folder's ``config.json``; the training process reads it from there
        (``python -m core.train --run-dir``).

        Args:
            config: the run: a :class:`core.tasks.Job` (a TrainConfig, checked by its task), a
                racer's or an API comparison's config (:class:`JobConfig`).
            actor: who asks (``core.access.roles.LOCAL`` from Python): only the presenter may; a web
                session's jobs in the queue and its rate of submissions are limited.

        Raises:
            InputError: not the presenter, a bad setting, a full queue, too many jobs or
                submissions from this session, or the runs folder cannot be written.
        """
        return self.submit_all([config], actor=actor)[0]

    def submit_all(self, configs: list[JobConfig], *, actor: Actor) -> list[Run]:
        """Queues several runs together: all of them, or (on any refusal) none.

        Raises:
            InputError: as :meth:`submit`, for the runs together (a queue with room for
                two of three refuses all three).
        """
        require_presenter(actor, N_("start a training"))
        session = actor.session
        for config in configs:
            config.validate()
        runs: list[Run] = []
        written = [config.to_dict() for config in configs]
        units = _job_units(written)  # a race's racers count as one job of the session
        try:
            with self._lock():  # a concurrent pump must not start a run before its config is written
                self._check_queue_room(session, len(configs), units)
                take("submit", session, units, address=actor.address)
                job = {"submitted": now_iso(), "order": time.time(), **({"session": session} if session else {})}
                for config, data in zip(configs, written):
                    runs.append(self.store.create(config.run_name(), {**data, "job": job}))
        except OSError as exc:
            for run in runs:
                shutil.rmtree(run.path, ignore_errors=True)
            raise self._create_failed(exc) from exc
        self.pump()
        return runs

    def enqueue_entry(self, config: JobConfig, *, owner: str, engine: str = "local",
                      resources: dict | None = None) -> Run:  # fmt: skip
        """Queues a challenge entry behind the presenter's jobs, on ``engine`` ("local" or "ray").

        Not for pages: ``core.challenge.contest`` calls it after checking the participant's rights,
        budget and limits (an entry is one per person, so it counts in neither the presenter's queue
        limit nor a session's).

        Raises:
            InputError: a bad config, or the runs folder cannot be written.
        """
        config.validate()
        job = {"submitted": now_iso(), "order": time.time(), "priority": ENTRY_PRIORITY, "owner": owner,
               "engine": engine if engine in ENGINES else "local", "resources": dict(resources or {})}  # fmt: skip
        try:
            with self._lock():
                run = self.store.create(config.run_name(), {**config.to_dict(), "job": job})
        except OSError as exc:
            raise self._create_failed(exc) from exc
        self.pump()
        return run

    def replace_queued(self, run_id: str, config: JobConfig) -> bool:
        """Gives a run that has not started yet a new config (an entry edited); False once it started."""
        config.validate()
        with self._lock():
            run = self.store.get(run_id)
            st = run.status()
            if st.get("status") != "queued" or st.get("pid"):
                return False
            old = run.config()
            write_json_atomic(run.config_path, {**config.to_dict(), **{k: old[k] for k in KEPT_ON_EDIT if k in old}})
        return True

    def _create_failed(self, exc: OSError) -> InputError:
        return InputError(
            _("Could not create a run in {root}: {problem}.").format(root=self.store.root, problem=exc.strerror or exc)
        )

    def _check_queue_room(self, session: str | None, adding: int = 1, units: int | None = None) -> None:
        """Refuses a submission of ``adding`` runs (``units`` jobs of the session) that does not fit."""
        active = [r for r in self.active() if not is_entry(r)]  # entries have their own limits (core.challenge)
        needs = "" if adding == 1 else " " + _("(This starts {n} jobs together.)").format(n=adding)
        if len(active) + adding > max_queue():
            raise InputError(
                _("The queue is full ({n} jobs waiting or running); try again when one ends.").format(n=len(active))
                + needs
            )
        mine = [r.config() for r in active if session and (r.config().get("job") or {}).get("session") == session]
        if _job_units(mine) + (adding if units is None else units) > MAX_JOBS_PER_SESSION:
            raise InputError(
                _("You already have {n} jobs waiting or running (at most {limit}); stop one or wait for it to end.").format(
                    n=_job_units(mine), limit=MAX_JOBS_PER_SESSION) + needs
            )  # fmt: skip

    def pump(self) -> list[str]:
        """Finalises ended processes, then starts queued runs while slots are free.

        Returns:
            The ids of the runs started now.
        """
        if not self.store.root.is_dir():
            return []
        started: list[str] = []
        with self._lock():
            self.refresh()
            queued, running = self.queued(), self.running()
            on_cluster = len([r for r in running if engine_of(r) == "ray"])
            for run in [r for r in queued if engine_of(r) == "ray"]:  # the cluster's own scheduler queues them
                if on_cluster >= drivers_of(run, max_cluster_jobs()):
                    break
                self._start(run)
                started.append(run.id)
                on_cluster += 1
            running = [r for r in running if engine_of(r) == "local"]
            if any(race_id(r) for r in running):
                return started  # a race holds the whole machine until its last racer ends
            free = self.max_running - len(running)
            queued = [r for r in queued if engine_of(r) == "local"]
            for run in queued:
                race = race_id(run)
                if race:  # oldest first: jobs behind a waiting race wait too (it would never find the machine empty)
                    if not running and not started:
                        started += self._start_race([r for r in queued if race_id(r) == race])
                    break
                if free <= 0:
                    break
                self._start(run)
                started.append(run.id)
                free -= 1
        return started

    def _start_race(self, racers: list[Run]) -> list[str]:
        """Starts every racer of a race at once, whatever ``max_running`` says (see core.teaching.race).

        The race's start time (seconds since the epoch) goes into each racer's config.json
        before any racer starts, so every curve is timed from the same instant.
        """
        started = time.time()
        for run in racers:
            run.update_config(race={**run.config()["race"], "started": started})
        for run in racers:
            self._start(run)
        return [r.id for r in racers]

    def _start(self, run: Run) -> None:
        cmd = [sys.executable, "-m", "core.train", "--run-dir", str(run.path.resolve())]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env["CNNLAB_RUNS_DIR"] = str(self.store.root.resolve())
        try:
            with (run.path / "stdout.txt").open("ab") as out, (run.path / "stderr.txt").open("ab") as err:
                proc = subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
                )
        except OSError as exc:
            run.update_status(status="failed", error=f"Could not start the training process: {exc}", ended=now_iso())
            return
        _CHILDREN[run.id] = proc
        run.update_status(pid=proc.pid, pid_start=procs.start_ticks(proc.pid), launched=now_iso())

    # ----- watch ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Gives every active run whose process has ended an honest final status.

        - training wrote its own final status: nothing to do;
        - killed by a signal, or gone without a trace: ``interrupted`` (checkpoint kept);
        - exited with an error before or during training: ``failed`` with the reason.
        Also escalates a STOP request that is being ignored (SIGTERM, then SIGKILL).
        """
        for run_id, proc in list(_CHILDREN.items()):
            if proc.poll() is not None:
                del _CHILDREN[run_id]
                run = Run(self.store.root / run_id)
                if run.path.is_dir():
                    self._finalise(run, proc.returncode)
        for run in self.active():
            st = run.status()
            pid = st.get("pid")
            if not pid or run.id in _CHILDREN:
                if run.id in _CHILDREN:
                    self._escalate_stop(run, st)
                continue
            if st.get("status") == "queued" and not run.process_alive():
                self._finalise(run, None)
            elif st.get("status") == "running":
                if not run.process_alive():
                    self._finalise(run, None)  # a KILLED mark makes it "stopped", else "interrupted"
                    continue
                self._escalate_stop(run, st)

    def _finalise(self, run: Run, returncode: int | None) -> None:
        st = run.status()
        if st.get("status") not in ACTIVE_STATES:
            return  # training wrote its own final status
        err_tail = _tail(run.path / "stderr.txt")
        if (run.path / KILLED_MARK).exists():
            run.update_status(status="stopped", ended=now_iso(), error=None)
        elif returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else -returncode
            run.update_status(
                status="interrupted",
                error=f"The training process was killed ({name}). Its best checkpoint, if any, is still usable.",
                ended=now_iso(),
            )
        elif st.get("status") == "running" and returncode is None:
            mark_if_orphaned(run)
        else:
            reason = _json_error(run.path / "stdout.txt") or (err_tail.splitlines()[-1] if err_tail else None)
            code = f" (exit code {returncode})" if returncode is not None else ""
            run.update_status(
                status="failed",
                error=reason or f"The training process ended without finishing{code}.",
                ended=now_iso(),
            )

    def _escalate_stop(self, run: Run, st: dict) -> None:
        """Escalates a STOP the run seems to ignore: only when it has also stopped reporting.

        A run that is validating, saving or running its final test evaluation still
        finishes normally; one that wrote nothing for the grace period gets SIGTERM, then
        SIGKILL (its best checkpoint stays).
        """
        pid = st.get("pid")
        if not pid or not run.stop_requested():
            return
        now = time.time()
        asked = now - run.stop_path.stat().st_mtime
        updated = iso_seconds(st.get("updated"))
        silent = now - (now if updated is None else updated)
        if min(asked, silent) > 2 * STOP_GRACE_SECONDS:
            (run.path / KILLED_MARK).write_text(now_iso())
            self._kill(run, signal.SIGKILL)
        elif min(asked, silent) > STOP_GRACE_SECONDS and not (run.path / TERM_MARK).exists():
            (run.path / TERM_MARK).write_text(now_iso())
            self._kill(run, signal.SIGTERM)

    def _kill(self, run: Run, sig: signal.Signals) -> bool:
        """Signals the run's training process, only if it provably is one (see core.runs.procs)."""
        st = run.status()
        return procs.signal_training(st.get("pid"), st.get("pid_start"), sig)

    # ----- stop ------------------------------------------------------------------------

    def stop(self, run_id: str, *, actor: Actor, force: bool = False) -> str:
        """Asks a run to stop; returns a message for the user. Safe to call twice.

        A queued run is cancelled at once. A running one gets a ``STOP`` file (it stops
        after the current batch and keeps its best checkpoint); ``force`` kills it now.

        Raises:
            InputError: not the presenter, or no such run.
        """
        require_presenter(actor, N_("stop a training"))
        run = self.store.get(run_id)
        with self._lock():
            self.refresh()
            st = run.status()
            state = st.get("status")
            if state not in ACTIVE_STATES:
                return _("Run {run} is already {state}; nothing to stop.").format(run=run_id, state=_(state))
            if state == "queued" and not st.get("pid"):
                run.update_status(
                    status="stopped", error=None, ended=now_iso(), stop_reason="cancelled before it started"
                )
                return _("Run {run} was waiting in the queue: cancelled.").format(run=run_id)
            if force:
                (run.path / KILLED_MARK).write_text(now_iso())
                if self._kill(run, signal.SIGKILL):
                    proc = _CHILDREN.pop(run.id, None)
                    if proc is not None:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            proc.wait(10)
                    self._finalise(run, None)
                    return _("Run {run} was killed; its best checkpoint so far is kept.").format(run=run_id)
                self.refresh()
                return _("Run {run} had already ended.").format(run=run_id)
            if run.stop_requested():
                waited = time.time() - run.stop_path.stat().st_mtime
                return _("Stop was already requested {seconds} s ago; the run stops after its current batch (or use Force "
                         "stop).").format(seconds=f"{waited:.0f}")  # fmt: skip
            run.request_stop()
            return _("Stop requested: run {run} stops after its current batch and keeps its best checkpoint.").format(
                run=run_id
            )

    # ----- plumbing ------------------------------------------------------------------

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """The job store's lock: one pump, submit or stop at a time, across processes."""
        return locked(self.store.root / ".jobs.lock")


def queue_position(manager: JobManager, run_id: str) -> int | None:
    """1-based place of a queued run in the queue, or None if it is not waiting."""
    ids = [r.id for r in manager.queued()]
    return ids.index(run_id) + 1 if run_id in ids else None
