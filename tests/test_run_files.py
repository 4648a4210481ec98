"""What a run folder's files are called (core.runs.store.Run) and what a replay frame says (core.runs.replay_record)."""

from __future__ import annotations

import numpy as np
import pytest

from core.base.storage import append_csv
from core.runs.replay_record import Frame, Replay, kernel_change, sample_accuracy, shown_epoch
from core.runs.store import HISTORY_FIELDS, RunStore


def test_run_file_paths_and_download_names(tmp_path):
    run = RunStore(tmp_path).create("my run", {"preset": "mnist-fast"})
    assert run.history_path == run.path / "history.csv"
    assert run.best_path == run.path / "best.keras"
    assert run.download_name(run.history_path) == f"{run.id}-history.csv"
    assert run.download_name(run.best_path) == f"{run.id}-best.keras"
    assert run.download_name("elsewhere/final.keras") == f"{run.id}-final.keras"


def test_history_reads_the_history_path(tmp_path):
    run = RunStore(tmp_path).create("r", {})
    append_csv(run.history_path, {"epoch": 1, "loss": 0.5}, HISTORY_FIELDS)
    assert run.history()[0]["loss"] == 0.5


def _frame(epoch: int, confusion, kernels=None) -> Frame:
    return Frame(epoch, kernels, np.asarray(confusion), np.zeros((1, len(confusion)), np.float32))


def test_sample_accuracy_is_the_diagonal_over_the_sum():
    right, total, accuracy = sample_accuracy(_frame(1, [[3, 1], [2, 4]]))
    assert (right, total) == (7, 10) and accuracy == pytest.approx(0.7)
    assert sample_accuracy(_frame(1, [[0, 0], [0, 0]])) == (0, 0, None)


def test_shown_epoch_is_the_newest_readable_at_or_before():
    replay = Replay("conv", ["a", "b"], 10, frames={e: _frame(e, [[1, 0], [0, 1]]) for e in (0, 1, 3)})
    assert [shown_epoch(replay, e) for e in (0, 1, 2, 3, 9)] == [0, 1, 1, 3, 3]
    late = Replay("conv", ["a", "b"], 10, frames={e: _frame(e, [[1, 0], [0, 1]]) for e in (2, 4)})
    assert shown_epoch(late, 0) == 2  # before the first recorded epoch: the first one


def test_kernel_change_is_relative_to_the_first_kernels():
    k0 = np.ones((3, 3, 1, 2), np.float32)
    first = _frame(0, [[1]], k0)
    assert kernel_change(first, first) == 0.0
    moved = _frame(1, [[1]], k0 * 1.5)
    assert kernel_change(first, moved) == pytest.approx(0.5)
    assert kernel_change(None, moved) is None
    assert kernel_change(first, _frame(1, [[1]], None)) is None
    assert kernel_change(first, _frame(1, [[1]], np.ones((5, 5, 1, 2), np.float32))) is None
    zero = _frame(0, [[1]], np.zeros((1, 1, 1, 1), np.float32))
    assert kernel_change(zero, _frame(1, [[1]], np.full((1, 1, 1, 1), 2.0, np.float32))) == pytest.approx(2.0)
