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
its documented columns. Results are read back from the run folders (:func:`races`), never
trusted: a damaged or half-written folder gives empty cells. The race chart's points are epoch
ends (validation runs once per epoch: more often would slow the racers down).
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import statistics
import time
from dataclasses import dataclass, field, replace

from core.access.roles import Actor, require_presenter
from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext
from core.base.storage import append_csv, read_csv
from core.runs.jobs import JobManager, race_id
from core.runs.progress import Progress, progress
from core.runs.store import ACTIVE_STATES, RUN_ID_RE, Run, RunStore
from core.training.config import TrainConfig
from core.training.estimate import estimate_epoch_seconds

MIN_RACERS, MAX_RACERS = 2, 4
DEFAULT_TARGET = {"mnist": 0.98, "images": 0.95}  # the finish line the page proposes per task
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
        return self.train.validate()

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


# ----- results -----------------------------------------------------------------------------


@dataclass
class Racer:
    """One racer as read from its run folder; numbers are None until (unless) it has them."""

    run_id: str
    label: str
    index: int
    status: str
    progress: Progress | None = None
    points: list[tuple[float, float]] = field(default_factory=list)  # (s since the race start, val accuracy)
    seconds_to_target: float | None = None  # the first epoch end at or above the target
    best_accuracy: float | None = None  # best validation accuracy of any epoch
    test_accuracy: float | None = None
    params: int | None = None
    macs: int | None = None  # multiply-adds per image (forward)
    estimated_epoch_seconds: float | None = None  # from multiply-adds, for its share of the cores
    measured_epoch_seconds: float | None = None  # median of its epochs' durations
    epoch_seconds: list[float] = field(default_factory=list)  # each epoch's duration, in order
    epochs_done: int = 0
    epochs: int | None = None
    threads: int | None = None  # intra-op threads it got
    cpus: list[int] = field(default_factory=list)  # the cores it ran on
    shared: bool = False  # cores shared with other racers
    error: str | None = None

    @property
    def live(self) -> bool:
        return self.status in ACTIVE_STATES


@dataclass
class Race:
    """A race read from disk: its racers in their order, the finish line and the start time."""

    id: str
    target: float | None
    started: float | None  # seconds since 1970 (None: not started yet)
    racers: list[Racer]

    @property
    def live(self) -> bool:
        return any(r.live for r in self.racers)

    @property
    def duration(self) -> float:
        """Seconds from the start to the last epoch end anyone recorded."""
        return max((p[0] for r in self.racers for p in r.points), default=0.0)

    def winner(self) -> Racer | None:
        """The first racer to reach the target (ties: the earlier in the racer order), or None."""
        crossed = [r for r in self.racers if r.seconds_to_target is not None]
        return min(crossed, key=lambda r: (r.seconds_to_target, r.index)) if crossed else None

    def verdict(self) -> str:
        """``"winner"``, ``"none_yet"`` (someone still racing) or ``"none_reached"`` (all ended short)."""
        if self.winner() is not None:
            return "winner"
        return "none_yet" if self.live else "none_reached"

    def at(self, seconds: float) -> Race:
        """The race as it stood ``seconds`` after its start (for a replay): later points are hidden."""
        racers = []
        for r in self.racers:
            points = [p for p in r.points if p[0] <= seconds]
            crossed = (
                r.seconds_to_target if r.seconds_to_target is not None and r.seconds_to_target <= seconds else None
            )
            best = max((p[1] for p in points), default=None)
            durations = r.epoch_seconds[: len(points)]
            measured = statistics.median(durations) if durations else None
            ended = not r.points or r.points[-1][0] <= seconds  # its last epoch end is behind the replay's clock
            racers.append(replace(r, points=points, seconds_to_target=crossed, best_accuracy=best, progress=None,
                                  measured_epoch_seconds=measured, epoch_seconds=durations,
                                  status=r.status if ended else "running"))  # fmt: skip
        return replace(self, racers=racers)


def _racers_by_race(store: RunStore | None) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for run in (store or RunStore()).list(mark_interrupted=False):
        rid = race_id(run)
        if rid and RUN_ID_RE.match(rid):
            groups.setdefault(rid, []).append(run)
    return groups


def races(store: RunStore | None = None) -> list[Race]:
    """Every race in the runs folder, newest first."""
    groups = _racers_by_race(store)
    return [_race(rid, groups[rid]) for rid in sorted(groups, reverse=True)]


def get_race(race: str, store: RunStore | None = None) -> Race | None:
    """One race by id, or None when no run folder belongs to it (only its racers' histories are read)."""
    runs = _racers_by_race(store).get(race)
    return _race(race, runs) if runs else None


def _race(rid: str, runs: list[Run]) -> Race:
    infos = [run.config().get("race") for run in runs]  # dicts: race_id found an id in each
    targets = [_number(i.get("target")) for i in infos]
    target = next((t for t in targets if t is not None and 0 < t <= 1), None)
    starts = [s for s in (_number(i.get("started")) for i in infos) if s is not None and s > 0]
    started = min(starts) if starts else None
    racers = [racer(run, target, started) for run in runs]
    return Race(rid, target, started, sorted(racers, key=lambda r: (r.index, r.run_id)))


def racer(run: Run, target: float | None, started: float | None) -> Racer:
    """One racer's numbers from its run folder (a damaged or half-written folder gives what it has)."""
    cfg, st = run.config(), run.status()
    info = cfg.get("race") if isinstance(cfg.get("race"), dict) else {}
    index = info.get("index")
    label = info.get("label")
    out = Racer(run.id, label[:MAX_LABEL] if isinstance(label, str) and label else run.id,
                index if isinstance(index, int) and not isinstance(index, bool) else MAX_RACERS,
                str(st.get("status", "unknown")), error=st.get("error"))  # fmt: skip
    out.progress = progress(st) if out.live else None
    out.epochs_done = st.get("epochs_done") or 0
    spec = cfg.get("spec") if isinstance(cfg.get("spec"), dict) else {}
    out.epochs = spec.get("epochs") if isinstance(spec.get("epochs"), int) else None
    out.test_accuracy = _number(st.get("test_accuracy"))
    applied = info.get("applied") if isinstance(info.get("applied"), dict) else info
    threads, cpus = applied.get("intra"), applied.get("cpus")
    out.threads = threads if isinstance(threads, int) and threads > 0 else None
    out.cpus = [c for c in cpus if isinstance(c, int)] if isinstance(cpus, list) else []
    out.shared = info.get("shared") is True
    _size(out, cfg, spec, info)
    ends = {row.get("epoch"): row.get("time") for row in read_csv(run.path / TIMES_FILE)}
    _curve(out, run.history(), ends, target, started)
    return out


def _size(out: Racer, cfg: dict, spec: dict, info: dict) -> None:
    """Parameters and multiply-adds (recorded by training, else counted from the spec) and the estimate."""
    params, macs = cfg.get("n_params"), cfg.get("macs")
    if not isinstance(macs, int):
        try:
            from core.models import ModelSpec, summarize_spec

            model = ModelSpec.from_dict(spec)
            classes = len(cfg["class_names"]) if isinstance(cfg.get("class_names"), list) else None
            summary = summarize_spec(model, model.input_shape(), classes or (10 if cfg.get("task") == "mnist" else 2))
            params, macs = summary.total_params, summary.total_macs
        except Exception:  # a junk spec: empty cells, never an exception
            params, macs = None, None
    out.params = params if isinstance(params, int) else None
    out.macs = macs if isinstance(macs, int) else None
    n_train, batch = cfg.get("n_train"), spec.get("batch_size")
    if out.macs is not None and isinstance(n_train, int) and n_train > 0 and isinstance(batch, int) and batch > 0:
        cores, racers = info.get("cores"), info.get("racers")
        if isinstance(cores, int) and isinstance(racers, int) and cores > 0 and racers > 0:
            each = cores_each({"shared": out.shared, "intra": out.threads}, cores, racers)
        else:
            each = float(out.threads or REFERENCE_CORES)
        out.estimated_epoch_seconds = estimate_for_share(out.macs, n_train, batch, each)


def _curve(out: Racer, history: list[dict], ends: dict, target: float | None, started: float | None) -> None:
    """Points at each epoch end: wall seconds since the race start (``ends``: epoch -> its end
    from race.csv), or, for an epoch without one, the sum of the epochs' seconds so far."""
    durations, points, cumulative, last_epoch = [], [], 0.0, 0.0
    for row in history:
        epoch, acc, seconds = _number(row.get("epoch")), _number(row.get("val_accuracy")), _number(row.get("seconds"))
        if epoch is None or epoch <= last_epoch or seconds is None or seconds < 0:
            continue  # a torn, repeated or junk row
        last_epoch = epoch
        durations.append(seconds)
        cumulative += seconds
        when = _number(ends.get(epoch))
        x = when - started if when is not None and started is not None and when >= started else cumulative
        if acc is not None and 0 <= acc <= 1:
            points.append((round(x, 3), acc))
    out.points, out.epoch_seconds = points, durations
    out.measured_epoch_seconds = statistics.median(durations) if durations else None
    out.best_accuracy = max((a for _s, a in points), default=None)
    if target is not None:
        out.seconds_to_target = next((s for s, a in points if a >= target), None)


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None


def describe_share(r: Racer) -> str:
    """The racer's share of the machine in words ("1 thread, core 0")."""
    if r.threads is None:
        return _("not started yet")
    text = ngettext("{n} thread", "{n} threads", r.threads).format(n=r.threads)
    if r.cpus:
        cores = ", ".join(str(c) for c in r.cpus)
        text += ", " + ngettext("core {cores}", "cores {cores}", len(r.cpus)).format(cores=cores)
    return text + (" " + _("(shared)") if r.shared else "")
