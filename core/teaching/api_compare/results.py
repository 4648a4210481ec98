"""What the API comparisons measured, read from their run folders (for the page and the bench)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.runs.progress import Progress, progress
from core.runs.store import Run, RunStore
from core.teaching.api_compare import WAYS, way_lines


@dataclass
class WayResult:
    """One way's run in a comparison; numbers are None until the run has them."""

    way: str
    run_id: str
    status: str
    progress: Progress | None  # while it trains
    lines: int  # lines of code of the way's modules
    train_seconds: float | None = None  # the fit's wall time
    seconds_per_epoch: float | None = None  # per full epoch (extrapolated from a quick demo's batches)
    images_per_second: float | None = None
    test_accuracy: float | None = None
    curve: list[tuple[float, float]] = field(default_factory=list)  # (seconds, training accuracy so far)
    error: str | None = None


def comparisons(store: RunStore) -> dict[str, list[WayResult]]:
    """Every comparison in the store, newest first: group -> its runs in the order of ``WAYS``."""
    groups: dict[str, list[WayResult]] = {}
    for run in store.list(mark_interrupted=False):
        info = run.config().get("api_compare")
        if isinstance(info, dict) and info.get("way") in WAYS and isinstance(info.get("group"), str):
            groups.setdefault(info["group"], []).append(way_result(run))
    order = list(WAYS)
    return {g: sorted(groups[g], key=lambda r: order.index(r.way)) for g in sorted(groups, reverse=True)}


def way_result(run: Run) -> WayResult:
    """The numbers of one comparison run (a damaged or half-written folder gives what it has)."""
    cfg, st, metrics = run.config(), run.status(), run.metrics() or {}
    info = cfg["api_compare"]
    result = WayResult(info["way"], run.id, str(st.get("status", "unknown")), progress(st), way_lines(info["way"]),
                       error=st.get("error"))  # fmt: skip
    seconds = _number(st.get("train_seconds"))
    steps, full = _number(cfg.get("steps_per_epoch")), _number(cfg.get("full_steps_per_epoch"))
    epochs, n_train = _number(st.get("epochs_done")), _number(cfg.get("n_train"))
    if seconds and steps and full and epochs and n_train:
        spec = cfg.get("spec")
        batch = (_number(spec.get("batch_size")) if isinstance(spec, dict) else None) or 1
        result.train_seconds = seconds
        result.seconds_per_epoch = seconds * full / (steps * epochs)
        result.images_per_second = min(n_train, steps * batch) * epochs / seconds
    accuracy = _number(metrics.get("accuracy"))
    result.test_accuracy = accuracy
    for row in run.batches():
        s, a = _number(row.get("seconds")), _number(row.get("accuracy"))
        if s is not None and a is not None:
            result.curve.append((s, a))
    return result


def _number(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None
