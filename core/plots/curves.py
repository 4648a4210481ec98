"""Learning curves: several runs' training and validation metrics on one chart, smoothed or not."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from core.base.i18n import N_, _
from core.plots.style import PALETTE, projector_layout

METRIC_TITLES = {
    "loss": N_("Loss"),
    "accuracy": N_("Accuracy"),
    "mae": N_("MAE (mean absolute error)"),  # the regression runs' second curve
}


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
