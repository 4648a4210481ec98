"""``python -m core.train``: train a model from the command line (docs/ARCHITECTURE.md, "The command line").

The training flags are not written here: they come from the settings table
(``core.training.SETTINGS``), so every setting the Train page offers is a flag too.
"""

from __future__ import annotations

import sys
import tempfile

from core.base.cli import make_parser, read_json_file, run_cli
from core.base.errors import InputError
from core.base.i18n import N_
from core.base.settings import add_flags, values_from_args


def list_presets() -> dict:
    """Every preset with its task, description and parameter count at its own input size.

    Counted by arithmetic (each task's ``preview_summary``; a table preset for a 3-column table):
    nothing is built, so listing is instant.
    """
    from core.models import PRESETS
    from core.tasks import TASKS

    rows = []
    for name, spec in PRESETS.items():
        task = TASKS.get(spec.task, TASKS["images"])  # "any": counted as an image model
        rows.append({"name": name, "task": spec.task, "description": spec.description,
                     "params": task.preview_summary(spec).total_params, "input_shape": task.preview_shape(spec)})  # fmt: skip
    return {"presets": rows}


def _handler(args) -> dict:
    if args.list_presets:
        return list_presets()
    if args.run_dir:
        return _train_queued_run(args)
    return _train(args)


def _train_queued_run(args) -> dict:
    """Trains the run folder that ``core.runs.jobs`` created: its config.json holds every setting.

    Bad input marks that run ``failed`` (so the app shows why), then the next queued
    job is started: the queue moves on even with no browser open.
    """
    from core.runs.queue import engine_of
    from core.runs.store import now_iso, open_run
    from core.tasks import train
    from core.training import SETTINGS, TrainConfig, distribute

    given = values_from_args(args, SETTINGS)
    if given or args.task or args.preset or args.spec or args.data or args.drop is not None:
        raise InputError("--run-dir trains the settings in that folder's config.json; give no other settings.")
    run = open_run(args.run_dir)
    state = run.status().get("status")
    if state != "queued":  # never train over a finished run's history and checkpoints
        raise InputError(f"Run {run.id} is {state}, not queued: a run folder is trained only once.")
    cpus_before: list[int] | None = None  # a racer's cores before it took its share
    try:
        config = run.config()
        if isinstance(config, dict) and isinstance(config.get("race"), dict):  # a racer: its share of the CPU first
            from core.teaching.race import RacerRun, apply_fairness, machine_cpus  # before TensorFlow reads its threads

            run, cpus_before = RacerRun(run.path), machine_cpus()  # RacerRun notes each epoch end on one clock
            run.update_config(race={**config["race"], "applied": apply_fairness(config["race"])})
        if distribute.read_cluster() is not None:  # one folder, several writers: each worker runs the command itself
            raise InputError("A multi-worker TF_CONFIG trains from flags (python -m core.train --task ...), "
                             "not a queued --run-dir.")  # fmt: skip
        if engine_of(run) == "ray":  # a challenge entry on a Ray cluster
            from core.runs.ray_engine import drive

            return drive(run, train_folder)  # this process drives the cluster: no TensorFlow here
        distribute.setup(args.devices)  # before TensorFlow starts (a racer's thread share is set just above)
        if isinstance(config, dict) and "api_compare" in config:  # one way of the API comparison
            from core.teaching.api_compare.runner import train_queued

            return train_queued(run)
        return train(TrainConfig.from_dict(config), run=run)
    except InputError as exc:
        run.update_status(status="failed", error=str(exc), ended=now_iso())
        run.log(f"failed: {exc}")
        raise
    finally:
        try:
            from core.runs.jobs import JobManager

            if cpus_before is not None:  # the jobs started next must not inherit this racer's share
                from core.teaching.race import release_share

                release_share(cpus_before)
            JobManager(run.path.parent).pump()
        except Exception as exc:  # never let the queue hide this run's own result
            print(f"warning: could not start the next queued job: {exc}", file=sys.stderr)
        try:
            from core.challenge.contest import referee_after

            referee_after(run)  # a challenge entry: its end may crown the winner, with no Wall open
        except Exception as exc:  # the entry's own result stands whatever the leaderboard does
            print(f"warning: could not update the challenge: {exc}", file=sys.stderr)


def train_folder(path: str) -> dict:
    """Trains a queued run folder's config in this process: what a Ray task runs on its copy of the folder.

    Its CPUs are the ones Ray gave the task (``OMP_NUM_THREADS``): TensorFlow takes that many threads.
    """
    import os

    from core.runs.store import open_run
    from core.tasks import train
    from core.training import TrainConfig

    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
    run = open_run(path)
    return train(TrainConfig.from_dict(run.config()), run=run)


def _train(args) -> dict:
    from core.tasks import TASKS, train
    from core.training import SETTINGS, TrainConfig, distribute

    if not args.task:
        raise InputError(f"--task is required ({', '.join(TASKS)}).")
    if not args.preset and not args.spec:
        raise InputError("--preset NAME (or --spec FILE.json) is required. See --list-presets.")
    task = TASKS[args.task]
    if task.needs_data and not args.data:
        raise InputError(f"--data {task.data_help} is required for --task {task.name}.")
    if not task.takes_drop and args.drop is not None:
        raise InputError(f"--drop applies to --task table only. Received: --task {args.task}")
    spec = read_json_file(args.spec, N_("model spec")) if args.spec else None
    settings = values_from_args(args, SETTINGS)
    if args.drop is not None:
        settings["drop"] = [c.strip() for c in args.drop.split(",") if c.strip()]
    cfg = TrainConfig.from_preset(args.task, args.data, args.preset, spec, settings,
                                  augment=not args.no_augment, name=args.name or "")  # fmt: skip
    placement = distribute.setup(args.devices)  # before any TensorFlow work (MultiWorkerMirroredStrategy needs it)
    if placement.is_chief:
        return train(cfg, args.runs_dir)
    # Another worker of a multi-worker run: it trains in step with the chief, whose folder is the run
    # (the Keras multi-worker guide's pattern); its own folder is temporary.
    with tempfile.TemporaryDirectory(prefix="cnnlab-worker-") as scratch:
        result = train(cfg, scratch)
    return {**result, "run_dir": None, "worker": placement.cluster.task_index}


def build_parser():
    from core.tasks import TASKS
    from core.training import SETTINGS

    p = make_parser("python -m core.train", "Train a CNN Lab model; prints one JSON line on stdout.")
    p.add_argument("--task", choices=list(TASKS))
    p.add_argument("--data", help="; ".join(f"{t.data_help} for --task {t.name}" for t in TASKS.values()))
    p.add_argument("--drop", help="columns left out of a table, separated by commas (default: ids and empty "
                                  "columns; an empty value keeps every column) [table only]")  # fmt: skip
    p.add_argument("--preset", help="preset name (see --list-presets)")
    p.add_argument("--spec", help="a JSON model spec (layer editor output) instead of a preset")
    p.add_argument("--list-presets", action="store_true", help="print every preset and exit")
    p.add_argument("--no-augment", action="store_true", help="turn off the preset's augmentation")
    p.add_argument("--name", help="a name for the run id")
    p.add_argument("--runs-dir", default=None, help="where run folders go (default $CNNLAB_RUNS_DIR or ./runs)")
    p.add_argument("--run-dir", help="train this queued run folder from its config.json (used by core.runs.jobs)")
    p.add_argument("--devices", help="where to train: auto (default: every GPU when 2+), cpu, gpu, or a list such as "
                                     "gpu:0,gpu:1 or cpu:0,cpu:1 (splits the CPU); the batch size is per device. "
                                     "With a multi-worker TF_CONFIG: MultiWorkerMirroredStrategy")  # fmt: skip
    add_flags(p, SETTINGS)
    return p


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), _handler, argv)


if __name__ == "__main__":
    sys.exit(main())
