"""Pictures and plotly Figures for the pages. Pure functions: arrays in, images/figures out.

Images are returned as uint8 RGB arrays ``(H, W, 3)`` (fast to send to a browser as a PNG);
small ones are enlarged with nearest-neighbour so pixels stay crisp on a projector.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# Blue (negative) -> white (zero) -> red (positive): negatives matter in a feature map.
DIVERGING = np.array([[33, 102, 172], [247, 247, 247], [178, 24, 43]], dtype=np.float32)
DIVERGING_SCALE = [[0.0, "rgb(33,102,172)"], [0.5, "rgb(247,247,247)"], [1.0, "rgb(178,24,43)"]]
HIGHLIGHT = (255, 170, 0)  # orange: visible on gray, blue and red
WINNER = (0, 170, 80)


def gray_rgb(x: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Maps ``(H, W)`` values linearly to gray RGB; ``lo``/``hi`` default to the data's range."""
    x = np.asarray(x, dtype=np.float32)
    lo = float(x.min()) if lo is None else lo
    hi = float(x.max()) if hi is None else hi
    t = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.full_like(x, 0.5 if lo != 0 else 0)
    g = (t * 255).round().astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def symmetric_limit(x: np.ndarray, percentile: float = 100.0) -> float:
    """The colour-scale half-range for a diverging map: ``max |x|`` (1 when all zero).

    With ``percentile < 100`` a few extreme cells (an image border, one bright dot) no
    longer wash out the rest: values beyond the limit are drawn at full colour.
    """
    if not np.size(x):
        return 1.0
    a = np.abs(np.asarray(x, dtype=np.float32))
    m = float(np.percentile(a, percentile)) if percentile < 100 else float(a.max())
    if m <= 0:
        m = float(a.max())
    return m if m > 0 else 1.0


def _diverging_lut(levels: int = 511) -> np.ndarray:
    t = np.linspace(-1, 1, levels, dtype=np.float32)[:, None]
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    rgb = DIVERGING[1] + pos * (DIVERGING[2] - DIVERGING[1]) + neg * (DIVERGING[0] - DIVERGING[1])
    return rgb.round().astype(np.uint8)


_LUT = _diverging_lut()  # (511, 3): a table lookup is ~10x faster than blending per pixel


def diverging_rgb(x: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Maps ``(H, W)`` values to blue-white-red with zero always white, in ``[-limit, limit]``."""
    x = np.asarray(x, dtype=np.float32)
    limit = symmetric_limit(x) if limit is None else limit
    half = (len(_LUT) - 1) / 2
    idx = np.clip(np.rint(x * (half / limit) + half), 0, len(_LUT) - 1).astype(np.intp)
    return _LUT[idx]


def enlarge(rgb: np.ndarray, min_side: int = 280, max_factor: int = 16) -> tuple[np.ndarray, int]:
    """Enlarges by an integer factor (nearest) so the shorter side reaches ``min_side``.

    Returns:
        The enlarged image and the factor used (1 when already large enough).
    """
    h, w = rgb.shape[:2]
    factor = int(min(max_factor, max(1, -(-min_side // max(1, min(h, w))))))
    if factor == 1:
        return rgb, 1
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1), factor


def draw_box(
    rgb: np.ndarray, top: int, left: int, height: int, width: int, color=HIGHLIGHT, thickness: int = 2
) -> np.ndarray:
    """Draws a rectangle outline (clipped to the image) on a copy of ``rgb``; pixel units."""
    out = rgb.copy()
    h, w = out.shape[:2]
    t, b = max(top, 0), min(top + height, h)
    lf, r = max(left, 0), min(left + width, w)
    if t >= b or lf >= r:
        return out
    th = max(1, min(thickness, (b - t + 1) // 2, (r - lf + 1) // 2))
    out[t : t + th, lf:r] = color
    out[b - th : b, lf:r] = color
    out[t:b, lf : lf + th] = color
    out[t:b, r - th : r] = color
    return out


def boxed(
    rgb: np.ndarray, top: int, left: int, height: int, width: int, min_side: int = 280, color=HIGHLIGHT
) -> np.ndarray:
    """Enlarges ``rgb`` for display and outlines the cells ``[top:top+height, left:left+width]``.

    On a large image the outline is grown to at least ~1/12 of the picture, so one cell
    of a 512x512 map is still easy to spot.
    """
    big, f = enlarge(rgb, min_side)
    thickness = max(2, min(big.shape[:2]) // 150)
    t, lf, h, w = top * f, left * f, height * f, width * f
    least = max(min(big.shape[:2]) // 12, 2 * thickness + 2)
    if h < least:
        t, h = t - (least - h) // 2, least
    if w < least:
        lf, w = lf - (least - w) // 2, least
    return draw_box(big, t, lf, h, w, color, thickness)


def crop_around(
    x: np.ndarray, top: int, left: int, height: int, width: int, margin: int
) -> tuple[np.ndarray, int, int]:
    """Crops ``x`` to a window plus ``margin`` cells each side (clipped to the image).

    Returns:
        The crop and the window's top/left inside the crop.
    """
    h, w = x.shape[:2]
    t0, l0 = max(0, top - margin), max(0, left - margin)
    t1, l1 = min(h, top + height + margin), min(w, left + width + margin)
    return x[t0:t1, l0:l1], top - t0, left - l0


def number_grid(
    values: np.ndarray,
    title: str,
    diverging: bool = True,
    mask: np.ndarray | None = None,
    mark: tuple[int, int] | None = None,
    digits: int = 2,
    value_range: tuple[float, float] | None = None,
) -> go.Figure:
    """A small heatmap with each cell's number written in it (a patch, a kernel, products).

    Args:
        values: ``(kh, kw)``.
        mask: True where a cell is real input; False cells (padding) are labelled "pad".
        mark: a cell to outline (e.g. the max-pooling winner).
        value_range: fixed colour limits (e.g. ``(0, 1)`` for pixels); default from the data.
    """
    values = np.asarray(values, dtype=np.float64)
    kh, kw = values.shape
    text = [[f"{v:.{digits}f}" for v in row] for row in values]
    if mask is not None:
        text = [[t if mask[i, j] else f"pad<br>{t}" for j, t in enumerate(row)] for i, row in enumerate(text)]
    if value_range is not None:
        scale, (zmin, zmax) = (DIVERGING_SCALE if diverging else "gray"), value_range
    elif diverging:
        lim = symmetric_limit(values)
        scale, zmin, zmax = DIVERGING_SCALE, -lim, lim
    else:
        scale, zmin, zmax = "gray", float(values.min()), float(max(values.max(), values.min() + 1e-9))
    fig = go.Figure(
        go.Heatmap(
            z=values,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 16 if max(kh, kw) <= 3 else 12},
            colorscale=scale,
            zmin=zmin,
            zmax=zmax,
            showscale=False,
            hoverinfo="skip",
            xgap=2,
            ygap=2,
        )
    )
    if mark is not None:
        r, c = mark
        fig.add_shape(
            type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line={"color": "rgb(0,170,80)", "width": 5}
        )
    side = 60 * max(kh, kw) + 60
    fig.update_layout(
        title={"text": title, "font": {"size": 16}},
        height=side,
        width=side,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"visible": False, "constrain": "domain"},
        yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x"},
        plot_bgcolor="white",
    )
    return fig
