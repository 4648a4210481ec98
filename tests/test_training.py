import datetime as dt
import math

import pytest

from core.base.errors import InputError
from core.base.storage import read_csv
from core.runs.store import RunStore
from core.tasks import train
from core.training import TrainConfig
from core.training.callbacks import make_run_callback


def _mlp(mnist_npz, tmp_path, **settings):
    settings = {"epochs": 2, "batch_size": 32, "seed": 7, **settings}
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings=settings)
    return train(cfg, tmp_path / "runs")


def test_mnist_run_writes_the_whole_run_store(mnist_npz, tmp_path):
    result = _mlp(mnist_npz, tmp_path, epochs=3)
    assert result["status"] == "completed" and result["epochs"] == 3
    run = RunStore(tmp_path / "runs").get(result["run_id"])
    names = {p.name for p in run.path.iterdir()}
    assert {
        "config.json",
        "status.json",
        "history.csv",
        "batches.csv",
        "best.keras",
        "final.keras",
        "metrics.json",
        "log.txt",
    } <= names
    history = run.history()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert all(
        set(row) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds", "mae", "val_mae"}
        for row in history
    )
    assert all(row["mae"] in (None, "") and row["val_mae"] in (None, "") for row in history)  # images: no MAE
    assert history[-1]["loss"] < history[0]["loss"]  # it learned
    assert len(run.batches()) >= 3
    metrics = run.metrics()
    assert metrics["n"] == 100 and metrics["class_names"] == [str(d) for d in range(10)]
    assert result["test_accuracy"] == metrics["accuracy"] > 0.5  # synthetic digits are easy
    status = run.status()
    assert status["status"] == "completed" and status["best_epoch"] in (1, 2, 3)
    assert run.config()["spec"]["name"] == "mnist-mlp" and run.config()["versions"]["keras"].startswith("3.")


def test_same_seed_same_history(mnist_npz, tmp_path):
    a = _mlp(mnist_npz, tmp_path, seed=3)
    b = _mlp(mnist_npz, tmp_path, seed=3)
    store = RunStore(tmp_path / "runs")
    ha = [(r["loss"], r["val_loss"]) for r in store.get(a["run_id"]).history()]
    hb = [(r["loss"], r["val_loss"]) for r in store.get(b["run_id"]).history()]
    assert ha == hb


def test_fit_runs_with_the_garbage_collector_frozen_and_gives_it_back(mnist_npz, tmp_path, monkeypatch):
    import gc
    import threading

    import keras

    seen = []  # objects frozen out of full collections, per epoch (bench/overhead.py: why)

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(gc.get_freeze_count())

    import core.tasks.images.fit as fit

    original = fit.run_callbacks
    monkeypatch.setattr(fit, "run_callbacks", lambda *a, **k: (lambda p, c: (p, [*c, Spy()]))(*original(*a, **k)))
    # An earlier page test in this process may have started the app's warm-up, which ends in gc.freeze():
    # let it finish, then start from nothing frozen.
    for thread in threading.enumerate():
        if thread.name == "cnnlab-warm-up":
            thread.join(timeout=120)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    result = _mlp(mnist_npz, tmp_path)
    assert result["status"] == "completed" and len(seen) == 2
    assert all(n > 10_000 for n in seen)  # TensorFlow's and Keras's objects, at least
    assert gc.get_freeze_count() == 0  # given back: nothing stays uncollectable after the fit
    gc.freeze()  # a process that froze its own objects (the web server's warm-up) keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        assert _mlp(mnist_npz, tmp_path, epochs=1)["status"] == "completed"
        assert gc.get_freeze_count() > 0.9 * frozen  # not unfrozen (a few frozen objects die by refcount)
    finally:
        gc.unfreeze()


def test_stop_file_stops_within_the_first_batch(mnist_npz, tmp_path, monkeypatch):
    from core.runs import store as runs

    original = runs.Run.stop_requested
    monkeypatch.setattr(runs.Run, "stop_requested", lambda self: True)
    result = _mlp(mnist_npz, tmp_path, epochs=50)
    monkeypatch.setattr(runs.Run, "stop_requested", original)
    # Keras ends the interrupted epoch (with validation) after the batch that saw STOP.
    assert result["status"] == "stopped" and result["epochs"] == 1
    run = RunStore(tmp_path / "runs").get(result["run_id"])
    status = run.status()
    assert status["stop_reason"] == "stop_file" and status["stop_message"] == "stopped on request"
    assert (status["epoch"], status["batch"], status["steps_per_epoch"]) == (1, 1, 17)  # where it stopped, not 17/17
    assert "stopping at epoch 1, batch 1." in run.log_path.read_text()
    assert run.batches() == [] and len(run.history()) == 1  # 1 of 17 batches ran
    assert (run.path / "final.keras").exists() and run.metrics()["n"] == 100


def test_max_seconds_budget(mnist_npz, tmp_path):
    result = _mlp(mnist_npz, tmp_path, epochs=1000, batch_size=4, max_seconds=2, patience=1000)
    assert result["status"] == "stopped" and result["train_seconds"] < 20
    run = RunStore(tmp_path / "runs").get(result["run_id"])
    assert run.status()["stop_reason"] == "max_seconds"


def test_nan_loss_marks_run_failed(tmp_path):
    class FakeModel:
        stop_training = False

    run = RunStore(tmp_path).create("nan", {})
    cb = make_run_callback(run, steps_per_epoch=10, epochs=1, max_seconds=None)
    cb.set_model(FakeModel())
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": math.nan})
    assert cb.model.stop_training and cb.stop_reason == "nan"
    assert "Loss became nan" in run.log_path.read_text()


def test_image_folder_run_skips_and_reports_corrupt_files(image_folder, tmp_path):
    cfg = TrainConfig.from_preset(
        "images",
        str(image_folder),
        "orientation-fast",
        settings={"epochs": 2, "image_size": 24, "batch_size": 8, "seed": 1},
    )
    result = train(cfg, tmp_path / "runs")
    assert result["status"] == "completed"
    run = RunStore(tmp_path / "runs").get(result["run_id"])
    skipped = run.config()["skipped_files"]
    assert sorted(s["path"].split("/")[-1] for s in skipped) == ["corrupt.png", "notes.txt"]
    assert "corrupt.png" in run.log_path.read_text()
    split = run.path / "split.json"
    assert split.exists()
    cfgd = run.config()
    assert cfgd["n_train"] + cfgd["n_val"] + cfgd["n_test"] == 40 and cfgd["n_test"] == 6


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"epochs": -1}, "epochs in 1..1000"),
        ({"learning_rate": 1e6}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"preset": "nope"}, "Unknown preset"),
        ({"preset": "orientation-fast"}, "made for --task images"),
        ({"image_size": 64}, "MNIST images are 28x28"),
        ({"validation_fraction": 0.95}, "validation_fraction"),
        ({"weight_decay": 0.01}, "weight_decay applies only when optimizer is one of adamw, sgd"),
        ({"label_smoothing": 0.9}, "label_smoothing in 0..0.5"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(mnist_npz, tmp_path, kw, message):
    preset = kw.pop("preset", "mnist-mlp")
    with pytest.raises(InputError, match=message):
        cfg = TrainConfig.from_preset("mnist", str(mnist_npz), preset, settings=kw)
        train(cfg, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_bad_data_fails_the_run_with_its_reason(tmp_path):
    cfg = TrainConfig.from_preset("mnist", str(tmp_path / "missing.npz"), "mnist-mlp")
    result = train(cfg, tmp_path / "runs")
    assert result["status"] == "failed" and "not found" in result["error"]
    run = RunStore(tmp_path / "runs").get(result["run_id"])
    assert run.status()["status"] == "failed"
    assert read_csv(run.path / "history.csv") == []


def test_every_phase_of_a_run_is_written_in_order_and_said_in_words(mnist_npz, tmp_path, monkeypatch):
    """Issue 27: 26 s at "batch 430/430, about 0 s left" while "I don't know" was calibrated, with nothing saying so."""
    from core.runs import store
    from core.runs.progress import phase_text, progress
    from core.runs.schema import PHASES

    phases = []
    original = store.Run.update_status

    def spy(self, **fields):
        if "phase" in fields and (not phases or phases[-1] != fields["phase"]):
            phases.append(fields["phase"])
        return original(self, **fields)

    monkeypatch.setattr(store.Run, "update_status", spy)
    assert _mlp(mnist_npz, tmp_path, epochs=2)["status"] == "completed"
    assert phases == ["starting", "loading", "building", "tracing", "training", "validating", "training", "validating",
                      "testing", "calibrating"]  # fmt: skip
    assert all(p in PHASES for p in phases)
    assert phase_text({"phase": "loading"}) == "Loading and checking the data..."
    # Before the first batch, the seconds spent so far say it is alive (issue 27: 28 s of silence).
    t0 = "2026-12-06T05:00:00+00:00"
    at = dt.datetime.fromisoformat(t0).timestamp()
    assert phase_text({"status": "queued", "created": t0}) is None  # waiting its turn: the queue says where
    assert phase_text({"status": "queued", "launched": t0}, now=at + 6.4) == "Starting Python and TensorFlow... (6 s)"
    loading = {"status": "running", "phase": "tracing", "started": t0}
    assert phase_text(loading, now=at + 12).endswith("the first batch takes longer... (12 s)")
    running = {"status": "running", "epoch": 2, "epochs": 2, "batch": 30, "steps_per_epoch": 30, "elapsed": 9.0}
    assert (
        progress({**running, "phase": "calibrating"}).text()
        == 'Calibrating "I don\'t know" on the validation images...'
    )
    assert progress({**running, "phase": "validating"}).text() == "Epoch 2/2: checking the validation images..."
    assert progress({**running, "phase": "training"}).text().startswith("Epoch 2/2, batch 30/30: 9 s")
