"""Architecture race: 2 to 4 models trained at the same time on the same data, racing to a target accuracy.

A race is a group of ordinary runs (one background job each) whose ``config.json`` holds
``"race": {"id", "target", "index", "label", "racers", "threads", "cpus", "cores"}``;
:mod:`core.runs.jobs` starts a race's racers together when nothing else runs, whatever
``max_running`` says, adds ``"started"`` (seconds since 1970, the same instant for all) and
starts nothing else until the last racer ends. Each racer's process first takes its share of
the machine (:func:`apply_fairness`) and records what it got as ``"applied"``.

Fairness: with ``cores`` CPUs and ``n`` racers each gets ``max(1, cores // n)`` intra-op
threads, 1 inter-op thread and, where the OS allows, its own cores (``os.sched_setaffinity``);
with more racers than cores, all racers share all cores (the page says so).
Measured in TF 2.21 (``python -m bench.race_threads``): ``tf.config.threading`` and the
``TF_NUM_INTRAOP_THREADS`` variables both hold a process to one core; both are set.

Timing: a racer's process trains a :class:`RacerRun`, which also appends to ``race.csv``
(``epoch``, ``time``: seconds since 1970) the moment each epoch's history row is written, so
every point is placed on one clock, from the race start, across processes; history.csv keeps
its documented columns. Results are read back from the run folders
(:func:`core.teaching.race_results.races`), never trusted: a damaged or half-written folder gives empty cells. The race chart's points are epoch
ends (validation runs once per epoch: more often would slow the racers down).
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import time
from dataclasses import dataclass, replace

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _
from core.base.storage import append_csv
from core.runs.jobs import JobManager, race_id
from core.runs.store import Run
from core.training.config import TrainConfig
from core.training.estimate import estimate_epoch_seconds

MIN_RACERS, MAX_RACERS = 2, 4
DEFAULT_TARGET = {"mnist": 0.98, "images": 0.95}  # the finish line the page proposes per task
START_SECONDS = 15  # starting the racers' processes and loading the data, before their first batch
REFERENCE_CORES = 2  # estimate_epoch_seconds is calibrated on a 2-core CPU
MAX_LABEL = 60
TIMES_FILE, TIMES_FIELDS = "race.csv", ["epoch", "time"]  # when each epoch ended, seconds since 1970


# ----- planning and starting ---------------------------------------------------------------


@dataclass
class RacerConfig:
    """A racer: a :class:`TrainConfig` plus its place in the race (a job config for ``JobManager``)."""

    train: TrainConfig
    race: dict

    def validate(self) -> list[str]:
        from core.tasks import validate

        return validate(self.train)

    def run_name(self) -> str:
        return f"race-{self.train.run_name()}"

    def to_dict(self) -> dict:
        return {**self.train.to_dict(), "race": dict(self.race)}


def machine_cpus() -> list[int]:
    """The CPUs this process may run on (all of them where the OS cannot say)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def plan_threads(racers: int, cpus: list[int]) -> list[dict]:
    """Each racer's share of the machine: ``{"intra", "inter", "cpus", "shared"}``.

    Args:
        racers: how many run at once (1 or more).
        cpus: the CPU numbers to share (``machine_cpus()``).

    Returns:
        One dict per racer: ``intra`` = max(1, cores // racers) threads, ``inter`` = 1, and its
        own ``cpus`` when there are enough. With more racers than cores every racer may use
        every core (``shared`` True): pinning 3 racers to 2 cores would give one racer a core of
        its own and the other two half a core each, while the OS scheduler shares them evenly.
    """
    cpus = list(cpus) or [0]
    per = max(1, len(cpus) // racers)
    shared = racers > len(cpus)
    return [{"intra": per, "inter": 1, "cpus": list(cpus) if shared else cpus[i * per : (i + 1) * per],
             "shared": shared} for i in range(racers)]  # fmt: skip


def estimate_for_share(macs: int, n_train: int, batch_size: int, cores_each: float) -> float:
    """Seconds per epoch from multiply-adds for a racer with ``cores_each`` cores.

    ``estimate_epoch_seconds`` is calibrated on the whole 2-core reference machine; a racer with
    one core of two does its arithmetic half as fast (the per-batch overhead stays the same).
    """
    share = min(1.0, max(cores_each, 0.01) / REFERENCE_CORES)
    return estimate_epoch_seconds(round(macs / share), n_train, batch_size)


def race_seconds(racer_seconds: list[float]) -> float:
    """How long a race takes from Start: the racers start together, so the slowest one's training, plus the start."""
    return START_SECONDS + max(racer_seconds, default=0.0)


def cores_each(plan: dict, cores: int, racers: int) -> float:
    """How many cores a racer really has: its threads, or its part of the cores all racers share."""
    return cores / max(racers, 1) if plan.get("shared") else float(plan.get("intra") or 1)


def new_race_id() -> str:
    """``race-YYYYMMDD-HHMMSS-xxxx``: sorts by time, unique among races started the same second."""
    return f"race-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def racer_label(cfg: TrainConfig) -> str:
    """A racer's name on the chart: its preset, or its spec's name for a layer table."""
    name = cfg.preset if cfg.preset != "custom" else (cfg.spec.name or "custom")
    return str(name)[:MAX_LABEL]


def race_configs(configs: list[TrainConfig], target: float, *, cpus: list[int] | None = None,
                 race: str | None = None) -> list[RacerConfig]:  # fmt: skip
    """The racers' job configs: each config with its place, label, threads and cores.

    Args:
        configs: 2..4 training configs on the same task and data.
        target: the finish line, a validation accuracy in (0, 1].
        cpus: the CPUs to share (default: those this process may use).
        race: the race id (default: a new one).

    Raises:
        InputError: a wrong number of racers, different data, or a target out of range.
    """
    if not MIN_RACERS <= len(configs) <= MAX_RACERS:
        raise InputError(_("A race needs {lo} to {hi} racers. Received: {n}.").format(
            lo=MIN_RACERS, hi=MAX_RACERS, n=len(configs)))  # fmt: skip
    if len({(c.task, c.data) for c in configs}) != 1:
        got = ", ".join(sorted({f"{c.task}: {c.data}" for c in configs}))
        raise InputError(_("All racers must train on the same data. Received: {data}.").format(data=got))
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise InputError(_("Expected a target accuracy above 0% and at most 100%. Received: {target}.").format(
            target=repr(target)))  # fmt: skip
    cpus = list(cpus) if cpus is not None else machine_cpus()
    plans, race = plan_threads(len(configs), cpus), race or new_race_id()
    names: list[str] = []
    out = []
    for i, (cfg, plan) in enumerate(zip(configs, plans)):
        name = racer_label(cfg)
        twins = names.count(name)
        names.append(name)
        label = f"{name} ({twins + 1})" if twins else name  # the same preset twice (other settings): tell them apart
        info = {"id": race, "target": float(target), "index": i, "label": label, "racers": len(configs),
                "cores": len(cpus), **plan}  # fmt: skip
        out.append(RacerConfig(replace(cfg, name=cfg.name or racer_label(cfg)), info))
    return out


def start_race(configs: list[TrainConfig], target: float, *, actor: Actor,
               manager: JobManager | None = None) -> str:  # fmt: skip
    """Queues a race (all racers or none) and starts it when the machine is free; returns its id.

    Raises:
        InputError: not the presenter, bad racers or target (:func:`race_configs`), or the
            queue refuses the racers (:meth:`JobManager.submit_all`).
    """
    require_presenter(actor, N_("start a race"))
    racers = race_configs(configs, target)
    (manager or JobManager()).submit_all(racers, actor=actor)
    return racers[0].race["id"]


def stop_race(race: str, *, actor: Actor, manager: JobManager | None = None) -> list[str]:
    """Asks every racer still queued or running to stop; returns one message per racer.

    Raises:
        InputError: not the presenter.
    """
    require_presenter(actor, N_("stop a race"))
    manager = manager or JobManager()
    return [manager.stop(r.id, actor=actor) for r in manager.active() if race_id(r) == race]


def apply_fairness(race: dict) -> dict:
    """In a racer's process, before TensorFlow is imported: takes its cores and thread counts.

    Returns:
        What it got: ``{"cpus": [...], "intra": n, "inter": n}`` (``cpus`` empty where the OS
        has no affinity).
    """
    intra = _count(race.get("intra"))
    inter = _count(race.get("inter"))
    wanted = race.get("cpus")
    allowed = set(machine_cpus())
    if isinstance(wanted, list) and hasattr(os, "sched_setaffinity"):
        cpus = {c for c in wanted if isinstance(c, int) and not isinstance(c, bool) and c in allowed}
        if cpus:
            try:
                os.sched_setaffinity(0, cpus)
            except OSError:
                pass  # a container may refuse: the thread counts still hold
    os.environ["TF_NUM_INTRAOP_THREADS"], os.environ["TF_NUM_INTEROP_THREADS"] = str(intra), str(inter)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    return {"cpus": machine_cpus() if hasattr(os, "sched_getaffinity") else [],
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads()}  # fmt: skip


def release_share(cpus: list[int]) -> None:
    """After a racer trained: its process gets back the cores it had before :func:`apply_fairness`.

    Why: the racer that ends last starts the next queued jobs (``JobManager.pump``); a child
    process inherits its parent's core pinning and environment, so without this a job queued
    behind a race, or the next race, would run on the one core this racer was given.
    """
    if cpus and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.pop(name, None)


class RacerRun(Run):
    """A racer's run folder: as training records an epoch, notes when it ended in ``race.csv``.

    Training's callback writes the epoch's history row, then the status with the new
    ``epochs_done``: that status write is the moment the epoch ended, on the wall clock shared
    by every racer (the history's ``seconds`` are each epoch's own duration).
    """

    def __init__(self, path):
        super().__init__(path)
        self._noted = 0

    def update_status(self, **fields) -> dict:
        done = fields.get("epochs_done")
        if isinstance(done, int) and not isinstance(done, bool) and done > self._noted:
            append_csv(self.path / TIMES_FILE, {"epoch": done, "time": round(time.time(), 3)}, TIMES_FIELDS)
            self._noted = done
        return super().update_status(**fields)


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1024 else 1
