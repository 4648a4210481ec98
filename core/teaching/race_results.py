"""A race read back from its racers' run folders: each racer's points, size and share, the winner, a replay."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from core.base.i18n import _, ngettext
from core.base.storage import read_csv
from core.runs.jobs import race_id
from core.runs.progress import Progress, progress
from core.runs.store import ACTIVE_STATES, RUN_ID_RE, Run, RunStore
from core.teaching.race import MAX_LABEL, MAX_RACERS, REFERENCE_CORES, TIMES_FILE, cores_each, estimate_for_share


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
            from core.tasks import TASKS

            model = ModelSpec.from_dict(spec)
            classes = len(cfg["class_names"]) if isinstance(cfg.get("class_names"), list) else None
            task = TASKS.get(cfg.get("task"), TASKS["images"])  # a task this version does not know: counted as images
            summary = summarize_spec(model, model.input_shape(), classes or task.preview_classes)
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
