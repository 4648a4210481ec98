"""Accuracy against wall-clock seconds: the API comparison's racers and the architecture race."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from core.base.i18n import _, number, percent
from core.plots.style import PALETTE, projector_layout


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
    projector_layout(fig, height, _("Validation accuracy against time"),
                     _("seconds since the start; points: epoch ends"),
                     xaxis={"title": _("seconds since the start"), "range": [0, right * 1.08]},
                     yaxis={"title": _("validation accuracy"), "tickformat": ".0%",
                            "range": [max(0.0, bottom - 0.05), 1.005]})  # fmt: skip
    return fig
