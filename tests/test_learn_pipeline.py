"""core.teaching.learn: the Learn page's image -> kernel -> convolution -> ReLU -> pooling pipeline,
its teaching aids, and the page's own session keys (declared in one place)."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from conftest import ROOT

from core.base.errors import InputError
from core.teaching import filters
from core.teaching.learn import (
    LayerSettings,
    feature_bank,
    kernel_start,
    kernel_text,
    next_cell,
    parse_kernel,
    run_pipeline,
)  # fmt: skip
from pages._session import init_state

IMAGE = filters.synthetic_image(32)
SOBEL = filters.kernel_preset("sobel x")


def test_defaults_are_conv_relu_and_2x2_max_pooling():
    out = run_pipeline(IMAGE, SOBEL, LayerSettings())
    want = filters.convolve(IMAGE, SOBEL)
    np.testing.assert_allclose(out.conv, want, atol=1e-6)
    np.testing.assert_allclose(out.act, np.maximum(want, 0), atol=1e-6)
    np.testing.assert_allclose(out.pooled, filters.pool(np.maximum(want, 0), 2, 2, "max"), atol=1e-6)
    assert (out.conv.shape, out.pooled.shape) == ((30, 30), (15, 15))
    assert out.conv_error is None and out.pool_error is None and out.milliseconds >= 0


def test_bias_stride_padding_and_average_pooling_follow_the_settings():
    s = LayerSettings(stride=2, padding="same", bias=0.5, relu=False, pool_mode="avg", pool_size=3, pool_stride=1,
                      pool_padding="same")  # fmt: skip
    out = run_pipeline(IMAGE, SOBEL, s)
    want = filters.convolve(IMAGE, SOBEL, 2, "same") + np.float32(0.5)
    np.testing.assert_allclose(out.conv, want, atol=1e-6)
    assert out.act is out.conv  # ReLU off: pooling reads the raw map
    assert out.conv.min() < 0
    np.testing.assert_allclose(out.pooled, filters.pool(want, 3, 1, "avg", "same"), atol=1e-6)
    assert out.pooled.shape == (16, 16)


def test_pooling_off_stops_after_relu():
    out = run_pipeline(IMAGE, SOBEL, LayerSettings(pool=False))
    assert out.pooled is None and out.act is not None and out.pool_error is None


def test_no_kernel_computes_nothing():
    out = run_pipeline(IMAGE, None, LayerSettings())
    assert (out.conv, out.act, out.pooled, out.conv_error, out.pool_error) == (None, None, None, None, None)


def test_a_refused_convolution_says_why_and_stops():
    out = run_pipeline(np.ones((3, 3), np.float32), filters.kernel_preset("gaussian blur 5x5"), LayerSettings())
    assert out.conv is None and out.pooled is None
    assert "does not fit in the 3x3 image" in out.conv_error


def test_a_refused_pooling_keeps_the_convolution():
    out = run_pipeline(np.ones((6, 6), np.float32), SOBEL, LayerSettings(pool_size=5))  # 4x4 map, 5x5 window
    assert out.conv.shape == (4, 4) and out.pooled is None
    assert out.pool_error.startswith("Pooling: ") and "does not fit" in out.pool_error


def test_kernel_start_centres_a_small_preset_and_crops_a_large_one():
    five = kernel_start("sobel x", 5)
    assert five.shape == (5, 5) and five.dtype == np.float32
    np.testing.assert_array_equal(five[1:4, 1:4], SOBEL)
    assert five[0].sum() == 0 and five[:, 0].sum() == 0 and five[4].sum() == 0
    gauss = filters.kernel_preset("gaussian blur 5x5")
    np.testing.assert_array_equal(kernel_start("gaussian blur 5x5", 3), gauss[1:-1, 1:-1])
    np.testing.assert_array_equal(kernel_start("laplacian", 3), filters.kernel_preset("laplacian"))


def test_feature_bank_groups_by_size_and_applies_relu():
    maps, error = feature_bank(IMAGE, ["sobel x", "gaussian blur 5x5", "laplacian"], 1, "valid", relu=True)
    assert error is None
    assert [n for n, _m in maps] == ["sobel x", "laplacian", "gaussian blur 5x5"]  # 3x3 kernels together
    assert [m.shape for _n, m in maps] == [(30, 30), (30, 30), (28, 28)]
    np.testing.assert_allclose(maps[0][1], np.maximum(filters.convolve(IMAGE, SOBEL), 0), atol=1e-6)
    raw, _error = feature_bank(IMAGE, ["sobel x"], 1, "valid", relu=False)
    assert raw[0][1].min() < 0


def test_feature_bank_keeps_the_maps_before_a_refused_size():
    maps, error = feature_bank(np.ones((4, 4), np.float32), ["sobel x", "gaussian blur 5x5"], 1, "valid", relu=False)
    assert [n for n, _m in maps] == ["sobel x"] and "does not fit" in error
    assert feature_bank(IMAGE, [], 1, "valid", relu=True) == ([], None)


def test_next_cell_sweeps_right_then_down_and_wraps():
    assert next_cell(0, 0, 126, 126) == (0, 10)  # a twelfth of the width
    assert next_cell(0, 120, 126, 126) == (10, 0)  # past the end of the row: next row band
    assert next_cell(120, 120, 126, 126) == (4, 0)  # past the last row: back to the top
    assert next_cell(0, 0, 5, 5) == (0, 1)  # at least one cell
    assert next_cell(0, 0, 1, 1) == (0, 0)


def test_init_state_sets_only_missing_keys():
    state = {"a": 5}
    init_state({"a": 1, "b": [2]}, state)
    assert state == {"a": 5, "b": [2]}


def _learn_keys() -> tuple[set[str], set[str]]:
    """The keys pages/learn.py declares (DEFAULTS, WIDGET_KEYS) and the literal keys it uses."""
    tree = ast.parse((ROOT / "pages" / "learn.py").read_text())
    declared: set[str] = set()
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "DEFAULTS":
                declared |= {k.value for k in node.value.keys}
            elif node.targets[0].id == "WIDGET_KEYS":
                declared |= {e.value for e in node.value.elts}
        elif isinstance(node, ast.keyword) and node.arg == "key" and isinstance(node.value, ast.Constant):
            used.add(node.value.value)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "state":
            used.add(node.attr)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "session_state"
        ):
            used.add(node.attr)
    return declared, used


def test_the_learn_page_declares_every_session_key_it_uses():
    declared, used = _learn_keys()
    assert {"learn_stride", "learn_zoom", "learn_last_preset", "learn_bank"} <= used
    assert used <= declared, f"keys used but not declared in DEFAULTS or WIDGET_KEYS: {sorted(used - declared)}"


def test_a_typed_kernel_reads_decimal_commas_fractions_and_a_pasted_minus():
    kernel = parse_kernel([["1", "0,5", "1/9"], [" -2 ", "\u22123", "1e-3"]])
    np.testing.assert_allclose(kernel, [[1, 0.5, 1 / 9], [-2, -3, 0.001]], rtol=1e-6)
    assert kernel.dtype == np.float32


@pytest.mark.parametrize(
    ("text", "said"), [("", "it is empty"), ("abc", "'abc' is not a number"), ("1/0", "'1/0'"), ("nan", "'nan'"),
                       ("1e40", "'1e40'"), ("1/2/3", "'1/2/3'")],
)  # fmt: skip
def test_a_bad_kernel_cell_is_named_with_its_row_and_column(text, said):
    with pytest.raises(InputError, match=f"at row 2, column 1: {said}"):
        parse_kernel([["1", "1"], [text, "1"]])


def test_kernel_text_round_trips_and_never_shows_minus_zero():
    start = kernel_start("gaussian blur 5x5", 5)
    cells = kernel_text(start)
    assert len(cells) == 5 and all(len(row) == 5 for row in cells)
    np.testing.assert_allclose(parse_kernel(cells), start, rtol=1e-3)
    assert kernel_text(np.array([[-0.0, 1.0]])) == [["0", "1"]]


def test_the_learn_page_computes_without_tensorflow():
    """Learn never waits for TensorFlow's import (8 s when it was the first page of a busy laptop's server)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from core.teaching import filters\n"
        "from core.teaching.learn import LayerSettings, feature_bank, run_pipeline\n"
        "img = filters.synthetic_image(64)\n"
        "s = LayerSettings(stride=2, padding='same', bias=0.1, relu=True, pool=True, pool_mode='avg', pool_size=3,"
        " pool_stride=2, pool_padding='same')\n"
        "assert run_pipeline(img, filters.kernel_preset('sobel x'), s).pooled is not None\n"
        "feature_bank(img, ['sobel x', 'gaussian blur 5x5'], 1, 'valid', True)\n"
        "filters.pool(img, 2, 2, 'max', 'same')\n"
        "print('tensorflow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
