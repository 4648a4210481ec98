"""Architecture race: 2 to 4 models train at once on the same data; the first to reach the target wins."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from core import tasks
from core.base.cli import parse_json_object
from core.base.errors import InputError
from core.base.i18n import N_, _, ngettext, number, percent
from core.models import PRESETS, ModelSpec
from core.plots.race import RaceLine, race_figure
from core.plots.style import CHART_CONFIG
from core.runs.jobs import JobManager
from core.runs.store import ACTIVE_STATES, RunStore
from core.teaching.race import (
    DEFAULT_TARGET,
    MAX_RACERS,
    MIN_RACERS,
    START_SECONDS,
    cores_each,
    estimate_for_share,
    machine_cpus,
    plan_threads,
    race_seconds,
    start_race,
    stop_race,
)
from core.teaching.race_results import Race, Racer, describe_share, get_race, races
from core.training import TrainConfig, presets_for
from pages._data import data_status, warn_no_mnist
from pages._i18n import localized
from pages._projector import scroll_into_view
from pages._router import ensure_router
from pages._runs import STATUS_ICONS, machine_speed
from pages._session import actor, init_state, is_presenter
from pages._sidebar import refresh_active_runs
from pages._widgets import file_upload

ensure_router()

DATA_KINDS = [N_("MNIST digits"), N_("Image folder")]
SPEC = "spec"  # the racer choice "a layer table saved as JSON" (beside the preset names)
# The default race ends while the speaker talks (under a minute on 2 cores): the CNN against the MLP, 1 epoch.
DEFAULT_RACERS = {"mnist": ["mnist-fast", "mnist-mlp", "mnist-tutorial", "keras-convnet"],
                  "images": ["orientation-fast", "orientation-tutorial", "orientation-fast", "orientation-tutorial"]}  # fmt: skip
DEFAULT_EPOCHS, MAX_EPOCHS = 1, 50
DEFAULT_IMAGE_SIZE = 64  # one input size for every racer of an image-folder race (the same data)
SPEEDS = ["1×", "2×", "5×", "10×"]
LIVE_EVERY, REPLAY_EVERY = 1.0, 0.5  # seconds between redraws (a chart redrawn faster flickers)

init_state({"race_data_kind": "MNIST digits", "race_n": 2, "race_id": None, "race_replay": None, "race_speed": "10×"})
S = st.session_state

st.title(_("Architecture race"))
st.markdown(
    _("Two to four models start training **at the same moment** on the same data, each with the same share of "
      "the processor. The chart shows each model's accuracy on images it has not trained on (validation "
      "accuracy) against the seconds on the stopwatch; the dashed line is the finish line. The first model with "
      "a point on or above it wins.")
)  # fmt: skip


# ----- 1. data -------------------------------------------------------------------------------


def choose_data() -> dict | None:
    """The data section: ``{"task", "data", "n"}`` (``n``: training images, None when unknown) or None."""
    st.subheader(_("1. Data"))
    status = data_status()
    kind = st.segmented_control(_("Data"), DATA_KINDS, key="race_data_kind", required=True, format_func=_,
                                label_visibility="collapsed")  # fmt: skip
    if kind == "MNIST digits":
        if not status["mnist"]:
            warn_no_mnist(status["root"])
            return {"task": "mnist", "data": None, "n": None}
        st.caption(_("MNIST digits from `{path}`.").format(path=status["mnist"][0]))
        return {"task": "mnist", "data": status["mnist"][0], "n": None}
    if not status["folders"]:
        st.info(_("No image folders in the data folder yet: import one on the Train page, or put one in `{root}` "
                  "(one subfolder per class).").format(root=status["root"]))  # fmt: skip
        return None
    folder = st.selectbox(_("Dataset"), status["folders"], format_func=lambda p: Path(p).name, key="race_folder")
    return {"task": "images", "data": folder, "n": None}


# ----- 2. racers -----------------------------------------------------------------------------


def racer_spec(task: str, i: int) -> tuple[str | None, ModelSpec | None]:
    """Racer ``i``'s choice: ``(preset, None)``, ``(None, spec)`` from an uploaded layer table, or (None, None)."""
    names = presets_for(task)
    options = names + [SPEC]
    default = DEFAULT_RACERS[task][i] if DEFAULT_RACERS[task][i] in names else names[i % len(names)]
    choice = st.selectbox(_("Racer {n}").format(n=i + 1), options, index=options.index(default), key=f"race_pick_{task}_{i}",
                          format_func=lambda n: _("a layer table saved as JSON") if n == SPEC else n)  # fmt: skip
    if choice != SPEC:
        st.caption(_(PRESETS[choice].description).split(". ")[0])
        return choice, None
    up = file_upload(_("Model spec (.json, saved on the Train page)"), type=["json"], key=f"race_spec_{task}_{i}")
    if up is None:
        return None, None
    try:
        return None, ModelSpec.from_dict(parse_json_object(up.getvalue(), N_("model spec")))
    except InputError as exc:
        st.error(f"{up.name}: {exc}", icon=":material/error:")
        return None, None


def choose_racers(data: dict) -> tuple[list[TrainConfig] | None, float]:
    """The racers' section; returns their checked configs (None: something to fix, shown) and the target."""
    st.subheader(_("2. Racers"))
    task = data["task"]
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input(_("Racers"), MIN_RACERS, MAX_RACERS, key="race_n")
    epochs = c2.number_input(_("Epochs for each"), 1, MAX_EPOCHS, DEFAULT_EPOCHS, key="race_epochs",
                             help=_("The same budget for every racer; early stopping may end one sooner."))  # fmt: skip
    target = c3.number_input(_("Finish line (validation accuracy, %)"), 1.0, 100.0, DEFAULT_TARGET[task] * 100, 0.5,
                             key=f"race_target_{task}")  # fmt: skip
    settings: dict = {"epochs": int(epochs)}
    if tasks.get(task).fixed_input is None:  # every racer sees the same images: one size for all
        settings["image_size"] = c4.number_input(_("Image size"), 16, 256, DEFAULT_IMAGE_SIZE, 16, key="race_size",
                                                 help=_("Every racer sees the images at this size."))  # fmt: skip
    configs: list[TrainConfig] = []
    problems = False
    for i, column in enumerate(st.columns(int(n))):
        with column:
            preset, spec = racer_spec(task, i)
            if preset is None and spec is None:
                problems = True
                continue
            try:
                cfg = TrainConfig.from_preset(task, data["data"], preset, spec, settings)
                tasks.validate(cfg)
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
                problems = True
                continue
            configs.append(cfg)
    if problems:
        return None, target / 100
    preview(configs, data)
    return configs, target / 100


def preview(configs: list[TrainConfig], data: dict) -> None:
    """Size, cost and share of the machine of each racer, before the start (arithmetic only)."""
    plans = plan_threads(len(configs), machine_cpus())
    rows, seconds = [], []
    for cfg, plan in zip(configs, plans):
        task = tasks.get(cfg.task)
        summary = task.preview_summary(cfg.spec)
        row = {_("racer"): cfg.preset if cfg.preset != "custom" else cfg.spec.name, _("parameters"): number(summary.total_params),
               _("multiply-adds per image"): number(summary.total_macs)}  # fmt: skip
        n = task.planned_train_size(cfg, data["n"], True)  # MNIST's is known before loading; a folder's is not
        if n is not None:
            each = cores_each(plan, len(machine_cpus()), len(configs))
            per_epoch = estimate_for_share(summary.total_macs, n, cfg.spec.batch_size, each) * machine_speed()[0]
            row[_("estimated s per epoch")] = number(per_epoch, 1)
            seconds.append(per_epoch * cfg.spec.epochs)
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if len(seconds) == len(configs):  # every racer's data size is known before it loads (MNIST)
        st.caption(_("About {seconds} s from Start to the last finish: {start} s to start the racers and load the "
                     "data, then the slowest racer's epochs. An estimate from multiply-adds; early stopping and the "
                     "finish line can end it sooner.").format(seconds=number(race_seconds(seconds), 0),
                                                              start=START_SECONDS))  # fmt: skip
    plan = plans[0]
    fair = ngettext("Fair start: each racer gets {threads} TensorFlow thread", "Fair start: each racer gets {threads} "
                    "TensorFlow threads", plan["intra"]).format(threads=plan["intra"])  # fmt: skip
    cores = len(machine_cpus())
    if plan["shared"]:
        fair += " " + _("and shares this machine's {cores} cores with the others (more racers than cores).").format(
            cores=cores)  # fmt: skip
    else:
        fair += " " + ngettext("and its own core of this machine's {cores}.", "and its own {n} cores of this machine's "
                               "{cores}.", len(plan["cpus"])).format(n=len(plan["cpus"]), cores=cores)  # fmt: skip
    st.caption(fair + " " + _("Nothing else trains during a race; a race waits for running trainings to end."))


# ----- 3. the race ---------------------------------------------------------------------------


COLUMNS = {"racer": N_("racer"), "params": N_("parameters"), "macs": N_("multiply-adds"),
           "to_target": N_("seconds to the target"), "best": N_("best accuracy"),
           "estimated": N_("s per epoch (estimate)"), "measured": N_("s per epoch (measured)")}  # fmt: skip


def results_table(found: Race) -> pd.DataFrame:
    """One row per racer, as text ("" where a number is not known)."""

    def text(value, show) -> str:
        return "" if value is None else show(value)

    rows = [{"racer": r.label, "params": text(r.params, number), "macs": text(r.macs, number),
             "to_target": text(r.seconds_to_target, lambda v: number(v, 1)),
             "best": text(r.best_accuracy, lambda v: percent(v, 2)),
             "estimated": text(r.estimated_epoch_seconds, lambda v: number(v, 1)),
             "measured": text(r.measured_epoch_seconds, lambda v: number(v, 1))} for r in found.racers]  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns={k: _(v) for k, v in COLUMNS.items()})


def show_verdict(found: Race) -> None:
    target = percent(found.target, 1) if found.target is not None else "?"
    verdict = found.verdict()
    if verdict == "winner":
        w = found.winner()
        st.success(_("**{racer}** wins: validation accuracy {acc} reached the finish line ({target}) after {seconds} s.").format(
            racer=w.label, acc=percent(next(a for s, a in w.points if s == w.seconds_to_target), 2), target=target,
            seconds=number(w.seconds_to_target, 1)), icon=":material/sports_score:")  # fmt: skip
    elif verdict == "none_yet":
        st.info(_("Nobody has reached {target} yet.").format(target=target), icon=":material/timer:")
    else:
        best = max(
            (r for r in found.racers if r.best_accuracy is not None), key=lambda r: r.best_accuracy, default=None
        )
        extra = (
            _(" The closest: {racer} with {acc}.").format(racer=best.label, acc=percent(best.best_accuracy, 2))
            if best
            else ""
        )
        st.warning(_("Nobody reached the finish line ({target}).").format(target=target) + extra, icon=":material/flag:")  # fmt: skip


def show_racer(r: Racer, replaying: bool) -> None:
    """A racer's progress: a bar while it trains, its end state after."""
    if r.status == "running" and replaying:
        done = len(r.points) / r.epochs if r.epochs else 0.0
        n = len(r.points)
        text = ngettext("{racer}: {n} epoch done", "{racer}: {n} epochs done", n).format(racer=r.label, n=n)
        st.progress(min(done, 1.0), text)
    elif r.status == "running" and r.progress is not None:
        st.progress(r.progress.fraction, f"{r.label}: {r.progress.text()}")
    elif r.status in ACTIVE_STATES:
        st.progress(0.0, _("{racer}: waiting for the start").format(racer=r.label) if r.status == "queued"
                    else _("{racer}: loading the data").format(racer=r.label))  # fmt: skip
    elif r.status in ("failed", "interrupted", "damaged"):
        why = r.error or _("no reason recorded")
        st.error(f"{r.label}: {_(r.status)}: {why}", icon=STATUS_ICONS.get(r.status))
    else:
        n = len(r.points)
        text = ngettext("{racer}: {state} after {n} epoch", "{racer}: {state} after {n} epochs", n)
        st.progress(1.0, text.format(racer=r.label, state=_(r.status), n=n))


def race_name(found: Race) -> str:
    return f"{found.id}: " + _(" vs ").join(r.label for r in found.racers)


def show_race(found: Race, clock: float, replaying: bool, whole: Race | None = None) -> None:
    """Stopwatch, chart, progress, verdict and table of the race as it stands at ``clock``.

    ``whole``: the recorded race a replay shows part of (its chart keeps the whole race's axes).
    """
    stopped = []
    with st.container(horizontal=True, vertical_alignment="center", gap="large"):
        st.metric(_("Stopwatch"), _("{s} s").format(s=number(clock, 1)), width="content")
        if replaying:
            st.caption(
                _("Replay at {speed} of the race recorded on disk: nothing trains.").format(
                    speed=S.race_replay["speed"]
                )
            )
        elif found.live and is_presenter() and st.button(_("Stop the race"), icon=":material/stop:", key="race_stop"):
            stopped = stop_race(found.id, actor=actor())
    for message in stopped:
        st.info(message)
    lines = [RaceLine(r.label, r.points, r.seconds_to_target) for r in found.racers]
    frame = None
    if whole is not None:
        frame = (whole.duration, min((p[1] for r in whole.racers for p in r.points), default=0.0))
    moving = clock if replaying or found.live else None  # the stopwatch's line, while the clock runs
    st.plotly_chart(race_figure(lines, found.target, moving, frame, height=400), config=CHART_CONFIG, key="race_chart")
    for r in found.racers:
        show_racer(r, replaying)
    show_verdict(found)
    st.dataframe(results_table(found), hide_index=True, width="stretch")
    shares = "; ".join(_("{racer}: {share}").format(racer=r.label, share=describe_share(r)) for r in found.racers)
    st.caption(_("Share of the CPU: {shares}.").format(shares=shares))
    st.caption(
        _("Points are epoch ends (validation runs once per epoch). Seconds count from the moment all racers were "
          "started, so loading the data and building the model are part of the race. Best accuracy is the best "
          "validation accuracy of any epoch. The estimate comes from multiply-adds for the racer's share of the "
          "cores; the measured value is the median of its epochs.")
    )  # fmt: skip


def start_section(configs: list[TrainConfig] | None, target: float, kept: list[Race]) -> None:
    presenter = is_presenter()
    why = None if presenter else _("Only the presenter can start a race; the race appears here for everyone.")
    if configs is None and presenter:
        why = _("Fix the racers above first.")
    running = [r for r in kept if r.live]
    if running and presenter:  # allowed (it queues), but say so: a second click is not a restart
        st.caption(_("A race is already running or waiting ({race}): this one will start after it.").format(
            race=running[0].id))  # fmt: skip
    if st.button(_("Start the race"), type="primary", icon=":material/flag:", disabled=why is not None, help=why):
        try:
            S.race_id, S.race_replay = start_race(configs, target, actor=actor()), None
        except InputError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            refresh_active_runs()
            S.race_scroll = True  # the next run scrolls the stopwatch and the chart into view
            st.rerun()
    if why and not presenter:
        st.caption(why)


def replay_controls(found: Race) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):  # each at its own width: nothing cut
        speed = st.segmented_control(_("Replay speed"), SPEEDS, key="race_speed", required=True)
        if st.button(_("Replay"), icon=":material/replay:", disabled=found.live or not found.duration):
            S.race_replay = {"id": found.id, "speed": speed, "began": time.time()}
            S.race_scroll = True
            st.rerun()
        if (
            S.race_replay
            and S.race_replay.get("id") == found.id
            and st.button(_("End the replay"), icon=":material/stop:")
        ):
            S.race_replay = None
            st.rerun()


def race_section(found_all: list[Race]) -> None:
    st.subheader(_("3. The race"))
    if not found_all:
        st.caption(_("No race yet: choose the racers and press **Start the race** (the presenter)."))
        return
    by_id = {r.id: r for r in found_all}
    if S.race_id not in by_id:  # a visitor arriving: the race being run, not one still waiting behind it
        S.race_id = next((r.id for r in found_all if r.started is not None and r.live), found_all[0].id)
    st.selectbox(_("Race"), list(by_id), key="race_id", format_func=lambda i: race_name(by_id[i]))
    rid = S.race_id
    replay_controls(by_id[rid])
    if S.pop("race_scroll", False):
        scroll_into_view("race_view")
    replay = S.race_replay if S.race_replay and S.race_replay.get("id") == rid else None
    live = by_id[rid].live

    @st.fragment(run_every=REPLAY_EVERY if replay else LIVE_EVERY if live else None)
    @localized
    def race_view() -> None:
        JobManager().pump()
        found = get_race(rid, RunStore())
        if found is None:
            st.warning(_("Race {race} was deleted.").format(race=rid))
            return
        if replay:
            speed = float(replay["speed"].rstrip("×"))
            clock = min((time.time() - replay["began"]) * speed, found.duration)
            show_race(found.at(clock), clock, True, whole=found)
            if clock >= found.duration:
                S.race_replay = None
                st.rerun()  # the replay ended: rerun the page once to stop the timer
            return
        clock = time.time() - found.started if found.live and found.started else found.duration
        show_race(found, clock, False)
        if live and not found.live:
            st.rerun()  # it just ended: rerun the page once to stop the timer

    with st.container(key="race_view"):
        race_view()


with st.expander(_("What am I looking at?"), icon=":material/help:"):
    st.markdown(
        _("- **Each line is one model.** A point appears each time the model has seen all the training images once "
          "(an epoch) and has been checked on images kept aside.\n"
          "- **A small model** does little arithmetic per image, so its epochs are quick: it can reach the finish line "
          "first even though it ends lower.\n"
          "- **A big model** takes longer per epoch but often learns more per epoch and ends higher: winning the race "
          "is not the same as being the most accurate.\n"
          "- **A fair race:** the racers start together, each on its own share of the processor, and nothing else "
          "trains meanwhile.\n"
          "- **Replay** redraws a race recorded earlier at its real pace, or faster: nothing trains.")
    )  # fmt: skip

data = choose_data()
configs, target = choose_racers(data) if data is not None else (None, DEFAULT_TARGET["mnist"])
kept = races(RunStore())  # every race on disk, read once per page run
start_section(configs, target, kept)
race_section(kept)
