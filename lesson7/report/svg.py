"""A line chart as inline SVG text: no JavaScript, no chart library, scales with the page.

One `Curve` (several series over one x) -> an `<svg viewBox=...>` with axes, "nice" tick values
(1, 2, 5 x 10^k steps, as matplotlib's MaxNLocator picks them), a legend, and one polyline per
series; a missing value (None) breaks the line instead of being drawn as zero.
"""

from __future__ import annotations

import math
from html import escape

from lesson7.report.contract import Curve

__all__ = ["line_chart", "nice_ticks"]

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
W, H = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 76, 16, 16, 56


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """About `n` round values covering [lo, hi] (whole numbers only, with `integer`)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 12))
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(curve: Curve) -> str:
    """The chart of `curve` as an SVG element string (width follows its container)."""
    xs = [float(x) for x in curve.x]
    ys = [y for s in curve.series.values() for y in s if y is not None]
    if not xs or not ys:
        return '<p class="empty">no values to plot</p>'
    xt = nice_ticks(min(xs), max(xs), 6, integer=all(float(x).is_integer() for x in xs))
    yt = nice_ticks(min(ys), max(ys), 5)
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * pw

    def py(y: float) -> float:
        return TOP + ph - (y - y0) / ((y1 - y0) or 1) * ph

    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{escape(curve.name)}">']
    for t in yt:
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py(t):.1f}" y2="{py(t):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in xt:
        parts.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{TOP + ph}" y2="{TOP + ph + 4}" '
                     f'class="axis"/><text x="{px(t):.1f}" y="{TOP + ph + 22}" '
                     f'text-anchor="middle">{_fmt(t)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}" class="axis"/>'
                 f'<text x="{LEFT + pw / 2:.1f}" y="{H - 4}" text-anchor="middle">'
                 f'{escape(curve.xlabel)}</text>')
    for i, values in enumerate(curve.series.values()):
        colour = COLOURS[i % len(COLOURS)]
        for run in _runs(xs, values):
            points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
            if len(run) == 1:
                parts.append(f'<circle cx="{px(run[0][0]):.1f}" cy="{py(run[0][1]):.1f}" r="3" '
                             f'fill="{colour}"/>')
            else:
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                             f'stroke-width="2"/>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{COLOURS[i % len(COLOURS)]}"></i>{escape(label)}</span>'
                     for i, label in enumerate(curve.series))
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _runs(xs: list[float], ys: list[float | None]) -> list[list[tuple[float, float]]]:
    """The unbroken stretches of a series (None ends one)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, float(y)))
    return [r for r in runs if r]
