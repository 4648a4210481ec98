"""core.teaching.filters against an independent numpy loop and against Keras layers."""

import math

import keras
import numpy as np
import pytest

from core.base.errors import InputError
from core.teaching import filters


def _pad_amounts(n: int, k: int, s: int) -> tuple[int, int]:
    # Written from TF's documented rule, independently of filters.same_padding.
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def ref_convolve(image, kernel, stride, padding):
    """Plain loop cross-correlation (no flip)."""
    h, w = image.shape
    kh, kw = kernel.shape
    if padding == "same":
        (t, b), (lft, r) = _pad_amounts(h, kh, stride), _pad_amounts(w, kw, stride)
        image = np.pad(image, ((t, b), (lft, r)))
    ph, pw = image.shape
    oh, ow = (ph - kh) // stride + 1, (pw - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            acc = 0.0
            for a in range(kh):
                for b_ in range(kw):
                    acc += image[i * stride + a, j * stride + b_] * kernel[a, b_]
            out[i, j] = acc
    return out


def ref_pool(image, size, stride, mode, padding):
    """Plain loop pooling; padding cells are ignored (never win, not averaged)."""
    h, w = image.shape
    t = lft = 0
    if padding == "same":
        t, lft = _pad_amounts(h, size, stride)[0], _pad_amounts(w, size, stride)[0]
        oh, ow = -(-h // stride), -(-w // stride)
    else:
        oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            vals = [
                image[r, c]
                for r in range(i * stride - t, i * stride - t + size)
                for c in range(j * stride - lft, j * stride - lft + size)
                if 0 <= r < h and 0 <= c < w
            ]
            out[i, j] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return out


def _random_cases(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        h, w = rng.integers(1, 14, size=2)
        kh, kw = rng.integers(1, 6, size=2)
        stride = int(rng.integers(1, 5))
        padding = str(rng.choice(["valid", "same"]))
        if padding == "valid" and (kh > h or kw > w):
            padding = "same"
        yield rng.normal(size=(h, w)), rng.normal(size=(kh, kw)), stride, padding


@pytest.mark.parametrize(
    "case", list(_random_cases(80, seed=0)), ids=lambda c: f"{c[0].shape}{c[1].shape}s{c[2]}{c[3]}"
)
def test_convolve_matches_numpy_loop(case):
    image, kernel, stride, padding = case
    got = filters.convolve(image, kernel, stride, padding)
    want = ref_convolve(image, kernel, stride, padding)
    assert (
        got.shape
        == want.shape
        == (
            filters.output_size(image.shape[0], kernel.shape[0], stride, padding),
            filters.output_size(image.shape[1], kernel.shape[1], stride, padding),
        )
    )
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", range(40))
def test_pool_matches_numpy_loop(seed):
    rng = np.random.default_rng(100 + seed)
    h, w = rng.integers(1, 13, size=2)
    size = int(rng.integers(1, 5))
    stride = int(rng.integers(1, 5))
    mode = ["max", "avg"][seed % 2]
    padding = "same" if size > min(h, w) or seed % 3 == 0 else "valid"
    image = rng.normal(size=(h, w))
    got = filters.pool(image, size, stride, mode, padding)
    np.testing.assert_allclose(got, ref_pool(image, size, stride, mode, padding), rtol=1e-5, atol=1e-5)


def test_kernel_is_not_flipped():
    image = np.zeros((5, 5))
    image[2, 2] = 1.0
    kernel = np.arange(9, dtype=float).reshape(3, 3)
    # Cross-correlation of an impulse gives the kernel rotated by 180 degrees.
    np.testing.assert_array_equal(filters.convolve(image, kernel), kernel[::-1, ::-1])


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_as_keras_layers(padding, stride):
    rng = np.random.default_rng(stride)
    image = rng.random((17, 12)).astype("float32")
    kernel = rng.normal(size=(3, 5)).astype("float32")
    conv = keras.layers.Conv2D(1, (3, 5), strides=stride, padding=padding, use_bias=False)
    conv.build((None, 17, 12, 1))
    conv.set_weights([kernel[:, :, None, None]])
    want = conv(image[None, :, :, None]).numpy()[0, :, :, 0]
    np.testing.assert_allclose(filters.convolve(image, kernel, stride, padding), want, rtol=1e-5, atol=1e-5)
    for mode, layer in [("max", keras.layers.MaxPooling2D), ("avg", keras.layers.AveragePooling2D)]:
        want = layer(3, strides=stride, padding=padding)(image[None, :, :, None]).numpy()[0, :, :, 0]
        np.testing.assert_allclose(filters.pool(image, 3, stride, mode, padding), want, rtol=1e-6)


def test_bank_stacks_one_map_per_kernel():
    image = filters.synthetic_image(32)
    names = ["sobel x", "sobel y", "laplacian"]
    bank = filters.convolve_bank(image, [filters.kernel_preset(n) for n in names], 2, "same")
    assert bank.shape == (3, 16, 16)
    for i, n in enumerate(names):
        np.testing.assert_allclose(bank[i], filters.convolve(image, filters.kernel_preset(n), 2, "same"), atol=1e-6)


def test_presets_behave_as_described():
    img = filters.synthetic_image(64)
    np.testing.assert_allclose(filters.convolve(img, filters.kernel_preset("identity")), img[1:-1, 1:-1], atol=1e-6)
    flat = np.full((8, 8), 0.4)
    for name in ["sobel x", "sobel y", "prewitt x", "prewitt y", "scharr x", "laplacian", "outline"]:
        np.testing.assert_allclose(filters.convolve(flat, filters.kernel_preset(name)), 0, atol=1e-6)
    for name in ["box blur", "gaussian blur 5x5", "sharpen", "identity"]:
        np.testing.assert_allclose(filters.convolve(flat, filters.kernel_preset(name)), 0.4, atol=1e-5)
    ramp = np.tile(np.arange(8.0), (8, 1))  # brighter to the right
    assert np.all(filters.convolve(ramp, filters.kernel_preset("sobel x")) > 0)
    np.testing.assert_allclose(filters.convolve(ramp, filters.kernel_preset("sobel y")), 0, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_cell_reproduces_every_output(padding):
    rng = np.random.default_rng(7)
    image, kernel, bias = rng.random((9, 7)), rng.normal(size=(3, 4)), 0.25
    full = filters.convolve(image, kernel, 2, padding) + bias
    for r in range(full.shape[0]):
        for c in range(full.shape[1]):
            cell = filters.conv_cell(image, kernel, r, c, 2, padding, bias)
            assert cell.value == pytest.approx(full[r, c], abs=1e-5)
            np.testing.assert_allclose(cell.products, cell.window.values * kernel.astype("float32"))
            # Padding reads as zero.
            assert np.all(cell.window.values[~cell.window.inside] == 0)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_cell_reproduces_every_output(mode):
    rng = np.random.default_rng(3)
    image = rng.normal(size=(7, 9)) - 5  # all negative: a zero from padding must not win
    full = filters.pool(image, 3, 2, mode, "same")
    for r in range(full.shape[0]):
        for c in range(full.shape[1]):
            cell = filters.pool_cell(image, r, c, 3, 2, mode, "same")
            assert cell.value == pytest.approx(full[r, c], abs=1e-5)
            if mode == "max":
                assert cell.window.inside[cell.winner]
                assert cell.window.values[cell.winner] == pytest.approx(cell.value)


def test_output_size_formula_text():
    assert filters.size_formula(28, 3, 1, "valid") == "floor((28 - 3) / 1) + 1 = 26"
    assert filters.size_formula(28, 5, 2, "same") == "ceil(28 / 2) = 14"
    assert filters.output_size(3, 5, 1, "valid") == 0
    assert filters.same_padding(5, 3, 2) == (1, 1)
    assert filters.same_padding(6, 3, 2) == (0, 1)  # the odd extra goes after
    for n in range(1, 30):
        for k in range(1, 6):
            for s in range(1, 4):
                assert filters.output_size(n, k, s, "same") == math.ceil(n / s)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: filters.convolve(np.zeros((3, 3)), np.ones((5, 5))), "does not fit"),
        (lambda: filters.pool(np.zeros((3, 3)), size=4), "does not fit"),
        (lambda: filters.convolve(np.zeros((8, 8)), np.ones((3, 3)), stride=0), "stride 1..16"),
        (lambda: filters.convolve(np.zeros((8, 8)), np.ones((3, 3)), padding="full"), "padding"),
        (lambda: filters.convolve(np.zeros((8, 8)), np.ones((20, 3))), "kernel size 1..15"),
        (lambda: filters.convolve(np.zeros((8, 8)), np.array([[1, np.nan, 0]])), "every cell needs a number"),
        (lambda: filters.convolve(np.zeros((8, 8, 3)), np.ones((3, 3))), "2-D image"),
        (lambda: filters.pool(np.zeros((8, 8)), mode="median"), "'max' or 'avg'"),
        (lambda: filters.convolve_bank(np.zeros((8, 8)), [np.ones((3, 3)), np.ones((5, 5))]), "one size"),
        (lambda: filters.conv_cell(np.zeros((8, 8)), np.ones((3, 3)), 6, 0), "output cell"),
        (lambda: filters.kernel_preset("nope"), "kernel presets"),
    ],
)
def test_bad_settings_raise_clear_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()
