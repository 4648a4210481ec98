"""AppTest of the Under the hood page: the three sources, starting a comparison, its results."""

from __future__ import annotations

import time

import numpy as np
from conftest import ROOT, seed_comparison, synthetic_digits
from streamlit.testing.v1 import AppTest

from core.access.roles import LOCAL
from core.runs.jobs import JobManager
from core.runs.store import ACTIVE_STATES, RunStore
from core.teaching.api_compare import WAYS, source, way_lines

APP = str(ROOT / "streamlit_app.py")


def hood(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/hood.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(e.value for e in getattr(at, kind))


def test_the_page_shows_the_code_that_runs_and_says_where_mnist_goes():
    at = hood()
    assert at.title[0].value.startswith("Under the hood")
    shown = [c.value.strip() for c in at.code]
    for way, info in WAYS.items():  # the files themselves, not a copy
        assert source(info.files[-1]).strip() in shown
        assert f"{way_lines(way)} lines of code" in texts(at, "caption").splitlines()
    assert "removed in TensorFlow 2.16" in texts(at, "markdown")
    assert "No `mnist.npz`" in texts(at, "warning")  # no data yet: where to put it
    assert "No comparison yet" in texts(at, "caption")
    at.segmented_control(key="hood_layout").set_value("One at a time").run()
    assert not at.exception and len(at.tabs) == len(WAYS)


def test_results_sit_beside_the_lectures_numbers(tmp_path):
    seed_comparison(tmp_path / "runs", seconds=(40.0, 30.0, 60.0))
    at = hood()
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["Low-level TensorFlow", "Estimator API (removed in TensorFlow 2.16)", "Keras",
                                      "Keras + XLA"]  # fmt: skip
    keras = table.iloc[2]
    assert keras["seconds per epoch"] == f"{30.0 * 422 / 400:.1f}"  # 400 batches scaled to the whole epoch
    assert keras["test accuracy"] == "98.60%" and keras["lines of code"] == str(way_lines("keras"))
    assert keras["lines (2019)"] == "55" and keras["seconds (2019)"] == "366" and keras["test accuracy (2019)"] == "99%"
    assert table.iloc[1]["seconds per epoch"] == "—"  # history only: nothing ran
    assert "2.00× slower" in texts(at, "info")  # XLA 60 s against Keras 30 s
    chart = at.get("plotly_chart")[0].proto.spec
    assert "Low-level TensorFlow" in chart and "diamond" in chart
    assert len(at.success) == 3


def test_a_running_comparison_shows_progress_for_each(tmp_path):
    seed_comparison(tmp_path / "runs", running="keras_xla")
    at = hood()
    bars = at.get("progress")
    assert len(bars) == 1 and "Keras + XLA: Epoch 1/1, batch 200/400" in bars[0].proto.text


def test_the_presenter_trains_the_three_on_mnist(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    x, y = synthetic_digits(400, 1)
    np.savez_compressed(data / "mnist.npz", x_train=x, y_train=y, x_test=x[:100], y_test=y[:100])
    at = hood()
    at.segmented_control(key="hood_budget").set_value("Quick demo").run()
    at.number_input(key="hood_batches").set_value(2).run()
    next(b for b in at.button if b.label == "Train the three").click().run()
    assert not at.exception, at.exception
    runs = RunStore().list()
    assert sorted(r.config()["api_compare"]["way"] for r in runs) == sorted(WAYS)
    assert all(r.config()["api_compare"]["max_batches"] == 2 for r in runs)
    for run in JobManager().active():  # the jobs themselves are tested in test_api_compare.py
        JobManager().stop(run.id, actor=LOCAL, force=True)
    deadline = time.time() + 60
    while any(r.status().get("status") in ACTIVE_STATES for r in RunStore().list()) and time.time() < deadline:
        time.sleep(0.5)
        JobManager().pump()


def test_the_audience_sees_results_but_cannot_start(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_PRESENTER_KEY", "s3cret-presenter")
    seed_comparison(tmp_path / "runs")
    at = hood()
    assert "Only the presenter can start the comparison" in texts(at, "info")
    assert not [b for b in at.button if "Train the three" in b.label]
    assert at.dataframe  # the results are for everyone
