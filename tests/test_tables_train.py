"""Table runs end to end: CLI train / predict / evaluate, the run store, bad input, the job queue."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import numpy as np
import pandas as pd
import pytest

from core.access.roles import LOCAL, Actor, NotAllowedError
from core.base.cli import run_module
from core.base.errors import InputError
from core.data import folders as datasets
from core.data.table import csv_file
from core.data.table.store import save_table_upload
from core.models import editable_kinds, layers_from_rows
from core.models.layers import TABLE_LAYER_KINDS
from core.models.specs import LayerSpec
from core.runs.jobs import JobManager
from core.runs.store import RunStore
from core.tasks import Job, of_run, validate
from core.tasks.table.predict import predict_table, table_columns_for
from core.training import TrainConfig, presets_for
from tests.conftest import cli_env

DIABETES = datasets.SHIPPED_TABLES / "diabetes.csv"
PENGUINS = datasets.SHIPPED_TABLES / "penguins.csv"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def cli(module: str, tmp, *args, timeout=240):
    return run_module(module, [str(a) for a in args], env=cli_env(tmp), timeout=timeout)


def train_cli(tmp, data, target, preset, *extra):
    return cli("train", tmp, "--task", "table", "--data", data, "--target", target, "--preset", preset,
               "--runs-dir", tmp / "runs", *extra)  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One regression run (table-tutorial on diabetes) and one classification run (table-fast on penguins)."""
    tmp = tmp_path_factory.mktemp("tables")
    reg = train_cli(tmp, DIABETES, "progression", "table-tutorial", "--epochs", 5)
    cls = train_cli(tmp, PENGUINS, "species", "table-fast", "--epochs", 5, "--drop", "year")
    assert reg.code == 0 and cls.code == 0, (reg.output, cls.output, reg.stderr[-2000:], cls.stderr[-2000:])
    store = RunStore(tmp / "runs")
    return {"tmp": tmp, "reg": store.get(reg.output["run_id"]), "cls": store.get(cls.output["run_id"]),
            "reg_out": reg.output, "cls_out": cls.output}  # fmt: skip


def write_csv(path, rows: list[list]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


def small_table(n=40, seed=0) -> list[list]:
    """A small regression table: y = 3 a - 2 b + noise, a category c, an id column."""
    rng = np.random.default_rng(seed)
    rows = [["id", "a", "b", "c", "y"]]
    for i in range(n):
        a, b = rng.normal(), rng.normal()
        rows.append([i + 1, round(a, 3), round(b, 3), "xyz"[i % 3], round(3 * a - 2 * b + rng.normal() * 0.1, 3)])
    return rows


# ----- the run store ---------------------------------------------------------------------------


def test_regression_run_folder_metrics_and_history(trained):
    run, out = trained["reg"], trained["reg_out"]
    assert {"config.json", "status.json", "history.csv", "best.keras", "final.keras", "metrics.json", "split.json",
            "log.txt"} <= {p.name for p in run.path.iterdir()}  # fmt: skip
    config = run.config()
    assert config["task"] == "table" and config["target"] == "progression" and config["preset"] == "table-tutorial"
    assert config["table"]["task"] == "regression" and config["table"]["columns"]["bmi"] == "number"
    assert config["features"]["target"] == "progression" and config["n_test"] == round(442 * 0.15)
    assert config["n_val"] == round(442 * 0.3) and config["n_train"] == 442 - config["n_val"] - config["n_test"]
    metrics = run.metrics()
    assert {"task", "n", "mae", "rmse", "r2", "baseline", "predictions"} <= set(metrics)
    assert set(metrics["baseline"]) >= {"mae", "rmse", "r2"} and metrics["n"] == config["n_test"]
    assert len(metrics["predictions"]) == metrics["n"] and metrics["rmse"] >= metrics["mae"] > 0
    truth = np.array([t for t, _ in metrics["predictions"]])  # the baseline is the training mean, scored on them
    assert metrics["baseline"]["mae"] == pytest.approx(np.mean(np.abs(truth - metrics["baseline"]["prediction"])))
    assert out["test_mae"] == metrics["mae"] and out["test_accuracy"] is None
    history = run.history()
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert all(row["accuracy"] is None and row["val_accuracy"] is None for row in history)  # no accuracy on a number
    assert all(row["mae"] > 0 and row["val_mae"] > 0 for row in history)
    assert history[-1]["loss"] < history[0]["loss"]


def test_classification_run_folder_metrics_and_history(trained):
    run = trained["cls"]
    config = run.config()
    assert config["table"]["task"] == "classification" and config["table"]["dropped"] == ["year"]
    assert config["table"]["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    metrics = run.metrics()
    assert {"accuracy", "confusion_matrix", "per_class", "class_names", "baseline"} <= set(metrics)
    assert np.sum(metrics["confusion_matrix"]) == metrics["n"] == config["n_test"]
    assert metrics["accuracy"] > metrics["baseline"]["accuracy"]  # penguins are easy; the majority class is not
    history = run.history()
    assert len(history) == 5 and all(row["accuracy"] is not None and row["mae"] is None for row in history)
    log = run.log_text() if hasattr(run, "log_text") else (run.path / "log.txt").read_text()
    assert "empty cell" in log  # penguins have empty cells: the log says what was done with them


def test_reloaded_model_predicts_raw_rows(trained):
    import keras

    from core.models.table_net import TableFeatures, make_dataset, to_inputs

    run = trained["reg"]
    model = keras.models.load_model(run.path / "best.keras")
    features = TableFeatures.from_dict(run.config()["features"])
    rows = pd.read_csv(DIABETES).head(4).drop(columns=["progression"])
    rows.loc[1, "bmi"] = np.nan  # an empty number is imputed inside the model
    out = model.predict(make_dataset(to_inputs(rows, features)), verbose=0)
    assert out.shape == (4, 1) and np.isfinite(out).all()
    via_api = predict_table(run, rows)
    assert np.allclose(via_api.frame["prediction"].astype(float), out[:, 0], rtol=1e-5)


# ----- predict ---------------------------------------------------------------------------------


def test_cli_predict_without_target_and_with_extra_columns(trained, tmp_path):
    rows = pd.read_csv(PENGUINS).head(5).drop(columns=["species"])
    rows["note"] = "extra"
    src = tmp_path / "rows.csv"
    rows.to_csv(src, index=False)
    done = cli("predict", trained["tmp"], "--run", trained["cls"].path, src, "--out", tmp_path / "p.csv")
    assert done.code == 0, done.output
    assert [p["row"] for p in done.output["predictions"]] == [2, 3, 4, 5, 6] or done.output["unusable"]
    assert all(set(p["probabilities"]) == {"Adelie", "Chinstrap", "Gentoo"} for p in done.output["predictions"])
    assert any("note" in n for n in done.output["notes"])  # the extra column is named as ignored
    written = pd.read_csv(done.output["out"])
    assert {"prediction", "p(Adelie)", "problem", "note"} <= set(written.columns) and len(written) == 5


def test_cli_predict_missing_column_makes_every_row_unusable(trained, tmp_path):
    src = write_csv(tmp_path / "rows.csv", [["age", "sex"], [50, 1], [60, 2]])
    done = cli("predict", trained["tmp"], "--run", trained["reg"].path, src)
    assert done.code == 0 and done.output["predictions"] == []
    assert [u["row"] for u in done.output["unusable"]] == [2, 3]
    assert all("bmi" in u["reason"] for u in done.output["unusable"])


def test_cli_predict_unseen_category_and_text_for_a_number(trained, tmp_path):
    rows = pd.read_csv(PENGUINS).head(3).drop(columns=["species"]).astype(object)
    rows.loc[0, "island"] = "Atlantis"
    rows.loc[1, "body_mass_g"] = "heavy"
    src = tmp_path / "rows.csv"
    rows.to_csv(src, index=False)
    done = cli("predict", trained["tmp"], "--run", trained["cls"].path, src)
    assert done.code == 0
    reasons = {u["row"]: u["reason"] for u in done.output["unusable"]}
    assert "Atlantis" in reasons[2] and "body_mass_g" in reasons[3]
    assert [p["row"] for p in done.output["predictions"]] == [4]  # the other row is still predicted


def test_cli_predict_one_row_file_and_unreadable_file(trained, tmp_path):
    header = list(pd.read_csv(DIABETES).columns[:-1])
    one = write_csv(tmp_path / "one.csv", [header, pd.read_csv(DIABETES).iloc[0, :-1].tolist()])
    done = cli("predict", trained["tmp"], "--run", trained["reg"].path, one)
    assert done.code == 0 and [p["row"] for p in done.output["predictions"]] == [2]
    png = tmp_path / "photo.csv"
    png.write_bytes(PNG)
    bad = cli("predict", trained["tmp"], "--run", trained["reg"].path, png)
    assert bad.code == 2 and "PNG" in bad.output["error"]


def test_table_columns_for_and_the_runs_task(trained):
    assert of_run(trained["cls"]).inputs == "rows" and table_columns_for(trained["cls"])["island"] == "category"
    assert "year" not in table_columns_for(trained["cls"])


# ----- evaluate --------------------------------------------------------------------------------


def test_cli_evaluate_test_rows_and_another_csv(trained, tmp_path):
    own = cli("evaluate", trained["tmp"], "--run", trained["reg"].path)
    assert own.code == 0 and own.output["mae"] == pytest.approx(trained["reg"].metrics()["mae"], rel=1e-5)
    other = pd.read_csv(PENGUINS).iloc[::7]
    src = tmp_path / "other.csv"
    other.to_csv(src, index=False)
    done = cli("evaluate", trained["tmp"], "--run", trained["cls"].path, "--data", src)
    assert done.code == 0, done.output
    assert done.output["n"] + len(done.output["unusable"]) == len(other)
    assert 0 <= done.output["accuracy"] <= 1 and "accuracy" in done.output["baseline"]
    no_target = tmp_path / "no_target.csv"
    other.drop(columns=["species"]).to_csv(no_target, index=False)
    bad = cli("evaluate", trained["tmp"], "--run", trained["cls"].path, "--data", no_target)
    assert bad.code == 2 and "species" in bad.output["error"]


# ----- bad input through the CLI ---------------------------------------------------------------


def _bad_files(tmp_path) -> dict[str, tuple[str, list[str], str]]:
    """name -> (file, extra flags, words the error must hold)."""
    (tmp_path / "png.csv").write_bytes(PNG)
    (tmp_path / "empty.csv").write_bytes(b"")
    one_value = [["a", "y"]] + [[i, 5] for i in range(20)]
    mixed = small_table()
    mixed[7][4] = "n/d?"
    return {
        "png": (str(tmp_path / "png.csv"), ["--target", "y"], "PNG"),
        "empty": (str(tmp_path / "empty.csv"), ["--target", "y"], "empty"),
        "header only": (write_csv(tmp_path / "h.csv", [["a", "y"]]), ["--target", "y"], "no data rows"),
        "one row": (write_csv(tmp_path / "o.csv", [["a", "y"], [1, 2]]), ["--target", "y"], "one data row"),
        "no such target": (write_csv(tmp_path / "t.csv", small_table()), ["--target", "price"], "price"),
        "no target given": (write_csv(tmp_path / "n.csv", small_table()), [], "--target"),
        "one value": (write_csv(tmp_path / "v.csv", one_value), ["--target", "y"], "one value only"),
        "mixed": (write_csv(tmp_path / "m.csv", mixed), ["--target", "y"], "mixes numbers with text"),
        "unknown drop": (write_csv(tmp_path / "d.csv", small_table()), ["--target", "y", "--drop", "zz"], "zz"),
        "regression on text": (
            write_csv(tmp_path / "r.csv", small_table()),
            ["--target", "c", "--table-task", "regression"],
            "Regression",
        ),  # fmt: skip
    }


BAD = ["png", "empty", "header only", "one row", "no such target", "no target given", "one value", "mixed",
       "unknown drop", "regression on text"]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_cli_train_refuses_bad_input(case, tmp_path):
    path, flags, words = _bad_files(tmp_path)[case]
    done = cli("train", tmp_path, "--task", "table", "--data", path, "--preset", "table-tutorial", "--epochs", 1,
               "--runs-dir", tmp_path / "runs", *flags, timeout=120)  # fmt: skip
    assert done.code == 2, done.output
    assert words.lower() in done.output["error"].lower()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # refused before any folder


def test_cli_train_drops_rows_without_target_and_notes_it(tmp_path):
    rows = small_table(60)
    rows[5][4] = ""
    rows[9][4] = ""
    for r in rows[1:]:
        r.append("")  # an all-empty column: proposed for leaving out, with the id
    rows[0].append("empty")
    path = write_csv(tmp_path / "t.csv", rows)
    done = train_cli(tmp_path, path, "y", "table-fast", "--epochs", 2)
    assert done.code == 0, done.output
    run = RunStore(tmp_path / "runs").get(done.output["run_id"])
    log = (run.path / "log.txt").read_text()
    assert "2 rows have no value in 'y'" in log and "rows 6, 10" in log
    table = run.config()["table"]
    assert table["rows_without_target"] == 2 and set(table["dropped"]) == {"id", "empty"}
    assert run.config()["n_train"] + run.config()["n_val"] + run.config()["n_test"] == 58


def test_cli_train_refuses_a_file_over_the_limit(tmp_path, monkeypatch, capsys):
    from core import train as train_cli_module

    monkeypatch.setattr(csv_file, "MAX_FILE_BYTES", 100)
    path = write_csv(tmp_path / "big.csv", small_table())
    code = train_cli_module.main(["--task", "table", "--data", path, "--target", "y", "--preset", "table-tutorial",
                                  "--runs-dir", str(tmp_path / "runs")])  # fmt: skip
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 2, out
    refusal = r"big\.csv is too large: [\d.]+ MB\. Tables are limited to \d+ MB and [\d,]+ rows\."
    assert re.fullmatch(refusal, out["error"]), out
    assert not (tmp_path / "runs").exists()  # refused before any run folder


# ----- config, presets, layers, data folder ----------------------------------------------------


def test_config_validate_table_choices(tmp_path):
    path = write_csv(tmp_path / "t.csv", small_table())
    cfg = TrainConfig.from_preset("table", path, "table-tutorial", settings={"target": "y"})
    assert validate(cfg) == [] and cfg.drop is None
    assert TrainConfig.from_dict(cfg.to_dict()).target == "y"
    with pytest.raises(InputError, match="cannot also be left out"):
        validate(TrainConfig.from_preset("table", path, "table-fast", settings={"target": "y", "drop": ["y"]}))
    with pytest.raises(InputError, match="Nothing is left"):
        validate(TrainConfig.from_preset("table", path, "table-fast", settings={"target": "y", "drop": "id,a,b,c"}))
    with pytest.raises(InputError, match="made for --task table"):
        validate(TrainConfig.from_preset("images", path, "table-fast"))
    bad_layers = TrainConfig.from_preset("table", path, "table-fast", settings={"target": "y"})
    bad_layers.spec.layers.append(LayerSpec("Flatten"))
    with pytest.raises(InputError, match="Flatten"):
        validate(bad_layers)


def test_presets_and_layer_kinds_for_tables():
    assert presets_for("table") == ["table-fast", "table-tutorial"]
    assert "table-fast" not in presets_for("mnist")
    assert editable_kinds(TABLE_LAYER_KINDS) == ["Dense", "Dropout", "BatchNormalization", "Activation"]
    assert "Conv2D" in editable_kinds() and "Conv2D" not in editable_kinds(TABLE_LAYER_KINDS)
    with pytest.raises(InputError):
        layers_from_rows([{"kind": "Conv2D", "filters": 8, "kernel_size": 3}], kinds=TABLE_LAYER_KINDS, empty_ok=True)
    assert layers_from_rows([], kinds=TABLE_LAYER_KINDS, empty_ok=True) == []  # a linear model is a table model


def test_list_presets_counts_the_tutorial_as_the_lesson():
    from core.train import list_presets

    rows = {r["name"]: r for r in list_presets()["presets"]}
    assert rows["table-tutorial"]["params"] == 16 + 20 + 5 and rows["table-tutorial"]["task"] == "table"


def test_list_datasets_lists_tables_data_folder_first(tmp_path):
    (tmp_path / "tables").mkdir()
    write_csv(tmp_path / "top.csv", small_table())
    write_csv(tmp_path / "tables" / "mine.csv", small_table())
    found = datasets.list_datasets(tmp_path)["tables"]
    assert found[:2] == [str(tmp_path / "top.csv"), str(tmp_path / "tables" / "mine.csv")]
    assert str(DIABETES) in found and str(PENGUINS) in found


def test_save_table_upload(tmp_path, monkeypatch):
    data = DIABETES.read_bytes()
    first = save_table_upload(io.BytesIO(data), "My data (1).csv", actor=LOCAL, root=tmp_path)
    second = save_table_upload(data, "My data (1).csv", actor=LOCAL, root=tmp_path)
    assert first.name == "My_data_1.csv" and second.name == "My_data_1_2.csv" and first.read_bytes() == data
    saved = ["My_data_1.csv", "My_data_1_2.csv"]

    def written(root=tmp_path) -> list[str]:  # every file under root, the two saved tables included
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    with pytest.raises(InputError, match=r"^x\.csv is not a CSV file: it looks like a PNG image\.$"):
        save_table_upload(PNG, "x.csv", actor=LOCAL, root=tmp_path)
    assert written() == [f"tables/{name}" for name in saved]
    audience = tmp_path / "audience"  # a data folder where the audience's refusal would be the first write
    audience.mkdir()
    with pytest.raises(NotAllowedError, match=r"^Only the presenter can save a table in the data folder\. "):
        save_table_upload(data, "y.csv", actor=Actor("someone", False), root=audience)
    assert written(audience) == [] and not (audience / "tables").exists()  # refused before the folder is made
    monkeypatch.setattr(csv_file, "MAX_FILE_BYTES", 100)
    with pytest.raises(InputError, match=r"^z\.csv is too large: "):
        save_table_upload(data, "z.csv", actor=LOCAL, root=tmp_path)
    assert written() == [f"tables/{name}" for name in saved]


# ----- the job queue ---------------------------------------------------------------------------


def test_job_manager_trains_a_table_run(tmp_path):
    manager = JobManager(tmp_path / "runs", max_running=1)
    path = write_csv(tmp_path / "t.csv", small_table(60))
    cfg = TrainConfig.from_preset("table", path, "table-fast", settings={"target": "y", "epochs": 3})
    run = manager.submit(Job(cfg), actor=LOCAL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and run.status().get("status") not in ("completed", "failed"):
            manager.pump()
            time.sleep(0.3)
        assert run.status().get("status") == "completed", run.status()
        assert run.metrics()["task"] == "regression" and len(run.history()) == 3
        assert run.metrics()["mae"] < run.metrics()["baseline"]["mae"]  # y = 3a - 2b is easy to beat the mean on
    finally:
        for active in manager.active():
            manager.stop(active.id, force=True, actor=LOCAL)
