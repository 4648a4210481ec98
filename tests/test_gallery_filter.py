"""core.metrics.classes.gallery_indices: the Evaluate page's gallery filter (mode, true class, predicted class)."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics.classes import gallery_indices

# true:      0    1    0    1    2    2    0
# predicted: 0    1    1    0    2    0    1
Y = np.array([0, 1, 0, 1, 2, 2, 0])
PROBS = np.array([
    [0.9, 0.05, 0.05],
    [0.1, 0.8, 0.1],
    [0.3, 0.6, 0.1],
    [0.95, 0.03, 0.02],
    [0.1, 0.1, 0.8],
    [0.7, 0.1, 0.2],
    [0.1, 0.85, 0.05],
])  # fmt: skip


def test_true_class_alone():
    assert gallery_indices(Y, PROBS, "all", true=0).tolist() == [0, 2, 6]
    assert gallery_indices(Y, PROBS, "errors", true=0).tolist() == [2, 6]
    assert gallery_indices(Y, PROBS, "confident-errors", true=0).tolist() == [6, 2]  # 0.85 before 0.6


def test_predicted_class_alone():
    assert gallery_indices(Y, PROBS, "all", predicted=0).tolist() == [0, 3, 5]
    assert gallery_indices(Y, PROBS, "confident-errors", predicted=0).tolist() == [3, 5]  # 0.95 before 0.7


def test_both_are_one_confusion_matrix_cell():
    both = gallery_indices(Y, PROBS, "all", true=0, predicted=1)
    assert both.tolist() == [2, 6]
    assert gallery_indices(Y, PROBS, "all", cell=(0, 1)).tolist() == both.tolist()
    assert gallery_indices(Y, PROBS, "all", true=2, predicted=2).tolist() == [4]
    assert gallery_indices(Y, PROBS, "errors", true=2, predicted=2).tolist() == []


def test_no_filter_is_every_image():
    assert gallery_indices(Y, PROBS).tolist() == list(range(7))
    assert gallery_indices(Y, PROBS, "errors").tolist() == [2, 3, 5, 6]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="Expected mode"):
        gallery_indices(Y, PROBS, "best", true=0)
