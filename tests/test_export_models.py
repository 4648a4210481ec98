"""Issue 26: a run's model as ONNX (checked with onnxruntime against Keras) and as ``reproduce.py`` (plain Keras
code that rebuilds and retrains it), for an MNIST, an image-folder and both kinds of table run; and the refusals."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED_DATA, requires_shared, train_tiny_run

from core.base.cli import run_module
from core.base.errors import InputError
from core.export import default_path, export_run
from core.runs.store import Run

TABLES = ROOT / "core" / "assets" / "tables"
ALLOWED_IMPORTS = {"argparse", "json", "math", "os", "keras", "numpy", "pandas"}


def train_table(runs: Path, csv: Path, target: str, epochs: int, **settings) -> Path:
    from core.tasks import train
    from core.training import TrainConfig

    cfg = TrainConfig.from_preset("table", str(csv), "table-fast",
                                  settings={"epochs": epochs, "seed": 7, "target": target, **settings})  # fmt: skip
    result = train(cfg, runs)
    assert result["status"] == "completed", result
    return Path(result["run_dir"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """name -> (run folder, its data): MNIST-like digits, a folder of stripes (one file damaged), penguins' species,
    diabetes' progression."""
    from conftest import stripes, synthetic_digits

    tmp = tmp_path_factory.mktemp("export")
    digits = tmp / "mnist.npz"
    (x_train, y_train), (x_test, y_test) = synthetic_digits(600, seed=1), synthetic_digits(100, seed=2)
    np.savez_compressed(digits, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    folder = tmp / "stripes"
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (folder / cls).mkdir(parents=True)
        for i in range(30):
            stripes(o, seed=i).save(folder / cls / f"{i:03d}.png")
    (folder / "horizontal" / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")  # both skip it
    return {
        "mnist": (train_tiny_run(tmp / "runs", digits, epochs=2), digits),
        "images": (
            train_tiny_run(tmp / "runs", folder, task="images", preset="orientation-fast", epochs=6, image_size=32),
            folder,
        ),  # fmt: skip
        "classes": (
            train_table(tmp / "runs", TABLES / "penguins.csv", "species", 20, drop="year"),
            TABLES / "penguins.csv",
        ),  # fmt: skip
        "numbers": (train_table(tmp / "runs", TABLES / "diabetes.csv", "progression", 30), TABLES / "diabetes.csv"),
    }


# ----- ONNX -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist", "images", "classes", "numbers"])
def test_the_onnx_file_gives_kerass_answers_on_the_runs_test_data(runs, name):
    path, _data = runs[name]
    done = run_module("export", ["--run", str(path), "--format", "onnx"])
    assert done.code == 0, done.stderr[-2000:]
    out = Path(done.output["out"])
    assert out == default_path(Run(path), "onnx") and out.stat().st_size == done.output["bytes"]
    agreement = done.output["agreement"]
    assert agreement["ok"] and agreement["n"] == json.loads((path / "metrics.json").read_text())["n"]
    if name == "numbers":
        assert agreement["same_top"] is None and agreement["max_diff"] < 1e-2  # a target of ~150: relative 1e-4
    else:
        assert agreement["same_top"] >= 0.999 and agreement["max_diff"] <= 1e-4


def test_onnxruntime_alone_reads_the_file_and_scores_the_run_as_keras_did(runs):
    """Independent of the export's own check: the file, onnxruntime and MNIST's test set give the run's accuracy."""
    import onnxruntime as ort

    path, data = runs["mnist"]
    out, _checked = export_run(Run(path), "onnx", path / "digits.onnx")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    [image] = session.get_inputs()
    assert image.name == "image" and image.shape[1:] == [28, 28, 1]
    with np.load(data) as npz:
        x, y = npz["x_test"][..., None].astype(np.float32) / 255, npz["y_test"]
    probabilities = session.run(None, {"image": x})[0]
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y))
    assert accuracy == pytest.approx(Run(path).summary()["test_accuracy"], abs=1e-9)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_a_missing_package_is_named_and_nothing_is_written(runs, monkeypatch):
    import importlib.util

    path, _data = runs["classes"]
    target = default_path(Run(path), "onnx")
    target.unlink(missing_ok=True)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(InputError, match="needs the packages onnxruntime.*pip install -r requirements.txt"):
        export_run(Run(path), "onnx")
    assert not target.exists()


def test_a_file_that_disagrees_with_keras_is_refused_and_not_written(runs, monkeypatch):
    """The check is real: an ONNX file of the same network with other weights (untrained) is caught."""
    import keras

    from core.export import onnx as onnx_export

    path, _data = runs["images"]
    convert = onnx_export.to_onnx
    monkeypatch.setattr(onnx_export, "to_onnx", lambda model: convert(keras.models.clone_model(model)))
    target = path / "elsewhere.onnx"
    with pytest.raises(InputError, match=r"does not give the same answers as the Keras model on the run's \d+ test"):
        export_run(Run(path), "onnx", target)
    assert not target.exists() and not list(path.glob(".*.tmp"))


def test_tensorflow_lite_is_refused_for_a_table_in_words(runs):
    path, _data = runs["numbers"]
    done = run_module("export", ["--run", str(path), "--format", "tflite"])
    assert done.code == 2 and "TensorFlow Lite export is for image models" in done.output["error"], done.output
    assert not default_path(Run(path), "tflite").exists()


def test_a_converter_refusal_is_a_message(runs, monkeypatch):
    import tf2onnx

    def refuse(*args, **kwargs):
        raise ValueError("Unsupported ops: Counter({'FancyOp': 1})\nstack trace ...")

    monkeypatch.setattr(tf2onnx.convert, "from_keras", refuse)
    with pytest.raises(InputError, match=r"cannot be converted to ONNX: Unsupported ops: Counter\(\{'FancyOp': 1\}\)$"):
        export_run(Run(runs["mnist"][0]), "onnx", runs["mnist"][0] / "x.onnx")


# ----- reproduce.py -----------------------------------------------------------------------------------------


def run_script(script: Path, *args: str, timeout: int = 600) -> dict:
    """Runs reproduce.py where ``core`` cannot be imported (its own folder, no PYTHONPATH); its last JSON line."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(script), *args], cwd=script.parent, env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_source(text: str) -> None:
    """Plain Python the project's linter accepts, importing keras, numpy, pandas and the standard library only."""
    tree = ast.parse(text)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"),
                           "--stdin-filename", "reproduce.py", "-"], input=text, capture_output=True, text=True)  # fmt: skip
    assert lint.returncode == 0, lint.stdout[-3000:]


@pytest.mark.parametrize("name", ["mnist", "images", "classes", "numbers"])
def test_reproduce_py_rebuilds_the_same_network_and_reaches_the_runs_score(runs, name, tmp_path):
    path, data = runs[name]
    run = Run(path)
    script = tmp_path / "reproduce.py"
    done = run_module("export", ["--run", str(path), "--format", "script", "--out", str(script)])
    assert done.code == 0, done.stderr[-2000:]
    text = script.read_text()
    check_source(text)
    config, summary = run.config(), run.summary()
    assert f"run {run.id}" in text and f"SEED = {config['seed']}" in text
    result = run_script(script, "--data", str(data))
    assert result["params"] == config["n_params"]
    assert (result["n_train"], result["n_val"], result["n_test"]) == (config["n_train"], config["n_val"],
                                                                      config["n_test"])  # the same split  # fmt: skip
    if name == "numbers":
        assert result["test_accuracy"] is None
        mae = json.loads((path / "metrics.json").read_text())["mae"]
        assert result["test_mae"] == pytest.approx(mae, rel=0.1), (result, mae)
    else:
        assert abs(result["test_accuracy"] - summary["test_accuracy"]) <= 0.01 + 1e-9, (result, summary)


def test_the_script_writes_the_layers_with_their_settings_and_the_recipe(runs):
    from core.export.script import reproduce_script

    text = reproduce_script(Run(runs["images"][0]))
    for line in ('x = layers.RandomFlip(seed=7, mode="horizontal")(x)',
                 'x = layers.Conv2D(filters=16, kernel_size=3, strides=2, padding="same", use_bias=False, '
                 'name="conv2d_1")(x)', 'x = layers.BatchNormalization(momentum=0.9, name="batchnormalization_2")(x)',
                 'outputs = layers.Dense(units=num_classes, activation="softmax", name="predictions")(x)',
                 "IMAGE_SIZE = 32", 'COLOR_MODE = "grayscale"', "keras.utils.load_img(",
                 "keras.optimizers.schedules.CosineDecay", "return keras.optimizers.Adam(learning_rate)",
                 "LEARNING_RATE = 0.003", "BATCH_SIZE = 32", "PATIENCE = 6"):  # fmt: skip
        assert line in text, line
    table = reproduce_script(Run(runs["classes"][0]))
    assert 'TARGET = "species"' in table and '    "island": "category",' in table
    assert '    "year",' in table and '"year": "number"' not in table  # in the file's header, left out of the model
    assert 'x = layers.Dense(units=64, activation="relu", name="dense_1")(x)' in table


def test_a_chain_is_written_and_a_branch_is_refused():
    import keras

    from core.export.code import model_lines

    inputs = keras.Input((8, 8, 1), name="image")
    gray = keras.layers.Concatenate(name="gray_to_rgb")([inputs, inputs, inputs])  # one tensor, fed three times
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(keras.layers.Flatten(name="f")(gray))
    lines = model_lines(keras.Model(inputs, out), "predictions")
    assert lines[2:] == ['x = layers.Concatenate(name="gray_to_rgb")([x, x, x])', 'x = layers.Flatten(name="f")(x)',
                         'outputs = layers.Dense(units=num_classes, activation="softmax", name="predictions")(x)']  # fmt: skip
    a = keras.layers.Dense(4, name="a")(keras.layers.Flatten(name="flat")(inputs))
    b = keras.layers.Dense(4, name="b")(keras.layers.Flatten(name="flat2")(inputs))
    with pytest.raises(InputError, match="Layer flat2 takes a tensor other than the one before it"):
        model_lines(keras.Model(inputs, keras.layers.Add(name="add")([a, b])), "add")


def test_runs_without_a_model_or_a_recipe_are_refused_with_the_reason(runs, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(runs["mnist"][0], broken, ignore=shutil.ignore_patterns("export", "*.onnx"))
    for name in ("best.keras", "final.keras"):
        (broken / name).unlink(missing_ok=True)
    for fmt in ("onnx", "script"):
        done = run_module("export", ["--run", str(broken), "--format", fmt])
        assert done.code == 2 and "has no checkpoint" in done.output["error"], done.output
    shutil.copy(runs["mnist"][0] / Run(runs["mnist"][0]).checkpoint().name, broken / "best.keras")
    config = (broken / "config.json").read_text()
    (broken / "config.json").write_text("{not json")
    for fmt in ("onnx", "script"):
        done = run_module("export", ["--run", str(broken), "--format", fmt])
        assert done.code == 2 and "config" in done.output["error"], done.output  # a message, not a crash (code 1)
    (broken / "config.json").write_text(config)
    (broken / "best.keras").write_bytes(b"PK\x03\x04 not a keras file")
    done = run_module("export", ["--run", str(broken), "--format", "script"])
    assert done.code == 2 and "model cannot be read" in done.output["error"], done.output
    assert not (broken / "export").exists()


# ----- the real data (slow) ---------------------------------------------------------------------------------


@requires_shared
@pytest.mark.slow
def test_real_xray_run_exports_to_onnx_and_reproduce_py_matches_it(tmp_path):
    data = SHARED_DATA / "chest-orientation"
    path = train_tiny_run(tmp_path / "runs", data, task="images", preset="orientation-fast", epochs=15)
    done = run_module("export", ["--run", str(path), "--format", "onnx"])
    assert done.code == 0 and done.output["agreement"]["ok"] and done.output["agreement"]["n"] >= 150, done.output
    script = Path(export_run(Run(path), "script", tmp_path / "reproduce.py")[0])
    result = run_script(script, "--data", str(data))
    summary = Run(path).summary()
    assert result["params"] == Run(path).config()["n_params"]
    assert abs(result["test_accuracy"] - summary["test_accuracy"]) <= 0.01 + 1e-9, (result, summary)


@requires_shared
@pytest.mark.slow
def test_real_mnist_run_exports_to_onnx_and_reproduce_py_matches_it(tmp_path):
    data = SHARED_DATA / "mnist" / "mnist.npz"
    path = train_tiny_run(tmp_path / "runs", data, epochs=2)
    done = run_module("export", ["--run", str(path), "--format", "onnx"])
    assert done.code == 0 and done.output["agreement"]["n"] == 10_000, done.output
    assert done.output["agreement"]["same_top"] >= 0.999 and done.output["agreement"]["max_diff"] <= 1e-4
    script = Path(export_run(Run(path), "script", tmp_path / "reproduce.py")[0])
    result = run_script(script, "--data", str(data))
    summary = Run(path).summary()
    assert result["params"] == Run(path).config()["n_params"]
    assert abs(result["test_accuracy"] - summary["test_accuracy"]) <= 0.01 + 1e-9, (result, summary)


# ----- the pages --------------------------------------------------------------------------------------------


def evaluate_page(runs_root: Path, run_id: str, monkeypatch, lang: str = "en"):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(runs_root))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/evaluate.py").run()
    at.selectbox(key="eval_model").set_value(run_id).run()
    assert not at.exception, at.exception
    return at


def downloads(at) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


@pytest.mark.parametrize("name", ["mnist", "classes"])
def test_evaluate_converts_to_onnx_on_request_and_says_how_it_was_checked(runs, name, monkeypatch):
    path, _data = runs[name]
    at = evaluate_page(path.parent, path.name, monkeypatch)
    assert "The model as code (reproduce.py)" in downloads(at) and not any(
        label.startswith("ONNX") for label in downloads(at))  # fmt: skip
    assert [b.key for b in at.button if b.key.endswith("_go")] == (
        ["export_onnx_go", "export_tflite_go"] if name == "mnist" else ["export_onnx_go"])  # a table: no TFLite  # fmt: skip
    at.button(key="export_onnx_go").click().run()
    assert not at.exception, at.exception
    assert any(label.startswith("ONNX (") for label in downloads(at)), downloads(at)
    n = json.loads((path / "metrics.json").read_text())["n"]
    assert any(c.value.startswith(f"Checked with onnxruntime on the run's {n} test examples: the same answer as Keras "
                                  "for 100.0%") for c in at.caption), [c.value for c in at.caption]  # fmt: skip


def test_evaluate_refuses_onnx_in_words_when_a_package_is_missing(runs, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    path, _data = runs["numbers"]
    at = evaluate_page(path.parent, path.name, monkeypatch, lang="pt-BR")
    at.button(key="export_onnx_go").click().run()
    assert not at.exception, at.exception
    assert any("tf2onnx" in w.value and "pip install -r requirements.txt" in w.value for w in at.warning), at.warning


def test_curves_shows_the_runs_code_with_its_download(runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path, _data = runs["images"]
    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(path.parent))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240).run()
    at.switch_page("pages/curves.py").run()
    at.multiselect(key="curves_selected").set_value([path.name]).run()
    assert not at.exception, at.exception
    assert not [c for c in at.code if "def build_model" in c.value]  # written when asked: a model load per run
    at.toggle(key=f"code_{path.name}").set_value(True).run()
    assert not at.exception, at.exception
    [code] = [c for c in at.code if "def build_model(num_classes):" in c.value]
    assert code.language == "python" and f"run {path.name}" in code.value
    assert code.value + "\n" == export_run(Run(path), "script", path / "again.py")[0].read_text()
    assert "Download reproduce.py" in downloads(at)


def test_every_image_presets_code_builds_the_same_network():
    """The lines written for each preset (augmentation and MobileNetV2 included) rebuild its parameter count."""
    from core.export import templates
    from core.export.code import layer_code, model_lines
    from core.models import build_model
    from core.models.presets import PRESETS, get_preset
    from core.training.augment import make_augmenter

    checked = []
    for name in PRESETS:
        spec = get_preset(name)
        if spec.task == "table" or name == "orientation-tutorial":  # 130 M parameters: the same layer kinds as others
            continue
        model = build_model(spec, spec.input_shape(), 3, pretrained_weights=False)
        augmenter = make_augmenter(spec.augment, 1)
        start = [f"x = {layer_code(layer, named=False)}(x)" for layer in augmenter.layers] if augmenter else []
        body = "\n".join("    " + line for line in model_lines(model, "predictions", start))
        source = ("import keras\nfrom keras import layers\n" + templates.BACKBONE.replace('"imagenet"', "None")
                  + f"\ndef build_model(num_classes):\n{body}\n    return keras.Model(inputs, outputs)\n")  # fmt: skip
        namespace: dict = {}
        exec(compile(source, name, "exec"), namespace)
        rebuilt = namespace["build_model"](3)
        assert rebuilt.count_params() == model.count_params(), name
        assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights], name
        checked.append(name)
    assert {"mnist-fast", "mnist-best", "orientation-fast", "transfer-mobilenetv2"} <= set(checked)


def test_free_text_in_the_recipe_or_the_path_cannot_break_the_script(runs, tmp_path):
    """A recipe's name and a Windows path go into the script's text: quotes, backslashes, line breaks stay text."""
    import shutil

    from core.export.script import reproduce_script

    copy = tmp_path / "quoted"
    shutil.copytree(runs["classes"][0], copy, ignore=shutil.ignore_patterns("export"))
    config = json.loads((copy / "config.json").read_text())
    config["spec"]["name"] = 'my "best" net \\ """; import os\nprint("owned")'
    config["data_source"] = config["data"] = "C:\\Users\\ana\\Dados\\pingüins.csv"
    config["table"]["csv"]["header"][1] = 'Ilha "norte"\n2'
    (copy / "config.json").write_text(json.dumps(config))
    text = reproduce_script(Run(copy))
    check_source(text)
    tree = ast.parse(text)
    assert ast.get_docstring(tree) == text.split('"""')[1].strip()  # the docstring ends where the script's does
    assert not any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print" and n.args
                   and getattr(n.args[0], "value", "") == "owned" for n in ast.walk(tree))  # fmt: skip
    assert 'Ilha \\"norte\\"\\n2' in text and "C:/Users/ana/Dados/pingüins.csv" in text


def test_a_train_folder_with_stray_folders_and_files_is_read_as_the_app_read_it(tmp_path):
    """train/ alone (no test/), a __MACOSX folder and a note beside the images: the same classes, split and count."""
    from conftest import stripes

    root = tmp_path / "photos"
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (root / "train" / cls / "more").mkdir(parents=True)
        for i in range(14):
            stripes(o, seed=i).save(root / "train" / cls / f"{i:03d}.png")
        stripes(o, seed=99).save(root / "train" / cls / "more" / "deep.png")  # a sub-folder is read too
    (root / "train" / "__MACOSX").mkdir()
    stripes("h", seed=5).save(root / "train" / "__MACOSX" / "._000.png")
    (root / "train" / "vertical" / "notes.txt").write_text("taken on a Tuesday")
    path = train_tiny_run(tmp_path / "runs", root, task="images", preset="orientation-fast", epochs=2, image_size=24)
    script = export_run(Run(path), "script", tmp_path / "reproduce.py")[0]
    result = run_script(script, "--data", str(root))
    config = Run(path).config()
    assert result["params"] == config["n_params"] == 60_882
    assert (result["n_train"], result["n_val"], result["n_test"]) == (config["n_train"], config["n_val"],
                                                                      config["n_test"]) and config["n_test"] > 0  # fmt: skip


def test_a_semicolon_csv_with_decimal_commas_and_a_messy_header_is_read_as_the_app_read_it(tmp_path):
    """A pt_BR spreadsheet's export: ';', '3,5', Windows-1252, a blank and a repeated column name."""
    import pandas as pd

    frame = pd.read_csv(TABLES / "penguins.csv").drop(columns=["year"])
    frame.columns = ["espécie", " ilha ", "bico", "bico", "", "massa_g", "sexo"]  # -> bico_2, column_5
    csv = tmp_path / "pinguins.csv"
    csv.write_bytes(frame.to_csv(sep=";", decimal=",", index=False).encode("cp1252"))
    path = train_table(tmp_path / "runs", csv, "espécie", 20)
    run = Run(path)
    config = run.config()
    assert config["table"]["csv"] == {"encoding": "cp1252", "delimiter": ";", "decimal": ",",
                                      "header": ["espécie", "ilha", "bico", "bico_2", "column_5", "massa_g",
                                                 "sexo"]}  # fmt: skip
    script = export_run(run, "script", tmp_path / "reproduce.py")[0]
    check_source(script.read_text())
    result = run_script(script, "--data", str(csv))
    assert result["params"] == config["n_params"]
    assert (result["n_train"], result["n_val"], result["n_test"]) == (config["n_train"], config["n_val"],
                                                                      config["n_test"])  # fmt: skip
    assert abs(result["test_accuracy"] - run.summary()["test_accuracy"]) <= 0.01 + 1e-9, result
