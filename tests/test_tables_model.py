"""The table model (preprocessing inside, the exact tutorial network) and its metrics."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from core.base.errors import InputError
from core.metrics.table import (
    classification_metrics,
    majority_baseline,
    mean_baseline,
    regression_metrics,
    usable_rows,
)
from core.models import get_preset
from core.models.specs import LayerSpec
from core.models.table_net import (
    TableFeatures,
    build_table_model,
    compile_table_model,
    encode_target,
    fit_features,
    input_names,
    make_dataset,
    to_inputs,
    trainable_count,
)

TABLE_TUTORIAL, TABLE_FAST = "table-tutorial", "table-fast"
ISLANDS = ("Biscoe", "Dream", "Torgersen")
EFFECT = {"Biscoe": 0.0, "Dream": 5.0, "Torgersen": -5.0}


def synthetic(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A linear target of two numbers plus a category's effect, with a little noise."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(10, 3, n), rng.normal(-2, 1, n)
    island = rng.choice(ISLANDS, n)
    y = 3 * x1 - 2 * x2 + np.array([EFFECT[i] for i in island]) + rng.normal(0, 0.5, n)
    frame = pd.DataFrame({"Body mass (g)": x1, "x2": x2, "island": island.astype(object)})
    return frame, pd.Series(y, name="target")


KINDS = {"Body mass (g)": "number", "x2": "number", "island": "category"}


# ----- the model -----------------------------------------------------------------------------


def test_tutorial_network_on_three_numbers_has_41_trainable_parameters():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.5], "c": [5.0, 7.0, 9.0]})
    features = fit_features(frame, dict.fromkeys(frame, "number"), pd.Series([1.0, 2.0, 3.0]), "regression")
    model = build_table_model(get_preset(TABLE_TUTORIAL).layers, features)
    dense = [layer.count_params() for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == [3 * 4 + 4, 4 * 4 + 4, 4 * 1 + 1]  # 16 + 20 + 5
    assert trainable_count(model) == 41
    # the training mean/variance are constants of the Normalization layers, never trained
    assert {layer.name for layer in model.layers if not layer.trainable_weights} >= {"normalize_a", "features"}
    assert model.get_layer("head").get_config()["activation"] == "linear"
    # the head's output is put back in the target's unit by a fixed, weightless rescaling
    assert model.layers[-1].name == "prediction" and not model.layers[-1].weights
    assert model.layers[-1].get_config()["offset"] == pytest.approx(2.0)  # the training target's mean


def test_saved_model_predicts_raw_rows_with_its_own_preprocessing(tmp_path):
    frame, y = synthetic(60)
    frame.loc[3, "x2"] = np.nan  # a missing training number: left out of the mean, imputed
    features = fit_features(frame, KINDS, y, "regression")
    assert features.inputs["Body mass (g)"] == "body_mass_g"
    assert features.missing["x2"] == 1 and math.isclose(features.means["x2"], frame["x2"].mean())
    model = build_table_model(get_preset(TABLE_FAST).layers, features)
    compile_table_model(model, get_preset(TABLE_FAST), "regression")
    model.fit(
        make_dataset(to_inputs(frame, features), encode_target(y, features), 32), epochs=2, verbose=0, shuffle=False
    )

    new = pd.DataFrame({"Body mass (g)": [12.5] * 3, "x2": [None, -1.0, features.means["x2"]], "island": ["Dream"] * 3})
    raw = {"body_mass_g": tf.constant([[12.5], [12.5], [12.5]]), "x2": tf.constant([[np.nan], [-1.0], [features.means["x2"]]]),
           "island": tf.constant([["Dream"], ["Dream"], ["Dream"]])}  # fmt: skip
    before = model.predict(raw, verbose=0)
    path = tmp_path / "table.keras"
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path)  # nothing custom: plain Keras layers and ops
    after = loaded.predict(raw, verbose=0)

    assert np.all(np.isfinite(after))
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(after[0], after[2], rtol=1e-6)  # an empty number = the training mean
    assert not np.isclose(after[0], after[1])  # and that imputed value matters
    # the same through to_inputs + make_dataset (the predict path)
    np.testing.assert_allclose(loaded.predict(make_dataset(to_inputs(new, features)), verbose=0), before, rtol=1e-6)


def test_classification_head_gives_class_probabilities_and_beats_the_majority():
    rng = np.random.default_rng(1)
    n = 150
    x = rng.normal(0, 1, n)
    colour = rng.choice(["red", "blue"], n).astype(object)
    label = np.where(x > 0, "big", "small").astype(object)
    label[colour == "red"] = "red"  # three classes: two from the number, one from the category
    frame, target = pd.DataFrame({"x": x, "colour": colour}), pd.Series(label, name="kind")
    features = fit_features(frame, {"x": "number", "colour": "category"}, target, "classification")
    assert features.classes == ["big", "red", "small"]
    keras.utils.set_random_seed(0)
    spec = get_preset(TABLE_FAST)
    model = build_table_model(spec.layers, features)
    compile_table_model(model, spec, "classification")
    y = encode_target(target, features)
    model.fit(make_dataset(to_inputs(frame, features), y, 32, shuffle_seed=0), epochs=15, verbose=0, shuffle=False)
    proba = model.predict(make_dataset(to_inputs(frame, features)), verbose=0)
    assert proba.shape == (n, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    predicted = np.array(features.classes)[proba.argmax(axis=1)]
    assert classification_metrics(label, predicted)["accuracy"] > majority_baseline(label, label)["accuracy"] + 0.2


def test_a_short_fit_beats_the_mean_baseline():
    frame, y = synthetic(200, seed=2)
    train, test = slice(0, 160), slice(160, 200)
    features = fit_features(frame.iloc[train], KINDS, y.iloc[train], "regression")
    keras.utils.set_random_seed(0)
    spec = get_preset(TABLE_FAST)
    model = build_table_model(spec.layers, features)
    compile_table_model(model, spec, "regression")
    data = make_dataset(to_inputs(frame.iloc[train], features), encode_target(y.iloc[train], features), 32, 0)
    model.fit(data, epochs=30, verbose=0, shuffle=False)
    predicted = model.predict(make_dataset(to_inputs(frame.iloc[test], features)), verbose=0).ravel()
    scores = regression_metrics(y.iloc[test], predicted)
    baseline = mean_baseline(y.iloc[train], y.iloc[test])
    assert scores["mae"] < 0.5 * baseline["mae"], (scores, baseline)
    assert scores["r2"] > 0.5 > baseline["r2"]


def test_features_survive_json_and_check_their_inputs():
    frame, y = synthetic(20)
    features = fit_features(frame, KINDS, y, "regression")
    again = TableFeatures.from_dict(json.loads(json.dumps(features.to_dict())))
    assert again == features
    assert again.vocabularies["island"] == sorted(set(frame["island"]))
    with pytest.raises(InputError, match="kind"):
        TableFeatures.from_dict({**features.to_dict(), "columns": {"when": "date"}})
    bad = frame.astype({"x2": object})
    bad.loc[4, "x2"] = "n/a?"
    with pytest.raises(InputError, match="numbers.*'n/a\\?'.*row 5"):
        fit_features(bad, KINDS, y, "regression")
    with pytest.raises(InputError, match="2 to 1,000 classes"):
        fit_features(frame, KINDS, pd.Series(["same"] * 20), "classification")
    with pytest.raises(InputError, match="numbers for a regression"):
        fit_features(frame, KINDS, pd.Series(["a"] * 20), "regression")
    with pytest.raises(InputError, match="Conv2D"):
        build_table_model([LayerSpec("Conv2D", filters=4, kernel_size=3)], features)


def test_input_names_are_valid_unique_and_never_clash_with_the_models_layers():
    names = input_names(["Body mass (g)", "body-mass-g", "2024", "dense_1", "peso (kg) ção", "", "prediction"])
    assert list(names.values()) == ["body_mass_g", "body_mass_g_2", "c_2024", "c_dense_1", "peso_kg_cao", "column",
                                    "prediction_2"]  # fmt: skip


def test_presets_follow_the_lesson_and_explain_mae():
    tutorial = get_preset(TABLE_TUTORIAL)
    assert [(x.kind, x.units, x.activation) for x in tutorial.layers] == [("Dense", 4, "relu")] * 2
    assert tutorial.optimizer == "adam" and tutorial.validation_fraction == 0.3
    assert "MAE" in tutorial.description and "accuracy" in tutorial.description
    fast = get_preset(TABLE_FAST)
    assert fast.patience < fast.epochs  # early stopping can happen


# ----- metrics ------------------------------------------------------------------------------


def test_regression_metrics_match_hand_computed_values():
    # residuals 0, -1, 1, -2: MAE 4/4, MSE 6/4; mean 2.5, total squares 5 -> R² = 1 - 6/5 (negative)
    scores = regression_metrics([1, 2, 3, 4], [1, 3, 2, 6])
    assert scores["mae"] == pytest.approx(1.0)
    assert scores["rmse"] == pytest.approx(math.sqrt(1.5))
    assert scores["r2"] == pytest.approx(-0.2)
    assert regression_metrics([2, 2], [1, 3])["r2"] is None  # constant truth: R² undefined
    assert regression_metrics([1, 2, 3], [1, 2, 3]) == {"mae": 0.0, "rmse": 0.0, "r2": 1.0, "n": 3}
    with pytest.raises(InputError, match="as many predictions"):
        regression_metrics([1, 2], [1])


def test_mean_baseline_uses_the_training_mean():
    base = mean_baseline([0, 10], [4, 7])  # predicts 5: errors 1 and 2
    assert base["prediction"] == 5.0
    assert base["mae"] == pytest.approx(1.5) and base["rmse"] == pytest.approx(math.sqrt(2.5))
    assert base["r2"] == pytest.approx(1 - 5 / 4.5)  # below 0: the test mean is 5.5, not 5
    assert mean_baseline([1, 2, 3], [1, 2, 3])["r2"] == pytest.approx(0.0)


def test_classification_metrics_and_majority_baseline():
    assert classification_metrics(["a", "b", "a"], ["a", "a", "a"])["accuracy"] == pytest.approx(2 / 3)
    base = majority_baseline(["a", "b", "b", "c"], ["b", "a", "b", "c"])
    assert base["prediction"] == "b" and base["accuracy"] == pytest.approx(0.5)
    assert majority_baseline(["z", "y", "y", "z"], ["y"])["prediction"] == "y"  # a tie goes to the first sorted


# ----- which rows can be predicted -----------------------------------------------------------


def test_usable_rows_reports_each_bad_row_by_its_line_in_the_file():
    frame, y = synthetic(30)
    frame.loc[0, "island"] = None  # training had an empty category...
    features = fit_features(frame, {"x2": "number", "island": "category"}, y, "regression")
    rows = pd.DataFrame(
        {
            "x2": [1.0, "abc", None, "2,5", 3.0, "inf"],
            "island": ["Dream", "Dream", "Mars", "Biscoe", None, "Dream"],
            "comment": ["", "", "", "", "", ""],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    notes: list[str] = []
    ok, problems = usable_rows(rows, features.columns, features.vocabularies, notes)
    assert list(ok) == [10, 13, 14]  # an empty number is imputed; "2,5" is 2.5; an empty island was seen
    assert [row for row, _reason in problems] == [3, 4, 7]  # header = line 1, index 11 = line 3
    assert "expected a number" in problems[0][1] and "'abc'" in problems[0][1]
    assert "'Mars' was never seen in training" in problems[1][1] and "Biscoe" in problems[1][1]
    assert "expected a number" in problems[2][1]  # infinite
    assert notes and "comment" in notes[0]

    strict = {"island": [v for v in features.vocabularies["island"] if v]}  # no empty island in training
    ok, problems = usable_rows(rows[["island"]], {"island": "category"}, strict)
    assert 14 not in ok and (6, "island: empty, and the training rows never had it empty") in problems


def test_usable_rows_with_missing_columns_fails_every_row_with_one_message():
    rows = pd.DataFrame({"island": ["Dream", "Biscoe"], "other": [1, 2]})
    ok, problems = usable_rows(rows, {"x1": "number", "island": "category", "x2": "number"}, {"island": ["Dream"]})
    assert len(ok) == 0
    assert len(problems) == 1 and problems[0][0] == 1
    assert "x1, x2" in problems[0][1] and "island, other" in problems[0][1]


def test_usable_rows_uses_the_readers_line_numbers():
    """A quoted line break inside a field, and a blank line: rows keep the numbers a spreadsheet shows.

    A spreadsheet shows the quoted two-line cell as one row (2) and the blank line as an empty row (3).
    """
    from core.data.table.csv_file import read_table

    text = 'x2,island,comment\n1.0,Dream,"two\nlines"\n\nabc,Dream,\n3.0,Mars,\n'
    table = read_table(text.encode(), "rows.csv")
    ok, problems = usable_rows(table.frame, {"x2": "number", "island": "category"}, {"island": ["Dream"]},
                               row_numbers=table.row_numbers)  # fmt: skip
    assert len(ok) == 1
    assert [row for row, _reason in problems] == [4, 5]  # not frame position + 2 (3, 4)
