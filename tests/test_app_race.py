"""AppTest of the Architecture race page: empty, a recorded race, its replay, starting one, the audience's view."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from conftest import ROOT, seed_race, stripes, synthetic_digits
from streamlit.testing.v1 import AppTest

from core.runs import jobs
from core.runs.procs import start_ticks
from core.runs.store import RunStore
from core.teaching.race import START_SECONDS

APP = str(ROOT / "streamlit_app.py")


def race_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/race.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def stopwatch(at: AppTest) -> float:
    return float(at.metric[0].value.removesuffix(" s"))


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    x, y = synthetic_digits(300, 1)
    np.savez_compressed(root / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    for cls, o in (("horizontal", "h"), ("vertical", "v")):
        (root / "stripes" / cls).mkdir(parents=True)
        for i in range(6):
            stripes(o, seed=i).save(root / "stripes" / cls / f"{i}.png")
    return root


@pytest.fixture
def fake_start(monkeypatch):
    """Starting a job marks it running under this test's process: nothing trains."""

    def start(self, run):
        run.update_status(status="running", pid=os.getpid(), pid_start=start_ticks(os.getpid()))

    monkeypatch.setattr(jobs.JobManager, "_start", start)


def test_the_page_renders_with_no_runs_and_proposes_a_race_that_ends_while_the_speaker_talks(data):
    at = race_page()
    assert at.title[0].value == "Architecture race"
    assert [at.selectbox(key=f"race_pick_mnist_{i}").value for i in range(2)] == ["mnist-fast", "mnist-mlp"]
    assert at.number_input(key="race_epochs").value == 1 and at.number_input(key="race_target_mnist").value == 98.0
    preview = at.dataframe[0].value
    assert list(preview["racer"]) == ["mnist-fast", "mnist-mlp"]
    assert "estimated s per epoch" in preview.columns
    slowest = max(float(s.replace(",", "")) for s in preview["estimated s per epoch"])
    said = next(c for c in texts(at, "caption").split("\n") if c.startswith("About "))
    assert said.startswith(f"About {round(START_SECONDS + slowest)} s from Start to the last finish"), said
    assert START_SECONDS + slowest < 60  # the default race, pressed without a change, is over in under a minute
    assert "Fair start: each racer gets 1 TensorFlow thread" in texts(at, "caption") or os.cpu_count() > 2
    assert "No race yet" in texts(at, "caption")
    assert not button(at, "Start the race").disabled  # alone on localhost: the presenter
    at.number_input(key="race_n").set_value(4).run()
    assert not at.exception and len(at.dataframe[0].value) == 4


def test_a_recorded_race_shows_the_winner_the_table_and_the_chart(tmp_path):
    seed_race(tmp_path / "runs")
    at = race_page()
    assert "**fast** wins" in texts(at, "success") and "after 20.0 s" in texts(at, "success")
    table = at.dataframe[-1].value
    assert list(table["racer"]) == ["fast", "big", "tiny"]
    assert list(table["seconds to the target"]) == ["20.0", "45.0", ""]  # tiny never got there: an empty cell
    assert list(table["best accuracy"]) == ["98.50%", "99.20%", "90.00%"]
    assert list(table["parameters"]) == ["1,000", "2,000", "3,000"]
    assert list(table["s per epoch (measured)"]) == ["10.0", "25.0", "5.0"]  # epochs of 5, 4 and 5 s
    assert table["s per epoch (estimate)"].str.len().min() > 0
    assert stopwatch(at) == 70.0  # a finished race: its length
    assert "Share of the CPU: fast: 1 thread, cores 0, 1 (shared); big:" in texts(at, "caption")
    chart = at.get("plotly_chart")[0].proto.spec
    assert "finish line 98.0%" in chart and "star" in chart and "tiny" in chart


def test_a_replay_redraws_the_race_from_disk(tmp_path):
    seed_race(tmp_path / "runs")
    at = race_page()
    at.segmented_control(key="race_speed").set_value("10×").run()
    button(at, "Replay").click().run()
    assert not at.exception, at.exception
    assert "Replay at 10×" in texts(at, "caption")
    at.session_state["race_replay"] = {**at.session_state["race_replay"], "began": time.time() - 3.0}  # 30 s in
    at.run()
    assert 30.0 <= stopwatch(at) < 35.0
    table = at.dataframe[-1].value
    assert list(table["seconds to the target"]) == ["20.0", "", ""]  # big crosses only at 45 s
    assert "**fast** wins" in texts(at, "success")
    at.session_state["race_replay"] = {**at.session_state["race_replay"], "began": time.time() - 60.0}  # ended
    at.run()
    assert at.session_state["race_replay"] is None and stopwatch(at) == 70.0


def test_a_race_with_nobody_over_the_line_says_who_came_closest(tmp_path):
    seed_race(tmp_path / "runs", target=0.999)
    at = race_page()
    assert "Nobody reached the finish line (99.9%). The closest: big with 99.20%." in texts(at, "warning")


def test_the_presenter_starts_a_race_and_watches_it(data, fake_start):
    at = race_page()
    at.number_input(key="race_n").set_value(2).run()
    at.selectbox(key="race_pick_mnist_1").set_value("mnist-mlp").run()
    at.number_input(key="race_epochs").set_value(2).run()
    at.number_input(key="race_target_mnist").set_value(90.0).run()
    button(at, "Start the race").click().run()
    assert not at.exception, at.exception
    runs = sorted(RunStore().list(), key=lambda r: r.config()["race"]["index"])
    infos = [r.config()["race"] for r in runs]
    assert [i["label"] for i in infos] == ["mnist-fast", "mnist-mlp"] and {i["target"] for i in infos} == {0.9}
    assert all(r.config()["spec"]["epochs"] == 2 and r.status()["status"] == "running" for r in runs)
    assert "Nobody has reached 90.0% yet" in texts(at, "info")
    assert any(b.label == "Stop the race" for b in at.button)
    button(at, "Stop the race").click().run()
    assert all(r.stop_requested() for r in runs)
    for run in runs:
        run.update_status(status="stopped", pid=None)


def test_an_image_folder_race_uses_one_image_size_for_all(data, fake_start):
    at = race_page()
    at.segmented_control(key="race_data_kind").set_value("Image folder").run()
    assert at.number_input(key="race_target_images").value == 95.0
    assert at.number_input(key="race_n").value == 2
    at.number_input(key="race_size").set_value(32).run()
    button(at, "Start the race").click().run()
    assert not at.exception, at.exception
    runs = RunStore().list()
    assert len(runs) == 2
    for run in runs:
        cfg = json.loads((run.path / "config.json").read_text())
        assert cfg["task"] == "images" and cfg["data"].endswith("stripes") and cfg["spec"]["image_size"] == 32
        run.update_status(status="stopped", pid=None)


def test_a_layer_table_saved_as_json_can_race(data):
    from core.models import get_preset

    at = race_page()
    at.number_input(key="race_n").set_value(3).run()
    at.selectbox(key="race_pick_mnist_2").set_value("spec").run()
    assert "Fix the racers above first." in (button(at, "Start the race").help or "")
    spec = get_preset("mnist-mlp").to_dict() | {"name": "my-mlp"}
    at.file_uploader(key="race_spec_mnist_2").set_value([("spec.json", json.dumps(spec).encode(), "application/json")])
    at.run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["racer"]) == ["mnist-fast", "mnist-mlp", "my-mlp"]


def test_the_audience_sees_the_race_but_cannot_start_it(monkeypatch, tmp_path, data):
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret-presenter")
    seed_race(tmp_path / "runs")
    at = race_page()
    start = button(at, "Start the race")
    assert start.disabled and "Only the presenter can start a race" in start.help
    assert "Only the presenter can start a race" in texts(at, "caption")
    assert at.dataframe  # the results are for everyone
    button(at, "Replay").click().run()  # and so is a replay: it trains nothing
    assert not at.exception and "Replay at" in texts(at, "caption")
