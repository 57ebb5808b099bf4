"""Server-side SVG for the HTML report: bar charts and box/strip plots, deterministic and inline.

Charts are drawn here in Python rather than by a JavaScript library so the report needs no
network, renders the same bytes for the same results, and carries every exact value in a
``<title>`` (the browser's tooltip). Every string that reaches the markup goes through
:func:`esc`: labels come from result files, which are untrusted.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from agentrig.core.report.summary import percentile

__all__ = [
    "Bar",
    "BarRow",
    "Distribution",
    "Point",
    "Series",
    "bar_chart",
    "distribution_chart",
    "esc",
    "nice_ticks",
    "stacked_bar_chart",
    "svg_open",
]

LABEL_WIDTH = 120
RIGHT_PAD = 56
AXIS_HEIGHT = 26
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
GRID = "#e3e6ea"
INK = "#1f2328"
MUTED = "#656d76"

Formatter = Callable[[float], str]


def esc(value: object) -> str:
    """Text (or an attribute value) escaped for HTML and SVG."""
    return html.escape(str(value), quote=True)


def _plain_number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def nice_ticks(maximum: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values from 0 up to at least ``maximum`` (1, 2, 2.5 or 5 times a power of 10;
    whole numbers only with ``integer``, for counts)."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    if integer:
        step = max(math.ceil(step), 1)
    ticks = [0.0]
    while ticks[-1] < maximum - 1e-12:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def svg_open(width: float, height: float, label: str, css_class: str = "chart") -> str:
    """The opening ``<svg>`` tag with a ``<title>``: size, view box and accessible label."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{esc(css_class)}" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{esc(FONT)}" font-size="12"><title>{esc(label)}</title>'
    )


def _axis(
    ticks: Sequence[float],
    x: Callable[[float], float],
    top: float,
    bottom: float,
    fmt: Formatter,
) -> list[str]:
    parts = []
    for tick in ticks:
        px = x(tick)
        parts.append(
            f'<line x1="{px:.1f}" y1="{top:.1f}" x2="{px:.1f}" y2="{bottom:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{px:.1f}" y="{bottom + 15:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">{esc(fmt(tick))}</text>'
        )
    return parts


def _legend(items: Sequence[tuple[str, str]], y: float) -> tuple[list[str], float]:
    parts, x = [], float(LABEL_WIDTH)
    for name, colour in items:
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="10" rx="2" fill="{esc(colour)}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 9:.1f}" fill="{INK}">{esc(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return parts, y + 18


# ---------------------------------------------------------------- bars


@dataclass(frozen=True)
class Series:
    """One kind of bar in a grouped bar chart (a legend entry)."""

    name: str
    colour: str


@dataclass(frozen=True)
class Bar:
    """One bar: its value, the text at its end, and the tooltip with the exact figures."""

    value: float
    title: str
    label: str = ""


@dataclass(frozen=True)
class BarRow:
    """A group of bars (one per series) under one label, e.g. one framework."""

    label: str
    bars: Sequence[Bar]
    colour: str | None = None
    """Overrides the series colour (single-series charts coloured by framework)."""


def bar_chart(
    rows: Sequence[BarRow],
    series: Sequence[Series],
    *,
    title: str,
    maximum: float | None = None,
    fmt: Formatter = _plain_number,
    width: int = 560,
    legend: bool = True,
    integer: bool = False,
) -> str:
    """Horizontal grouped bars: one group per row, one bar per series, on a shared axis
    (whole-number ticks with ``integer``)."""
    bar_height, gap = 14, 12
    group_height = bar_height * len(series) + gap
    top = 8.0
    parts: list[str] = []
    if legend:
        legend_parts, top = _legend([(s.name, s.colour) for s in series], top)
        parts += legend_parts
    values = [bar.value for row in rows for bar in row.bars]
    top_value = max([maximum or 0.0, *values]) if values else (maximum or 1.0)
    ticks = nice_ticks(top_value, integer=integer)
    plot_width = width - LABEL_WIDTH - RIGHT_PAD

    def x(value: float) -> float:
        return LABEL_WIDTH + plot_width * (value / ticks[-1])

    plot_bottom = top + group_height * max(len(rows), 1)
    parts += _axis(ticks, x, top, plot_bottom, fmt)
    for index, row in enumerate(rows):
        y0 = top + index * group_height + gap / 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y0 + bar_height * len(series) / 2 + 4:.1f}" '
            f'text-anchor="end" fill="{INK}" font-weight="600">{esc(row.label)}</text>'
        )
        for k, (bar, kind) in enumerate(zip(row.bars, series, strict=True)):
            y = y0 + k * bar_height
            bar_width = max(x(bar.value) - LABEL_WIDTH, 0.0)
            colour = row.colour if row.colour and len(series) == 1 else kind.colour
            parts.append(
                f'<g class="bar"><title>{esc(bar.title)}</title>'
                f'<rect x="{LABEL_WIDTH}" y="{y:.1f}" width="{max(bar_width, 1.0):.1f}" '
                f'height="{bar_height - 2}" fill="{esc(colour)}" rx="2"/>'
                f'<text x="{LABEL_WIDTH + bar_width + 4:.1f}" y="{y + bar_height - 4:.1f}" '
                f'fill="{INK}">{esc(bar.label or fmt(bar.value))}</text></g>'
            )
    height = plot_bottom + AXIS_HEIGHT
    return svg_open(width, height, title) + "".join(parts) + "</svg>"


def stacked_bar_chart(
    rows: Sequence[BarRow],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Formatter = _plain_number,
    width: int = 560,
    integer: bool = True,
) -> str:
    """Horizontal stacked bars: one bar per row, one segment per series in series order, the
    row's total at its end. A zero segment draws nothing, so every ``<g class="segment">`` is a
    count that occurred; only the series that occur in some row get a legend entry."""
    bar_height, gap = 16, 12
    shown = [
        (index, kind)
        for index, kind in enumerate(series)
        if any(row.bars[index].value > 0 for row in rows)
    ]
    legend_parts, top = _legend([(kind.name, kind.colour) for _, kind in shown], 8.0)
    totals = [sum(bar.value for bar in row.bars) for row in rows]
    ticks = nice_ticks(max(totals, default=1.0), integer=integer)
    plot_width = width - LABEL_WIDTH - RIGHT_PAD

    def x(value: float) -> float:
        return LABEL_WIDTH + plot_width * (value / ticks[-1])

    plot_bottom = top + (bar_height + gap) * max(len(rows), 1)
    parts = legend_parts + _axis(ticks, x, top, plot_bottom, fmt)
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        y = top + index * (bar_height + gap) + gap / 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{INK}" font-weight="600">{esc(row.label)}</text><g class="stack" '
            f'data-label="{esc(row.label)}" data-total="{total!r}">'
        )
        start = 0.0
        for bar, kind in zip(row.bars, series, strict=True):
            if bar.value <= 0:
                continue
            parts.append(
                f'<g class="segment" data-series="{esc(kind.name)}" data-value="{bar.value!r}">'
                f'<title>{esc(bar.title)}</title><rect x="{x(start):.1f}" y="{y:.1f}" '
                f'width="{max(x(start + bar.value) - x(start), 1.0):.1f}" '
                f'height="{bar_height - 2}" fill="{esc(kind.colour)}"/></g>'
            )
            start += bar.value
        parts.append(
            f'<text x="{x(total) + 4:.1f}" y="{y + bar_height - 4:.1f}" fill="{INK}">'
            f"{esc(fmt(total))}</text></g>"
        )
    height = plot_bottom + AXIS_HEIGHT
    return svg_open(width, height, title) + "".join(parts) + "</svg>"


# ---------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Point:
    """One run's value in a distribution, with its tooltip."""

    value: float
    title: str


@dataclass(frozen=True)
class Distribution:
    """One row of a box/strip plot (one framework)."""

    label: str
    colour: str
    points: Sequence[Point] = field(default_factory=tuple)


def _jitter(index: int) -> float:
    # Deterministic spread of the dots around the box's middle line: -6..+6 px.
    return float((index * 7) % 13 - 6)


def distribution_chart(
    rows: Sequence[Distribution],
    *,
    title: str,
    fmt: Formatter = _plain_number,
    width: int = 560,
) -> str:
    """A box (quartiles, median, min-max whiskers, mean diamond) and every run as a dot."""
    row_height, top = 36.0, 8.0
    values = [point.value for row in rows for point in row.points]
    ticks = nice_ticks(max(values, default=1.0))
    plot_width = width - LABEL_WIDTH - RIGHT_PAD

    def x(value: float) -> float:
        return LABEL_WIDTH + plot_width * (value / ticks[-1])

    plot_bottom = top + row_height * max(len(rows), 1)
    parts = _axis(ticks, x, top, plot_bottom, fmt)
    for index, row in enumerate(rows):
        middle = top + index * row_height + row_height / 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle + 4:.1f}" text-anchor="end" '
            f'fill="{INK}" font-weight="600">{esc(row.label)}</text>'
        )
        data = [point.value for point in row.points]
        if not data:
            continue
        low, q1, median, q3 = (
            min(data),
            percentile(data, 0.25),
            percentile(data, 0.5),
            (percentile(data, 0.75)),
        )
        p95, high, mean = percentile(data, 0.95), max(data), fmean(data)
        summary = (
            f"{row.label}: n={len(data)}, min {fmt(low)}, p25 {fmt(q1)}, median {fmt(median)}, "
            f"p75 {fmt(q3)}, p95 {fmt(p95)}, max {fmt(high)}, mean {fmt(mean)}"
        )
        colour = esc(row.colour)
        parts.append(
            f'<g class="box"><title>{esc(summary)}</title>'
            f'<line x1="{x(low):.1f}" y1="{middle:.1f}" x2="{x(high):.1f}" y2="{middle:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<rect x="{x(q1):.1f}" y="{middle - 9:.1f}" width="{max(x(q3) - x(q1), 1.5):.1f}" '
            f'height="18" fill="{colour}" fill-opacity="0.18" stroke="{colour}"/>'
            f'<line x1="{x(median):.1f}" y1="{middle - 9:.1f}" x2="{x(median):.1f}" '
            f'y2="{middle + 9:.1f}" stroke="{colour}" stroke-width="2.5"/>'
            f'<path d="M{x(mean):.1f} {middle - 13:.1f} l4 4 l-4 4 l-4 -4 z" fill="{INK}"/></g>'
        )
        for k, point in enumerate(row.points):
            parts.append(
                f'<circle class="dot" cx="{x(point.value):.1f}" cy="{middle + _jitter(k):.1f}" '
                f'r="3" fill="{colour}" fill-opacity="0.75"><title>{esc(point.title)}</title>'
                "</circle>"
            )
        parts.append(
            f'<text x="{x(high) + 6:.1f}" y="{middle + 4:.1f}" fill="{MUTED}">'
            f"{esc(fmt(median))}</text>"
        )
    height = plot_bottom + AXIS_HEIGHT
    return svg_open(width, height, title) + "".join(parts) + "</svg>"
