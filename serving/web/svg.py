"""SHAP contributions drawn on the server as inline SVG (no script, no external file).

Bars start from a zero axis: to the right (red) a factor raised the estimate, to the left
(blue) it lowered it. Beside each bar its effect is printed in words ("↑ a lot"), never as
log-odds, so the chart does not rely on colour and shows people no raw model units; the
`<title>`/`<desc>` give screen readers the same facts.

Readable on a phone: the SVG has no viewBox, so its user unit is the CSS pixel and its text
keeps its size (14 px) whatever the screen, instead of shrinking with the drawing (a 760-unit
chart in a 340 px phone column printed 5 px text). Positions across are percentages of the
chart's width; each label sits on its own line(s) above its bar, wrapped at word boundaries
(`LABEL_CHARS`), so no label is cut, in English or French.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

UP = "#b3261e"
DOWN = "#1f5fa8"
GREY = "#8a8f98"
FONT_PX = 14
# characters per label line: about 270 px of 14 px text, inside a 414 px phone's column
LABEL_CHARS = 38
LINE_H, BAR_H, GAP = 18, 14, 10
# bars take the left part of the width, the words the rest (right-aligned)
BARS_END = 70.0


def _get(c: Any, key: str) -> Any:
    return c[key] if isinstance(c, dict) else getattr(c, key)


def _num(v: float) -> str:
    return f"{v:+.2f}".replace("-", "\u2212")


def wrap(text: str, width: int = LABEL_CHARS) -> list[str]:
    """`text` in lines of at most `width` characters, broken between words (a longer word
    keeps its own line whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def shap_bars(contributions: Sequence[Any], *, title: str, desc: str,
              top: int = 10, other_label: str | Callable[[int], str] = "{n} other",
              display: Any = None, value_text: Callable[[float], str] | None = None,
              chart_id: str = "shap") -> Markup:
    """A horizontal bar chart of the `top` largest contributions (the rest summed).

    `display(c)` gives each row's label (default: "label: value"); `value_text(shap)` the
    words printed beside its bar (default: the signed value, for staff tools only);
    `other_label` the label of the summed rest, a format with {n} or a function of n."""
    items = list(contributions)
    head = items[:top]
    rest = items[top:]
    rows: list[tuple[str, float, bool]] = []
    for c in head:
        label = display(c) if display else f"{_get(c, 'label')}: {_get(c, 'value')}"
        rows.append((str(label), float(_get(c, "shap")), False))
    if rest:
        n = len(rest)
        label = other_label(n) if callable(other_label) else other_label.format(n=n)
        rows.append((label, float(sum(float(_get(c, "shap")) for c in rest)), True))
    words = value_text or _num

    # The axis sits where the positive and negative extents need it (not always centred).
    pos = max((v for _, v, _ in rows if v > 0), default=0.0)
    neg = max((-v for _, v, _ in rows if v < 0), default=0.0)
    span = (pos + neg) or 1.0
    left, right = 1.0, BARS_END - 1.0
    zero = left + (right - left) * (neg / span)
    scale = (right - left) / span

    body: list[str] = []
    y = GAP // 2
    for label, value, is_rest in rows:
        lines = wrap(label)
        # 2 px in: a glyph's side bearing must not poke out of the chart
        text = "".join(f'<tspan x="2" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
                       for i, line in enumerate(lines))
        body.append(f'<g class="bar"><text class="label" x="2" y="{y + LINE_H - 4}" '
                    f'fill="#1d1d1f">{text}</text>')
        y += LINE_H * len(lines)
        w = abs(value) * scale
        x = zero if value >= 0 else zero - w
        colour = GREY if is_rest else (UP if value > 0 else DOWN)
        # the zero axis on the bar's line only (never across the label above it)
        body.append(f'<line x1="{zero:.2f}%" y1="{y}" x2="{zero:.2f}%" y2="{y + BAR_H + 4}" '
                    f'stroke="#444" stroke-width="1"/>')
        body.append(f'<rect x="{x:.2f}%" y="{y + 2}" width="{max(w, 0.3):.2f}%" '
                    f'height="{BAR_H}" fill="{colour}" rx="2"/>')
        body.append(f'<text class="effect" x="100%" dx="-2" y="{y + BAR_H}" text-anchor="end" '
                    f'fill="#1d1d1f">{escape(words(value))}</text></g>')
        y += BAR_H + 4 + GAP
    height = y + 2
    out = [
        f'<svg class="shap-chart" role="img" width="100%" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="{FONT_PX}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)} '
        + escape("; ".join(f"{lab}: {words(v)}" for lab, v, _ in rows))
        + "</desc>",
        *body,
        "</svg>",
    ]
    return Markup("".join(out))
