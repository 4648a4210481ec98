"""The Learn page's pipeline: image -> kernel -> convolution (+ bias) -> ReLU -> pooling.

One convolution layer with one kernel, as Keras computes it (:mod:`core.teaching.filters`), with
the settings a Conv2D and a pooling layer take. A bad setting never raises here: the step that
refuses it says why (``conv_error``, ``pool_error``) and the steps before it keep their result,
so a page can show what did work. Also the page's small teaching aids: a custom kernel's
starting values, the bank of filters, and the next cell of a sweep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core.base.errors import InputError
from core.base.i18n import _
from core.teaching import filters

SWEEP_STEPS = 12  # a sweep crosses the output map in about this many steps per axis


@dataclass(frozen=True)
class LayerSettings:
    """What a Conv2D (one kernel) and a pooling layer after it are given.

    Attributes:
        stride, padding: the convolution's step and "valid"/"same".
        bias: added to every output of the convolution.
        relu: ``max(x, 0)`` after the convolution.
        pool: whether a pooling layer follows; ``pool_mode`` "max" or "avg", window
            ``pool_size``, step ``pool_stride``, ``pool_padding`` "valid"/"same".
    """

    stride: int = 1
    padding: str = "valid"
    bias: float = 0.0
    relu: bool = True
    pool: bool = True
    pool_mode: str = "max"
    pool_size: int = 2
    pool_stride: int = 2
    pool_padding: str = "valid"


@dataclass(frozen=True)
class Pipeline:
    """What each step produced (None where it could not run) and why a step refused.

    Attributes:
        conv: ``(H', W')`` the feature map, bias included.
        act: the map the pooling reads: ``relu(conv)`` with ReLU on, else ``conv`` itself.
        pooled: ``(P, Q)`` after pooling; None with pooling off.
        conv_error: why the convolution was refused (bad kernel, a "valid" kernel larger than the image...).
        pool_error: why the pooling was refused ("Pooling: ...").
        milliseconds: what computing all of it took.
    """

    conv: np.ndarray | None
    act: np.ndarray | None
    pooled: np.ndarray | None
    conv_error: str | None
    pool_error: str | None
    milliseconds: float


def run_pipeline(image: np.ndarray, kernel: np.ndarray | None, settings: LayerSettings) -> Pipeline:
    """Convolves ``image`` with ``kernel``, adds the bias, applies ReLU and pools, as ``settings`` say.

    Args:
        image: ``(H, W)`` float in [0, 1].
        kernel: ``(kh, kw)``; None (an incomplete custom kernel): nothing is computed.
        settings: the layers' settings.

    Returns:
        Each step's result; a refused step and the ones after it are None, with the reason.
    """
    started = time.perf_counter()
    conv = act = pooled = None
    conv_error = pool_error = None
    if kernel is not None:
        try:
            conv = filters.convolve(image, kernel, settings.stride, settings.padding) + np.float32(settings.bias)
            act = filters.relu(conv) if settings.relu else conv
        except InputError as exc:
            conv_error = str(exc)
    if act is not None and settings.pool:
        try:
            pooled = filters.pool(act, settings.pool_size, settings.pool_stride, settings.pool_mode,
                                  settings.pool_padding)  # fmt: skip
        except InputError as exc:
            pool_error = _("Pooling: {problem}").format(problem=exc)
    return Pipeline(conv, act, pooled, conv_error, pool_error, (time.perf_counter() - started) * 1000)


def kernel_start(preset: str, size: int) -> np.ndarray:
    """The starting values of a ``size x size`` custom kernel made from a preset.

    A smaller preset sits in the middle, zeros around it (sobel x in a 5x5); a larger one
    loses its outer ring (a 5x5 blur in a 3x3).

    Returns:
        ``(size, size)`` float32.

    Raises:
        InputError: ``preset`` is not one of ``filters.KERNEL_PRESETS``.
    """
    src = filters.kernel_preset(preset)
    if src.shape[0] > size:
        return src[1:-1, 1:-1].copy()
    start = np.zeros((size, size), np.float32)
    off = (size - src.shape[0]) // 2
    start[off : off + src.shape[0], off : off + src.shape[1]] = src
    return start


def kernel_text(kernel: np.ndarray) -> list[list[str]]:
    """A kernel's cells as the editor shows them: 4 significant digits, never "-0"."""
    return [[f"{float(v) + 0.0:.4g}" for v in row] for row in np.asarray(kernel, np.float32)]


def parse_kernel(cells: list[list[str]]) -> np.ndarray:
    """The kernel a person typed: one text per cell, row by row.

    A cell holds a number, with a decimal point or comma ("0.5", "0,5"), or a fraction
    ("1/9", as a box blur is written).

    Returns:
        ``(rows, cols)`` float32.

    Raises:
        InputError: naming the first cell that is empty or not a finite number.
    """
    out = np.zeros((len(cells), len(cells[0]) if cells else 0), np.float32)
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            value = _cell_number(str(text or "").strip())
            if value is None:
                where = _("row {row}, column {col}").format(row=r + 1, col=c + 1)
                shown = str(text or "").strip()
                problem = _("it is empty") if not shown else _("'{text}' is not a number").format(text=shown[:20])
                raise InputError(_("Kernel cell at {where}: {problem}. Type a number like 0.5, -1 or 1/9.").format(
                    where=where, problem=problem))  # fmt: skip
            out[r, c] = value
    return out


def _cell_number(text: str) -> float | None:
    """``text`` as a finite float ("0,5" and "1/9" included), else None."""
    text = text.replace(",", ".").replace("−", "-")  # a typographic minus pasted from slides
    parts = text.split("/")
    try:
        if len(parts) == 2:
            value = float(parts[0]) / float(parts[1])
        elif len(parts) == 1:
            value = float(text)
        else:
            return None
    except (ValueError, ZeroDivisionError):
        return None
    return value if abs(value) <= float(np.finfo(np.float32).max) else None  # NaN and inf fail too


def feature_bank(
    image: np.ndarray, names: list[str], stride: int, padding: str, relu: bool
) -> tuple[list[tuple[str, np.ndarray]], str | None]:
    """The first layer of a CNN in small: several preset kernels on one image, one map each.

    Kernels of one size are applied together (:func:`filters.convolve_bank`), sizes in the
    order they first appear in ``names``.

    Returns:
        ``([(name, map), ...], error)``: ``map`` is ``(H', W')``, after ReLU when ``relu``; on a
        refused size, the maps made before it and the reason (else None).
    """
    by_size: dict[tuple[int, int], list[str]] = {}
    for name in names:
        by_size.setdefault(filters.KERNEL_PRESETS[name][0].shape, []).append(name)
    maps: list[tuple[str, np.ndarray]] = []
    try:
        for group in by_size.values():
            stack = filters.convolve_bank(image, [filters.kernel_preset(n) for n in group], stride, padding)
            maps += list(zip(group, stack))
    except InputError as exc:
        return _relu_maps(maps, relu), str(exc)
    return _relu_maps(maps, relu), None


def _relu_maps(maps: list[tuple[str, np.ndarray]], relu: bool) -> list[tuple[str, np.ndarray]]:
    return [(name, filters.relu(fmap) if relu else fmap) for name, fmap in maps]


def next_cell(row: int, col: int, height: int, width: int) -> tuple[int, int]:
    """The next output cell of a sweep over a ``height x width`` map: right along the row, then down.

    Steps are a twelfth of the map (at least 1), so a sweep crosses any map in about twelve
    steps; past the last row it starts again at the top.
    """
    step_c, step_r = max(1, width // SWEEP_STEPS), max(1, height // SWEEP_STEPS)
    col += step_c
    if col >= width:
        col, row = 0, (row + step_r) % height
    return row, col
