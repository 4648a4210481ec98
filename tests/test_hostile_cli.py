"""Hostile and broken input on the command line: every case exits 0 (handled, and says what it
did) or 2 (refused, with one JSON line holding "error" that says what was expected), never a
traceback or a crash, and leaves nothing half-written.

Each case runs in a child process under a 4 GB address-space limit and a time limit, so a
regression (an unbounded read, a hang on a FIFO, a 2 TB tensor) fails the test, not the machine.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, cli_env, stripes, synthetic_digits
from hostile_files import (
    digits,
    few_dots,
    fifo,
    float_tiff_with_nan,
    image_16bit,
    lab_tiff,
    npz_with_lying_size,
    png_bytes,
    png_header_then_noise,
    write_npz,
    write_spec,
)
from PIL import Image

LIMIT_BYTES = 4 * 1024**3
TIMEOUT = 120


def run_cli(tmp: Path, module: str, args: list[str]) -> tuple[int, dict, str]:
    def limit():  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))

    proc = subprocess.run([sys.executable, "-m", f"core.{module}", *args], cwd=ROOT, env=cli_env(tmp),
                          capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit)  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no JSON on stdout (exit {proc.returncode}); stderr: {proc.stderr[-1500:]}"
    return proc.returncode, json.loads(lines[-1]), proc.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Trained runs (MNIST and a 2-class image folder) and the data they came from."""
    tmp = tmp_path_factory.mktemp("hostile")
    x, y = synthetic_digits(300, 1)
    npz = write_npz(tmp / "mnist.npz", x, y, *synthetic_digits(50, 2))
    folder = tmp / "stripes"
    for cls, o in (("h", "h"), ("v", "v")):
        (folder / cls).mkdir(parents=True)
        for i in range(8):
            stripes(o, 24, seed=i).save(folder / cls / f"{i}.png")
    runs = tmp / "runs"
    code, mnist, err = run_cli(tmp, "train", ["--task", "mnist", "--data", str(npz), "--preset", "mnist-mlp",
                                              "--epochs", "1", "--runs-dir", str(runs)])  # fmt: skip
    assert code == 0, err[-2000:]
    code, imgs, err = run_cli(tmp, "train", ["--task", "images", "--data", str(folder), "--preset", "orientation-fast",
                                             "--epochs", "1", "--image-size", "24", "--runs-dir", str(runs)])  # fmt: skip
    assert code == 0, err[-2000:]
    return {"tmp": tmp, "npz": npz, "folder": folder, "mnist": mnist["run_dir"], "images": imgs["run_dir"]}


def spec_case(layers, image_size: int = 24, **extra):
    """Args to train an image folder with a hostile --spec."""

    def build(tmp: Path, w: dict) -> list[str]:
        spec = write_spec(tmp / "spec.json", layers, **extra)
        return ["--task", "images", "--data", str(w["folder"]), "--spec", str(spec), "--image-size", str(image_size)]

    return build


def spec_file(write):
    def build(tmp: Path, w: dict) -> list[str]:
        return ["--task", "images", "--data", str(w["folder"]), "--spec", str(write(tmp))]

    return build


def _text(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


FLAT = {"kind": "Flatten"}
SPEC_CASES = [
    ("filters-text", spec_case([{"kind": "Conv2D", "filters": "abc", "kernel_size": 3}, FLAT]), "filters to be a whole number"),
    ("filters-object", spec_case([{"kind": "Conv2D", "filters": {"n": 3}, "kernel_size": 3}, FLAT]), "filters to be a whole number"),
    ("filters-bool", spec_case([{"kind": "Conv2D", "filters": True, "kernel_size": 3}, FLAT]), "filters to be a whole number"),
    ("kernel-fraction", spec_case([{"kind": "Conv2D", "filters": 4, "kernel_size": 2.5}, FLAT]), "kernel_size to be a whole number"),
    ("units-negative", spec_case([FLAT, {"kind": "Dense", "units": -4}]), "units in 1..65536"),
    ("units-huge", spec_case([FLAT, {"kind": "Dense", "units": 10**12}]), "units in 1..65536"),
    ("activation-number", spec_case([FLAT, {"kind": "Dense", "units": 4, "activation": 3}]), "activation to be text"),
    ("activation-unknown", spec_case([FLAT, {"kind": "Dense", "units": 4, "activation": "relu6"}]), "activation in relu"),
    ("kind-number", spec_case([{"kind": 7}]), "expected an object with a 'kind'"),
    ("layer-string", spec_case(["Dense"]), "expected an object with a 'kind'"),
    ("layers-string", spec_case("Dense"), "needs a 'layers' list"),
    ("kind-unknown", spec_case([{"kind": "Conv3D"}, FLAT]), "unknown kind 'Conv3D'"),
    ("field-unknown", spec_case([{"kind": "Dense", "units": 3, "size": 4}]), "unknown field"),
    ("name-list", spec_case([FLAT], name=["x"]), "name to be text"),
    ("description-long", spec_case([FLAT], description="x" * 5000), "at most 2000 characters"),
    ("augment-text", spec_case([FLAT], augment="flip"), "augment to be an object"),
    ("augment-range", spec_case([FLAT], augment={"rotation": 5}), "rotation in 0..0.5"),
    ("augment-unknown", spec_case([FLAT], augment={"blur": 1}), "Unknown augmentation option"),
    ("augment-flip-word", spec_case([FLAT], augment={"flip": "diagonal"}), "flip in horizontal"),
    ("epochs-text", spec_case([FLAT], epochs="10"), "epochs to be a whole number"),
    ("lr-nan", spec_case([FLAT], learning_rate=float("nan")), "learning_rate in"),
    ("lr-infinity", spec_case([FLAT], learning_rate=float("inf")), "learning_rate in"),
    ("dropout-one", spec_case([{"kind": "Dropout", "rate": 1.0}, FLAT]), "rate in 0..0.95"),
    ("pool-zero", spec_case([{"kind": "MaxPooling2D", "pool_size": 0}, FLAT]), "pool_size in 1..8"),
    ("strides-100", spec_case([{"kind": "Conv2D", "filters": 2, "kernel_size": 3, "strides": 100}, FLAT]), "strides in 1..8"),
    ("required-missing", spec_case([{"kind": "Conv2D", "kernel_size": 3}, FLAT]), "filters is required"),
    ("huge-conv-memory", spec_case([{"kind": "Conv2D", "filters": 4096, "kernel_size": 3}, {"kind": "GlobalMaxPooling2D"}],
                                   image_size=1024), "Training this model needs about"),
    ("huge-dense-memory", spec_case([FLAT, {"kind": "Dense", "units": 65536}, {"kind": "Dense", "units": 65536}]),
     "Training this model needs about"),
    ("flatten-too-long", spec_case([{"kind": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, FLAT],
                                   image_size=1024), "Flatten would make a vector of 4,194,304"),
    ("deep-json", spec_file(lambda tmp: _text(tmp, "deep.json", "[" * 100_000 + "]" * 100_000)), "nested too deeply"),
    ("top-level-list", spec_file(lambda tmp: _text(tmp, "list.json", "[1, 2]")), "to hold a JSON object"),
    ("not-utf8", spec_file(lambda tmp: _text(tmp, "bytes.json", b"\xff\xfe{\x00")), "not valid JSON"),
    ("too-large", spec_file(lambda tmp: _text(tmp, "big.json", '{"description": "' + "x" * 2_000_000 + '"}')), "at most 1,024 kB"),
    ("dev-zero", spec_file(lambda tmp: Path("/dev/zero")), "a folder or special file"),
    ("fifo", spec_file(lambda tmp: fifo(tmp / "pipe.json")), "a folder or special file"),
    ("folder", spec_file(lambda tmp: tmp), "a folder or special file"),
    ("missing", spec_file(lambda tmp: tmp / "nope.json"), "Could not read the model spec"),
]  # fmt: skip


def mnist_case(make):
    def build(tmp: Path, w: dict) -> list[str]:
        return ["--task", "mnist", "--data", str(make(tmp)), "--preset", "mnist-mlp", "--epochs", "1"]

    return build


def _npz(name, x, y, **kw):
    return lambda tmp: write_npz(tmp / name, x, y, **kw)


X, Y = digits(100)
NPZ_CASES = [
    ("labels-10", mnist_case(_npz("a.npz", X, Y + 1)), "y_train in 0..9"),
    ("labels-negative", mnist_case(_npz("b.npz", X, Y - 1)), "y_train in 0..9"),
    ("labels-fraction", mnist_case(_npz("c.npz", X, Y + 0.5)), "whole numbers 0..9"),
    ("labels-words", mnist_case(_npz("d.npz", X, np.array(["cat"] * 100))), "digits 0..9"),
    ("labels-2d", mnist_case(_npz("e.npz", X, Y[:, None])), "y_train of shape (N,)"),
    ("labels-one-class", mnist_case(_npz("f.npz", X, Y * 0)), "a single class"),
    ("images-nan", mnist_case(_npz("g.npz", np.where(X > 100, np.nan, X / 255.0), Y)), "NaN or infinite"),
    ("images-32px", mnist_case(_npz("h.npz", np.zeros((100, 32, 32), np.uint8), Y)), "shape (N, 28, 28)"),
    ("images-flat", mnist_case(_npz("i.npz", X.reshape(100, -1), Y)), "shape (N, 28, 28)"),
    ("images-negative", mnist_case(_npz("j.npz", X.astype(np.int16) - 300, Y)), "pixel values in 0..255"),
    ("count-mismatch", mnist_case(_npz("k.npz", X, Y[:50])), "has 100 images but y_train has 50"),
    ("object-array", mnist_case(lambda tmp: _obj_npz(tmp / "o.npz")), "not a readable .npz"),
    (
        "declared-gigabytes",
        mnist_case(lambda tmp: npz_with_lying_size(tmp / "bomb.npz", 3 * 1024**3)),
        "would expand to",
    ),
    ("npz-is-text", mnist_case(lambda tmp: _text(tmp, "t.npz", "hello")), "not a readable .npz"),
    ("npz-is-fifo", mnist_case(lambda tmp: fifo(tmp / "p.npz")), "device, pipe or socket"),
]


def _obj_npz(path: Path) -> Path:
    np.savez(path, x_train=np.array([{"a": 1}] * 3, dtype=object), y_train=np.zeros(3), x_test=np.zeros((1, 28, 28)),
             y_test=np.zeros(1))  # fmt: skip
    return path


def folder_case(make):
    def build(tmp: Path, w: dict) -> list[str]:
        return ["--task", "images", "--data", str(make(tmp, w)), "--preset", "orientation-fast", "--epochs", "1",
                "--image-size", "24"]  # fmt: skip

    return build


def _linked_class(tmp: Path, w: dict) -> Path:
    root = tmp / "linked"
    (root / "real").mkdir(parents=True)
    for i in range(6):
        stripes("h", 24, seed=i).save(root / "real" / f"{i}.png")
    (root / "escape").symlink_to("/", target_is_directory=True)
    return root


def _bad_files_in_class(tmp: Path, w: dict) -> Path:
    root = tmp / "badfiles"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            stripes("h" if cls == "a" else "v", 24, seed=i).save(root / cls / f"{i}.png")
    (root / "a" / "passwd.png").symlink_to("/etc/passwd")
    fifo(root / "b" / "pipe.png")
    (root / "b" / "zero.png").symlink_to("/dev/zero")
    return root


def _all_corrupt(tmp: Path, w: dict) -> Path:
    root = tmp / "corrupt"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            (root / cls / f"{i}.png").write_bytes(png_header_then_noise(50 + i))
    return root


def _sixteen_bit(tmp: Path, w: dict) -> Path:
    root = tmp / "xray16"
    for cls in ("frontal", "lateral"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            arr = np.asarray(image_16bit(), dtype=np.uint16)
            Image.fromarray(arr.T.copy() if cls == "lateral" else arr).save(root / cls / f"{i}.png")
        (root / cls / "lab.tiff").write_bytes(lab_tiff())
    return root


FOLDER_CASES = [
    ("class-link-escapes", folder_case(_linked_class), "at least 2 class subfolders"),
    ("all-corrupt", folder_case(_all_corrupt), "at least 5 readable images"),
    ("links-fifo-zero-skipped", folder_case(_bad_files_in_class), None),
    ("sixteen-bit-and-lab", folder_case(_sixteen_bit), None),
]


def predict_case(run: str, make):
    def build(tmp: Path, w: dict) -> list[str]:
        return ["--run", w[run], str(make(tmp))]

    return build


def _file(name: str, data: bytes):
    return lambda tmp: _text(tmp, name, data)


PREDICT_CASES = [
    ("folder", predict_case("images", lambda tmp: tmp), "Received a folder"),
    ("dev-null", predict_case("images", lambda tmp: Path("/dev/null")), "device, pipe or socket"),
    ("fifo", predict_case("images", lambda tmp: fifo(tmp / "p.png")), "device, pipe or socket"),
    ("missing", predict_case("images", lambda tmp: tmp / "nope.png"), "not found"),
    ("empty", predict_case("images", _file("e.png", b"")), "empty (0 bytes)"),
    ("text", predict_case("images", _file("t.png", b"hello")), "not an image"),
    ("truncated", predict_case("images", _file("cut.png", png_bytes(image_16bit())[:60])), "corrupt"),
    ("sixteen-bit", predict_case("images", _file("x16.png", png_bytes(image_16bit()))), None),
    ("float-nan-tiff", predict_case("images", _file("f.tiff", float_tiff_with_nan())), None),
    ("lab-tiff", predict_case("images", _file("lab.tiff", lab_tiff())), None),
    ("thin-1x500", predict_case("images", _file("thin.png", png_bytes(Image.new("L", (500, 1), 90)))), None),
    ("digit-few-dots", predict_case("mnist", _file("dots.png", png_bytes(few_dots()))), "No digit found"),
    ("digit-thin", predict_case("mnist", _file("thin.png", png_bytes(Image.new("L", (1, 300), 0)))), "No digit found"),
]


def _damaged_run(content: str):
    def build(tmp: Path, w: dict) -> list[str]:
        run = tmp / "runs" / "20260101-000000-damaged"
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(content)
        return ["--run", str(run)]

    return build


OTHER_CASES = [
    ("evaluate", "evaluate-config-not-json", _damaged_run("{not json"), "no usable class names"),
    ("evaluate", "evaluate-config-deep", _damaged_run("[" * 50_000 + "]" * 50_000), "no usable class names"),
    ("evaluate", "evaluate-config-wrong-types", _damaged_run('{"task": 3, "class_names": "ab", "spec": []}'),
     "no usable class names"),  # fmt: skip
    ("evaluate", "evaluate-dev-null", lambda tmp, w: ["--run", "/dev/null"], "Run folder not found"),
    ("train", "epochs-float", lambda tmp, w: ["--task", "mnist", "--preset", "mnist-mlp", "--epochs", "1e3"], "invalid int value"),
    ("train", "seed-huge", lambda tmp, w: ["--task", "mnist", "--preset", "mnist-mlp", "--seed", str(2**40)], "seed in 0..2147483647"),
    ("train", "budget-negative", lambda tmp, w: ["--task", "mnist", "--preset", "mnist-mlp", "--max-seconds", "-1"], "max_seconds in 1"),
    ("train", "held-out-too-much", lambda tmp, w: ["--task", "images", "--data", str(w["folder"]), "--preset", "orientation-fast",
                                                  "--validation-fraction", "0.5", "--test-fraction", "0.45"], "leave at least 10%"),
    ("train", "image-size-4", lambda tmp, w: ["--task", "images", "--data", str(w["folder"]), "--preset", "orientation-fast",
                                             "--image-size", "4"], "image_size in 8..1024"),
    ("train", "optimizer-unknown", lambda tmp, w: ["--task", "mnist", "--preset", "mnist-mlp", "--optimizer", "lion"], "optimizer in adam"),
    ("train", "run-dir-finished", lambda tmp, w: ["--run-dir", w["mnist"]], "not queued"),
    ("train", "run-dir-plus-settings", lambda tmp, w: ["--run-dir", w["mnist"], "--epochs", "2"], "give no other settings"),
]  # fmt: skip

CASES = (
    [("train", f"spec-{n}", b, m) for n, b, m in SPEC_CASES]
    + [("train", f"npz-{n}", b, m) for n, b, m in NPZ_CASES]
    + [("train", f"folder-{n}", b, m) for n, b, m in FOLDER_CASES]
    + [("predict", f"predict-{n}", b, m) for n, b, m in PREDICT_CASES]
    + OTHER_CASES
)


def test_there_are_at_least_60_cases():
    assert len({c[1] for c in CASES}) == len(CASES) >= 60


@pytest.mark.parametrize("module, name, build, message", CASES, ids=[c[1] for c in CASES])
def test_hostile_cli_input(world, tmp_path, module, name, build, message):
    args = build(tmp_path, world)
    runs = tmp_path / "runs"
    if module == "train" and "--run-dir" not in args:
        args += ["--runs-dir", str(runs)]
    code, out, err = run_cli(tmp_path, module, args)
    assert "Traceback" not in err, err[-2000:]
    if message is None:  # handled: trained or predicted, and said what it did
        assert code == 0, (out, err[-1500:])
        return
    assert code == 2, (out, err[-1500:])
    assert message in out["error"], out["error"]
    leftovers = [p for p in runs.rglob("*.tmp")] if runs.exists() else []
    assert leftovers == []
    for status in runs.glob("*/status.json") if runs.exists() else []:
        assert json.loads(status.read_text())["status"] == "failed"  # a refused run never looks alive


def test_handled_cases_say_what_was_done(world, tmp_path):
    """A 0..1 .npz trains (multiplied by 255, in the log); linked and special files are reported."""
    x, y = digits(200, np.float32, 1.0)
    npz = write_npz(tmp_path / "unit.npz", x, y)
    code, out, err = run_cli(tmp_path, "train", ["--task", "mnist", "--data", str(npz), "--preset", "mnist-mlp",
                                                 "--epochs", "1", "--runs-dir", str(tmp_path / "runs")])  # fmt: skip
    assert code == 0 and "multiplied by 255" in (Path(out["run_dir"]) / "log.txt").read_text()
    folder = _bad_files_in_class(tmp_path, world)
    code, out, err = run_cli(tmp_path, "train", folder_case(lambda t, w: folder)(tmp_path, world) +
                             ["--runs-dir", str(tmp_path / "runs")])  # fmt: skip
    skipped = {
        Path(s["path"]).name: s["reason"]
        for s in json.loads((Path(out["run_dir"]) / "config.json").read_text())["skipped_files"]
    }
    assert "outside the dataset" in skipped["passwd.png"] and "outside the dataset" in skipped["zero.png"]
    assert "device, pipe or socket" in skipped["pipe.png"]
