"""The model diagram: one block per layer, left to right, sized by its output."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.base.i18n import _, number
from core.models import KINDS


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
