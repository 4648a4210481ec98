"""Tasks: what differs between training on images, MNIST and a table, asked of one registry.

Each task is one module (``images``, ``mnist``, ``table``) holding a :class:`~core.tasks.base.Task`
subclass: its data preparation, the layer kinds and settings it offers, its fit and test, its
evaluation, prediction and serving, and what the pages show for it. Everything else asks here:

- :func:`get` / :func:`of_run`: the task of a name, a config or a run folder;
- :func:`validate`, :func:`train`: check a config, train it into a run folder (``python -m core.train``);
- :func:`evaluate`, :func:`evaluate_run`, :func:`predict`: the CLI's and the pages' results;
- :func:`serve`: a run's model, ready to predict images with "I don't know".

Adding a task: a module with its subclass and its tests, and one line in ``TASKS`` below
(docs/ARCHITECTURE.md, "Add a task").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _
from core.runs.store import Run
from core.tasks.base import Task
from core.tasks.images import ImageTask
from core.tasks.images.evaluate import Evaluation, evaluate_arrays
from core.tasks.mnist import MnistTask
from core.tasks.table import TableTask
from core.training.config import TrainConfig

TASKS: dict[str, Task] = {t.name: t for t in (MnistTask(), ImageTask(), TableTask())}  # the CLI's order


def get(name: str) -> Task:
    """The task called ``name``.

    Raises:
        InputError: no such task.
    """
    task = TASKS.get(name) if isinstance(name, str) else None
    if task is None:
        raise InputError(_("Expected task in {choices}. Received: task={value}").format(choices=tuple(TASKS),
                                                                                     value=repr(name)))  # fmt: skip
    return task


def of_run(run: Run) -> Task:
    """The task a run folder was trained for (its config.json's ``task``; an old run without one: images).

    Raises:
        InputError: the config names no known task.
    """
    config = run.config()
    return get(config.get("task") or "images" if isinstance(config, dict) else "images")


def validate(cfg: TrainConfig) -> list[str]:
    """Checks a config for its task (the same messages on the command line and the pages); returns warnings.

    Raises:
        InputError: the first problem, in words a person can act on.
    """
    return get(cfg.task).validate(cfg)


def train(cfg: TrainConfig, runs_dir: str | Path | None = None, run: Run | None = None, fit=None) -> dict:
    """Trains one run end to end and returns the CLI's result dict (``python -m core.train``'s JSON).

    Args:
        cfg: the run's config (checked here).
        runs_dir: where to create the run folder (ignored when ``run`` is given).
        run: a folder created by :mod:`core.runs.jobs` (its config.json is ``cfg``).
        fit: an image task's fit and test in place of ``model.fit`` (the API comparison's
            hand-written ways); it ends with :func:`core.tasks.images.fit.finish_fit`.

    Bad input found before the run folder exists raises InputError (nothing written).
    Problems during training mark the run ``failed`` (see :func:`core.training.fit.train_run`).
    """
    from core.training.fit import train_run

    task = get(cfg.task)
    warnings = task.validate(cfg)
    return train_run(cfg, warnings, task.body(cfg, fit), runs_dir, run)


def prepare_data(cfg: TrainConfig, log: Callable[[str], None] = print):
    """An image run's arrays, split by its seed, as training prepares them (:class:`core.training.data.PreparedData`)."""
    task = get(cfg.task)
    if task.inputs != "images":
        raise InputError(_("Expected a task of images. Received: task={value}").format(value=repr(cfg.task)))
    return task.prepare_data(cfg, log)


def evaluate(run: Run, data: str | None = None) -> dict:
    """A run's test metrics, on its test split or on ``data`` (``python -m core.evaluate``'s JSON)."""
    return of_run(run).evaluate(run, data)


def evaluate_run(
    run: Run, data: str | None = None, probabilities: Callable[[np.ndarray], np.ndarray] | None = None, actor=None
) -> Evaluation:
    """Predicts an image run's test split (or ``data``) and computes its metrics.

    Args:
        run: the run (its checkpoint is loaded unless ``probabilities`` is given).
        data: another dataset; None for the run's own test split.
        probabilities: ``(N, S, S, C) -> (N, K)``, e.g. a served model shared by a web server.
        actor: a web visitor (``core.access.roles.Actor``), charged one "heavy" action; None: no limit.

    Raises:
        InputError: not an image run, no test split, missing images, other classes, no usable
            checkpoint, or the visitor evaluates too often.
    """
    from core.access.limits import take_for

    task = of_run(run)
    if task.inputs != "images":
        raise InputError(_("Run {run} is not a run of images.").format(run=run.id))
    take_for("heavy", actor)
    x, y, names = task.evaluation_data(run, data, model_input(run))
    return evaluate_arrays(run, x, y, names, probabilities)


def predict(run: Run, files: list[str], out: str | None = None) -> dict:
    """The predictions of ``run`` for image files, or for ONE CSV of rows (``python -m core.predict``'s JSON)."""
    return of_run(run).predict(run, files, out)


@dataclass
class Job:
    """A training config as a job for :class:`core.runs.jobs.JobManager`: checked by its task."""

    config: TrainConfig

    def validate(self) -> list[str]:
        return validate(self.config)

    def to_dict(self) -> dict:
        return self.config.to_dict()

    def run_name(self) -> str:
        return self.config.run_name()


def proposed_run(runs: list[Run], shipped: Run | None = None) -> Run | None:
    """The model a page proposes first: the best tested run on the data being worked on.

    The data being worked on is the newest run's (its task and dataset; ``runs`` newest first);
    among the runs on that data, and the shipped model when it learnt the same, the highest test
    accuracy wins (the newest on a tie). A race's weakest racer, trained last, is not proposed
    over its winner. No tested run on that data: the newest run; no run: ``shipped``.
    """
    if not runs:
        return shipped
    candidates = [(r, r.summary()) for r in [*runs, *([shipped] if shipped is not None else [])]]  # read once each
    newest = candidates[0][1]
    task = TASKS.get(newest.get("task") or "images")
    if task is None:
        return runs[0]
    same = [(r, s) for r, s in candidates if s.get("task") == newest.get("task") and task.same_data(s, newest)
            and isinstance(s.get("test_accuracy"), int | float)]  # fmt: skip
    if not same:
        return runs[0]
    return max(same, key=lambda pair: pair[1]["test_accuracy"])[0]  # max keeps the first (newest) of equals


def model_input(run: Run):
    """How ``run``'s model wants its images (:class:`core.serving.inference.ModelInput`)."""
    from core.serving.inference import model_input_for

    return model_input_for(run, digits=of_run(run).digits)


def serve(run: Run):
    """``run``'s model loaded for serving (:class:`core.serving.inference.Served`), as its task prepares inputs.

    Raises:
        InputError: a run of rows (see core.tasks.table.predict), or a config or checkpoint that cannot be used.
    """
    from core.serving import inference

    task = of_run(run)
    if task.inputs != "images":
        raise InputError(_("Run {run} predicts table rows, not images.").format(run=run.id))
    served = inference.serve(run, digits=task.digits, reload=task.reload_validation)
    served.task = task.name
    return served


__all__ = ["TASKS", "Evaluation", "Job", "Task", "evaluate", "evaluate_run", "get", "model_input", "of_run", "predict", "prepare_data", "proposed_run",
           "serve", "train", "validate"]  # fmt: skip
