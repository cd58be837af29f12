"""Small charts drawn on the server as inline SVG for the dashboard (no script, no file).

Like `serving.web.svg`: every chart has a `<title>` and a `<desc>` that give the same facts
in words, values are printed beside the marks, so nothing relies on colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#e0a100", "#b3261e", "#2e7d32", "#6a1b9a", "#8a8f98", "#00838f")
AXIS = "#444"


def _head(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="12">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def _swatch(x: float, y: float, size: int, colour: str, name: str) -> str:
    """A legend entry: the series' colour in a square, its name beside it (one look for
    every chart's legend)."""
    return (f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{colour}"/>'
            f'<text x="{x + size + 6}" y="{y + size - 2}">{escape(name)}</text>')


def _fmt(v: float, percent: bool = False, digits: int = 2) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    if percent:
        return f"{v:.0%}"
    if float(v).is_integer() and digits == 2:
        return str(int(v))  # a count
    return f"{v:.{digits}f}".replace("-", "\u2212")


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str,
                 desc: str, chart_id: str, percent: bool = True) -> Markup:  # noqa: C901
    """One stacked column per label (x), one segment per series, with a legend."""
    width, height, left, bottom, top = 760, 260, 50, 40, 30
    n = max(len(labels), 1)
    plot_w, plot_h = width - left - 150, height - bottom - top
    totals = [sum(float(s[i]) for s in series.values()) for i in range(len(labels))]
    peak = max(totals, default=1.0) or 1.0
    col_w = plot_w / n * 0.6
    out = _head(chart_id, width, height, title, desc)
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
               f'y2="{top + plot_h}" stroke="{AXIS}"/>')
    for i, label in enumerate(labels):
        x = left + plot_w / n * (i + 0.2)
        y = top + plot_h
        for k, (_, values) in enumerate(series.items()):
            v = float(values[i])
            h = v / peak * plot_h
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)}: '
                       f'{escape(_fmt(v, percent))}</title></rect>')
            if h > 14:
                out.append(f'<text x="{x + col_w / 2:.1f}" y="{y + h / 2 + 4:.1f}" '
                           f'text-anchor="middle" fill="#fff">{escape(_fmt(v, percent))}</text>')
        out.append(f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h + 16}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    for k, name in enumerate(series):
        out.append(_swatch(width - 140, top + 18 * k, 12, PALETTE[k % len(PALETTE)], name))
    out.append("</svg>")
    return Markup("".join(out))


def intervals(rows: Sequence[tuple[str, float, float, float]], *, title: str, desc: str,
              chart_id: str, reference: float | None = 0.0, marks: Sequence[float] = (),
              lo: float | None = None, hi: float | None = None, digits: int = 3) -> Markup:
    """A point with its interval per row (label, value, low, high), horizontally; a
    vertical `reference` line (e.g. no effect) and dashed `marks` (thresholds)."""
    width, row_h, left, right, top = 960, 28, 330, 190, 20
    height = top * 2 + row_h * max(len(rows), 1) + 10
    finite = [v for _, a, b, c in rows for v in (a, b, c) if v is not None and math.isfinite(v)]
    extra = [v for v in ([reference] if reference is not None else []) + list(marks)]
    lo = min(finite + extra, default=0.0) if lo is None else lo
    hi = max(finite + extra, default=1.0) if hi is None else hi
    if hi - lo < 1e-9:
        hi = lo + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    span = width - left - right

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * span

    out = _head(chart_id, width, height, title, desc)
    if reference is not None:
        out.append(f'<line x1="{x(reference):.1f}" y1="{top - 6}" x2="{x(reference):.1f}" '
                   f'y2="{height - top}" stroke="{AXIS}"/>'
                   f'<text x="{x(reference):.1f}" y="{height - 4}" text-anchor="middle">'
                   f'{escape(_fmt(reference, digits=digits))}</text>')
    for m in marks:
        out.append(f'<line x1="{x(m):.1f}" y1="{top - 6}" x2="{x(m):.1f}" y2="{height - top}" '
                   f'stroke="#b3261e" stroke-dasharray="4 3"/>'
                   f'<text x="{x(m):.1f}" y="{top - 8}" text-anchor="middle" fill="#b3261e">'
                   f'{escape(_fmt(m, digits=digits))}</text>')
    for i, (label, v, a, b) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        out.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{escape(label)}</text>')
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
            out.append(f'<line x1="{x(a):.1f}" y1="{y:.1f}" x2="{x(b):.1f}" y2="{y:.1f}" '
                       f'stroke="{PALETTE[0]}" stroke-width="2"/>')
        if v is not None and math.isfinite(v):
            out.append(f'<circle cx="{x(v):.1f}" cy="{y:.1f}" r="5" fill="{PALETTE[0]}"/>')
        text = f"{_fmt(v, digits=digits)} [{_fmt(a, digits=digits)}, {_fmt(b, digits=digits)}]"
        out.append(f'<text x="{width - right + 6}" y="{y + 4:.1f}">{escape(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def lines(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str,
          desc: str, chart_id: str, marks: dict[str, float] | None = None) -> Markup:
    """One line per series over the labels (x), with dashed horizontal `marks`."""
    width, left, bottom, top, right = 960, 50, 40, 20, 230
    height = max(260, top + bottom + 70 + 16 * len(series))
    values = [float(v) for s in series.values() for v in s if v is not None
              and math.isfinite(float(v))] + list((marks or {}).values())
    hi = max(values, default=1.0) * 1.1 or 1.0
    n = max(len(labels), 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(i: int) -> float:
        return left + plot_w * ((i + 0.5) / n)

    def py(v: float) -> float:
        return top + plot_h - v / hi * plot_h

    out = _head(chart_id, width, height, title, desc)
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
               f'y2="{top + plot_h}" stroke="{AXIS}"/>')
    for name, level in (marks or {}).items():
        out.append(f'<line x1="{left}" y1="{py(level):.1f}" x2="{left + plot_w}" '
                   f'y2="{py(level):.1f}" stroke="#b3261e" stroke-dasharray="4 3"/>'
                   f'<text x="{left + plot_w + 4}" y="{py(level) + 4:.1f}" fill="#b3261e">'
                   f'{escape(name)} {escape(_fmt(level))}</text>')
    for i, label in enumerate(labels):
        out.append(f'<text x="{px(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f'{escape(label)}</text>')
    legend_y = top + 12
    for k, (name, vals) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        pts = [(px(i), py(float(v))) for i, v in enumerate(vals)
               if v is not None and math.isfinite(float(v))]
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
        for (a, b), v in zip(pts, [v for v in vals if v is not None
                                   and math.isfinite(float(v))], strict=True):
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}">'
                       f'<title>{escape(name)}: {escape(_fmt(float(v)))}</title></circle>')
        out.append(_swatch(width - right + 90, legend_y + 16 * k - 9, 10, colour, name))
    out.append("</svg>")
    return Markup("".join(out))
