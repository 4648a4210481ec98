"""Training on the real data in ../shared/data (skipped when it is absent).

Whenever the data is there (CI has it), the fast recipes and the tutorial presets run: about
two minutes on 2 cores. The two that take minutes each (mnist-best, the 130 M-parameter
tutorial at 256x256) are opt-in: ``CNNLAB_VERY_SLOW=1 python -m pytest -m slow``.
Accuracy targets are asserted here; speed targets live in bench/ (never in tests).
"""

import pytest

from core.base.cli import run_module
from tests.conftest import SHARED_DATA, cli_env, requires_shared, very_slow

pytestmark = [pytest.mark.slow, requires_shared]
MNIST = SHARED_DATA / "mnist" / "mnist.npz"
CHEST = SHARED_DATA / "chest-orientation"


def train_cli(tmp_path, *args, timeout=900):
    done = run_module("train", [*args, "--runs-dir", str(tmp_path / "runs")], env=cli_env(tmp_path), timeout=timeout)
    return done.code, done.output, done.stderr


def test_mnist_fast_reaches_99_percent(tmp_path):
    code, out, err = train_cli(tmp_path, "--task", "mnist", "--data", str(MNIST), "--preset", "mnist-fast")
    assert code == 0, err[-3000:]
    assert out["status"] == "completed" and out["test_accuracy"] >= 0.99, out


def test_orientation_fast_reaches_98_5_percent(tmp_path):
    code, out, err = train_cli(tmp_path, "--task", "images", "--data", str(CHEST), "--preset", "orientation-fast")
    assert code == 0, err[-3000:]
    assert out["status"] == "completed" and out["test_accuracy"] >= 0.985, out


@very_slow  # ~85 s
def test_mnist_best_reaches_99_5_percent(tmp_path):
    code, out, err = train_cli(tmp_path, "--task", "mnist", "--data", str(MNIST), "--preset", "mnist-best")
    assert code == 0, err[-3000:]
    assert out["status"] == "completed" and out["test_accuracy"] >= 0.995, out


@pytest.mark.parametrize("preset", ["mnist-tutorial", "mnist-mlp", "keras-convnet"])
def test_mnist_tutorial_presets_train_and_evaluate(tmp_path, preset):
    code, out, err = train_cli(
        tmp_path, "--task", "mnist", "--data", str(MNIST), "--preset", preset, "--epochs", "1", "--max-seconds", "60"
    )
    assert code == 0, err[-3000:]
    assert out["status"] in ("completed", "stopped") and out["test_accuracy"] > 0.8, out
    ev = run_module("evaluate", ["--run", out["run_dir"]], env=cli_env(tmp_path), timeout=300)
    metrics = ev.output
    assert ev.code == 0 and metrics["n"] == 10_000
    assert metrics["accuracy"] == pytest.approx(out["test_accuracy"], abs=1e-6)


@very_slow  # ~120 s
def test_orientation_tutorial_at_256_prints_its_size_and_respects_the_budget(tmp_path):
    code, out, err = train_cli(
        tmp_path, "--task", "images", "--data", str(CHEST), "--preset", "orientation-tutorial", "--max-seconds", "20"
    )
    assert code == 0, err[-3000:]
    assert "130,090,178 parameters" in err
    assert out["status"] == "stopped" and out["train_seconds"] < 20 + 60  # one batch of 130 M params may overrun
