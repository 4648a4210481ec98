import numpy as np
import pytest

from core.metrics.classes import confusion_matrix, cross_entropy, metrics_from_probs


def test_confusion_and_per_class_against_hand_counts():
    y = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    probs = np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.9 + 0.0333
    m = metrics_from_probs(y, probs, ["a", "b", "c"], "categorical_crossentropy")
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert m["per_class"]["c"]["recall"] == 0.5 and m["n"] == 6


def test_cross_entropy_matches_keras():
    import keras

    rng = np.random.default_rng(0)
    y = np.eye(4)[rng.integers(0, 4, 50)].astype(np.float32)
    p = rng.dirichlet(np.ones(4), 50).astype(np.float32)
    cce = float(keras.losses.CategoricalCrossentropy()(y, p))
    bce = float(keras.losses.BinaryCrossentropy()(y, p))
    assert cross_entropy(y, p, "categorical_crossentropy") == pytest.approx(cce, rel=1e-4)
    assert cross_entropy(y, p, "binary_crossentropy") == pytest.approx(bce, rel=1e-4)


def test_confusion_matrix_counts():
    assert confusion_matrix(np.array([0, 1, 1]), np.array([1, 1, 1]), 2).tolist() == [[0, 1], [0, 2]]


def test_gallery_indices_orders_and_filters():
    from core.metrics.classes import gallery_indices

    y = np.array([0, 1, 1, 0, 2])
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.05, 0.95, 0], [0.1, 0.2, 0.7]])
    assert gallery_indices(y, probs).tolist() == [0, 1, 2, 3, 4]
    assert gallery_indices(y, probs, "errors").tolist() == [2, 3]
    assert gallery_indices(y, probs, "confident-errors").tolist() == [3, 2]  # 0.95 before 0.6
    assert gallery_indices(y, probs, "all", cell=(1, 1)).tolist() == [1]
    assert gallery_indices(y, probs, "errors", cell=(0, 1)).tolist() == [3]


def test_tflite_export_matches_keras():
    import keras
    import tensorflow as tf

    from core.metrics.classes import to_tflite

    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(inp)))
    model = keras.Model(inp, out)
    blob = to_tflite(model)
    interp = tf.lite.Interpreter(model_content=blob)
    interp.allocate_tensors()
    x = np.random.default_rng(0).random((1, 8, 8, 1)).astype("float32")
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    got = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5)
