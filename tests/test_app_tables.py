"""AppTest of the table pages: Train with a CSV, Evaluate and Predict on table runs trained in the test."""

from __future__ import annotations

import io
import shutil

import pandas as pd
import pytest
from conftest import ROOT
from conftest import train_with_cli as train
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "streamlit_app.py")
TABLES = ROOT / "core" / "assets" / "tables"
DIABETES, PENGUINS = TABLES / "diabetes.csv", TABLES / "penguins.csv"


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def table_kind(at: AppTest) -> AppTest:
    """The Train page with the "Table (CSV)" data kind chosen."""
    at.session_state["train_data_kind"] = "Table (CSV)"
    at.run()
    assert not at.exception, at.exception
    return at


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


# ----- Train ---------------------------------------------------------------------------------


def test_train_page_previews_the_shipped_csv_and_proposes_regression():
    at = table_kind(page("train"))
    file_box = at.selectbox(key="train_table_file")
    assert file_box.value.endswith("diabetes.csv")
    assert any("442" in c.value and "11" in c.value for c in at.caption), [c.value for c in at.caption]
    kinds = next(f for f in frames(at) if "kind" in f.columns)
    assert list(kinds["column"])[-1] == "progression"
    assert set(kinds["kind"]) == {"number"}  # every diabetes column is numeric
    assert (kinds["missing values"] == 0).all()
    preview = next(f for f in frames(at) if "bmi" in f.columns)
    assert len(preview) == 10 and preview["progression"].iloc[0] == 151
    target = at.selectbox(key="train_table_target_diabetes.csv_11")
    assert target.value == "progression"
    assert at.session_state["train_table_task_diabetes.csv_11_progression"] == "regression"
    presets = at.selectbox(key="train_preset_table")
    assert presets.options[:2] == ["table-fast: CNN Lab's table recipe: Dense 64 relu -> Dropout 0.1 -> Dense 32 relu, "
                                   "Adam 3e-3, batch 32, early stopping (patience 20) on the best validation loss, "
                                   "up to 300 epochs.", presets.options[1]]  # fmt: skip
    assert presets.options[1].startswith("table-tutorial")
    assert not at.error, [e.value for e in at.error]
    assert any("parameters" in m.value for m in at.markdown)
    assert not [s for s in at.selectbox if s.label in ("Loss", "Output")]  # the task decides them for a table
    assert [b for b in at.button if b.label == "Train" and not b.disabled]


def test_a_whole_number_target_with_two_values_is_proposed_as_classes():
    at = table_kind(page("train"))
    at.selectbox(key="train_table_target_diabetes.csv_11").select("sex").run()
    assert not at.exception, at.exception
    assert at.session_state["train_table_task_diabetes.csv_11_sex"] == "classification"
    drop = at.multiselect(key="train_table_drop_diabetes.csv_11_sex")
    assert "sex" not in drop.options and "progression" in drop.options


def test_tutorial_preset_summary_counts_the_tutorial_parameters():
    at = table_kind(page("train"))
    at.selectbox(key="train_preset_table").select_index(1).run()  # table-tutorial
    assert not at.exception, at.exception
    # 10 inputs: Dense 4 (44) -> Dense 4 (20) -> Dense 1 (5) = 69
    assert any("**69 parameters**" in m.value for m in at.markdown), [m.value for m in at.markdown]


@pytest.mark.parametrize(
    "name, data",
    [
        ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
        ("empty.csv", b""),
        ("header.csv", b"a,b,c\n"),
    ],
)
def test_a_bad_csv_upload_shows_the_reason_and_the_page_keeps_working(name, data):
    at = table_kind(page("train"))
    at.selectbox(key="train_table_file").select("__upload__").run()
    at.file_uploader(key="train_table_upload").upload(name, data, "text/csv").run()
    assert not at.exception, at.exception
    assert at.error and name in at.error[0].value, [e.value for e in at.error]
    assert not [b for b in at.button if b.key == "train_table_save"]  # nothing to save


def test_a_good_upload_is_previewed_then_saved_and_chosen(tmp_path):
    rows = "id;size;colour;price\n" + "".join(
        f"{i};{i % 7},5;{'red' if i % 2 else 'blue'};{i * 3}\n" for i in range(1, 41)
    )
    at = table_kind(page("train"))
    at.selectbox(key="train_table_file").select("__upload__").run()
    at.file_uploader(key="train_table_upload").upload("shop.csv", rows.encode("latin-1"), "text/csv").run()
    assert not at.exception, at.exception
    assert any("semicolon" in c.value and "decimal comma" in c.value for c in at.caption), [c.value for c in at.caption]
    at.button(key="train_table_save").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    chosen = at.selectbox(key="train_table_file").value
    assert chosen.endswith(".csv") and "shop" in chosen
    assert at.session_state["train_table_task_shop.csv_4_price"] == "regression"
    assert at.multiselect(key="train_table_drop_shop.csv_4_price").value == ["id"]  # an id column is proposed


# ----- Evaluate and Predict --------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A regression on diabetes.csv and a classification on penguins.csv, a few epochs each."""
    runs = tmp_path_factory.mktemp("tables") / "runs"
    reg = train(["--task", "table", "--data", str(DIABETES), "--target", "progression", "--preset", "table-fast",
                 "--epochs", "5"], runs)  # fmt: skip
    cls = train(["--task", "table", "--data", str(PENGUINS), "--target", "species", "--preset", "table-fast",
                 "--epochs", "5"], runs)  # fmt: skip
    return {"runs": runs, "regression": reg, "classification": cls}


@pytest.fixture
def app_runs(trained, tmp_path, monkeypatch):
    runs = tmp_path / "runs_copy"
    shutil.copytree(trained["runs"], runs)
    monkeypatch.setenv("CNNLAB_RUNS_DIR", str(runs))
    return runs


def test_evaluate_a_regression_shows_metrics_beside_the_baseline_and_two_charts(app_runs, trained):
    at = page("evaluate")
    at.selectbox(key="eval_model").select(trained["regression"]).run()
    assert not at.exception, at.exception
    labels = {m.label: m for m in at.metric}
    assert {"MAE", "RMSE", "R²", "Test rows"} <= set(labels), list(labels)
    assert "baseline" in labels["MAE"].proto.delta
    assert len(at.get("plotly_chart")) == 2  # predicted vs actual, residuals
    assert not [e for e in at.get("imgs")]  # no image gallery for a table
    assert [b for b in at.get("download_button")]  # the .keras file stays


def test_evaluate_a_classification_shows_accuracy_and_the_majority_baseline(app_runs, trained):
    at = page("evaluate")
    at.selectbox(key="eval_model").select(trained["classification"]).run()
    assert not at.exception, at.exception
    labels = {m.label for m in at.metric}
    assert {"Accuracy", "Baseline (majority class)"} <= labels, labels
    report = next(f for f in frames(at) if "recall" in f.columns)
    assert set(report.index) >= {"Adelie", "Gentoo", "Chinstrap"}


def downloads(monkeypatch) -> dict[str, bytes]:
    """Records what each download button would send, by file name (AppTest keeps no media after a run)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        if filename and isinstance(path_or_data, bytes):
            seen[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen


def test_predict_a_csv_of_rows_gives_predictions_and_the_unusable_rows(app_runs, trained, monkeypatch):
    sent = downloads(monkeypatch)
    rows = pd.read_csv(DIABETES).drop(columns=["progression"]).head(6)
    rows["bmi"] = rows["bmi"].astype(object)
    rows.loc[3, "bmi"] = "fat"  # text where a number is expected: row 5 of the file
    at = page("predict")
    at.selectbox(key="predict_model").select(trained["regression"]).run()
    assert not at.exception, at.exception
    at.file_uploader(key="predict_table_upload").upload("new.csv", rows.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception, at.exception
    shown = next(f for f in frames(at) if "prediction" in f.columns)
    assert list(shown.columns[:2]) == ["prediction", "problem"] and len(shown) == 6  # first: a wide table cuts the end
    assert shown["prediction"].notna().sum() == 5
    problems = next(f for f in frames(at) if "reason" in f.columns)
    assert problems.iloc[0, 0] == 5 and "bmi" in problems.iloc[0, 1]
    assert at.get("download_button")
    got = pd.read_csv(io.BytesIO(sent["predictions.csv"]))
    assert list(got.columns[:10]) == list(rows.columns) and "prediction" in got.columns
    assert got["prediction"].notna().tolist() == [True, True, True, False, True, True]
    assert "bmi" in got["problem"].iloc[3]


def test_predict_one_row_of_penguins_from_the_form(app_runs, trained):
    at = page("predict")
    at.selectbox(key="predict_model").select(trained["classification"]).run()
    assert not at.exception, at.exception
    run = trained["classification"]
    assert at.selectbox(key=f"ptf_{run}_island").options  # categories: the training values
    at.number_input(key=f"ptf_{run}_bill_length_mm").set_value(46.0)
    next(b for b in at.button if b.label == "Predict this row").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    answer = next(m.value for m in at.markdown if m.value.startswith("### species:"))
    assert answer.split(": ")[1] in {"Adelie", "Gentoo", "Chinstrap"}
    assert at.get("plotly_chart")  # the class probabilities


def test_curves_show_mae_for_a_regression_and_compare_two_table_runs(app_runs, trained):
    at = page("curves")
    runs = next(f for f in frames(at) if "test_mae" in f.columns).set_index("run")
    assert runs.loc[trained["regression"], "test_mae"] > 0  # the regression's test MAE is listed
    assert pd.isna(runs.loc[trained["classification"], "test_mae"])
    at.multiselect(key="curves_selected").set_value([trained["regression"]]).run()
    assert not at.exception, at.exception
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("MAE (mean absolute error)" in s for s in specs) and not any('"Accuracy"' in s for s in specs)
    said = [c.value for c in at.caption]  # not "trained before replays were recorded", which was false (issue 27)
    assert any(c.startswith("Replay shows what an image network learns") for c in said), said
    assert not any("trained before replays were recorded" in c for c in said)
    at.multiselect(key="curves_selected").set_value([trained["regression"], trained["classification"]]).run()
    assert not at.exception, at.exception
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("MAE (mean absolute error)" in s for s in specs) and any("Accuracy" in s for s in specs)
    assert any(s.value == "What differs" for s in at.subheader)


def test_penguins_proposes_species_not_its_last_column():
    """Touching nothing but the file: the shipped penguins table trains on species (its last column is year)."""
    at = table_kind(page("train"))
    at.selectbox(key="train_table_file").select(str(PENGUINS)).run()
    target = at.selectbox(key="train_table_target_penguins.csv_8")
    assert target.value == "species"
    assert "Proposed: species, the column this table was published to predict." in [c.value for c in at.caption]
    assert at.session_state["train_table_task_penguins.csv_8_species"] == "classification"
