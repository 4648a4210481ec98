"""Convolution and pooling on one image, as Keras computes them, in NumPy.

What the Learn page shows is what ``keras.layers.Conv2D`` / ``MaxPooling2D`` /
``AveragePooling2D`` compute (``tests/test_filters.py`` checks against the layers): a
cross-correlation (the kernel is not flipped) with TF's "same" padding rule (the extra
row/column of padding goes after, bottom/right). NumPy, not ``tf.nn``: the page then never
waits for TensorFlow's import (8 s on a busy laptop's fresh server, issue 27).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.errors import InputError
from core.base.i18n import N_, _
from core.models.windows import PADDINGS, check_padding, output_size, same_padding  # noqa: F401 (Learn reads them here)

MAX_KERNEL = 15
MAX_STRIDE = 16
MAX_POOL = 16
POOL_MODES = ("max", "avg")


def _gaussian(size: int, sigma: float) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax**2) / (2 * sigma**2))
    k = np.outer(g, g)
    return k / k.sum()


# Name -> (kernel, one-line explanation). 3x3 unless the name says otherwise.
KERNEL_PRESETS: dict[str, tuple[np.ndarray, str]] = {
    N_("identity"): (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), N_("Copies the image: only the centre weight is 1.")),
    N_("sobel x"): (
        np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        N_("Horizontal gradient: bright where the image gets brighter to the right (vertical edges)."),
    ),
    N_("sobel y"): (
        np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        N_("Vertical gradient: bright where the image gets brighter downwards (horizontal edges)."),
    ),
    N_("prewitt x"): (np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]), N_("Like Sobel x with equal row weights.")),
    N_("prewitt y"): (np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]), N_("Like Sobel y with equal column weights.")),
    N_("scharr x"): (
        np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
        N_("A more rotation-accurate horizontal gradient than Sobel."),
    ),
    N_("laplacian"): (
        np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        N_("Second derivative: responds to edges in every direction, zero on flat areas."),
    ),
    N_("sharpen"): (np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]), N_("Identity plus a negative Laplacian.")),
    N_("box blur"): (np.full((3, 3), 1 / 9), N_("The mean of the 3x3 neighbourhood.")),
    N_("gaussian blur 5x5"): (_gaussian(5, 1.0), N_("A weighted mean: near pixels count more (sigma = 1).")),
    N_("emboss"): (
        np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        N_("A diagonal gradient plus the image: a relief look."),
    ),
    N_("outline"): (
        np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
        N_("Centre minus its 8 neighbours: bright outlines, black flat areas."),
    ),
}
KERNEL_PRESETS = {k: (v.astype(np.float32), d) for k, (v, d) in KERNEL_PRESETS.items()}


def kernel_preset(name: str) -> np.ndarray:
    """Returns a copy of a preset kernel, float32 ``(kh, kw)``."""
    if name not in KERNEL_PRESETS:
        raise InputError(
            _("Expected one of the kernel presets {names}. Received: {name}").format(
                names=sorted(KERNEL_PRESETS), name=repr(name)
            )
        )
    return KERNEL_PRESETS[name][0].copy()


# ----- validation -----------------------------------------------------------------------


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or min(image.shape) < 1:
        raise InputError(_("Expected a 2-D image (H, W). Received: shape={shape}").format(shape=image.shape))
    if not np.all(np.isfinite(image)):
        raise InputError(_("The image holds NaN or infinite values."))
    return image


def _check_kernel(kernel: np.ndarray) -> np.ndarray:
    kernel = np.asarray(kernel, dtype=np.float32)
    if kernel.ndim != 2:
        raise InputError(_("Expected a 2-D kernel (kh, kw). Received: shape={shape}").format(shape=kernel.shape))
    if not (1 <= kernel.shape[0] <= MAX_KERNEL and 1 <= kernel.shape[1] <= MAX_KERNEL):
        raise InputError(
            _("Expected kernel size 1..{max}. Received: kernel shape={shape}").format(
                max=MAX_KERNEL, shape=kernel.shape
            )
        )
    if not np.all(np.isfinite(kernel)):
        raise InputError(_("The kernel holds an empty, NaN or infinite weight: every cell needs a number."))
    return kernel


def _check_int(name: str, value: int, hi: int) -> int:
    if isinstance(value, bool) or int(value) != value or not 1 <= int(value) <= hi:
        raise InputError(
            _("Expected {name} 1..{hi}. Received: {name}={value}").format(name=name, hi=hi, value=repr(value))
        )
    return int(value)


# ----- output-size arithmetic: core.models.windows (the layer registry sizes layers with it) -----


def size_formula(n: int, k: int, stride: int, padding: str) -> str:
    """The output-size formula filled in with numbers, e.g. ``floor((28 - 3) / 1) + 1 = 26``."""
    out = output_size(n, k, stride, padding)
    if padding == "same":
        return f"ceil({n} / {stride}) = {out}"
    return f"floor(({n} - {k}) / {stride}) + 1 = {out}"


def _check_fits(shape: tuple[int, int], kh: int, kw: int, stride: int, padding: str, what: str) -> None:
    h, w = shape
    if padding == "valid" and (kh > h or kw > w):
        raise InputError(
            _("The {kh}x{kw} {what} does not fit in the {h}x{w} image with 'valid' padding (the output would be "
              "empty). Use 'same' padding, a smaller window or a larger image.").format(kh=kh, kw=kw, what=_(what), h=h, w=w)
        )  # fmt: skip


# ----- convolution ----------------------------------------------------------------------


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid") -> np.ndarray:
    """Cross-correlates one image with one kernel, exactly as ``keras.layers.Conv2D`` does.

    Args:
        image: ``(H, W)`` float.
        kernel: ``(kh, kw)`` float; not flipped (cross-correlation, like Keras).
        stride: the same step along both axes, 1..16.
        padding: "valid" (no padding) or "same" (zeros, TF's rule: extra after).

    Returns:
        ``(H', W')`` float32 with ``H' = output_size(H, kh, stride, padding)``.

    Raises:
        InputError: bad shapes or settings, or a kernel larger than a "valid" image.
    """
    return convolve_bank(image, [kernel], stride, padding)[0]


def convolve_bank(image: np.ndarray, kernels: list[np.ndarray], stride: int = 1, padding: str = "valid") -> np.ndarray:
    """Applies several same-sized kernels at once, like the first layer of a CNN.

    Returns:
        ``(N, H', W')`` float32, one feature map per kernel.
    """
    image = _check_image(image)
    if not kernels:
        raise InputError(_("Expected at least one kernel."))
    ks = [_check_kernel(k) for k in kernels]
    if len({k.shape for k in ks}) != 1:
        raise InputError(
            _("Expected kernels of one size. Received: {shapes}").format(shapes=sorted({k.shape for k in ks}))
        )
    stride = _check_int("stride", stride, MAX_STRIDE)
    padding = check_padding(padding)
    kh, kw = ks[0].shape
    _check_fits(image.shape, kh, kw, stride, padding, N_("kernel"))
    w = np.stack(ks, axis=-1).astype(np.float64)  # (kh, kw, N)
    x = _padded(image, kh, kw, stride, padding, 0.0).astype(np.float64)
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    y = np.zeros((oh, ow, len(ks)), np.float64)
    for i in range(kh):  # one shifted view of the image per kernel cell: memory stays one image
        for j in range(kw):
            y += x[i : i + (oh - 1) * stride + 1 : stride, j : j + (ow - 1) * stride + 1 : stride, None] * w[i, j]
    return np.ascontiguousarray(np.transpose(y, (2, 0, 1)), dtype=np.float32)


def _padded(image: np.ndarray, kh: int, kw: int, stride: int, padding: str, fill: float) -> np.ndarray:
    """``image`` with TF's "same" padding around it (unchanged for "valid")."""
    if padding != "same":
        return image
    (top, bottom), (left, right) = same_padding(image.shape[0], kh, stride), same_padding(image.shape[1], kw, stride)
    return np.pad(image, ((top, bottom), (left, right)), constant_values=fill)


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``, element-wise."""
    return np.maximum(x, 0)


# ----- pooling --------------------------------------------------------------------------


def pool(
    image: np.ndarray, size: int = 2, stride: int | None = None, mode: str = "max", padding: str = "valid"
) -> np.ndarray:
    """Max- or average-pools one image, exactly as ``MaxPooling2D`` / ``AveragePooling2D``.

    With "same" padding, padded cells never win a max and are not counted in an average
    (TF's rule).

    Args:
        image: ``(H, W)`` float.
        size: square window side, 1..16.
        stride: step, 1..16; defaults to ``size`` (as in Keras).
        mode: "max" or "avg".
        padding: "valid" or "same".

    Returns:
        ``(H', W')`` float32.
    """
    image = _check_image(image)
    size = _check_int("pool size", size, MAX_POOL)
    stride = size if stride is None else _check_int("pool stride", stride, MAX_STRIDE)
    if mode not in POOL_MODES:
        raise InputError(_("Expected pooling mode 'max' or 'avg'. Received: mode={value}").format(value=repr(mode)))
    padding = check_padding(padding)
    _check_fits(image.shape, size, size, stride, padding, N_("pooling window"))
    from numpy.lib.stride_tricks import sliding_window_view

    # Padding never wins a max (-inf) and is not counted in a mean (NaN, skipped): TF's rule.
    x = _padded(image.astype(np.float64), size, size, stride, padding, -np.inf if mode == "max" else np.nan)
    windows = sliding_window_view(x, (size, size))[::stride, ::stride]  # (H', W', size, size), no copy
    y = windows.max(axis=(2, 3)) if mode == "max" else np.nanmean(windows, axis=(2, 3))
    return y.astype(np.float32)


# ----- one output cell, step by step ----------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The input window behind one output cell.

    ``values`` is ``(kh, kw)``; ``inside`` marks cells that lie inside the image (False
    for padding); ``top``/``left`` give the window's first input row/column (negative
    inside the padding).
    """

    values: np.ndarray
    inside: np.ndarray
    top: int
    left: int


def window_at(image: np.ndarray, kh: int, kw: int, row: int, col: int, stride: int, padding: str) -> Window:
    """Returns the input window that produces output cell ``(row, col)``; padding reads 0."""
    image = _check_image(image)
    h, w = image.shape
    oh, ow = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    if not (0 <= row < oh and 0 <= col < ow):
        raise InputError(
            _("Expected an output cell in 0..{last_row} x 0..{last_col}. Received: ({row}, {col})").format(
                last_row=oh - 1, last_col=ow - 1, row=row, col=col)
        )  # fmt: skip
    pad_top = same_padding(h, kh, stride)[0] if padding == "same" else 0
    pad_left = same_padding(w, kw, stride)[0] if padding == "same" else 0
    top, left = row * stride - pad_top, col * stride - pad_left
    rows, cols = np.arange(top, top + kh), np.arange(left, left + kw)
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    values = np.zeros((kh, kw), np.float32)
    rr, cc = np.nonzero(inside)
    values[rr, cc] = image[rows[rr], cols[cc]]
    return Window(values, inside, top, left)


@dataclass(frozen=True)
class ConvCell:
    """One convolution output: ``value = sum(window * kernel) + bias``."""

    window: Window
    kernel: np.ndarray
    products: np.ndarray  # (kh, kw)
    bias: float
    value: float


def conv_cell(
    image: np.ndarray,
    kernel: np.ndarray,
    row: int,
    col: int,
    stride: int = 1,
    padding: str = "valid",
    bias: float = 0.0,
) -> ConvCell:
    """Breaks one convolution output cell into its element-wise products and their sum."""
    kernel = _check_kernel(kernel)
    win = window_at(image, kernel.shape[0], kernel.shape[1], row, col, stride, check_padding(padding))
    products = win.values * kernel
    return ConvCell(win, kernel, products, float(bias), float(products.sum(dtype=np.float64) + bias))


@dataclass(frozen=True)
class PoolCell:
    """One pooling output: the window, which cell won (max) and the value."""

    window: Window
    mode: str
    winner: tuple[int, int] | None  # (r, c) inside the window, for max pooling
    value: float


def pool_cell(
    image: np.ndarray,
    row: int,
    col: int,
    size: int = 2,
    stride: int | None = None,
    mode: str = "max",
    padding: str = "valid",
) -> PoolCell:
    """Explains one pooling output cell. Padding never wins a max and is not averaged."""
    stride = size if stride is None else stride
    win = window_at(image, size, size, row, col, stride, check_padding(padding))
    inside_values = win.values[win.inside]
    if mode == "max":
        masked = np.where(win.inside, win.values, -np.inf)
        r, c = np.unravel_index(int(np.argmax(masked)), masked.shape)
        return PoolCell(win, mode, (int(r), int(c)), float(masked[r, c]))
    if mode == "avg":
        return PoolCell(win, mode, None, float(inside_values.mean(dtype=np.float64)))
    raise InputError(_("Expected pooling mode 'max' or 'avg'. Received: mode={value}").format(value=repr(mode)))


def synthetic_image(size: int = 128) -> np.ndarray:
    """A test card drawn by code (so the Learn page works with no data at all).

    Returns:
        ``(size, size)`` float32 in [0, 1]: a disc, a square, diagonal and straight bars
        and a smooth gradient, so edges in every direction show up.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = 0.15 + 0.25 * xx  # soft horizontal gradient
    img[(xx - 0.3) ** 2 + (yy - 0.3) ** 2 < 0.18**2] = 0.95  # disc
    img[(xx > 0.58) & (xx < 0.88) & (yy > 0.12) & (yy < 0.42)] = 0.8  # square
    img[(np.abs(xx - yy) < 0.035) & (yy > 0.55)] = 1.0  # diagonal bar
    img[(yy > 0.62) & (yy < 0.68) & (xx > 0.55) & (xx < 0.92)] = 0.05  # dark horizontal bar
    img[(xx > 0.72) & (xx < 0.77) & (yy > 0.7) & (yy < 0.95)] = 0.9  # vertical bar
    return np.clip(img, 0, 1).astype(np.float32)
