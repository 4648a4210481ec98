"""A model's results: class probabilities, the confusion matrix, a regression's predicted values and residuals."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.base.i18n import _, percent
from core.plots.style import PALETTE, projector_layout, separators

RESIDUAL_BINS = 30  # histogram bars of the residuals at most: enough to see a shape on ~100 test rows
MIN_RESIDUAL_BINS = 5


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


def confusion_figure(cm: list[list[int]], class_names: list[str], height: int | None = None) -> go.Figure:
    """A confusion matrix heatmap with counts; rows are true classes, columns predictions.

    ``height``: a fixed frame (the Wall's, beside the digits), with numbers sized to fit its cells;
    default: tall enough for numbers read from the back of a room.
    """
    z = np.asarray(cm)
    k = len(class_names)
    size = 22 if k <= 10 else 16 if k <= 20 else 11  # numbers readable from the back of a room
    if height is not None and k > 0:  # a smaller frame: numbers that fit their cells
        size = min(size, max(9, int((height - 100) / k * 0.6)))
    fig = go.Figure(go.Heatmap(z=z, x=class_names, y=class_names, text=z, texttemplate="%{text}",
                               textfont={"size": size}, colorscale="Blues", showscale=False, xgap=1, ygap=1,
                               hovertemplate=_("true %{y}, predicted %{x}: %{z}") + "<extra></extra>"))  # fmt: skip
    fig.update_layout(height=height or max(340, 48 * k + 140), margin={"l": 10, "r": 10, "t": 90 if height is None else 60, "b": 10},
                      font={"size": 16 if height is None else 13},
                      separators=separators(),
                      xaxis={"title": _("predicted"), "type": "category", "side": "top"},
                      yaxis={"title": _("true"), "type": "category", "autorange": "reversed"})  # fmt: skip
    return fig


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
