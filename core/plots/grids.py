"""Number grids: small heatmaps with each cell's number written in it (a patch, a kernel, a pooling window)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.plots.pictures import symmetric_limit
from core.plots.style import separators

# Blue (negative) -> white (zero) -> red (positive), as core.plots.pictures.DIVERGING.
DIVERGING_SCALE = [[0.0, "rgb(33,102,172)"], [0.5, "rgb(247,247,247)"], [1.0, "rgb(178,24,43)"]]


def _grid_trace(values: np.ndarray, diverging: bool, mask, value_range, digits: int) -> go.Heatmap:
    """One heatmap with each cell's number written in it; padding cells say "pad" (they read 0)."""
    kh, kw = values.shape
    # Three significant digits ("-1", "0.15", "0.306"): short enough for narrow cells on a projector.
    point = separators()[0]  # "0.15" or "0,15"
    # + 0.0 turns -0.0 (a negative kernel weight times a black pixel) into 0: "-0" reads as an error
    text = [[f"{v + 0.0:.{digits + 1}g}".replace(".", point) for v in row] for row in values]
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
