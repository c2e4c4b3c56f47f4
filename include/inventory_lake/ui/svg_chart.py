"""A small inline SVG line chart: one line per series over a run of days, no JavaScript.

A day without a value (None) breaks the line instead of drawing it at zero. Every point has a
tooltip (`<title>`) with its series, day and value. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Line:
    label: str
    values: Sequence[int | None]
    color: str


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high], about `count` steps."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    return [first + i * step for i in range(round((last - first) / step) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}"


def line_chart(title: str, days: Sequence[date], lines: Sequence[Line]) -> Markup:
    values = [v for line in lines for v in line.values if v is not None]
    ticks = nice_ticks(min([0, *values]), max([0, *values]))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_w / 2 if len(days) == 1 else plot_w * index / (len(days) - 1))

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="{"zero" if tick == 0 else "grid"}"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    for index, day in enumerate(days):
        if index % every == 0 or index == len(days) - 1:
            parts.append(
                f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                f"{day.strftime('%m-%d')}</text>"
            )
    for line in lines:
        path, pen_down = [], False
        for index, value in enumerate(line.values):
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(index):.1f},{y(value):.1f}")
            pen_down = True
        if path:
            parts.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{line.color}" stroke-width="2"/>'
            )
        for index, value in enumerate(line.values):
            if value is not None:
                tip = f"{line.label} · {days[index].isoformat()}: {_number(value)}"
                parts.append(
                    f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3" '
                    f'fill="{line.color}"><title>{escape(tip)}</title></circle>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))
