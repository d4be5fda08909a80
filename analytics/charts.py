"""Server-side SVG charts: they render without network access or JavaScript.

Each chart carries a <title> and <desc> for screen readers; pages show the
same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe–Ito), dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _scale(peak: float, *, counts: bool) -> tuple[float, float]:
    """The axis' top and the step between its ticks (at most four steps).

    Counts (users, updates, blocks) get whole-number ticks: 0, 1 for a peak of one user,
    never 0.25 of one.
    """
    if not counts:
        top = _nice_max(peak)
        return top, top / 4
    peak = max(peak, 1)
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if step * 4 >= peak:
                return step * math.ceil(peak / step), float(step)
        magnitude *= 10


def _counts(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _fmt(value: float) -> str:
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(title: str, description: str, body: list[str], legend: Sequence[str]) -> SafeString:
    keys = "".join(
        f'<span class="key"><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(name)}</span>'
        for i, name in enumerate(legend)
    )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )
    html = (
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{svg}<div class="legend">{keys}</div></figure>'
    )
    return mark_safe(html)  # noqa: S308 - every value in it is escaped


def _left(top: float, step: float, unit: str) -> float:
    """Room for the longest value label at the phone size (CSS draws them larger there)."""
    longest = max(len(_fmt(step * i) + unit) for i in range(round(top / step) + 1))
    return max(LEFT, 12 + 11 * longest)


def _axes(labels: Sequence[str], top: float, step: float, unit: str) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    left = _left(top, step, unit)
    for i in range(round(top / step) + 1):
        value = step * i
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>')
        parts.append(
            f'<text class="y" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#57606a">'
            f"{escape(_fmt(value))}{escape(unit)}</text>"
        )
    every = max(1, len(labels) // 8)
    plot_w = WIDTH - left - RIGHT
    for n, i in enumerate(range(0, len(labels), every)):
        x = left + plot_w * (i + 0.5) / max(len(labels), 1)
        # Every other one is hidden on a phone (static/css/app.css), where the labels are drawn larger.
        kind = "x alt" if n % 2 else "x"
        parts.append(
            f'<text class="{kind}" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" fill="#57606a">'
            f"{escape(labels[i])}</text>"
        )
    return parts


def _link_slots(labels: Sequence[str], links: Sequence[str | None] | None, what: str) -> list[str]:
    """A transparent, full-height link over each period that has one (the attempts behind the point)."""
    if not links:
        return []
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    return [
        f'<a href="{escape(link)}" class="chart-link" aria-label="{escape(what)} {escape(label)}">'
        f'<rect x="{LEFT + slot * i:.1f}" y="{TOP}" width="{slot:.1f}" height="{plot_h}" fill="transparent">'
        f"<title>{escape(what)} {escape(label)}</title></rect></a>"
        for i, (label, link) in enumerate(zip(labels, links, strict=False))
        if link
    ]


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    unit: str = "",
    links: Sequence[str | None] | None = None,
    links_label: str = "Attempts of",
) -> SafeString:
    """Lines over time; a None is a gap (no data that hour). ``links``: one URL (or None) per period."""
    values = [v for points in series.values() for v in points if v is not None]
    top, step = _scale(max(values, default=0), counts=_counts(values))
    left = _left(top, step, unit)
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    body = _axes(labels, top, step, unit)
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        path, pen_down = [], False
        for i, value in enumerate(points):
            if value is None:
                pen_down = False
                continue
            x = left + plot_w * (i + 0.5) / max(len(labels), 1)
            y = TOP + plot_h - plot_h * value / top
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            # A dot per point: a lone hour between gaps would otherwise draw nothing.
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
            pen_down = True
        if path:
            body.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2">'
                f"<title>{escape(name)}</title></path>"
            )
    body += _link_slots(labels, links, links_label)
    description = "; ".join(
        f"{name}: peak {_fmt(max((v for v in pts if v is not None), default=0))}{unit}" for name, pts in series.items()
    )
    return _frame(title, description or "no data", body, list(series))


def stacked_columns(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    links: Sequence[str | None] | None = None,
    links_label: str = "Attempts of",
) -> SafeString:
    """Columns per period, stacked by kind (e.g. updates per hour by type). ``links``: one URL (or None) per period."""
    totals = [sum(points[i] for points in series.values()) for i in range(len(labels))]
    top, step = _scale(max(totals, default=0), counts=_counts(totals))
    left = _left(top, step, "")
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    body = _axes(labels, top, step, "")
    for i, label in enumerate(labels):
        base = 0.0
        for index, (name, points) in enumerate(series.items()):
            value = points[i]
            if not value:
                continue
            height = plot_h * value / top
            y = TOP + plot_h - plot_h * (base + value) / top
            body.append(
                f'<rect x="{left + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{height:.1f}" fill="{PALETTE[index % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {escape(_fmt(value))}</title></rect>"
            )
            base += value
    body += _link_slots(labels, links, links_label)
    description = f"total {_fmt(sum(totals))} over {len(labels)} periods"
    return _frame(title, description, body, list(series))


def bar_list(title: str, items: Sequence[tuple[str, float]]) -> SafeString:
    """Horizontal bars for a top-N list (commands, languages, chat types)."""
    top = max((value for _, value in items), default=0) or 1
    rows = [
        f'<div class="bar-row"><span class="bar-label">{escape(name)}</span>'
        f'<span class="bar" style="width:{max(2.0, 100 * value / top):.0f}%"></span>'
        f'<span class="bar-value">{escape(_fmt(value))}</span></div>'
        for name, value in items
    ]
    empty = '<p class="muted">No data yet.</p>' if not items else ""
    return mark_safe(f'<figure class="bars"><figcaption>{escape(title)}</figcaption>{"".join(rows)}{empty}</figure>')  # noqa: S308 - escaped above
