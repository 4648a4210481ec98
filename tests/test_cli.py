"""The command-line contracts (docs/ARCHITECTURE.md, "The command line"), through real subprocesses."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.base.cli import run_module
from tests.conftest import cli_env


def cli(tmp_path: Path, module: str, *args: str, timeout: int = 300) -> tuple[int, dict, str]:
    done = run_module(module, list(args), env=cli_env(tmp_path), timeout=timeout)
    return done.code, done.output, done.stderr


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny MNIST run trained through the CLI, shared by the tests below."""
    from tests.conftest import synthetic_digits

    tmp = tmp_path_factory.mktemp("cli")
    xt, yt = synthetic_digits(500, 1)
    xs, ys = synthetic_digits(50, 2)
    npz = tmp / "mnist.npz"
    np.savez_compressed(npz, x_train=xt, y_train=yt, x_test=xs, y_test=ys)
    code, out, err = cli(
        tmp,
        "train",
        "--task",
        "mnist",
        "--data",
        str(npz),
        "--preset",
        "keras-convnet",
        "--epochs",
        "2",
        "--runs-dir",
        str(tmp / "runs"),
    )
    assert code == 0, err
    # TensorFlow's start-up chatter is not the user's business; the run's own progress is.
    for noise in ("oneDNN custom operations", "Could not find cuda drivers", "failed call to cuInit", "shuffle=True"):
        assert noise not in err, noise
    assert "Training on 450 images" in err
    return tmp, npz, out


def test_train_contract(trained_run):
    _, _, out = trained_run
    err = (Path(out["run_dir"]) / "log.txt").read_text()
    assert "epoch 2/2" in err
    assert set(out) == {"run_id", "run_dir", "status", "epochs", "train_seconds", "test_accuracy", "best_val_accuracy"}
    assert out["status"] == "completed" and out["epochs"] == 2 and out["train_seconds"] > 0
    assert (Path(out["run_dir"]) / "best.keras").is_file()


def test_evaluate_contract(trained_run):
    tmp, npz, run = trained_run
    code, out, _ = cli(tmp, "evaluate", "--run", run["run_dir"])
    assert code == 0
    assert set(out) >= {"accuracy", "loss", "n", "class_names", "confusion_matrix", "per_class"}
    assert out["n"] == 50 and out["accuracy"] == pytest.approx(run["test_accuracy"], abs=1e-6)
    assert np.array(out["confusion_matrix"]).sum() == 50


def test_predict_contract_and_bad_images(trained_run):
    tmp, _, run = trained_run
    from tests.conftest import synthetic_digits

    x, y = synthetic_digits(3, seed=5)
    paths = []
    for i, img in enumerate(x):
        p = tmp / f"digit{i}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
    code, out, _ = cli(tmp, "predict", "--run", run["run_dir"], *paths)
    assert code == 0 and len(out["predictions"]) == 3
    first = out["predictions"][0]
    assert first["image"] == paths[0] and first["label"] in first["probabilities"]
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)

    corrupt = tmp / "corrupt.png"
    corrupt.write_bytes(Image.open(paths[0]).tobytes()[:50])
    empty = tmp / "empty.png"
    empty.write_bytes(b"")
    bomb = tmp / "bomb.png"
    Image.new("1", (9000, 9000)).save(bomb)
    for bad, message in ((corrupt, "not an image"), (empty, "empty"), (bomb, "decompression bomb")):
        code, out, err = cli(tmp, "predict", "--run", run["run_dir"], str(bad))
        assert code == 2 and message in out["error"], out
        assert "Traceback" not in err


def test_list_presets(tmp_path):
    code, out, _ = cli(tmp_path, "train", "--list-presets")
    assert code == 0
    by_name = {p["name"]: p for p in out["presets"]}
    assert {
        "mnist-fast",
        "orientation-fast",
        "mnist-tutorial",
        "mnist-mlp",
        "keras-convnet",
        "orientation-tutorial",
        "transfer-mobilenetv2",
    } <= set(by_name)
    assert by_name["orientation-tutorial"]["params"] == 130_090_178
    assert by_name["mnist-tutorial"]["params"] == 3_274_634


def _bad_inputs(tmp: Path, image_folder: Path) -> list[tuple[str, list[str], str]]:
    text = tmp / "x.npz"
    text.write_text("hello")
    one_class = tmp / "one"
    (one_class / "a").mkdir(parents=True)
    Image.new("L", (8, 8)).save(one_class / "a" / "1.png")
    few = tmp / "few"
    for c in ("a", "b"):
        (few / c).mkdir(parents=True)
        Image.new("L", (8, 8)).save(few / c / "1.png")
    empty = tmp / "emptydir"
    empty.mkdir()
    m = ["--task", "mnist", "--preset", "mnist-mlp", "--runs-dir", str(tmp / "runs")]
    i = ["--task", "images", "--preset", "orientation-fast", "--runs-dir", str(tmp / "runs")]
    return [
        ("train", [*m, "--data", str(tmp / "missing.npz")], "not found"),
        ("train", [*m, "--data", str(text)], "not a readable .npz"),
        ("train", [*i, "--data", str(one_class)], "at least 2 class"),
        ("train", [*i, "--data", str(few)], "at least 5 readable images"),
        ("train", [*i, "--data", str(empty)], "at least 2 class"),
        ("train", [*i, "--data", str(tmp / "nowhere")], "not found"),
        ("train", [*i[:2], "--preset", "nope", "--data", str(image_folder)], "Unknown preset"),
        ("train", [*m, "--data", str(text), "--epochs", "-3"], "epochs in 1..1000"),
        ("train", [*m, "--data", str(text), "--learning-rate", "1e9"], "learning_rate"),
        ("train", [*m, "--data", str(text), "--batch-size", "abc"], "invalid int value"),
        ("train", [*i, "--data", str(image_folder), "--image-size", "100000"], "image_size"),
        ("evaluate", ["--run", str(tmp)], "not a CNN Lab run folder"),
        ("evaluate", ["--run", str(tmp / "nope")], "not found"),
        ("predict", ["--run", str(tmp), str(text)], "not a CNN Lab run folder"),
    ]


def test_bad_input_exits_2_with_json_error_and_no_traceback(tmp_path, image_folder):
    for module, args, message in _bad_inputs(tmp_path, image_folder):
        code, out, err = cli(tmp_path, module, *args)
        assert code == 2, (module, args, out, err[-500:])
        assert message in out["error"], (args, out)
        assert "Traceback" not in err, err
    # nothing was trained into a run folder by any of them
    runs = tmp_path / "runs"
    statuses = [json.loads((p / "status.json").read_text())["status"] for p in runs.iterdir()] if runs.exists() else []
    assert all(s == "failed" for s in statuses)
