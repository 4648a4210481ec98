"""Pictures and plotly Figures for the pages. Pure functions: arrays in, images/figures out.

Images are returned as uint8 RGB arrays ``(H, W, 3)`` (fast to send to a browser as a PNG);
small ones are enlarged with nearest-neighbour so pixels stay crisp on a projector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from core.base.i18n import N_, _, language, number, percent
from core.models import KINDS

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


def _grid_trace(values: np.ndarray, diverging: bool, mask, value_range, digits: int) -> go.Heatmap:
    """One heatmap with each cell's number written in it; padding cells say "pad" (they read 0)."""
    kh, kw = values.shape
    # Three significant digits ("-1", "0.15", "0.306"): short enough for narrow cells on a projector.
    point = separators()[0]  # "0.15" or "0,15"
    text = [[f"{v:.{digits + 1}g}".replace(".", point) for v in row] for row in values]
    if mask is not None:
        text = [[t if mask[i, j] else "pad" for j, t in enumerate(row)] for i, row in enumerate(text)]
    if value_range is not None:
        scale, (zmin, zmax) = (DIVERGING_SCALE if diverging else "gray"), value_range
    elif diverging:
        lim = symmetric_limit(values)
        scale, zmin, zmax = DIVERGING_SCALE, -lim, lim
    else:
        scale, zmin, zmax = "gray", float(values.min()), float(max(values.max(), values.min() + 1e-9))
    return go.Heatmap(z=values, text=text, texttemplate="%{text}", textfont={"size": 16 if max(kh, kw) <= 3 else 12},
                      colorscale=scale, zmin=zmin, zmax=zmax, showscale=False, hoverinfo="skip", xgap=2, ygap=2)  # fmt: skip


def number_grids(grids: list[dict]) -> go.Figure:
    """Several small grids side by side in one figure (a patch, a kernel, their products).

    One figure rather than one per column: a chart has a minimum width, and three narrow
    charts were cut off at the right on a projector.

    Args:
        grids: dicts with ``values`` ``(kh, kw)``, ``title`` and optionally ``diverging``,
            ``mask`` (True where a cell is real input), ``value_range``, ``digits``.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(grids), subplot_titles=[g["title"] for g in grids], horizontal_spacing=0.05)
    side = 0
    for n, g in enumerate(grids, start=1):
        values = np.asarray(g["values"], dtype=np.float64)
        side = max(side, 60 * max(values.shape) + 70)
        fig.add_trace(_grid_trace(values, g.get("diverging", True), g.get("mask"), g.get("value_range"),
                                  g.get("digits", 2)), row=1, col=n)  # fmt: skip
        fig.update_xaxes(visible=False, row=1, col=n)
        fig.update_yaxes(visible=False, autorange="reversed", row=1, col=n)
    fig.update_annotations(font_size=18)
    fig.update_layout(height=side, margin={"l": 4, "r": 4, "t": 40, "b": 4}, plot_bgcolor="white")
    return fig


def number_grid(
    values: np.ndarray,
    title: str,
    diverging: bool = True,
    mask: np.ndarray | None = None,
    mark: tuple[int, int] | None = None,
    digits: int = 2,
    value_range: tuple[float, float] | None = None,
) -> go.Figure:
    """A small heatmap with each cell's number written in it (one pooling window).

    Args:
        values: ``(kh, kw)``.
        mask: True where a cell is real input; False cells (padding) are labelled "pad".
        mark: a cell to outline (e.g. the max-pooling winner).
        value_range: fixed colour limits (e.g. ``(0, 1)`` for pixels); default from the data.
    """
    values = np.asarray(values, dtype=np.float64)
    kh, kw = values.shape
    fig = go.Figure(_grid_trace(values, diverging, mask, value_range, digits))
    if mark is not None:
        r, c = mark
        fig.add_shape(
            type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line={"color": "rgb(0,170,80)", "width": 5}
        )
    side = 60 * max(kh, kw) + 60
    fig.update_layout(
        title={"text": title, "font": {"size": 18}},
        height=side,
        width=max(side, 200),
        margin={"l": 4, "r": 4, "t": 40, "b": 4},
        xaxis={"visible": False, "constrain": "domain"},
        yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x"},
        plot_bgcolor="white",
    )
    return fig


METRIC_TITLES = {"loss": N_("Loss"), "accuracy": N_("Accuracy")}


def separators() -> str:
    """Plotly's decimal and thousands marks for the current language ("," and "." in Portuguese)."""
    return ",." if language() == "pt_BR" else ".,"


def projector_layout(fig: go.Figure, height: int, title: str, **layout) -> go.Figure:
    """The layout of the big charts: large title and fonts for a projector, the legend at the top right.

    Args:
        layout: more of ``update_layout``'s arguments (axes, hovermode).
    """
    return fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10},
                             title={"text": title, "font": {"size": 20}}, font={"size": 15}, separators=separators(),
                             legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1.0, "xanchor": "right"},
                             **layout)  # fmt: skip


# Every chart gets one toolbar button: download as PNG (2x, for slides). Nothing else.
CHART_CONFIG = {
    "displaylogo": False,
    "modeBarButtons": [["toImage"]],
    "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "cnn-lab-chart"},
}

# ----- learning curves ----------------------------------------------------------------

PALETTE = ["#1f5fd6", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def smooth(values: list[float | None], weight: float) -> list[float | None]:
    """Exponential moving average (TensorBoard's smoothing), bias-corrected; keeps gaps.

    ``weight`` 0 returns the values unchanged; 0.9 is heavy smoothing.
    """
    if not 0 <= weight < 1:
        raise ValueError(f"Expected smoothing weight in [0, 1). Received: {weight}")
    out, last, n = [], 0.0, 0
    for v in values:
        if v is None:
            out.append(None)
            continue
        n += 1
        last = weight * last + (1 - weight) * v
        out.append(last / (1 - weight**n) if weight else v)
    return out


@dataclass
class Curve:
    """One run's history for a chart: rows from history.csv (or batches.csv)."""

    label: str
    rows: list[dict]
    best_epoch: int | None = None
    early_stop_epoch: int | None = None


MAX_EPOCH_TICKS = 20  # up to this many epochs, one tick per epoch


def curves_figure(
    curves: list[Curve], metric: str, smoothing: float = 0.0, x: str = "epoch", height: int = 380
) -> go.Figure:
    """Train (dashed) and validation (solid) ``metric`` of several runs on one chart.

    One legend entry per run (clicking it hides both of its lines). With smoothing, the raw
    curve stays faintly visible behind the smoothed one. The best epoch (the checkpoint kept)
    gets an open star, where early stopping fired an x: open markers never hide a short curve.
    """
    fig = go.Figure()
    for i, c in enumerate(curves):
        color = PALETTE[i % len(PALETTE)]
        xs = [r.get(x) for r in c.rows]
        for key, dash, name in ((metric, "dash", _("training")), (f"val_{metric}", "solid", _("validation"))):
            ys = [r.get(key) for r in c.rows]
            if not any(v is not None for v in ys):
                continue
            if smoothing > 0:
                fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": color, "dash": dash, "width": 1},
                                opacity=0.25, showlegend=False, hoverinfo="skip", legendgroup=c.label)  # fmt: skip
                ys = smooth(ys, smoothing)
            fig.add_scatter(x=xs, y=ys, mode="lines+markers" if len(xs) < 40 else "lines", name=c.label,
                            legendgroup=c.label, showlegend=key != metric or x != "epoch",
                            hovertemplate=f"{name} %{{y:.4f}}<extra>{c.label}</extra>",
                            line={"color": color, "dash": dash, "width": 3}, marker={"size": 7})  # fmt: skip
        by_epoch = {r.get("epoch"): r for r in c.rows}
        for epoch, symbol, what in (
            (c.best_epoch, "star-open", _("best checkpoint")),
            (c.early_stop_epoch, "x-thin-open", _("early stop")),
        ):
            row = by_epoch.get(epoch)
            if x == "epoch" and row is not None and row.get(f"val_{metric}") is not None:
                fig.add_scatter(x=[epoch], y=[row[f"val_{metric}"]], mode="markers", showlegend=False,
                                legendgroup=c.label,
                                hovertemplate=_("{what}, epoch {epoch}").format(what=what, epoch=epoch) + f"<extra>{c.label}</extra>",
                                marker={"symbol": symbol, "size": 20, "color": color, "line": {"width": 3, "color": color}})  # fmt: skip
    projector_layout(fig, height, _(METRIC_TITLES.get(metric, metric)), hovermode="x unified",
                     xaxis={"title": _("epoch") if x == "epoch" else _("batch (step)"), "tickformat": "d"})  # fmt: skip
    if x == "epoch" and max((len(c.rows) for c in curves), default=0) <= MAX_EPOCH_TICKS:
        fig.update_xaxes(tick0=1, dtick=1)  # whole epochs only: "1 2 2 3 3" was half-epoch ticks rounded
    return fig


def architecture_figure(rows: list[tuple[str, str, tuple, int]]) -> go.Figure:
    """A left-to-right diagram: one block per layer, sized by its output, labelled in plain text.

    Labels are horizontal, black and large, alternating above and below the blocks so that
    neighbours never overlap (readable on a projector).

    Args:
        rows: ``(kind, label, output_shape, params)`` per layer, input first.
    """
    fig = go.Figure()
    x = 0.0
    for i, (kind, label, shape, params) in enumerate(rows):
        spatial = shape[0] if len(shape) == 3 else 1
        channels = shape[-1] if shape else 1
        h = 0.6 + 2.0 * (np.log2(max(spatial, 1)) / 9)  # taller = larger feature map
        w = 0.5 + 0.7 * (np.log2(max(channels, 1)) / 12)  # wider = more channels/units
        color = KINDS[kind].color if kind in KINDS else "#888888"  # the layer registry's colour
        fig.add_shape(type="rect", x0=x, x1=x + w, y0=-h / 2, y1=h / 2, fillcolor=color, opacity=0.85,
                      line={"color": "black", "width": 1})  # fmt: skip
        dims = "x".join(str(d) for d in shape)
        above = i % 2 == 0
        fig.add_annotation(x=x + w / 2, y=(1.45 if above else -1.45), text=f"<b>{label}</b><br>{dims}",
                           showarrow=False, yanchor="bottom" if above else "top",
                           font={"size": 15, "color": "#111418"})  # fmt: skip
        fig.add_scatter(x=[x + w / 2], y=[0], mode="markers", marker={"opacity": 0}, showlegend=False,
                        hovertext=_("{label}: {dims}, {params} parameters").format(label=label, dims=dims, params=number(params)),
                        hoverinfo="text")  # fmt: skip
        x += w + 0.9
    fig.update_layout(
        height=330,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False, "range": [-0.6, x]},
        yaxis={"visible": False, "range": [-2.6, 2.6]},
        plot_bgcolor="white",
    )
    return fig


# ----- prediction and evaluation ----------------------------------------------------------


def probability_bars(probs: dict[str, float]) -> go.Figure:
    """Horizontal bars of class probabilities, the predicted class highlighted."""
    names, values = list(probs), [float(v) for v in probs.values()]
    top = int(np.argmax(values)) if values else -1
    colors = [PALETTE[0] if i == top else "#b8c4d6" for i in range(len(values))]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colors,
                           text=[percent(v, 1) for v in values], textposition="outside", cliponaxis=False))  # fmt: skip
    fig.update_layout(height=max(160, 34 * len(names) + 40), margin={"l": 10, "r": 40, "t": 10, "b": 10}, separators=separators(),
                      xaxis={"range": [0, 1.15], "tickformat": ".0%"}, yaxis={"autorange": "reversed", "type": "category"})  # fmt: skip
    return fig


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


def confusion_figure(cm: list[list[int]], class_names: list[str]) -> go.Figure:
    """A confusion matrix heatmap with counts; rows are true classes, columns predictions."""
    z = np.asarray(cm)
    k = len(class_names)
    size = 22 if k <= 10 else 16 if k <= 20 else 11  # numbers readable from the back of a room
    fig = go.Figure(go.Heatmap(z=z, x=class_names, y=class_names, text=z, texttemplate="%{text}",
                               textfont={"size": size}, colorscale="Blues", showscale=False, xgap=1, ygap=1,
                               hovertemplate=_("true %{y}, predicted %{x}: %{z}") + "<extra></extra>"))  # fmt: skip
    fig.update_layout(height=max(340, 48 * k + 140), margin={"l": 10, "r": 10, "t": 90, "b": 10}, font={"size": 16},
                      separators=separators(),
                      xaxis={"title": _("predicted"), "type": "category", "side": "top"},
                      yaxis={"title": _("true"), "type": "category", "autorange": "reversed"})  # fmt: skip
    return fig


# ----- the API comparison ----------------------------------------------------------------


@dataclass
class TimedAccuracy:
    """One racer of a chart against wall-clock time."""

    label: str
    curve: list[tuple[float, float]]  # (seconds since its fit began, training accuracy so far)
    test: tuple[float, float] | None = None  # (fit seconds, test accuracy) once tested


def accuracy_time_figure(racers: list[TimedAccuracy], height: int = 420) -> go.Figure:
    """Accuracy against wall-clock seconds: each racer's running training accuracy (line) and,
    once it has one, its test accuracy (a large diamond at the end of its fit)."""
    fig = go.Figure()
    for i, r in enumerate(racers):
        color = PALETTE[i % len(PALETTE)]
        if r.curve:
            xs, ys = zip(*r.curve)
            fig.add_scatter(x=xs, y=ys, mode="lines", name=r.label, legendgroup=r.label,
                            line={"color": color, "width": 3, "dash": "dot"},
                            hovertemplate=_("training accuracy %{y:.2%} at %{x:.1f} s") + f"<extra>{r.label}</extra>")  # fmt: skip
        if r.test is not None:
            fig.add_scatter(x=[r.test[0]], y=[r.test[1]], mode="markers+text", legendgroup=r.label,
                            name=r.label, showlegend=not r.curve, text=[percent(r.test[1], 2)],
                            textposition="top center", textfont={"size": 16, "color": color},
                            marker={"symbol": "diamond", "size": 18, "color": color},
                            hovertemplate=_("test accuracy %{y:.2%} after %{x:.1f} s") + f"<extra>{r.label}</extra>")  # fmt: skip
    projector_layout(fig, height, _("Accuracy against wall-clock time (dotted: training, diamond: test)"),
                     xaxis={"title": _("seconds of training"), "rangemode": "tozero"},
                     yaxis={"title": _("accuracy"), "tickformat": ".0%"})  # fmt: skip
    return fig


# ----- the replay of the epochs ------------------------------------------------------------


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


# ----- architecture race -----------------------------------------------------------------


@dataclass
class RaceLine:
    """One racer on the race chart."""

    label: str
    points: list[tuple[float, float]]  # (seconds since the race start, validation accuracy) at epoch ends
    crossed: float | None = None  # seconds at which it first reached the target


def race_figure(
    lines: list[RaceLine],
    target: float | None,
    clock: float | None = None,
    frame: tuple[float, float] | None = None,
    height: int = 440,
) -> go.Figure:
    """Validation accuracy against wall-clock seconds since the race start, one line per racer.

    A dashed horizontal finish line at ``target``, a star where each racer first reaches it, and
    a thin vertical line at ``clock`` (the stopwatch) while a race runs or replays. ``frame``
    (last second, lowest accuracy) fixes the axes, so a replay grows inside the whole race's frame.
    """
    fig = go.Figure()
    lows = [a for line in lines for _s, a in line.points]
    for i, line in enumerate(lines):
        color = PALETTE[i % len(PALETTE)]
        # A racer with no epoch end yet keeps its place in the legend (an empty trace would not).
        xs, ys = ([p[0] for p in line.points], [p[1] for p in line.points]) if line.points else ([None], [None])
        fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=line.label, legendgroup=line.label,
                        line={"color": color, "width": 4}, marker={"size": 9},
                        hovertemplate=_("validation accuracy %{y:.2%} at %{x:.1f} s") + f"<extra>{line.label}</extra>")  # fmt: skip
        if line.crossed is not None:
            y = next(a for s, a in line.points if s == line.crossed)
            fig.add_scatter(x=[line.crossed], y=[y], mode="markers+text", legendgroup=line.label, showlegend=False,
                            marker={"symbol": "star", "size": 24, "color": color, "line": {"width": 1, "color": "#222"}},
                            text=[_("{s} s").format(s=number(line.crossed, 1))], textposition="bottom center",
                            textfont={"size": 15, "color": color},
                            hovertemplate=_("reached the target at %{x:.1f} s") + f"<extra>{line.label}</extra>")  # fmt: skip
    if target is not None:
        fig.add_hline(y=target, line={"color": "#222", "width": 2, "dash": "dash"},
                      annotation={"text": _("finish line {target}").format(target=percent(target, 1)),
                                  "font": {"size": 15}}, annotation_position="top left")  # fmt: skip
    right = max([clock or 0.0] + [p[0] for line in lines for p in line.points]) or 10.0
    if clock is not None:
        fig.add_vline(x=clock, line={"color": "#888", "width": 1})
    bottom = min(lows + ([target] if target is not None else [])) if lows else 0.0
    if frame is not None:
        right, bottom = max(frame[0], right), min(frame[1], bottom)
    projector_layout(fig, height, _("Validation accuracy against seconds since the start (points: epoch ends)"),
                     xaxis={"title": _("seconds since the start"), "range": [0, right * 1.08]},
                     yaxis={"title": _("validation accuracy"), "tickformat": ".0%",
                            "range": [max(0.0, bottom - 0.05), 1.005]})  # fmt: skip
    return fig


# ----- tables (regression) -----------------------------------------------------------------

METRIC_TITLES["mae"] = N_("MAE (mean absolute error)")  # the regression runs' second curve
RESIDUAL_BINS = 30  # histogram bars of the residuals at most: enough to see a shape on ~100 test rows
MIN_RESIDUAL_BINS = 5


def predicted_actual_figure(pairs: list[list[float]], target: str = "", height: int = 420) -> go.Figure:
    """Predicted against actual values of a regression's test rows, with the line y = x.

    Args:
        pairs: ``[[true, predicted], ...]`` (metrics.json "predictions"); a point on the line is exact.
        target: the predicted column's name, for the axes.
    """
    xy = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)  # (N, 2): true, predicted
    fig = go.Figure()
    if len(xy):
        lo, hi = float(np.nanmin(xy)), float(np.nanmax(xy))
        fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name=_("exact (y = x)"), hoverinfo="skip",
                        line={"color": "#888888", "dash": "dash", "width": 2})  # fmt: skip
    fig.add_scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=_("test rows"), marker={"size": 8, "color": PALETTE[0],
                    "opacity": 0.7}, hovertemplate=_("actual %{x:.4g}, predicted %{y:.4g}") + "<extra></extra>")  # fmt: skip
    axis = _("actual {target}").format(target=target) if target else _("actual")
    pred = _("predicted {target}").format(target=target) if target else _("predicted")
    projector_layout(fig, height, _("Predicted vs actual"), xaxis={"title": axis},
                     yaxis={"title": pred, "scaleanchor": "x", "scaleratio": 1})  # fmt: skip
    return fig


def residuals_figure(pairs: list[list[float]], height: int = 420) -> go.Figure:
    """A histogram of the residuals (predicted - actual) of a regression's test rows; 0 is marked."""
    xy = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)  # (N, 2): true, predicted
    residuals = xy[:, 1] - xy[:, 0]  # (N,): > 0 where the model guessed too high
    bins = min(RESIDUAL_BINS, max(MIN_RESIDUAL_BINS, len(residuals) // 3))  # ~3 rows a bar on a small test set
    fig = go.Figure(go.Histogram(x=residuals, nbinsx=bins, marker={"color": PALETTE[0]},
                                 hovertemplate=_("%{x}: %{y} rows") + "<extra></extra>"))  # fmt: skip
    fig.add_vline(x=0, line={"color": "#888888", "dash": "dash", "width": 2})
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 60, "b": 10}, font={"size": 15},
                      separators=separators(), bargap=0.05,
                      title={"text": _("Residuals (predicted - actual)"), "font": {"size": 20}},
                      xaxis={"title": _("predicted - actual")}, yaxis={"title": _("rows")})  # fmt: skip
    return fig
