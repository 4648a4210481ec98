"""Number grids: small heatmaps with each cell's number written in it (a patch, a kernel, a pooling window)."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from core.plots.pictures import diverging_rgb, gray_rgb, symmetric_limit
from core.plots.style import separators

# Blue (negative) -> white (zero) -> red (positive), as core.plots.pictures.DIVERGING.
DIVERGING_SCALE = [[0.0, "rgb(33,102,172)"], [0.5, "rgb(247,247,247)"], [1.0, "rgb(178,24,43)"]]


def _cell_texts(values: np.ndarray, mask, digits: int) -> list[list[str]]:
    """Each cell's number, ``digits + 1`` significant digits in the page's decimal mark; padding says "pad"."""
    point = separators()[0]  # "0.15" or "0,15"
    # + 0.0 turns -0.0 (a negative kernel weight times a black pixel) into 0: "-0" reads as an error
    text = [[f"{v + 0.0:.{digits + 1}g}".replace(".", point) for v in row] for row in values]
    if mask is not None:
        text = [[t if mask[i, j] else "pad" for j, t in enumerate(row)] for i, row in enumerate(text)]
    return text


def _grid_trace(values: np.ndarray, diverging: bool, mask, value_range, digits: int) -> go.Heatmap:
    """One heatmap with each cell's number written in it; padding cells say "pad" (they read 0)."""
    kh, kw = values.shape
    # Three significant digits ("-1", "0.15", "0.306"): short enough for narrow cells on a projector.
    text = _cell_texts(values, mask, digits)
    if value_range is not None:
        scale, (zmin, zmax) = (DIVERGING_SCALE if diverging else "gray"), value_range
    elif diverging:
        lim = symmetric_limit(values)
        scale, zmin, zmax = DIVERGING_SCALE, -lim, lim
    else:
        scale, zmin, zmax = "gray", float(values.min()), float(max(values.max(), values.min() + 1e-9))
    return go.Heatmap(z=values, text=text, texttemplate="%{text}", textfont={"size": 16 if max(kh, kw) <= 3 else 12},
                      colorscale=scale, zmin=zmin, zmax=zmax, showscale=False, hoverinfo="skip", xgap=2, ygap=2)  # fmt: skip


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


def number_tables_html(grids: list[dict]) -> str:
    """Small grids as HTML tables side by side, wrapping onto new lines on a narrow screen.

    For a phone: the numbers of three plotted grids overlapped in a 390-px-wide figure (a
    chart's text does not shrink with it); a table cell grows to fit its number, and a
    grid that does not fit beside the others goes below them.

    Args:
        grids: dicts with ``values`` ``(kh, kw)``, ``title`` and optionally ``diverging``,
            ``mask`` (True where a cell is real input), ``value_range``, ``digits``.
    """
    parts = []
    for g in grids:
        values = np.asarray(g["values"], dtype=np.float64)
        text = _cell_texts(values, g.get("mask"), g.get("digits", 2))
        value_range, diverging = g.get("value_range"), g.get("diverging", True)
        if diverging:
            limit = max(abs(value_range[0]), abs(value_range[1])) if value_range else symmetric_limit(values)
            rgb = diverging_rgb(values, limit)
        else:
            lo, hi = value_range if value_range else (None, None)
            rgb = gray_rgb(values, lo, hi)
        rows = []
        for i, row in enumerate(text):
            cells = []
            for j, t in enumerate(row):
                r, gr, b = (int(v) for v in rgb[i, j])
                ink = "#fff" if 0.299 * r + 0.587 * gr + 0.114 * b < 128 else "#222"
                cells.append(f'<td style="background:rgb({r},{gr},{b});color:{ink}">{html.escape(t)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        parts.append(f'<figure class="cnnlab-grid"><figcaption>{html.escape(g["title"])}</figcaption>'
                     f"<table>{''.join(rows)}</table></figure>")  # fmt: skip
    return f'<div class="cnnlab-grids">{"".join(parts)}</div>'
