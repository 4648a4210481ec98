import numpy as np
import pytest

from core.evaluation import confusion_matrix, cross_entropy, metrics_from_probs


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
