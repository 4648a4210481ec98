"""A rough seconds-per-epoch estimate from multiply-adds, corrected by what this machine measured.

:func:`estimate_epoch_seconds` is arithmetic calibrated on the reference machine; :func:`machine_factor`
is how much slower (or faster) the runs finished on this machine actually trained than that
arithmetic said, so the pages' estimates learn from each finished run (a busy laptop reads slower).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

# Calibrated on this project's 2-core CPU reference machine (mnist-fast: 2.6 M multiply-adds
# per image, ~11 s per epoch of 54,000 images; orientation-fast: 48 M, ~3.8 s per 840).
MACS_PER_SECOND = 35e9  # forward + backward counted as 3x the forward multiply-adds
SECONDS_PER_BATCH = 0.004  # fixed cost of a training step (Python, optimizer, callbacks)


def estimate_epoch_seconds(macs_per_image: int, n_train: int, batch_size: int) -> float:
    """Seconds for one epoch of ``n_train`` images at ``macs_per_image`` forward multiply-adds."""
    batches = math.ceil(n_train / max(batch_size, 1))
    return n_train * macs_per_image * 3 / MACS_PER_SECOND + batches * SECONDS_PER_BATCH


MAX_RUNS = 20  # the newest finished runs a factor is learnt from
FACTOR_RANGE = (0.1, 30.0)  # a factor outside this says more about a broken record than about the machine


def machine_factor(runs_dir: str | Path | None = None) -> tuple[float, int]:
    """Measured over estimated seconds per epoch on this machine: ``(median factor, runs it comes from)``.

    From the newest ``MAX_RUNS`` completed or stopped runs that recorded their size and timing
    (races and API comparisons are left out: they share the machine or count differently).
    ``(1.0, 0)`` when there is none.
    """
    from core.runs.store import RunStore

    factors = []
    try:
        runs = RunStore(runs_dir).list()
    except OSError:
        return 1.0, 0
    for run in runs:
        if len(factors) >= MAX_RUNS:
            break
        status, config = run.status(), run.config()
        if status.get("status") not in ("completed", "stopped") or "race" in config or "api_compare" in config:
            continue
        seconds, epochs = status.get("train_seconds"), status.get("epochs_done")
        macs, n, spec = config.get("macs"), config.get("n_train"), config.get("spec") or {}
        if not all(isinstance(v, int | float) and v > 0 for v in (seconds, epochs, macs, n)):
            continue
        estimate = estimate_epoch_seconds(int(macs), int(n), int(spec.get("batch_size") or 32))
        factor = seconds / epochs / estimate
        if FACTOR_RANGE[0] <= factor <= FACTOR_RANGE[1]:
            factors.append(factor)
    return (statistics.median(factors), len(factors)) if factors else (1.0, 0)
