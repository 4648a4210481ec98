"""Time estimates that learn from this machine (core.training.estimate): issue 27's 7.3 s estimated, 41 s measured."""

from __future__ import annotations

import json

import pytest
from conftest import seed_run

from core.training.estimate import estimate_epoch_seconds, machine_factor


def finished(root, run_id, seconds_per_epoch, epochs=2, macs=1_180_000, n=54_000, **config):
    path = seed_run(root, run_id, "completed", train_seconds=seconds_per_epoch * epochs, epochs_done=epochs)
    cfg = json.loads((path / "config.json").read_text())
    cfg["spec"]["batch_size"] = 128
    (path / "config.json").write_text(json.dumps({**cfg, "macs": macs, "n_train": n, **config}))
    return path


def test_the_factor_is_the_median_of_measured_over_estimated_epochs(tmp_path):
    root = tmp_path / "runs"
    assert machine_factor(root) == (1.0, 0)  # nothing finished here yet: the arithmetic alone
    estimate = estimate_epoch_seconds(1_180_000, 54_000, 128)
    for i, slower in enumerate((2.0, 3.0, 10.0)):
        finished(root, f"2026010{i}-000000-r", estimate * slower)
    finished(root, "20260104-000000-race", estimate * 50, race={"id": "race-1"})  # shares the machine: not counted
    finished(root, "20260105-000000-odd", estimate * 500)  # a broken record: outside the range, not counted
    factor, runs = machine_factor(root)
    assert runs == 3 and factor == pytest.approx(3.0)


def test_runs_without_timings_or_sizes_are_skipped(tmp_path):
    root = tmp_path / "runs"
    seed_run(root, "20260101-000000-failed", "failed")
    finished(root, "20260102-000000-table", 1.0, macs=None)  # a table run records no multiply-adds
    assert machine_factor(root) == (1.0, 0)
