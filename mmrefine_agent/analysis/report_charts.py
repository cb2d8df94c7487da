"""Inline SVG charts for the HTML reports: stacked scenario shares, heat maps, cost vs score.

Pure functions from counts to SVG text (no plotting library, nothing fetched). Every label is
escaped; every bar carries its n; every mark has a ``<title>`` so hovering gives the number.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mmrefine_agent.judging.scenarios import OFFICIAL_NAMES

STACK_ORDER = ("RS", "EC", "ED", "RF", "VS", "FD")
COLOURS = {
    "RS": "#1b9e77",
    "EC": "#4a7fd0",
    "ED": "#e6ab02",
    "RF": "#9a9a9a",
    "VS": "#66a61e",
    "FD": "#d95f02",
    "judge_error": "#7b3294",
}
_E = html.escape


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{_E(text)}</text>'


def legend_html(codes: Sequence[str] = STACK_ORDER) -> str:
    """The colour legend of the scenario codes (HTML, so it wraps with the page)."""
    keys = "".join(
        f'<span class="key"><i style="background:{COLOURS[code]}"></i>{code} '
        f"{_E(OFFICIAL_NAMES.get(code, code))}</span>"
        for code in codes
    )
    return f'<div class="chart-legend">{keys}</div>'


def stacked_bars(title: str, groups: Mapping[str, Mapping[str, int]]) -> str:
    """One horizontal bar per group: the share of each scenario, with ``n=`` at its end."""
    if not groups:
        return ""
    label_w, bar_w, row_h, top = 190.0, 520.0, 26.0, 26.0
    width = label_w + bar_w + 70
    height = top + row_h * len(groups) + 8
    parts = [_text(0, 16, title, "title")]
    for row, (name, counts) in enumerate(groups.items()):
        y = top + row * row_h
        n = sum(counts.get(code, 0) for code in (*STACK_ORDER, "judge_error"))
        short = name if len(name) <= 28 else name[:27] + "\u2026"
        parts.append(_text(label_w - 6, y + 15, short, "label", "end"))
        x = label_w
        for code in (*STACK_ORDER, "judge_error"):
            count = counts.get(code, 0)
            if not count or not n:
                continue
            w = bar_w * count / n
            share = 100 * count / n
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row_h - 6:.0f}" '
                f'fill="{COLOURS[code]}" data-code="{code}"><title>{_E(name)}: {code} '
                f"{count} of {n} ({share:.0f}%)</title></rect>"
            )
            if w >= 34:
                parts.append(_text(x + w / 2, y + 14.5, f"{code} {share:.0f}%", "in", "middle"))
            x += w
        parts.append(_text(label_w + bar_w + 6, y + 15, f"n={n}", "n"))
    return (
        f'<svg class="chart bars" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{"".join(parts)}</svg>'
    )


def heat_map(title: str, matrix: Mapping[str, Mapping[str, int]], codes: Sequence[str]) -> str:
    """A from (rows) x to (columns) count matrix; shade = share of the row, number = count."""
    cell, left, top = 46.0, 60.0, 52.0
    size = cell * len(codes)
    width, height = left + size + 70, top + size + 10
    parts = [
        _text(0, 16, title, "title"),
        _text(left + size / 2, 36, "to \u2192", "axis", "middle"),
    ]
    for col, code in enumerate(codes):
        parts.append(_text(left + col * cell + cell / 2, top - 4, code, "label", "middle"))
    for row, before in enumerate(codes):
        counts = matrix.get(before, {})
        total = sum(counts.get(c, 0) for c in codes)
        y = top + row * cell
        parts.append(_text(left - 6, y + cell / 2 + 4, before, "label", "end"))
        for col, after in enumerate(codes):
            count = counts.get(after, 0)
            share = count / total if total else 0.0
            shade = f"rgba(74,127,208,{0.08 + 0.85 * share:.2f})" if count else "#f7f7f7"
            x = left + col * cell
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 2:.0f}" height="{cell - 2:.0f}" '
                f'fill="{shade}" class="{"diag" if before == after else "cell"}">'
                f"<title>{before}\u2192{after}: {count} of {total}</title></rect>"
            )
            if count:
                cls = "in" if share > 0.55 else "num"
                parts.append(_text(x + cell / 2 - 1, y + cell / 2 + 4, str(count), cls, "middle"))
        parts.append(_text(left + size + 4, y + cell / 2 + 4, f"n={total}", "n"))
    return (
        f'<svg class="chart heat" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{"".join(parts)}</svg>'
    )


@dataclass(frozen=True)
class Point:
    """One sweep cell on the cost-vs-RefScore chart (cost in USD, or tokens when all free)."""

    label: str
    cost: float
    score: float
    low: float | None = None
    high: float | None = None


def _tick(value: float, span: float) -> str:
    if span >= 20:
        return f"{value:,.0f}"
    return f"{value:.2f}" if span >= 0.2 else f"{value:.4g}"


def scatter(title: str, points: Sequence[Point], x_name: str, y_name: str) -> str:
    """Cost (x) against score (y) with 95% intervals as vertical whiskers and cell labels."""
    if not points:
        return ""
    left, top, w, h = 64.0, 28.0, 520.0, 300.0
    xs = [p.cost for p in points]
    ys = [v for p in points for v in (p.score, p.low, p.high) if v is not None]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x0, x1 = (x0 - 1, x1 + 1) if x0 == x1 else (x0 - 0.05 * (x1 - x0), x1 + 0.05 * (x1 - x0))
    y0, y1 = (y0 - 0.1, y1 + 0.1) if y0 == y1 else (y0 - 0.05 * (y1 - y0), y1 + 0.05 * (y1 - y0))

    def px(v: float) -> float:
        return left + w * (v - x0) / (x1 - x0)

    def py(v: float) -> float:
        return top + h * (1 - (v - y0) / (y1 - y0))

    parts = [
        _text(0, 16, title, "title"),
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="frame"/>',
        _text(left + w / 2, top + h + 34, x_name, "axis", "middle"),
        f'<text x="14" y="{top + h / 2:.1f}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 14 {top + h / 2:.1f})">{_E(y_name)}</text>',
    ]
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        parts.append(_text(px(xv), top + h + 16, _tick(xv, x1 - x0), "tick", "middle"))
        parts.append(_text(left - 6, py(yv) + 4, _tick(yv, y1 - y0), "tick", "end"))
    if y0 < 0 < y1:
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{py(0):.1f}" y2="{py(0):.1f}" '
                     'class="zero"/>')  # fmt: skip
    for p in points:
        x, y = px(p.cost), py(p.score)
        if p.low is not None and p.high is not None:
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(p.low):.1f}" '
                         f'y2="{py(p.high):.1f}" class="whisker"/>')  # fmt: skip
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="dot"><title>{_E(p.label)}: '
            f"{y_name} {p.score:.3g}, {x_name} {p.cost:.4g}</title></circle>"
        )
        parts.append(_text(x + 8, y - 6, p.label, "label"))
    width, height = left + w + 150, top + h + 44
    return (
        f'<svg class="chart scatter" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">{"".join(parts)}</svg>'
    )
