"""The task registry (core.tasks): one entry per task, asked by training, evaluation, prediction and the pages."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import seed_run, train_tiny_run
from PIL import Image

from core import tasks
from core.base.errors import InputError
from core.base.settings import Setting
from core.models import KINDS, PRESETS
from core.runs.store import Run
from core.serving.inference import prediction_record, predictions_csv
from core.serving.ood import Verdict
from core.tasks.base import Task
from core.training import SETTING, TrainConfig


def test_every_task_is_registered_once_under_its_name():
    assert list(tasks.TASKS)[:3] == ["mnist", "images", "table"]  # the CLI's order; a new task comes after
    for name, task in tasks.TASKS.items():
        assert isinstance(task, Task) and task.name == name and tasks.get(name) is task
    with pytest.raises(InputError, match="Expected task in .*'sonar'"):
        tasks.get("sonar")


def test_what_a_task_declares_exists_in_the_registries_it_names():
    """A task's layer kinds are registered layer kinds; the settings its form skips are settings (or --drop)."""
    for task in tasks.TASKS.values():
        assert set(task.kinds()) <= set(KINDS) and task.kinds(), task.name
        assert task.form_skips <= set(SETTING) | {"drop"}, task.name
        assert task.inputs in ("images", "rows")
    table = tasks.get("table")
    assert table.kinds() == ["Dense", "Dropout", "BatchNormalization", "Activation"] and table.empty_model_ok
    assert "Conv2D" in tasks.get("images").kinds() and not tasks.get("images").empty_model_ok


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_sized_by_its_task_before_any_data(name):
    spec = PRESETS[name]
    task = tasks.TASKS.get(spec.task, tasks.get("images"))
    summary = task.preview_summary(spec)
    assert summary.total_params > 0 and summary.layers[-1].output_shape[0] == (
        1 if spec.task == "table" else task.preview_classes
    )


def test_validate_asks_the_task(mnist_npz, tmp_path):
    mnist = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")
    assert tasks.validate(mnist) == [] and mnist.spec.image_size == 28  # MNIST fixes its input
    big = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings={"image_size": 64})
    with pytest.raises(InputError, match="MNIST images are 28x28 grayscale"):
        tasks.validate(big)
    images = TrainConfig.from_preset(
        "images", str(tmp_path), "orientation-fast", settings={"validation_fraction": 0.5, "test_fraction": 0.45}
    )
    with pytest.raises(InputError, match="must leave at least 10% for training"):
        tasks.validate(images)
    # MNIST's test set is separate: the same shares leave enough of its training file
    separate = TrainConfig.from_preset(
        "mnist", str(mnist_npz), "mnist-mlp", settings={"validation_fraction": 0.5, "test_fraction": 0.45}
    )
    assert tasks.validate(separate) == []
    with pytest.raises(InputError, match="made for --task mnist, not table"):
        tasks.validate(TrainConfig.from_preset("table", str(tmp_path / "t.csv"), "mnist-fast"))


def test_a_job_is_checked_by_its_task_before_it_is_queued(mnist_npz):
    job = tasks.Job(TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings={"epochs": 2}, name="j"))
    assert job.validate() == [] and job.run_name() == "j" and job.to_dict()["spec"]["epochs"] == 2
    bad = tasks.Job(TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings={"image_size": 64}))
    with pytest.raises(InputError, match="28x28"):
        bad.validate()


def test_planned_train_size_follows_the_task(mnist_npz):
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings={"validation_fraction": 0.1})
    assert tasks.get("mnist").planned_train_size(cfg, None, False) == 54_000  # Keras's 60,000 less validation
    images = TrainConfig.from_preset(
        "images", "x", "orientation-fast", settings={"validation_fraction": 0.1, "test_fraction": 0.2}
    )
    assert tasks.get("images").planned_train_size(images, 1000, False) == 700
    assert tasks.get("images").planned_train_size(images, 1000, True) == 900  # a test/ folder: nothing taken
    assert tasks.get("images").planned_train_size(images, None, False) is None  # unknown before the scan


def test_of_run_reads_the_run_folder(tmp_path):
    root = tmp_path / "runs"
    for run_id, task in (("a", "table"), ("b", "mnist"), ("c", None), ("d", "sonar")):
        seed_run(root, run_id, "completed")
        config = json.loads((root / run_id / "config.json").read_text())
        if task is None:
            config.pop("task", None)
        else:
            config["task"] = task
        (root / run_id / "config.json").write_text(json.dumps(config))
    assert tasks.of_run(Run(root / "a")).name == "table"
    assert tasks.of_run(Run(root / "b")).name == "mnist"
    assert tasks.of_run(Run(root / "c")).name == "images"  # written before the task was recorded
    with pytest.raises(InputError, match="'sonar'"):
        tasks.of_run(Run(root / "d"))
    with pytest.raises(InputError, match="predicts table rows, not images"):
        tasks.serve(Run(root / "a"))
    with pytest.raises(InputError, match="not a run of images"):
        tasks.evaluate_run(Run(root / "a"))


def test_the_page_and_the_command_line_write_the_same_prediction_columns(mnist_npz, tmp_path):
    """The Predict page's CSV has the command line's keys, with a column per class's probability."""
    from core.serving.inference import predict_files

    run = Run(train_tiny_run(tmp_path / "runs", mnist_npz))
    served = tasks.serve(run)
    assert served.task == "mnist" and served.spec.digits
    digit = tmp_path / "d.png"
    Image.fromarray(np.kron(np.eye(4, dtype=np.uint8) * 255, np.ones((7, 7), np.uint8))).save(digit)
    (cli,) = tasks.predict(run, [str(digit)])["predictions"]
    assert cli == predict_files(served, [str(digit)])[0]
    probs, verdicts = served.examine(served.predict_images([Image.open(digit)])[0])
    page = prediction_record(str(digit), probs[0], served.spec.class_names, verdicts[0])
    assert page.keys() == cli.keys() and page["label"] == cli["label"]
    rows = list(csv.DictReader(predictions_csv([page, page]).decode().splitlines()))
    assert len(rows) == 2 and rows[0]["label"] == cli["label"]
    assert [c for c in rows[0] if c.startswith("p(")] == [f"p({c})" for c in served.spec.class_names]
    assert float(rows[0][f"p({cli['label']})"]) == pytest.approx(cli["confidence"], abs=1e-6)
    assert Verdict(None, reason="x").to_dict()["ood_reason"] == "x"


def test_settings_declare_the_tasks_they_apply_to():
    """A setting that names tasks names registered ones (a new task is added to the ones it shares)."""
    for setting in SETTING.values():
        assert isinstance(setting, Setting)
        for name in setting.tasks or ():
            assert name in tasks.TASKS, (setting.name, name)


def test_the_model_proposed_first_is_the_best_on_the_data_being_worked_on(tmp_path):
    """Issue 27: after a race, Predict proposed its weakest racer (trained last); now the best on that data."""
    from core.serving.default_model import default_run

    root = tmp_path / "runs"

    def run(run_id, accuracy, task="mnist", data="/d/mnist.npz"):
        path = seed_run(root, run_id, "completed", metrics=None if accuracy is None else {"accuracy": accuracy})
        config = json.loads((path / "config.json").read_text())
        (path / "config.json").write_text(json.dumps({**config, "task": task, "data": data}))
        return Run(path)

    shipped = default_run()  # 99.14% on MNIST
    mlp, fast = run("3-mlp", 0.92), run("2-fast", 0.989)
    xray = run("1-xray", 1.0, task="images", data="/d/chest")
    assert tasks.proposed_run([mlp, fast, xray], shipped) is shipped  # the same data: MNIST, wherever its file is
    assert tasks.proposed_run([mlp, fast, xray]) is fast  # X-rays score higher, but on other data
    assert tasks.proposed_run([xray, mlp, fast], shipped) is xray  # working on X-rays now
    other = run("0-other", 1.0, task="images", data="/d/other")
    assert tasks.proposed_run([other, xray], shipped) is other  # another folder is other data
    untested = run("4-new", None)
    assert tasks.proposed_run([untested], None) is untested and tasks.proposed_run([], shipped) is shipped
