"""The training contract: every setting travels form -> config -> config.json -> training unchanged,
and the command line, the page and the job refuse a bad value with the same message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest
from conftest import ROOT, cli_env

from core.access.roles import LOCAL
from core.base.cli import run_module
from core.base.errors import InputError
from core.base.settings import Setting
from core.base.storage import write_json_atomic
from core.runs.jobs import JobManager
from core.runs.procs import start_ticks
from core.runs.store import RunStore
from core.tasks import validate
from core.training import SETTINGS, TrainConfig


def changed_value(s: Setting) -> Any:
    """A valid value other than the default, from the setting's own declaration."""
    if s.choices:
        return next(c for c in reversed(s.choices) if c != s.default)
    if s.name == "target":  # a column of the table config_with uses
        return "island"
    if s.kind is bool:
        return not s.default
    if s.steps:
        return next(v for v in s.steps if v != s.default)
    value = s.lo + (s.hi - s.lo) / 3
    return int(value) if s.kind is int else round(value, 4)


def config_with(s: Setting, value: Any) -> TrainConfig:
    task = s.tasks[0] if s.tasks else "mnist"
    preset = {"images": "orientation-fast", "table": "table-fast"}.get(task, "mnist-mlp")
    settings = {s.name: value}
    if s.only_with:
        settings[s.only_with[0]] = s.only_with[1][0]
    if task == "table":  # a table run is checked against its CSV: a shipped one, and a column to predict
        settings = {"target": "species", **settings}
        return TrainConfig.from_preset(task, str(ROOT / "core/assets/tables/penguins.csv"), preset, settings=settings)
    return TrainConfig.from_preset(task, "/data/somewhere", preset, settings=settings)


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_every_setting_round_trips_through_config_json(s, tmp_path):
    value = changed_value(s)
    cfg = config_with(s, value)
    validate(cfg)
    run = RunStore(tmp_path).create("x", cfg.to_dict())  # what JobManager.submit writes
    stored = json.loads(run.config_path.read_text())
    assert (stored["spec"] if s.owner == "spec" else stored)[s.name] == value
    again = TrainConfig.from_dict(stored)  # what the training process reads
    holder = again.spec if s.owner == "spec" else again
    assert getattr(holder, s.name) == value
    assert again.to_dict() == cfg.to_dict()


def test_every_setting_is_a_command_line_flag():
    proc = subprocess.run([sys.executable, "-m", "core.train", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0
    for s in SETTINGS:
        assert s.flag in proc.stdout, s.flag


@pytest.mark.parametrize(
    "flag, value, setting",
    [
        ("--epochs", "0", {"epochs": 0}),
        ("--label-smoothing", "0.7", {"label_smoothing": 0.7}),
        ("--weight-decay", "0.01", {"weight_decay": 0.01}),
        ("--optimizer", "lion", {"optimizer": "lion"}),
        ("--learning-rate", "nan", {"learning_rate": float("nan")}),
        ("--seed", "-1", {"seed": -1}),
    ],
)
def test_cli_and_config_refuse_with_the_same_message(tmp_path, mnist_npz, flag, value, setting):
    with pytest.raises(InputError) as refused:
        validate(TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings=setting))
    done = run_module("train", ["--task", "mnist", "--data", str(mnist_npz), "--preset", "mnist-mlp", flag, value],
                      env=cli_env(tmp_path))  # fmt: skip
    assert done.code == 2 and done.output["error"] == str(refused.value)
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_the_child_trains_with_the_new_settings(tmp_path, mnist_npz):
    """label_smoothing and weight_decay reach the compiled model of a job (read back from final.keras)."""
    import keras

    cfg = TrainConfig.from_preset(
        "mnist", str(mnist_npz), "mnist-mlp",
        settings={"epochs": 1, "optimizer": "sgd", "weight_decay": 0.002, "label_smoothing": 0.1},
    )  # fmt: skip
    run = RunStore(tmp_path / "runs").create("child", cfg.to_dict())
    done = run_module("train", ["--run-dir", str(run.path)], env=cli_env(tmp_path))
    assert done.code == 0, done.stderr[-2000:]
    model = keras.models.load_model(run.path / "final.keras")
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    assert model.optimizer.get_config()["weight_decay"] == pytest.approx(0.002)
    assert run.config()["spec"]["label_smoothing"] == 0.1 and run.config()["n_train"] > 0


def test_run_dir_takes_no_other_settings(tmp_path, mnist_npz):
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")
    run = RunStore(tmp_path / "runs").create("x", cfg.to_dict())
    done = run_module("train", ["--run-dir", str(run.path), "--epochs", "3"], env=cli_env(tmp_path))
    assert done.code == 2 and "give no other settings" in done.output["error"]


def test_the_train_page_writes_what_its_widgets_hold(tmp_path, mnist_npz, monkeypatch):
    """Page widgets -> JobManager.submit -> config.json, for the two new settings and an old one."""
    from streamlit.testing.v1 import AppTest

    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    busy = RunStore().create("busy", {"task": "mnist"})  # holds the only slot: the page's job waits
    write_json_atomic(
        busy.status_path, {"status": "running", "pid": os.getpid(), "pid_start": start_ticks(os.getpid())}
    )
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train_preset_mnist").set_value("mnist-mlp").run()
    at.selectbox(key="t_optimizer_mnist-mlp").set_value("adamw").run()
    at.number_input(key="t_weight_decay_mnist-mlp").set_value(0.01).run()
    at.number_input(key="t_label_smoothing_mnist-mlp").set_value(0.2).run()
    at.number_input(key="t_epochs_mnist-mlp").set_value(7).run()
    assert not at.exception and not at.error
    next(b for b in at.button if b.label.startswith(("Train", "Add to the queue"))).click().run()
    queued = next(r for r in RunStore().list() if r.id != busy.id)
    spec = queued.config()["spec"]
    assert (spec["optimizer"], spec["weight_decay"], spec["label_smoothing"], spec["epochs"]) == ("adamw", 0.01, 0.2, 7)
    assert queued.status()["status"] == "queued"
    JobManager().stop(queued.id, actor=LOCAL)


@pytest.mark.parametrize("task, preset", [("mnist", "mnist-fast"), ("images", "orientation-fast")])
def test_every_setting_has_a_widget_on_the_train_page(tmp_path, mnist_npz, image_folder, task, preset):
    from streamlit.testing.v1 import AppTest

    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    shutil.copytree(image_folder, tmp_path / "data" / "stripes")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    if task == "images":
        at.segmented_control(key="train_data_kind").set_value("Image folder").run()
    at.selectbox(key=f"train_preset_{task}").set_value(preset).run()
    assert not at.exception
    keys = {w.key for kind in ("number_input", "selectbox", "select_slider", "toggle") for w in at.get(kind)}
    expected = {f"t_{s.name}_{preset}" for s in SETTINGS if s.applies_to(task)}
    assert expected <= keys, expected - keys
    assert (f"t_image_size_{preset}" in keys) == (task == "images")


def test_a_spec_keeps_its_presets_name_only_while_its_layers_are_the_presets():
    """The Train page passes the preset and its spec: an unedited one is recorded as that preset."""
    import dataclasses

    from core.models import LayerSpec, get_preset
    from core.training import TrainConfig

    spec = get_preset("mnist-mlp")
    assert TrainConfig.from_preset("mnist", None, "mnist-mlp", spec).preset == "mnist-mlp"
    edited = dataclasses.replace(spec, layers=[*spec.layers, LayerSpec("Dropout", rate=0.2)])
    assert TrainConfig.from_preset("mnist", None, "mnist-mlp", edited).preset == "custom"
    renamed = dataclasses.replace(spec, name="custom")
    assert TrainConfig.from_preset("mnist", None, "mnist-mlp", renamed).preset == "custom"
    assert TrainConfig.from_preset("mnist", None, None, spec).preset == "custom"
