"""Plotly figures of the KPI detail page, built on the server with ``plotly.graph_objects`` and drawn in
the browser by the locally served plotly.min.js (static/js/kpi_detail.js). No Django imports.

A figure leaves here as a plain dict (``fig.to_json()`` read back), for ``json_script``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

# The status colours of the page (static/css/app.css, the status badges' text colours, darkened for
# contrast against white) and the neutral ones.
STATUS_COLOURS = {"green": "#1f7a3f", "yellow": "#b7791f", "red": "#b42318", "gray": "#8590a2"}
ACTUAL, GOAL, RED_FLAG, PROJECTED = "#2754c5", "#1f7a3f", "#b42318", "#7c3aed"
# The XmR chart's centre line and limits are neutral (red, yellow and green mean a status); a signal is
# marked by its ring's shape as much as its colour.
MEAN, LIMIT, SIGNAL = "#1b2433", "#5b6678", "#1b2433"
FONT = "-apple-system, BlinkMacSystemFont, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"


@dataclass(frozen=True)
class AxisFormat:
    """How the value axis reads: fractions as percentages, money with the currency symbol."""

    tickformat: str = ""
    tickprefix: str = ""
    ticksuffix: str = ""


def axis_format(unit: str, currency_symbol: str = "") -> AxisFormat:
    if unit == "fraction":
        return AxisFormat(tickformat=".0%")
    if unit == "currency":
        return AxisFormat(tickformat="~s", tickprefix=currency_symbol)
    if unit == "percent":
        return AxisFormat(ticksuffix="%")
    if unit == "days":
        return AxisFormat(ticksuffix=" d")
    return AxisFormat()


def _layout(fig: go.Figure, axis: AxisFormat) -> None:
    """The page's look; the card's heading names the chart, so the figure has no title of its own."""
    fig.update_layout(
        font={"family": FONT, "size": 12, "color": "#1b2433"},
        margin={"l": 56, "r": 16, "t": 16, "b": 48},
        height=320,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18, "x": 0},
    )
    fig.update_yaxes(
        gridcolor="#e6e9ef",
        zerolinecolor="#c9d1dd",
        rangemode="tozero",
        tickformat=axis.tickformat,
        tickprefix=axis.tickprefix,
        ticksuffix=axis.ticksuffix,
    )
    fig.update_xaxes(type="category", showgrid=False, linecolor="#c9d1dd", automargin=True)


def _dict(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def history_figure(
    labels: Sequence[str],
    actual: Sequence[float | None],
    goal: Sequence[float | None],
    red_flag: Sequence[float | None],
    projected: Sequence[float | None],
    axis: AxisFormat,
) -> dict:
    """Actual against goal and red flag over the periods, with the live period's projection."""
    fig = go.Figure()
    x = list(labels)
    fig.add_trace(
        go.Scatter(x=x, y=list(goal), name="Goal", mode="lines", line={"color": GOAL, "dash": "dash"})
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=list(red_flag), name="Red flag", mode="lines", line={"color": RED_FLAG, "dash": "dot"}
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=list(actual),
            name="Actual",
            mode="lines+markers",
            line={"color": ACTUAL, "width": 2.5},
            marker={"size": 7},
        )
    )
    if any(p is not None for p in projected):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(projected),
                name="Projected",
                mode="markers",
                marker={"color": PROJECTED, "size": 11, "symbol": "diamond-open", "line": {"width": 2}},
            )
        )
    _layout(fig, axis)
    return _dict(fig)


def breakdown_figure(
    labels: Sequence[str],
    actual: Sequence[float | None],
    statuses: Sequence[str],
    goal: Sequence[float | None],
    axis: AxisFormat,
) -> dict:
    """The KPI across the scope's children: a bar each, coloured by status, with each one's goal."""
    fig = go.Figure()
    x = list(labels)
    fig.add_trace(
        go.Bar(
            x=x,
            y=list(actual),
            name="Actual",
            marker={"color": [STATUS_COLOURS.get(s, STATUS_COLOURS["gray"]) for s in statuses]},
        )
    )
    if any(g is not None for g in goal):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(goal),
                name="Goal",
                mode="markers",
                marker={"color": "#1b2433", "symbol": "line-ew-open", "size": 28, "line": {"width": 2}},
            )
        )
    _layout(fig, axis)
    # The bars' colours are statuses (said in the page's hint and the table), not a series to name.
    fig.update_layout(hovermode="closest", bargap=0.35, showlegend=False)
    return _dict(fig)


ROUTINE = "routine variation"


def xmr_figure(
    labels: Sequence[str],
    values: Sequence[float | None],
    signals: Sequence[str],
    mean: float,
    lower: float,
    upper: float,
    axis: AxisFormat,
) -> dict:
    """An XmR (process behaviour) chart: the values over the periods against their centre line and
    natural process limits, each signal ringed and named (``signals``: the rule a point broke, or "")."""
    fig = go.Figure()
    x = list(labels)
    for name, level, colour, dash in (
        ("Upper limit", upper, LIMIT, "dash"),
        ("Mean", mean, MEAN, "solid"),
        ("Lower limit", lower, LIMIT, "dash"),
    ):
        line = {"color": colour, "dash": dash, "width": 1.5}
        fig.add_trace(go.Scatter(x=x, y=[level] * len(x), name=name, mode="lines", line=line))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=list(values),
            name="Value",
            mode="lines+markers",
            line={"color": ACTUAL, "width": 2.5},
            marker={"size": 7},
            text=[signal or ROUTINE for signal in signals],
            hovertemplate="%{y}: %{text}",
        )
    )
    if any(signals):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[v if signal else None for v, signal in zip(values, signals, strict=True)],
                name="Signal",
                mode="markers",
                marker={"color": SIGNAL, "size": 17, "symbol": "circle-open", "line": {"width": 2.5}},
                text=[f"signal: {signal}" if signal else "" for signal in signals],
                hovertemplate="%{text}",
            )
        )
    _layout(fig, axis)
    # The chart is about variation around the mean: zero on the axis would flatten it.
    fig.update_yaxes(rangemode="normal")
    return _dict(fig)
