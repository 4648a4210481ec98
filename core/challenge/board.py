"""The leaderboard: every entry's run read as a row, ranked by the challenge's metric, and the early stop.

Pure functions over run folders (``core.runs.store.Run``): the Wall reads them every 1.5 s.

Early stopping is ASHA's rule (Li et al. 2020, "A System for Massively Parallel Hyperparameter
Tuning"; Ray Tune's ``ASHAScheduler``): at rungs of 1, 2, 4... epochs, an entry still training that is
not in the top 1/``ETA`` of the entries that reached the same rung is stopped, so the machines go to
entries that can still win. A rung decides only once ``ETA`` entries reached it, and the leader is
never stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.runs.store import ACTIVE_STATES, Run

ETA = 3  # keep the top third at each rung (ASHA's reduction factor)


@dataclass
class Row:
    """One entry on the leaderboard."""

    entry: str  # the entry's id
    name: str
    owner: str  # the sender hash of who submitted it
    run_id: str
    status: str  # queued, running, completed, stopped, failed, interrupted
    epoch: int  # epochs done
    epochs: int
    params: int
    macs: int
    seconds: float  # training seconds so far
    val_accuracy: float | None  # best so far
    test_accuracy: float | None  # once tested
    curve: list[float] = field(default_factory=list)  # validation accuracy after each epoch
    pruned: str | None = None  # why it was stopped early, in words
    rank: int | None = None  # 1 = ahead; None while it has no score

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATES

    def score(self, metric: str) -> float | None:
        return self.test_accuracy if metric == "test_accuracy" else self.val_accuracy


def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def read_row(run: Run, entry: str, name: str, owner: str, params: int, macs: int, epochs: int,
             pruned: str | None = None) -> Row:  # fmt: skip
    """A run's row from its status, ``history.csv`` and ``metrics.json`` (a missing folder reads as failed)."""
    status = run.status() if run.path.is_dir() else {"status": "failed"}
    history = run.history()
    curve = [v for v in (_float(h.get("val_accuracy")) for h in history) if v is not None]
    metrics = run.metrics() or {}
    seconds = _float(status.get("train_seconds")) or _float(metrics.get("train_seconds"))
    if seconds is None:
        seconds = _float(history[-1].get("seconds")) if history else None
    return Row(entry, name, owner, run.id, str(status.get("status") or "queued"), len(curve), epochs, params, macs,
               seconds or 0.0, max(curve) if curve else None,
               _float(status.get("test_accuracy")) or _float(metrics.get("accuracy")), curve,
               pruned)  # fmt: skip


def rank(rows: list[Row], metric: str) -> list[Row]:
    """Best first: the metric, then fewer parameters, then sooner; rows without a score last, unranked."""
    scored = sorted((r for r in rows if r.score(metric) is not None),
                    key=lambda r: (-(r.score(metric) or 0.0), r.params, r.seconds))  # fmt: skip
    for i, row in enumerate(scored, start=1):
        row.rank = i
    rest = [r for r in rows if r.score(metric) is None]
    for row in rest:
        row.rank = None
    return scored + rest


def to_prune(rows: list[Row], eta: int = ETA) -> list[tuple[Row, int, float]]:
    """ASHA's decisions: ``(row, rung, cut)`` for each active entry to stop now.

    ``cut`` is the validation accuracy an entry needed at that rung (the worst of the top 1/eta).
    """
    decisions = []
    leader = max((r for r in rows if r.val_accuracy is not None), key=lambda r: r.val_accuracy, default=None)
    for row in rows:
        if row.status != "running" or row.pruned or row is leader:
            continue
        if row.epoch < 1 or row.epoch >= row.epochs or leader is None:
            continue
        rung = 2 ** int(math.log2(row.epoch))  # the highest rung it reached: 1, 2, 4...
        at_rung = sorted((r.curve[rung - 1] for r in rows if len(r.curve) >= rung), reverse=True)
        if len(at_rung) < eta:
            continue
        cut = at_rung[max(1, len(at_rung) // eta) - 1]
        if row.curve[rung - 1] < cut and (row.val_accuracy or 0.0) < (leader.val_accuracy or 0.0):
            decisions.append((row, rung, cut))
    return decisions
