"""AppTest of the Train and Learning-curves pages, with runs seeded in a temporary folder."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import zipfile

import pytest
from conftest import ROOT, seed_run
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.access.roles import LOCAL
from core.runs.jobs import JobManager
from core.runs.procs import start_ticks
from core.runs.store import RunStore
from core.training import SETTINGS

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    rows = [f"{e},{1 / e:.3f},{0.5 + e / 20:.3f},{1.2 / e:.3f},{0.45 + e / 20:.3f},0.001,1.0\n" for e in range(1, 5)]
    a = seed_run(root, "20261120-100000-a", "completed", rows, metrics={"accuracy": 0.71, "loss": 0.4}, best_epoch=4,
                 best_val_accuracy=0.65, epochs_done=4, epochs=5)  # fmt: skip
    (a / "batches.csv").write_text(
        "epoch,batch,step,loss,accuracy,seconds\n"
        + "".join(f"1,{s},{s},{2 / s:.3f},0.5,{s / 10}\n" for s in (10, 20, 30, 40))
    )
    seed_run(
        root,
        "20261120-110000-b",
        "completed",
        rows[:3],
        lr=0.01,
        metrics={"accuracy": 0.6},
        best_epoch=3,
        epochs_done=3,
        epochs=3,
    )
    seed_run(root, "20261120-120000-c", "failed", [], error="The loss became NaN at epoch 2.")
    half = seed_run(root, "20261120-130000-half", "running", rows[:2] + ["3,0.3,0.6"], pid=999_999_99)
    (half / "status.json").write_text('{"status": "runn')  # torn write of a crashed process
    return root


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_curves_page_lists_every_run_even_a_half_written_one(runs):
    at = page("curves")
    table = at.dataframe[0].value
    assert set(table["run"]) == {"20261120-100000-a", "20261120-110000-b", "20261120-120000-c", "20261120-130000-half"}
    assert table.set_index("run").loc["20261120-120000-c", "error"].startswith("The loss became NaN")
    assert table.set_index("run").loc["20261120-100000-a", "test_acc"] == pytest.approx(0.71)


def test_curves_compare_two_runs_shows_what_differs(runs):
    at = page("curves")
    at.multiselect(key="curves_selected").set_value(["20261120-100000-a", "20261120-110000-b"]).run()
    assert not at.exception
    diff = at.dataframe[1].value
    label = {s.name: s.label for s in SETTINGS}  # rows are named as on the Train page
    assert label["learning_rate"] in diff.index and label["optimizer"] not in diff.index
    at.slider(key="curves_smoothing").set_value(0.5).run()
    at.segmented_control(key="curves_view").set_value("batches").run()
    assert not at.exception
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    xs = [x for c in charts for trace in c["data"] for x in (trace.get("x") or [])]
    assert 30 in xs and 40 in xs  # steps from run a's batches.csv


def test_failed_run_shows_its_error_and_can_be_deleted(runs):
    at = page("curves")
    at.multiselect(key="curves_selected").set_value(["20261120-120000-c"]).run()
    assert any("NaN" in e.value for e in at.error)
    at.text_area(key="note_20261120-120000-c").input("lr too high").run()
    at.button(key="save_20261120-120000-c").click().run()
    assert (runs / "20261120-120000-c" / "note.txt").read_text() == "lr too high"
    at.button(key="del_20261120-120000-c").click().run()
    assert not at.exception
    assert not (runs / "20261120-120000-c").exists()
    assert (runs / "20261120-100000-a").exists()  # no other run damaged


def test_train_page_renders_with_a_finished_run(runs, tmp_path, mnist_npz):
    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    at = page("train")
    at.selectbox(key="train_preset_mnist").set_value("mnist-mlp").run()
    assert any("13,002 parameters" in m.value for m in at.markdown)
    assert any("s per epoch" in c.value for c in at.caption)
    at.selectbox(key="train_run_id").set_value("20261120-100000-a").run()
    assert any("test accuracy **71.00%**" in s.value for s in at.success)
    assert not at.exception


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _png(v: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (20, 20), v).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "files, message",
    [
        ({f"{c}/{i}.png": _png(i * 30) for c in ("up", "down") for i in range(6)} | {"up/notes.txt": b"x"}, "Imported"),
        ({"../../evil.png": _png(1)} | {f"{c}/{i}.png": _png(i) for c in ("a", "b") for i in range(3)}, "climbs out"),
        ({f"only/{i}.png": _png(i) for i in range(6)}, "at least 2 class folders"),
        ({"x.zip": b"not really"}, "at least 2 class folders"),
    ],
    ids=["good", "zip-slip", "one-class", "no-images"],
)
def test_zip_upload_on_the_train_page(tmp_path, files, message):
    at = page("train")
    at.segmented_control(key="train_data_kind").set_value("Upload a zip").run()
    at.file_uploader(key="train_zip").upload("set.zip", _zip(files), "application/zip").run()
    at.button[0].click().run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error) + " ".join(s.value for s in at.success)
    assert message in shown
    data = tmp_path / "data"
    if message == "Imported":
        assert (data / "set" / "up").is_dir() and (data / "set" / "down").is_dir()
        at.segmented_control(key="train_data_kind").set_value("Image folder").run()
        assert not at.exception and "up" in at.dataframe[0].value["class"].tolist()
    else:
        assert not data.exists() or [p.name for p in data.iterdir()] == []


def test_corrupt_zip_upload(tmp_path):
    at = page("train")
    at.segmented_control(key="train_data_kind").set_value("Upload a zip").run()
    at.file_uploader(key="train_zip").upload("bad.zip", b"PK\x03\x04garbage", "application/zip").run()
    at.button[0].click().run()
    assert not at.exception and "not a readable zip" in at.error[0].value


def test_train_button_starts_a_background_job_and_a_second_one_queues(tmp_path, mnist_npz):
    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    at = page("train")
    at.selectbox(key="train_preset_mnist").set_value("mnist-mlp").run()
    at.number_input(key="t_epochs_mnist-mlp").set_value(30).run()
    assert "Nothing is training." in [c.value for c in at.sidebar.caption]
    train = next(b for b in at.button if b.label == "Train")
    train.click().run()
    assert not at.exception
    manager = JobManager()
    first = RunStore().list()[0]
    assert first.status().get("pid")  # started in its own process
    said = [c.value for c in at.sidebar.caption]  # "Training now" lists it on the page that started it (issue 27)
    assert "Nothing is training." not in said and any(c.startswith(f"`{first.id}`") for c in said), said
    queue = next(b for b in at.button if b.label.startswith("Add to the queue"))
    queue.click().run()
    runs = RunStore().list()
    assert len(runs) == 2 and runs[0].status()["status"] == "queued" and not runs[0].status().get("pid")
    assert any("waiting: number 1 in the queue" in i.value for i in at.info)
    for run in runs:
        manager.stop(run.id, force=True, actor=LOCAL)
    deadline = time.time() + 30
    while any(r.status()["status"] in ("queued", "running") for r in RunStore().list()) and time.time() < deadline:
        manager.pump()
        time.sleep(0.2)
    assert {r.status()["status"] for r in RunStore().list()} == {"stopped"}


def test_app_start_marks_vanished_runs_interrupted(tmp_path):
    root = tmp_path / "runs"
    seed_run(root, "20261120-140000-gone", "running", [], pid=os.getpid() + 10_000_000)
    AppTest.from_file(APP, default_timeout=120).run()
    assert json.loads((root / "20261120-140000-gone" / "status.json").read_text())["status"] == "interrupted"


def test_deleting_a_running_run_is_refused(tmp_path):
    root = tmp_path / "runs"
    seed_run(
        root,
        "20261120-150000-live",
        "running",
        [],
        pid=os.getpid(),
        pid_start=start_ticks(os.getpid()),
        epoch=1,
        epochs=5,
    )
    at = page("curves")
    at.button(key="del_20261120-150000-live").click().run()
    assert not at.exception
    assert any("still running; stop it first" in e.value for e in at.error)
    assert (root / "20261120-150000-live").is_dir()


def test_a_stopped_run_says_where_it_stopped_in_words(tmp_path):
    root = tmp_path / "runs"
    rows = ["1,0.5,0.8,0.6,0.79,0.001,12.0\n"]
    seed_run(root, "20261120-160000-stopped", "stopped", rows, metrics={"accuracy": 0.8}, stop_reason="stop_file",
             stop_message="stopped on request", epoch=1, epochs=5, batch=141, steps_per_epoch=422, epochs_done=1,
             best_epoch=1)  # fmt: skip
    at = page("train")
    at.selectbox(key="train_run_id").set_value("20261120-160000-stopped").run()
    message = next(s.value for s in at.success if "20261120-160000-stopped" in s.value)
    assert "stopped on request at epoch 1, batch 141 of 422" in message and "stop_file" not in message


def test_layers_move_and_a_misplaced_one_is_explained_under_the_table(tmp_path, mnist_npz):
    (tmp_path / "data").mkdir()
    shutil.copy(mnist_npz, tmp_path / "data" / "mnist.npz")
    at = page("train")
    at.selectbox(key="train_preset_mnist").set_value("keras-convnet").run()
    at.toggle(key="train_edit_layers").set_value(True).run()
    at.number_input(key="train_move_keras-convnet").set_value(4).run()  # the second MaxPooling2D
    next(b for b in at.button if b.label == "Down").click().run()  # now after Flatten
    assert not at.exception
    assert any("needs a 4-D feature map" in e.value for e in at.error)
    assert next(b for b in at.button if b.label.startswith(("Train", "Add"))).disabled
    next(b for b in at.button if b.label == "Up").click().run()  # back where it was
    assert not any("needs a 4-D feature map" in e.value for e in at.error)
    labels = list(at.dataframe[-1].value["layer"]) if at.dataframe else []
    assert labels[:5] == ["Conv2D 32 3x3 valid relu", "MaxPooling2D 2x2", "Conv2D 64 3x3 valid relu",
                          "MaxPooling2D 2x2", "Flatten"]  # fmt: skip
