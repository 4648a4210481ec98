"""Hostile input to the core functions the pages call: images, drawings, run folders, pids,
zip imports, settings and rate limits. Each case is handled (with what was done) or refused
with an InputError that says why; nothing else escapes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hostile_files import (
    few_dots,
    float_tiff_with_nan,
    image_16bit,
    lab_tiff,
    near_limit_png,
    png_bytes,
    png_header_then_noise,
    zip_of,
)
from PIL import Image

from core.access import limits
from core.access.roles import LOCAL, Actor
from core.base.errors import InputError
from core.base.storage import write_json_atomic
from core.data.images import PixelBudget, decode_png_data_url, open_image, to_mode
from core.data.zip_import import ImportLimits, import_zip
from core.runs.jobs import JobManager
from core.runs.progress import progress, stop_words
from core.runs.store import RunStore, procs
from core.serving.inference import ModelInput, preprocess
from core.tasks import Job, validate


def _gif_animated() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("L", (20, 20), v) for v in (0, 255)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _bomb_header() -> bytes:
    """A valid PNG whose header says 60000 x 60000 (3.6 gigapixels): refused before decoding."""
    import struct
    import zlib

    data = bytearray(png_bytes(Image.new("L", (10, 10))))
    data[16:24] = struct.pack(">II", 60000, 60000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # the IHDR chunk's CRC
    return bytes(data)


IMAGES = {  # name -> (bytes, None if usable else a words of the refusal)
    "empty": (b"", "empty"),
    "text": (b"hello, not an image", "not an image"),
    "png-header-then-noise": (png_header_then_noise(200), "not an image"),
    "truncated": (png_bytes(image_16bit())[:80], "corrupt"),
    "bomb-header": (_bomb_header(), "decompression bomb"),
    "sixteen-bit": (png_bytes(image_16bit()), None),
    "float-nan-tiff": (float_tiff_with_nan(), None),
    "lab-tiff": (lab_tiff(), None),
    "cmyk-jpeg": (png_bytes(Image.new("CMYK", (30, 20), (0, 50, 100, 0)), "JPEG"), None),
    "ycbcr-tiff": (png_bytes(Image.new("YCbCr", (30, 20)), "TIFF"), None),
    "one-bit": (png_bytes(Image.new("1", (30, 20), 1)), None),
    "palette-transparent": (png_bytes(Image.new("P", (30, 20))), None),
    "thin-1x900": (png_bytes(Image.new("L", (900, 1), 40)), None),
    "one-pixel": (png_bytes(Image.new("RGB", (1, 1), (1, 2, 3))), None),
    "animated-gif": (_gif_animated(), None),
    "int32-tiff": (
        png_bytes(Image.fromarray(np.arange(400, dtype=np.int32).reshape(20, 20) * 1000, "I"), "TIFF"),
        None,
    ),
    "webp-rgba": (png_bytes(Image.new("RGBA", (20, 20), (1, 2, 3, 0)), "WEBP"), None),
    "few-dots": (png_bytes(few_dots()), None),
}


@pytest.mark.parametrize("name", IMAGES)
def test_every_image_opens_to_a_common_mode_or_is_refused(name):
    data, refusal = IMAGES[name]
    if refusal is not None:
        with pytest.raises(InputError, match=refusal):
            open_image(data)
        return
    img, info = open_image(data)
    assert img.mode in ("L", "LA", "RGB", "RGBA")
    for mode in ("grayscale", "rgb"):
        arr = np.asarray(to_mode(img, mode), dtype=np.float32)
        assert np.isfinite(arr).all()
    spec = ModelInput(False, 32, "rgb", ("a", "b"))
    assert preprocess(img, spec).shape == (32, 32, 3)
    try:  # an MNIST model either reads a digit or says there is none: never NaN
        x = preprocess(img, ModelInput(True, 28, "grayscale", tuple("0123456789")))
    except InputError as exc:
        assert "No digit found" in str(exc)
    else:
        assert x.shape == (28, 28, 1) and np.isfinite(x).all()


def test_large_images_are_shrunk_at_once_and_budgets_stop_decoding():
    data = near_limit_png(20)
    img, info = open_image(data)
    assert max(img.size) == 1024 and info.width * info.height > 19e6  # kept small, header says the truth
    budget = PixelBudget(30_000_000, "This request")
    open_image(data, budget=budget)
    with pytest.raises(InputError, match="This request may decode"):
        open_image(data, budget=budget)


def test_the_session_rate_of_decoding_is_limited(monkeypatch):
    monkeypatch.setitem(limits.RATES, "decode", limits.Rate(50, 60, "megapixels of images decoded"))
    data = near_limit_png(20)
    open_image(data, budget=PixelBudget(10**9, "x", session="s1"))
    open_image(data, budget=PixelBudget(10**9, "x", session="s1"))
    with pytest.raises(InputError, match="Slow down: at most 50 megapixels"):
        open_image(data, budget=PixelBudget(10**9, "x", session="s1"))
    open_image(data, budget=PixelBudget(10**9, "x", session="s2"))  # another visitor is not slowed


DRAWINGS = {
    "not-text": (12345, "Expected a PNG drawing"),
    "wrong-prefix": ("data:image/gif;base64,R0lGOD", "Expected a PNG drawing"),
    "bad-base64": ("data:image/png;base64,@@@@", "bad base64"),
    "junk-bytes": ("data:image/png;base64," + "QUJD" * 10, "not an image"),
    "too-large": ("data:image/png;base64," + "A" * 3_000_000, "larger than"),
    "huge-png": ("data:image/png;base64," + __import__("base64").b64encode(near_limit_png(39)).decode(), None),
}


@pytest.mark.parametrize("name", DRAWINGS)
def test_crafted_drawing_pad_messages(name):
    data, refusal = DRAWINGS[name]
    if refusal is None:  # a decodable but enormous drawing: charged to the budget, then refused
        with pytest.raises(InputError, match="may decode"):
            decode_png_data_url(data, 2 * 1024 * 1024, PixelBudget(1_000_000, "The drawing pad"))
        return
    with pytest.raises(InputError, match=refusal):
        decode_png_data_url(data, 2 * 1024 * 1024)


def test_a_real_drawing_decodes_white_background_black_ink():
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    canvas.paste((0, 0, 0, 255), (100, 50, 180, 230))
    url = "data:image/png;base64," + __import__("base64").b64encode(png_bytes(canvas)).decode()
    img = decode_png_data_url(url, 2 * 1024 * 1024)
    arr = np.asarray(img)
    assert img.mode == "L" and arr[0, 0] == 255 and arr[120, 140] == 0


# ----- run folders ------------------------------------------------------------------------

STATUS = {
    "not-json": ('{"status": "runn', "damaged"),
    "a-list": ("[1, 2, 3]", "damaged"),
    "deep": ("[" * 50_000 + "]" * 50_000, "damaged"),
    "unknown-state": ('{"status": "exploded"}', "damaged"),
    "wrong-types": (
        '{"status": "completed", "epochs_done": "many", "best_val_accuracy": "NaN", "error": 5}',
        "completed",
    ),
    "huge": ('{"status": "completed", "error": "' + "x" * 200_000 + '"}', "damaged"),
    "pid-minus-one": ('{"status": "running", "pid": -1, "pid_start": 1}', "interrupted"),
    "pid-text": ('{"status": "running", "pid": "1"}', "interrupted"),
    "progress-junk": (
        '{"status": "running", "epoch": 2, "epochs": 0, "batch": -5, "steps_per_epoch": 0}',
        "interrupted",
    ),
}


@pytest.mark.parametrize("name", STATUS)
def test_damaged_status_files_are_shown_not_crashed_on(tmp_path, name):
    text, expected = STATUS[name]
    store = RunStore(tmp_path)
    run = store.create("x", {"task": "mnist"})
    run.status_path.write_text(text)
    [listed] = store.list()  # listing marks a dead "running" run interrupted
    summary = listed.summary()
    assert summary["status"] == expected
    st = listed.status()
    for key in ("epochs_done", "best_val_accuracy", "train_seconds"):
        assert st.get(key) is None or isinstance(st[key], int | float)
    p = progress(st)
    assert p is None or 0.0 <= p.fraction <= 1.0
    stop_words(st)
    if expected == "damaged":
        assert "damaged" in summary["error"]


CONFIGS = {
    "not-json": "{nope",
    "special-types": '{"task": ["mnist"], "data": {"x": 1}, "preset": 7, "created": null, "class_names": "abc"}',
    "deep": "{" + '"a":{' * 10_000 + "}" * 10_001,
    "bad-spec": '{"task": "images", "class_names": ["a", "b"], "spec": {"image_size": "big", "color_mode": 3}}',
}


@pytest.mark.parametrize("name", CONFIGS)
def test_damaged_config_files(tmp_path, name):
    from core.tasks import model_input as model_input_for

    store = RunStore(tmp_path)
    run = store.create("x", {})
    run.config_path.write_text(CONFIGS[name])
    summary = run.summary()
    assert all(summary[k] is None or isinstance(summary[k], str) for k in ("task", "preset", "dataset"))
    with pytest.raises(InputError):
        model_input_for(run)


def test_special_files_in_a_run_folder_never_block(tmp_path):
    store = RunStore(tmp_path)
    run = store.create("x", {})
    run.status_path.unlink()
    os.mkfifo(run.status_path)
    (run.path / "history.csv").symlink_to("/dev/zero")
    os.mkfifo(run.path / "note.txt")
    assert run.status()["status"] == "damaged"
    assert run.history() == [] and run.note() == ""


def test_metrics_with_wrong_shapes_are_dropped(tmp_path):
    run = RunStore(tmp_path).create("x", {})
    write_json_atomic(run.path / "metrics.json", {"accuracy": "high", "class_names": ["a", "b"],
                                                  "confusion_matrix": [[1, 2], [3]], "per_class": {}})  # fmt: skip
    m = run.metrics()
    assert "accuracy" not in m and "confusion_matrix" not in m


def test_oversized_writes_and_notes_are_refused(tmp_path):
    run = RunStore(tmp_path).create("x", {})
    with pytest.raises(InputError, match="Refusing to write"):
        run.update_config(description="x" * 5_000_000)
    with pytest.raises(InputError, match="at most 10,000 characters"):
        run.write_note("x" * 10_001, actor=LOCAL)
    assert run.config()["run_id"] == run.id  # unchanged


# ----- processes ---------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [-1, 0, 1, "123", True, None, 2**40])
def test_impossible_pids_are_never_alive_or_signalled(pid):
    assert not procs.alive(pid, 1)
    assert not procs.signal_training(pid, 1, signal.SIGKILL)


def test_a_recycled_or_foreign_pid_is_left_alone(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        ticks = procs.start_ticks(sleeper.pid)
        assert procs.alive(sleeper.pid, ticks) and not procs.alive(sleeper.pid, ticks + 1)  # other start: recycled
        assert not procs.signal_training(sleeper.pid, ticks, signal.SIGKILL)  # not a training process
        assert not procs.signal_training(os.getpid(), procs.start_ticks(os.getpid()), signal.SIGKILL)  # never ourselves
        run = RunStore(tmp_path).create("victim", {})
        run.update_status(status="running", pid=sleeper.pid, pid_start=ticks + 1)  # a forged or recycled pid
        run.request_stop()
        assert "nothing to stop" in JobManager(tmp_path).stop(run.id, force=True, actor=LOCAL)
        assert run.status()["status"] == "interrupted"
        time.sleep(0.2)
        assert sleeper.poll() is None  # still alive: the forged status reached nobody
    finally:
        sleeper.kill()
        sleeper.wait()


# ----- zip imports --------------------------------------------------------------------------


def _classes(n: int = 3, size: int = 20) -> dict[str, bytes]:
    return {f"{c}/{i}.png": png_bytes(Image.new("L", (size, size), i * 20)) for c in ("cats", "dogs") for i in range(n)}


def test_import_quota_is_shared_by_all_imports(tmp_path, monkeypatch):
    from core.data.zip_import import imported_bytes

    import_zip(zip_of(_classes()), "first", tmp_path, actor=LOCAL)
    monkeypatch.setenv("CNNLAB_IMPORT_QUOTA_MB", str(imported_bytes(tmp_path) / 1024**2))  # now full
    with pytest.raises(InputError, match="space for imported datasets is full"):
        import_zip(zip_of(_classes()), "second", tmp_path, actor=LOCAL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]


def test_import_stops_at_its_pixel_budget_and_time_limit(tmp_path):
    big = {f"{c}/{i}.png": near_limit_png(4) for c in ("a", "b") for i in range(3)}
    with pytest.raises(InputError, match="this import may decode"):
        import_zip(zip_of(big), "pixels", tmp_path, limits=ImportLimits(max_pixels=10_000_000), actor=LOCAL)
    with pytest.raises(InputError, match="took longer than 0 s"):
        import_zip(zip_of(_classes()), "slow", tmp_path, limits=ImportLimits(max_seconds=0), actor=LOCAL)
    assert list(tmp_path.iterdir()) == []  # nothing half-imported


def test_imports_per_session_are_limited(tmp_path, monkeypatch):
    monkeypatch.setitem(limits.RATES, "import", limits.Rate(2, 3600, "zip imports"))
    for n in range(2):
        import_zip(zip_of(_classes()), f"ok{n}", tmp_path, actor=Actor("visitor", True))
    with pytest.raises(InputError, match="at most 2 zip imports per 1 h"):
        import_zip(zip_of(_classes()), "third", tmp_path, actor=Actor("visitor", True))
    import_zip(zip_of(_classes()), "cli", tmp_path, actor=LOCAL)  # the command line has no session limit


# ----- jobs --------------------------------------------------------------------------------


def test_queue_caps_per_session_and_in_total(tmp_path, mnist_npz, monkeypatch):
    from core.training import TrainConfig

    monkeypatch.setattr("core.runs.jobs.MAX_JOBS_PER_SESSION", 2)
    monkeypatch.setenv("CNNLAB_MAX_QUEUE", "4")
    manager = JobManager(tmp_path / "runs", max_running=1)
    busy = manager.store.create("busy", {})  # a running job that holds the only slot
    busy.update_status(status="running", pid=os.getpid(), pid_start=procs.start_ticks(os.getpid()))
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")
    manager.submit(Job(cfg), actor=Actor("a", True))
    manager.submit(Job(cfg), actor=Actor("a", True))
    with pytest.raises(InputError, match="You already have 2 jobs waiting"):
        manager.submit(Job(cfg), actor=Actor("a", True))
    manager.submit(Job(cfg), actor=Actor("b", True))
    with pytest.raises(InputError, match="The queue is full"):
        manager.submit(Job(cfg), actor=Actor("c", True))
    for run in manager.queued():
        manager.stop(run.id, actor=LOCAL)


def test_submissions_per_session_are_rate_limited(tmp_path, mnist_npz, monkeypatch):
    from core.training import TrainConfig

    monkeypatch.setitem(limits.RATES, "submit", limits.Rate(1, 600, "trainings started"))
    manager = JobManager(tmp_path / "runs", max_running=1)
    busy = manager.store.create("busy", {})
    busy.update_status(status="running", pid=os.getpid(), pid_start=procs.start_ticks(os.getpid()))
    cfg = TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp")
    run = manager.submit(Job(cfg), actor=Actor("a", True))
    with pytest.raises(InputError, match="Slow down: at most 1 trainings started per 10 min"):
        manager.submit(Job(cfg), actor=Actor("a", True))
    manager.stop(run.id, actor=LOCAL)


# ----- settings ----------------------------------------------------------------------------

SETTINGS_CASES = [
    ({"epochs": "3"}, "epochs to be a whole number"),
    ({"epochs": 2.5}, "epochs to be a whole number"),
    ({"epochs": True}, "epochs to be a whole number"),
    ({"batch_size": 10**9}, "batch_size in 1..4096"),
    ({"learning_rate": float("nan")}, "learning_rate in"),
    ({"learning_rate": [0.1]}, "learning_rate to be a number"),
    ({"optimizer": "Adam"}, "optimizer in adam"),
    ({"color_mode": None}, "color_mode to be text"),
    ({"max_seconds": 0}, "max_seconds in 1"),
    ({"nonsense": 1}, "Unknown setting"),
]


@pytest.mark.parametrize("settings, message", SETTINGS_CASES)
def test_bad_settings_from_any_surface(settings, message, mnist_npz):
    from core.training import TrainConfig

    with pytest.raises(InputError, match=message):
        validate(TrainConfig.from_preset("mnist", str(mnist_npz), "mnist-mlp", settings=settings))


def test_config_json_round_trip_refuses_planted_values(tmp_path):
    from core.training import TrainConfig

    cfg = TrainConfig.from_preset("mnist", None, "mnist-mlp").to_dict()
    cfg["spec"]["layers"][1]["units"] = "16; rm -rf /"
    with pytest.raises(InputError, match="units to be a whole number"):
        TrainConfig.from_dict(json.loads(json.dumps(cfg)))
