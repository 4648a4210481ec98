"""Taking a run home (``python -m core.export``): its .keras file, TensorFlow Lite, its model card and TensorBoard
logs, written whole or not at all; the refusals say why. ONNX and the model as code: test_export_models.py."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, seed_run, train_tiny_run

from core.base.cli import run_module
from core.base.errors import InputError
from core.base.i18n import set_language
from core.base.storage import write_json_atomic
from core.export import default_path, export_run
from core.export.card import model_card
from core.runs.store import Run

METRICS = {"accuracy": 0.9731, "loss": 0.0912, "n": 300, "class_names": ["frontal", "lateral"],
           "confusion_matrix": [[146, 4], [4, 146]],
           "per_class": {"frontal": {"precision": 0.9733, "recall": 0.9733, "f1": 0.9733, "support": 150},
                         "lateral": {"precision": 0.9733, "recall": 0.9733, "f1": 0.9733, "support": 150}}}  # fmt: skip


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def xray_run(tmp_path, data="/data/chest-orientation", preset="orientation-fast") -> Run:
    path = seed_run(tmp_path / "runs", "20261206-120000-orientation-fast", "completed", preset=preset,
                    metrics=METRICS)  # fmt: skip
    config = json.loads((path / "config.json").read_text())
    config.update(
        task="images",
        data=data,
        data_source=data,
        seed=42,
        class_names=["frontal", "lateral"],
        n_train=840,
        n_val=180,
        n_test=300,
        input_shape=[64, 64, 1],
        n_params=60882,
        macs=11944064,
        versions={"python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"},
    )
    config["spec"].update(output_activation="softmax", layers=[{"kind": "Conv2D", "filters": 16, "kernel_size": 3,
                          "padding": "same", "units": None}, {"kind": "GlobalAveragePooling2D", "padding": "valid"}])  # fmt: skip
    write_json_atomic(path / "config.json", config)
    write_json_atomic(path / "ood.json", {"method": "combined", "threshold": 1.2371, "familiar_rate": 0.95,
                                          "false_alarm_rate": 0.0444, "n_validation": 180})  # fmt: skip
    return Run(path)


def test_the_card_holds_the_runs_own_numbers(tmp_path):
    card = model_card(xray_run(tmp_path))
    assert card.startswith("# Model card: 20261206-120000-orientation-fast")
    for fact in ("97.31%", "300 held-out", "840 for training, 180 for validation, 300 held out",
                 "| frontal | 97.3% | 97.3% | 97.3% | 150 |", "| lateral | 4 | 146 |", "60,882 parameters",
                 "input 64x64x1", "threshold 1.237", "4.4%", "tensorflow 2.21.0", "keras 3.15.1",
                 "| 1 | Conv2D | filters=16, kernel_size=3, padding=same |", "| 3 | Dense | units=2, activation=softmax |",
                 "not a medical device"):  # fmt: skip
        assert fact in card, fact
    assert "padding=valid" not in card  # GlobalAveragePooling2D reads no padding: no blank settings listed


def test_a_digits_card_makes_no_medical_claim_and_a_card_follows_the_language(tmp_path):
    run = xray_run(tmp_path, data="/data/mnist.npz", preset="mnist-fast")
    assert "medical" not in model_card(run)
    set_language("pt_BR")
    card = model_card(run)
    assert card.startswith("# Ficha do modelo:") and "97,31%" in card and "## Não serve para" in card


def test_a_run_without_a_config_or_a_checkpoint_is_refused_and_nothing_is_written(tmp_path):
    run = xray_run(tmp_path)
    with pytest.raises(InputError, match="no checkpoint"):
        export_run(run, "keras")
    assert not (run.path / "export").exists()
    (run.path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="no usable config.json"):
        export_run(run, "card")
    assert not default_path(run, "card").exists()
    with pytest.raises(InputError, match="Expected a format"):
        export_run(run, "pickle")


def test_the_command_line_writes_keras_tflite_and_the_card_and_names_each_file(tmp_path, mnist_npz):
    path = train_tiny_run(tmp_path / "runs", mnist_npz, epochs=1)
    run = Run(path)
    done = run_module("export", ["--run", str(path), "--format", "card"])
    assert done.code == 0, done.stderr[-2000:]
    assert done.output["out"] == str(path / "MODEL_CARD.md")
    assert "Test accuracy **" in (path / "MODEL_CARD.md").read_text()
    out = tmp_path / "take-home" / "digits.keras"
    done = run_module("export", ["--run", str(path), "--format", "keras", "--out", str(out)])
    assert done.code == 0 and done.output["out"] == str(out)
    assert out.read_bytes() == run.checkpoint().read_bytes() and done.output["bytes"] == out.stat().st_size
    done = run_module("export", ["--run", str(path), "--format", "tflite"])
    assert done.code == 0, done.stderr[-2000:]
    tflite = default_path(run, "tflite")
    assert done.output["out"] == str(tflite) and tflite.read_bytes()[4:8] == b"TFL3"  # the flatbuffer's identifier
    refused = run_module("export", ["--run", str(path), "--format", "pickle"])
    assert refused.code == 2 and "invalid choice" in refused.output["error"]
    refused = run_module("export", ["--run", str(tmp_path / "nowhere"), "--format", "card"])
    assert refused.code == 2 and "not found" in refused.output["error"]
    refused = run_module("export", ["--run", str(path), "--format", "card", "--out", str(tmp_path)])
    assert refused.code == 2 and "is a folder" in refused.output["error"]
    assert not list(path.glob(".*.tmp")) and not list((path / "export").glob(".*.tmp"))  # no half-written file


def test_evaluate_offers_the_card_in_the_pages_language(tmp_path, mnist_npz):
    from streamlit.testing.v1 import AppTest

    train_tiny_run(tmp_path / "runs", mnist_npz, epochs=1)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    at.query_params["lang"] = "pt-BR"
    at.run()
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception, at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Ficha do modelo (MODEL_CARD.md)" in labels, labels


def test_every_run_writes_tensorboard_event_files_with_its_epoch_losses(tmp_path, mnist_npz):
    """`tensorboard --logdir runs` reads what the Keras callback wrote: the losses history.csv holds, per epoch."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = train_tiny_run(tmp_path / "runs", mnist_npz, epochs=2)
    history = Run(path).history()
    for part, column in (("train", "loss"), ("validation", "val_loss")):
        events = EventAccumulator(str(path / "tensorboard" / part))
        events.Reload()
        losses = [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors("epoch_loss")]
        assert [step for step, _loss in losses] == [0, 1]
        assert [round(loss, 4) for _step, loss in losses] == [round(float(r[column]), 4) for r in history], part


def test_a_tables_card_gives_its_errors_beside_the_baseline_and_no_image_settings(tmp_path):
    run = xray_run(tmp_path, data="diabetes.csv", preset="table-fast")
    config = json.loads((run.path / "config.json").read_text())
    config.update(task="table", class_names=None, input_shape=None,
                  table={"task": "regression", "target": "progression", "rows": 442})  # fmt: skip
    config["spec"].update(image_size=128, color_mode="grayscale")
    write_json_atomic(run.path / "config.json", config)
    write_json_atomic(run.path / "metrics.json", {"task": "regression", "target": "progression", "n": 67,
                                                  "mae": 43.21, "rmse": 54.3, "r2": 0.48,
                                                  "baseline": {"mae": 64.0, "rmse": 77.0, "r2": -0.01}})  # fmt: skip
    card = model_card(run)
    for fact in ("- MAE: 43.21 (baseline 64)", "- R²: 0.48 (baseline -0.01)", "Target column `progression`",
                 "is for images"):  # fmt: skip
        assert fact in card, fact
    assert "image_size" not in card and "color_mode" not in card and "medical" not in card
