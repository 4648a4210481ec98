"""The look every chart shares: the palette, the language's decimal marks, the projector layout, the toolbar."""

from __future__ import annotations

import plotly.graph_objects as go

from core.base.i18n import language

PALETTE = ["#1f5fd6", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def separators() -> str:
    """Plotly's decimal and thousands marks for the current language ("," and "." in Portuguese)."""
    return ",." if language() == "pt_BR" else ".,"


def projector_layout(fig: go.Figure, height: int, title: str, subtitle: str | None = None, **layout) -> go.Figure:
    """The layout of the big charts: large title and fonts for a projector, the legend at the top right.

    Args:
        subtitle: a smaller line under the title (for what would make the title too long).
        layout: more of ``update_layout``'s arguments (axes, hovermode).
    """
    # Plotly never wraps a title: keep it short (a 535-px chart holds about 60 characters at 20 px)
    # and put the rest in the smaller subtitle under it.
    heading = {"text": title, "font": {"size": 20}}
    if subtitle:
        heading["subtitle"] = {"text": subtitle, "font": {"size": 14}}
    return fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 90 if subtitle else 60, "b": 10},
                             title=heading, font={"size": 15}, separators=separators(),
                             legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1.0, "xanchor": "right"},
                             **layout)  # fmt: skip


# Every chart gets one toolbar button: download as PNG (2x, for slides). Nothing else.
CHART_CONFIG = {
    "displaylogo": False,
    "modeBarButtons": [["toImage"]],
    "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "cnn-lab-chart"},
}
