"""Inline SVG charts drawn on the server (no JavaScript, no CDN): bars, a line, and a Pareto chart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from returnflow.services.dashboard import Dashboard

W, H, LEFT, BOTTOM, TOP = 640, 240, 56, 46, 14


def _frame(title: str, body: list[str], peak: float, fmt: Callable[[float], str]) -> Markup:
    grid = []
    for i in range(5):
        y = TOP + (H - TOP - BOTTOM) * i / 4
        grid.append(f'<line x1="{LEFT}" x2="{W - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                    f'{escape(fmt(peak * (4 - i) / 4))}</text>')
    return Markup(f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" class="chart">'
                  f'<title>{escape(title)}</title>{"".join(grid)}{"".join(body)}</svg>')


def label_every(labels: Sequence[str], step: float, *, chars: int = 10) -> int:
    """Show every Nth axis label so that labels (about 6 px per character at the axis font) never overlap."""
    widest = min(max((len(l) for l in labels), default=1), chars) * 6 + 8
    return max(math.ceil(widest / step), 1) if step > 0 else 1


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
         cumulative: bool = False) -> Markup:
    """A bar chart; ``cumulative`` adds the Pareto line of the cumulative share (right scale 0-100 %)."""
    peak = max(max(values, default=0), 1e-9)
    inner_w, inner_h = W - LEFT - 8, H - TOP - BOTTOM
    step = inner_w / max(len(values), 1)
    body, points, running, total = [], [], 0.0, sum(values) or 1
    every = label_every(labels, step)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = inner_h * value / peak
        x = LEFT + i * step + step * 0.15
        body.append(f'<rect x="{x:.1f}" y="{TOP + inner_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                    f'class="bar"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        if i % every == 0:
            body.append(f'<text x="{x + step * 0.35:.1f}" y="{H - BOTTOM + 14}" class="axis" text-anchor="middle">'
                        f'{escape(label[:10])}</text>')
        running += value
        points.append(f"{x + step * 0.35:.1f},{TOP + inner_h * (1 - running / total):.1f}")
    if cumulative and points:
        body.append(f'<polyline points="{" ".join(points)}" class="line accent"/>')
        body.append(f'<text x="{W - 10}" y="{max(TOP - 4, 8)}" class="axis" text-anchor="end">line: cumulative %</text>')
    return _frame(title, body, peak, fmt)


def line(title: str, labels: Sequence[str], values: Sequence[float], *, fmt: Callable[[float], str]) -> Markup:
    """A line chart with a dot per point."""
    peak = max(max(values, default=0), 1e-9)
    inner_w, inner_h = W - LEFT - 8, H - TOP - BOTTOM
    step = inner_w / max(len(values) - 1, 1)
    pts = [(LEFT + i * step, TOP + inner_h * (1 - v / peak)) for i, v in enumerate(values)]
    body = [f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" class="line"/>']
    for (x, y), label, value in zip(pts, labels, values, strict=True):
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot"><title>{escape(label)}: '
                    f'{escape(fmt(value))}</title></circle>')
    every = label_every(labels, step)
    for i, label in enumerate(labels):
        if i % every == 0:
            anchor = "end" if pts[i][0] > W - 30 else "middle"  # the last label stays inside the frame
            body.append(f'<text x="{pts[i][0]:.1f}" y="{H - BOTTOM + 14}" class="axis" text-anchor="{anchor}">'
                        f'{escape(label)}</text>')
    return _frame(title, body, peak, fmt)


def dashboard_charts(board: Dashboard) -> dict[str, Markup]:
    """The dashboard's charts by name."""
    money = lambda v: f"£{v:,.0f}"  # noqa: E731
    return {
        "returns": bars("Returns requested per month", board.months, board.returns_per_month),
        "rate": line("Return rate per month (units returned / units sold)", board.months,
                     board.return_rate_per_month, fmt=lambda v: f"{v:.1%}"),
        "reasons": bars("Units by return reason (Pareto)", [r for r, _ in board.reasons],
                        [u for _, u in board.reasons], cumulative=True),
        "refunds": bars("Refund value per month (by month requested)", board.months,
                        [float(v) for v in board.refund_value_per_month], fmt=money),
        "refund_days": bars("Days from request to refund", [b for b, _ in board.refund_days],
                            [n for _, n in board.refund_days]),
        "dispositions": bars("Units by disposition", [d for d, _ in board.units_by_disposition],
                             [u for _, u in board.units_by_disposition]),
    }
