"""SHAP contributions drawn on the server as inline SVG (no script, no external file).

Bars start from a zero axis: to the right (red) a factor raised the risk, to the left
(blue) it lowered it. The signed value is printed beside each bar, so the chart does
not rely on colour, and the `<title>`/`<desc>` give screen readers the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

UP = "#b3261e"
DOWN = "#1f5fa8"
GREY = "#8a8f98"


def _get(c: Any, key: str) -> Any:
    return c[key] if isinstance(c, dict) else getattr(c, key)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _num(v: float) -> str:
    return f"{v:+.2f}".replace("-", "\u2212")


def shap_bars(contributions: Sequence[Any], *, title: str, desc: str,
              top: int = 10, other_label: str = "{n} other", display: Any = None,
              chart_id: str = "shap") -> Markup:
    """A horizontal bar chart of the `top` largest contributions (the rest summed).

    `display(c)` gives each row's label (default: "label: value")."""
    items = list(contributions)
    head = items[:top]
    rest = items[top:]
    rows: list[tuple[str, float, bool]] = []
    for c in head:
        label = display(c) if display else f"{_get(c, 'label')}: {_get(c, 'value')}"
        rows.append((str(label), float(_get(c, "shap")), False))
    if rest:
        rows.append((other_label.format(n=len(rest)),
                     float(sum(float(_get(c, "shap")) for c in rest)), True))

    width, label_w, row_h, pad = 760, 340, 26, 8
    left, right = label_w + 54, width - 54  # room for the printed values either side
    height = pad * 2 + row_h * max(len(rows), 1) + 18
    # The axis sits where the positive and negative extents need it (not always centred).
    pos = max((v for _, v, _ in rows if v > 0), default=0.0)
    neg = max((-v for _, v, _ in rows if v < 0), default=0.0)
    span = (pos + neg) or 1.0
    zero = left + (right - left) * (neg / span)
    scale = (right - left - 4) / span

    out = [
        f'<svg class="shap-chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="13">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)} '
        + escape("; ".join(f"{lab} {_num(v)}" for lab, v, _ in rows))
        + "</desc>",
        f'<line x1="{zero:.1f}" y1="{pad}" x2="{zero:.1f}" y2="{height - pad - 14}" '
        f'stroke="#444" stroke-width="1"/>',
    ]
    for i, (label, value, is_rest) in enumerate(rows):
        y = pad + i * row_h
        w = abs(value) * scale
        x = zero if value >= 0 else zero - w
        colour = GREY if is_rest else (UP if value > 0 else DOWN)
        out.append(
            f'<g class="bar"><text x="{label_w - 8}" y="{y + row_h * 0.65:.1f}" '
            f'text-anchor="end" fill="#1d1d1f">{escape(_short(label, 42))}</text>'
            f'<rect x="{x:.1f}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" '
            f'fill="{colour}" rx="2"/>'
        )
        tx = (x + w + 4) if value >= 0 else (x - 4)
        anchor = "start" if value >= 0 else "end"
        out.append(f'<text x="{tx:.1f}" y="{y + row_h * 0.65:.1f}" text-anchor="{anchor}" '
                   f'fill="#1d1d1f">{_num(value)}</text></g>')
    out.append(
        f'<text x="{zero:.1f}" y="{height - 4}" text-anchor="middle" fill="#555" '
        f'font-size="11">0</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))
