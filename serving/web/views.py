"""Turning service results into what the templates show (no business rules here)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from models import ModelSpec
from serving.scoring.schemas import PredictionPublic
from serving.web.i18n import translator
from serving.web.svg import shap_bars


def display_value(spec: ModelSpec, feature: str, value: Any, lang: str) -> str:
    try:
        return spec.feature(feature).display_value(value, lang)
    except KeyError:
        return "" if value is None else str(value)


def factors(spec: ModelSpec, pred: PredictionPublic, lang: str) -> list[dict[str, Any]]:
    """Each contribution with the value as a person reads it."""
    return [
        {"feature": c.feature, "label": c.label, "value": c.value,
         "shown": display_value(spec, c.feature, c.value, lang), "shap": c.shap,
         "text": c.text, "up": c.shap > 0}
        for c in pred.contributions
    ]


def chart(spec: ModelSpec, pred: PredictionPublic, lang: str, chart_id: str = "shap",
          top: int = 10) -> Markup:
    t = translator(lang)
    rows = factors(spec, pred, lang)
    sep = "\u00a0: " if lang == "fr" else ": "
    return shap_bars(rows, title=t("me_chart_title"), desc=t("chart_desc"), top=top,
                     other_label=t("other_factors", n="{n}"),
                     display=lambda c: f"{c['label']}{sep}{c['shown']}", chart_id=chart_id)


def data_used(spec: ModelSpec, values: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Every feature the model read, with its label, value as read, and purpose."""
    return [
        {"feature": f.name, "label": f.display_label(lang),
         "shown": f.display_value(values.get(f.name), lang),
         "purpose": f.purpose if lang == "en" else None}
        for f in spec.features
    ]


def field_for(spec: ModelSpec, name: str, lang: str) -> dict[str, Any]:
    """What a form input for this feature looks like (choice list or number)."""
    f = spec.feature(name)
    if f.kind == "numeric":
        return {"name": f.name, "label": f.display_label(lang), "kind": "number",
                "min": f.min, "max": f.max, "unit": f.unit.get(lang) if f.unit else ""}
    return {"name": f.name, "label": f.display_label(lang), "kind": "choice",
            "choices": [(c, f.display_value(c, lang)) for c in f.categories]}


def parse_value(spec: ModelSpec, name: str, raw: str, t: Any,
                current: Any = None) -> tuple[Any, str | None]:
    """A typed value from form text, or an error message in the page's language."""
    f = spec.feature(name)
    raw = (raw or "").strip()
    if not raw:
        return None, t("e_need_value")
    if f.kind == "numeric":
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return None, t("e_number")
        if number != number or number in (float("inf"), float("-inf")):
            return None, t("e_number")
        # Training's range is not a limit (a customer may be older than any seen), but a
        # quantity that was never negative cannot become so.
        if f.min is not None and f.min >= 0 and number < 0:
            return None, t("e_min", lo="0")
        if abs(number) > 1e9:
            return None, t("e_number")
        if current is not None and float(current) == number:
            return None, t("e_same")
        return number, None
    if raw not in f.categories:
        return None, t("e_choice")
    if current is not None and str(current) == raw:
        return None, t("e_same")
    return raw, None
