"""Pictures from arrays: colour maps, crisp enlargement, boxes, montages, heat overlays and kernel tiles.

Images are returned as uint8 RGB arrays ``(H, W, 3)`` (fast to send to a browser as a PNG);
small ones are enlarged with nearest-neighbour so pixels stay crisp on a projector.
"""

from __future__ import annotations

import numpy as np

# Blue (negative) -> white (zero) -> red (positive): negatives matter in a feature map.
DIVERGING = np.array([[33, 102, 172], [247, 247, 247], [178, 24, 43]], dtype=np.float32)
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


def montage(maps: np.ndarray, columns: int = 8, gap: int = 1, limit: int = 64) -> np.ndarray:
    """Tiles feature maps ``(H, W, C)`` into one gray image, each map scaled on its own.

    Returns:
        uint8 RGB ``(rows*(H+gap), columns*(W+gap), 3)`` of the first ``limit`` channels.
    """
    h, w, c = maps.shape
    c = min(c, limit)
    columns = min(columns, c)
    rows = -(-c // columns)
    out = np.full((rows * (h + gap), columns * (w + gap), 3), 255, np.uint8)
    for i in range(c):
        r, col = divmod(i, columns)
        out[r * (h + gap) : r * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = gray_rgb(maps[:, :, i])
    return out


def _heat_colors(t: np.ndarray) -> np.ndarray:
    """Dark blue -> cyan -> yellow -> red for t in [0, 1] (a jet-like map, no matplotlib)."""
    stops = np.array([[0, 0, 0.5], [0, 0.8, 1], [1, 1, 0], [1, 0, 0]], dtype=np.float32)
    pos = np.clip(t, 0, 1) * (len(stops) - 1)
    i = np.minimum(pos.astype(int), len(stops) - 2)
    f = (pos - i)[..., None]
    return stops[i] * (1 - f) + stops[i + 1] * f


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blends a heatmap (same H, W, values in [0, 1]) over an image in [0, 1]: uint8 RGB."""
    base = np.asarray(image, dtype=np.float32)
    if base.ndim == 3 and base.shape[2] == 1:
        base = base[:, :, 0]
    if base.ndim == 2:
        base = np.repeat(base[:, :, None], 3, axis=2)
    mix = (1 - alpha * heat[..., None]) * base + alpha * heat[..., None] * _heat_colors(heat)
    return (np.clip(mix, 0, 1) * 255).round().astype(np.uint8)


def framed(x: np.ndarray, color: tuple[int, int, int], side: int = 84) -> np.ndarray:
    """A thumbnail with a coloured frame: ``x`` (H, W, 1 | 3) float in [0, 1] -> uint8 RGB."""
    img = x[:, :, 0] if x.ndim == 3 and x.shape[2] == 1 else x
    rgb = gray_rgb(img, 0, 1) if img.ndim == 2 else (np.clip(img, 0, 1) * 255).astype(np.uint8)
    big, _factor = enlarge(rgb, side)
    return draw_box(big, 0, 0, big.shape[0], big.shape[1], color, thickness=max(3, big.shape[0] // 28))


def kernel_tiles(kernels: np.ndarray, columns: int = 8, tile: int = 48, gap: int = 4) -> np.ndarray:
    """First-layer kernels as a grid of small blue-white-red squares, one per filter.

    Each filter gets its own colour scale (zero white, its largest weight full colour): what
    is seen is its pattern (noise, a blob, an edge), not its size. Three input channels are
    shown as colours (mid-gray zero), any other count as the mean over the input channels.

    Args:
        kernels: ``(kh, kw, cin, F)``.
        tile: pixels per filter side (nearest-neighbour enlargement, so weights stay crisp).

    Returns:
        uint8 RGB ``(rows*(tile+gap)-gap, columns*(tile+gap)-gap, 3)``, white between tiles.
    """
    kernels = np.asarray(kernels, dtype=np.float32)
    if kernels.ndim != 4:
        raise ValueError(f"Expected kernels (kh, kw, cin, filters). Received shape {kernels.shape}.")
    kh, kw, cin, n = kernels.shape
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    f = max(1, tile // max(kh, kw))  # integer factor: every weight is an f x f block
    th, tw = kh * f, kw * f
    out = np.full((rows * (th + gap) - gap, columns * (tw + gap) - gap, 3), 255, np.uint8)
    for i in range(n):
        k = kernels[:, :, :, i]
        if cin == 3:
            rgb = (np.clip(0.5 + k / (2 * symmetric_limit(k)), 0, 1) * 255).round().astype(np.uint8)
        else:
            rgb = diverging_rgb(k.mean(axis=2))
        r, c = divmod(i, columns)
        y, x = r * (th + gap), c * (tw + gap)
        out[y : y + th, x : x + tw] = np.repeat(np.repeat(rgb, f, axis=0), f, axis=1)
    return out
