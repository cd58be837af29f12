"""Turning service results into what the templates show (no business rules here)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from markupsafe import Markup

from models import ModelSpec
from models.reasons import Audience, bar_word, reason_text, strength
from serving.disputes import rules
from serving.disputes.schemas import NUL
from serving.errors import FieldError
from serving.scoring.schemas import PredictionPublic
from serving.web.i18n import text_lang, translator
from serving.web.svg import shap_bars

__all__ = ["text_lang"]  # the language of a person's free text (serving.web.i18n)

def display_value(spec: ModelSpec, feature: str, value: Any, lang: str) -> str:
    try:
        return spec.feature(feature).display_value(value, lang)
    except KeyError:
        return "" if value is None else str(value)


def factors(spec: ModelSpec, pred: PredictionPublic, lang: str,
            audience: Audience = "staff") -> list[dict[str, Any]]:
    """Each contribution with the value as a person reads it and its sentence in the page's
    language (whatever language the service explained it in): about "the customer" for
    staff, "you" on the customer's own pages (`models.reasons`), with the size of its
    effect in words (`strength`: 0 none .. 3 a lot)."""
    out = []
    for c in pred.contributions:
        try:
            text = reason_text(spec.feature(c.feature), c.value, c.shap, lang, audience)
        except KeyError:  # a feature this spec does not know: the receipt's words
            text = c.text
        out.append({"feature": c.feature, "label": c.label, "value": c.value,
                    "shown": display_value(spec, c.feature, c.value, lang), "shap": c.shap,
                    "text": text, "up": c.shap > 0, "effect": bar_word(c.shap, lang),
                    "strength": strength(c.shap)})
    return out


def chart(spec: ModelSpec, pred: PredictionPublic, lang: str, chart_id: str = "shap",
          top: int = 10) -> Markup:
    """The contributions as bars, each with its effect in words (no log-odds)."""
    t = translator(lang)
    rows = factors(spec, pred, lang)
    sep = "\u00a0: " if lang == "fr" else ": "
    return shap_bars(rows, title=t("me_chart_title"), desc=t("chart_desc"), top=top,
                     other_label=lambda n: t("other_factors", count=n),
                     value_text=lambda v: bar_word(v, lang),
                     display=lambda c: f"{c['label']}{sep}{c['shown']}", chart_id=chart_id)


def data_used(spec: ModelSpec, values: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Every feature the model read, with its label, value as read, and purpose (or a
    sentence saying none was given; `purpose_lang` is the language it is written in)."""
    return [
        {"feature": f.name, "label": f.display_label(lang),
         "shown": f.display_value(values.get(f.name), lang),
         "purpose": f.purpose_or_missing(lang), "purpose_lang": f.purpose_lang(lang)}
        for f in spec.features
    ]


_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_-]")


def dom_id(name: str) -> str:
    """A feature's name as a token for HTML ids, label `for`, links to `#...` and ARIA
    references (a space-separated list of ids): the name itself when it is letters,
    digits, "-" and "_", else those characters with a short digest of the name, so two
    names never share one ("Num Of Products" -> "Num-Of-Products-1f3a9c"). The form
    posts under the feature's own name."""
    if not _NOT_IN_ID.search(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
    return f"{_NOT_IN_ID.sub('-', name)}-{digest}"


def field_for(spec: ModelSpec, name: str, lang: str) -> dict[str, Any]:
    """What a form input for this feature looks like (choice list or number); `dom` is
    its token for ids (`dom_id`)."""
    f = spec.feature(name)
    if f.kind == "numeric":
        return {"name": f.name, "dom": dom_id(f.name), "label": f.display_label(lang),
                "kind": "number", "min": f.valid_range()[0], "max": f.valid_range()[1],
                "step": "1" if f.integer else "any",
                "unit": f.unit.get(lang) if f.unit else ""}
    return {"name": f.name, "dom": dom_id(f.name), "label": f.display_label(lang),
            "kind": "choice", "choices": [(c, f.display_value(c, lang)) for c in f.categories]}


def typed_value(spec: ModelSpec, name: str, raw: str) -> Any:
    """Form text as the JSON API would carry it: None when empty; for a numeric feature a
    number when the text is one as people write it (`rules.read_number`: digits, an
    optional sign, one decimal point, or a comma when it cannot separate thousands, as in
    "2,5"), else the text itself, unchanged ("10,000", "1_0", "1e3"), which the service
    refuses saying why; the text itself for a category. Whether a value is acceptable is
    the service's call, not the form's: the form never turns text into a number the
    person did not write."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if spec.feature(name).kind == "numeric":
        number = rules.read_number(raw)
        return raw if number is None else number
    return raw


# The services' problem codes (serving.disputes.rules, the model encoder, the request
# schema) as the pages word them.
_MESSAGES = {
    rules.EMPTY: ("e_need_value", {}),
    rules.WRONG_TYPE: ("e_number", {}),
    rules.NOT_FINITE: ("e_number", {}),
    rules.THOUSANDS: ("e_thousands", {}),
    rules.EXPONENT: ("e_exponent", {}),
    rules.OUT_OF_RANGE: ("e_range", {}),
    "not a whole number": ("e_whole", {}),
    "unseen category": ("e_choice", {}),
    rules.SAME: ("e_same", {}),
    rules.NOTHING: ("e_need_something", {}),
    NUL: ("e_text", {}),
    "string_too_long": ("e_too_long", {}),
}


def message(error: FieldError, t: Any, spec: ModelSpec | None = None, **params: Any) -> str:
    """A service's field error in the page's language (its own words when the page has
    none for its problem); with the model's `spec`, a range names its bounds."""
    key, fixed = _MESSAGES.get(error.problem, (None, {}))
    if key is None:
        return f"{error.problem} ({error.expected})"
    if key == "e_range":
        try:
            lo, hi = spec.feature(error.field).valid_range()  # type: ignore[union-attr]
        except (AttributeError, KeyError):
            return t("e_number")
        fixed = {"lo": f"{lo:g}", "hi": f"{hi:g}"}
    return t(key, **(fixed | params))


def amount(value: float, lang: str) -> str:
    """An amount of money as people read it: whole units from 10 up, else one decimal;
    thousands grouped ("1,250" / "1 250"), the decimal mark of the language."""
    text = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"
    text = text.replace("-", "\u2212")
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def call_value(cv: Any, lang: str) -> str:
    """What a call is expected to be worth, in words (uplift targeting, issue 17):
    "Expected value of a call: 35 (…)", with the uplift in points of chance of leaving,
    the customer's value and the cost of a call it comes from."""
    t = translator(lang)
    head = t("cv_value", value=amount(cv.expected_value, lang))
    if cv.uplift is None or cv.customer_value is None:
        return head
    cost = cv.uplift * cv.customer_value - cv.expected_value
    points = abs(cv.uplift) * 100
    shown = f"{points:.0f}" if points >= 1 else f"{points:.1f}"
    if lang == "fr":
        shown = shown.replace(".", ",")
    key = "cv_detail_keeps" if cv.uplift >= 0 else "cv_detail_pushes"
    return head + " " + t(key, points=shown, worth=amount(cv.customer_value, lang),
                          cost=amount(cost, lang))
