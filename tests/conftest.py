"""Shared fixtures: tiny synthetic datasets and isolated data/runs folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
# The real data beside the project (CI names it in CNNLAB_SHARED_DATA: .ci/run): tests marked slow skip without it.
SHARED_DATA = Path(os.environ.get("CNNLAB_SHARED_DATA") or ROOT.parent / "shared" / "data")
sys.path.insert(0, str(ROOT))
# Pages show an error id instead of an exception (pages/_errors.py); tests want the exception itself.
os.environ.setdefault("CNNLAB_RAISE_ERRORS", "1")


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8 images and labels 0..9: class k is a bright 6x6 block at a
    position that depends on k, plus noise. Learnable in one epoch by a tiny model."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(y):
        r, c = 2 + (k // 5) * 14, 1 + (k % 5) * 5
        x[i, r : r + 8, c : c + 5] = 255
    return x, y.astype(np.uint8)


@pytest.fixture
def mnist_npz(tmp_path: Path) -> Path:
    x_train, y_train = synthetic_digits(600, seed=1)
    x_test, y_test = synthetic_digits(100, seed=2)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def stripes(orientation: str, size: int = 24, seed: int = 0) -> Image.Image:
    """A grayscale image of horizontal or vertical stripes with noise."""
    rng = np.random.default_rng(seed)
    period = int(rng.integers(3, 6))
    line = (np.arange(size) // period % 2) * 200 + 30
    arr = np.tile(
        line[:, None] if orientation == "h" else line[None, :], (1, size) if orientation == "h" else (size, 1)
    )
    arr = np.clip(arr + rng.normal(0, 15, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "L")


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A 2-class folder (horizontal/vertical stripes, 20 each) with 2 bad files."""
    root = tmp_path / "stripes"
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (root / cls).mkdir(parents=True)
        for i in range(20):
            stripes(o, seed=i).save(root / cls / f"{i:03d}.png")
    (root / "horizontal" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    (root / "vertical" / "notes.txt").write_text("not an image")
    return root


HISTORY = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n"


def seed_run(root, run_id, status, history_rows=(), preset="mnist-mlp", lr=0.001, metrics=None, **extra):
    """A run folder as the trainer writes it (config, status, history), without training."""
    from core.base.storage import write_json_atomic

    path = root / run_id
    path.mkdir(parents=True)
    spec = {
        "optimizer": "adam",
        "learning_rate": lr,
        "batch_size": 32,
        "epochs": 5,
        "layers": [{"kind": "Flatten"}, {"kind": "Dense"}],
    }
    write_json_atomic(path / "config.json", {"task": "mnist", "preset": preset, "data": "/d/mnist.npz", "spec": spec,
                                             "created": "2026-11-20T10:00:00", "train": {"seed": 42}})  # fmt: skip
    write_json_atomic(path / "status.json", {"status": status, **extra})
    (path / "history.csv").write_text(HISTORY + "".join(history_rows))
    if metrics:
        write_json_atomic(path / "metrics.json", metrics)
    return path


@pytest.fixture(autouse=True)
def fresh_limits() -> None:
    """Rate limits are per process and session: each test starts with a full allowance."""
    from core.access import limits
    from core.access.roles import ACCESS

    limits.reset()
    ACCESS.presenters.clear()  # AppTest sessions all share one id: no test inherits presenter rights


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data and runs folders (never the user's ./runs)."""
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(tmp_path / "runs"))


def cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(
        CNNLAB_DATA_DIR=str(tmp_path / "data"),
        CNNLAB_RUNS_DIR=str(tmp_path / "runs"),
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


requires_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no real data at {SHARED_DATA}")
# Real-data checks that take minutes each on 2 cores: opt-in, on top of the few minutes that run by default.
very_slow = pytest.mark.skipif(os.environ.get("CNNLAB_VERY_SLOW") != "1",
                               reason="minutes on 2 cores: CNNLAB_VERY_SLOW=1 python -m pytest -m slow runs it")  # fmt: skip


@pytest.fixture(autouse=True)
def navigation_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest resets Streamlit's legacy ``pages/`` flag before every run, so each run would
    start in legacy mode and our ``ensure_router`` would rerun it (losing button clicks).
    A real server flips the flag once, on its first run; do here what that state is."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def seed_comparison(root, group: str = "2026-11-20-100000", seconds=(40.0, 35.0, 50.0), running: str | None = None):
    """An API comparison's three run folders as training writes them, without training.

    ``seconds``: each way's fit time for 400 of 422 batches; ``running``: this way is still training.
    """
    from core.base.storage import write_json_atomic
    from core.teaching.api_compare.runner import comparison_configs

    for i, (cfg, fit) in enumerate(zip(comparison_configs("/d/mnist.npz", max_batches=400), seconds)):
        cfg.group = group
        path = root / f"20261120-10000{i}-api-{cfg.way}"
        path.mkdir(parents=True)
        facts = {"n_train": 54_000, "steps_per_epoch": 400, "full_steps_per_epoch": 422}
        write_json_atomic(path / "config.json", {**cfg.to_dict(), **facts, "created": "2026-11-20T10:00:00"})
        rows = "".join(f"1,{b},{b},{1 / b:.3f},{0.9 + b / 5000:.3f},{fit * b / 400:.2f}\n" for b in range(10, 401, 10))
        (path / "batches.csv").write_text("epoch,batch,step,loss,accuracy,seconds\n" + rows)
        if cfg.way == running:
            from core.runs import procs  # this test process stands in for the training one

            write_json_atomic(path / "status.json", {"status": "running", "epoch": 1, "epochs": 1, "batch": 200,
                                                     "steps_per_epoch": 400, "elapsed": fit / 2, "pid": os.getpid(),
                                                     "pid_start": procs.start_ticks(os.getpid())})  # fmt: skip
            continue
        write_json_atomic(path / "status.json", {"status": "completed", "epochs_done": 1, "train_seconds": fit})
        write_json_atomic(path / "metrics.json", {"accuracy": 0.985 + i / 1000, "loss": 0.05, "n": 10_000})


def train_tiny_run(runs_root: Path, data: Path, task: str = "mnist", preset: str = "mnist-fast", **settings) -> Path:
    """A real training on tiny data (a few seconds on 2 cores); returns its run folder.

    ``data``: a synthetic ``mnist.npz`` (``synthetic_digits``) or an image folder.
    """
    from core.tasks import train
    from core.training import TrainConfig

    cfg = TrainConfig.from_preset(task, str(data), preset, settings={"epochs": 2, "seed": 7, **settings})
    result = train(cfg, runs_root)
    assert result["status"] == "completed", result
    return Path(result["run_dir"])


def train_with_cli(args: list[str], runs) -> str:
    """``python -m core.train ARGS --runs-dir RUNS`` (in process); returns the new run's id."""
    from core.base.cli import run_module

    done = run_module("train", [*args, "--runs-dir", str(runs)])
    assert done.code == 0, done.stderr[-2000:]
    return done.output["run_id"]


def seed_race(root, race: str = "race-20261120-100000-abcd", racers=None, target: float = 0.98,
              started: float = 1_700_000_000.0):  # fmt: skip
    """A race's run folders as training writes them, without training.

    ``racers``: ``(label, [(seconds since the start, val_accuracy), ...], status)`` per racer, in
    race order; each point becomes a history row and its epoch end in ``race.csv``. Default: three
    racers where ``fast`` reaches 98% at 20 s, ``big`` at 45 s and ``tiny`` never.
    """
    import json

    from core.base.storage import write_json_atomic

    racers = racers or [
        ("fast", [(10.0, 0.95), (20.0, 0.981), (30.0, 0.985)], "completed"),
        ("big", [(25.0, 0.97), (45.0, 0.99), (70.0, 0.992)], "completed"),
        ("tiny", [(5.0, 0.80), (9.0, 0.88), (14.0, 0.90)], "completed"),
    ]
    paths = []
    for i, (label, points, status) in enumerate(racers):
        rows, ends, last = [], [], 0.0
        for epoch, (sec, acc) in enumerate(points, 1):
            rows.append(f"{epoch},0.3,0.9,0.2,{acc},0.001,{sec - last:.3f}\n")
            ends.append(f"{epoch},{started + sec:.3f}\n")
            last = sec
        path = seed_run(root, f"{race[5:]}-{i}-{label}", status, metrics={"accuracy": 0.9, "loss": 0.3, "n": 100},
                        epochs_done=len(points), test_accuracy=points[-1][1] if points else None)  # fmt: skip
        (path / "history.csv").write_text(HISTORY + "".join(rows))
        (path / "race.csv").write_text("epoch,time\n" + "".join(ends))
        config = json.loads((path / "config.json").read_text())
        cpus = [0, 1] if len(racers) > 2 else [i]  # as core.teaching.race.plan_threads deals 2 cores
        config.update(preset=label, n_params=1000 * (i + 1), macs=50_000 * (i + 1), n_train=54_000,
                      race={"id": race, "target": target, "index": i, "label": label, "racers": len(racers),
                            "cores": 2, "intra": 1, "inter": 1, "cpus": cpus, "shared": len(racers) > 2,
                            "started": started, "applied": {"cpus": cpus, "intra": 1, "inter": 1}})  # fmt: skip
        write_json_atomic(path / "config.json", config)
        paths.append(path)
    return paths
