"""The types of what a run folder's JSON files hold, so readers never trust them blindly.

A run folder can be half-written, edited by hand or planted by someone with access to the
disk. Every page formats these values (``f"{acc:.2%}"``); a string where a number belongs
would put a traceback on every page. :func:`clean` keeps the fields of the right type and
names the others.
"""

from __future__ import annotations

import math
from typing import Any

from core.base.i18n import N_

STATES = (N_("queued"), N_("running"), N_("completed"), N_("stopped"), N_("failed"), N_("interrupted"))
STOP_REASONS = {  # stop_reason in status.json -> words for people
    "stop_file": N_("stopped on request"),
    "max_seconds": N_("time budget reached"),
    "nan": N_("the loss diverged"),
}
# What a running run is doing (status.json "phase"), in the order a run goes through them.
PHASES = ("cluster", "starting", "loading", "building", "tracing", "training", "validating", "testing", "calibrating")
SHOWN_ONLY = (N_("damaged"), N_("unknown"))  # states a reader shows but no writer writes
TEXT_LIMIT = 10_000  # characters of any one text field shown

_NUM = (int, float)
STATUS: dict[str, tuple] = {
    "status": (str,), "pid": (int,), "pid_start": (int,), "epoch": (int,), "epochs": (int,), "batch": (int,),
    "steps_per_epoch": (int,), "elapsed": _NUM, "epochs_done": (int,), "best_val_accuracy": _NUM,
    "best_epoch": (int,), "train_seconds": _NUM, "test_accuracy": _NUM, "error": (str,), "stop_reason": (str,),
    "stop_message": (str,), "created": (str,), "updated": (str,), "started": (str,), "ended": (str,),
    "launched": (str,), "test_mae": _NUM, "test_r2": _NUM, "phase": (str,),
    "engine": (str,), "node": (str,), "remote_pid": (int,),  # a run trained on a Ray cluster (core.runs.ray_engine)
}  # fmt: skip
CONFIG: dict[str, tuple] = {
    "task": (str,), "preset": (str,), "data": (str,), "name": (str,), "created": (str,), "run_id": (str,),
    "seed": (int,), "max_seconds": _NUM, "test_fraction": _NUM, "spec": (dict,), "class_names": (list,),
    "n_train": (int,), "n_val": (int,), "n_test": (int,), "n_params": (int,), "macs": (int,),
    "steps_per_epoch": (int,), "input_shape": (list,), "data_source": (str,), "skipped_files": (list,),
    "versions": (dict,), "job": (dict,), "shipped": (bool,), "train": (dict,),
    "challenge": (dict,),  # a challenge entry: its room, entry id and name (core.challenge)
}  # fmt: skip
METRICS: dict[str, tuple] = {
    "accuracy": _NUM, "loss": _NUM, "n": (int,), "class_names": (list,), "confusion_matrix": (list,),
    "per_class": (dict,), "checkpoint": (str,),
    # table runs (core.tasks.table.evaluate): the task, regression scores, the baseline, (true, predicted) pairs
    "task": (str,), "target": (str,), "mae": _NUM, "rmse": _NUM, "r2": _NUM, "baseline": (dict,),
    "predictions": (list,),
}  # fmt: skip


def _ok(value: Any, types: tuple) -> bool:
    if value is None:
        return True  # "not known yet" is always allowed
    if isinstance(value, bool) and bool not in types:
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, str) and len(value) > TEXT_LIMIT:
        return False
    return isinstance(value, types)


def clean(data: dict, schema: dict[str, tuple], keep_unknown: bool = False) -> tuple[dict, list[str]]:
    """Keeps the fields whose type matches ``schema``; returns them and the names of the others."""
    out, bad = {}, []
    for key, value in data.items():
        if key in schema:
            if _ok(value, schema[key]):
                out[key] = value
            else:
                bad.append(key)
        elif keep_unknown:
            out[key] = value
    return out, bad


def class_names(value: Any) -> list[str] | None:
    """A run's class names when they are a usable list of 2..10,000 distinct texts, else None."""
    if not isinstance(value, list) or not 2 <= len(value) <= 10_000:
        return None
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in value) or len(set(value)) != len(value):
        return None
    return value


def confusion_ok(cm: Any, k: int) -> bool:
    """A ``k x k`` list of non-negative whole numbers."""
    return (
        isinstance(cm, list)
        and len(cm) == k
        and all(isinstance(r, list) and len(r) == k and all(type(v) is int and v >= 0 for v in r) for r in cm)
    )
