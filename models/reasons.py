"""Plain-language sentences for SHAP contributions, in English and French.

A reason reads as a sentence about the customer and what it did to the estimate:
"The customer is on a month-to-month contract — this raises the estimate a lot." (staff), "You
are on a month-to-month contract — ..." (the customer's own page). The fact comes from the
dataset schema: a predicate per category (`sentences:`) or one per number with `{value}`
(`sentence:`), written in the third person; the customer's second person is derived from its
leading verb. A feature without such notes (a data set a data scientist brings as it is) falls
back to "Label: value", grammatical whatever the column. Numbers carry their unit in the
right number ("1 month", "3 support calls", "1 mois").

The effect is worded from the contribution's sign and size, never as a log-odds figure:
`effect_key` classes it as up/down and none, a little, clearly or a lot (`MAGNITUDES`), one
class per band of |SHAP|, so a larger contribution never gets a weaker word (tested for
every feature of the Telco and synthetic models).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from models.spec import FeatureSpec, is_singular

Audience = Literal["staff", "customer"]

# |SHAP| in log-odds bounding each word: below 0.01 the factor barely moved the estimate;
# 0.2 multiplies the odds by about 1.22, 0.5 by about 1.65.
NEGLIGIBLE_EFFECT = 0.01
CLEAR_EFFECT = 0.2
STRONG_EFFECT = 0.5
# (key, lowest |SHAP|), weakest first: the strength order the faithfulness test checks
MAGNITUDES: tuple[tuple[str, float], ...] = (
    ("none", 0.0),
    ("little", NEGLIGIBLE_EFFECT),
    ("clear", CLEAR_EFFECT),
    ("strong", STRONG_EFFECT),
)

_EFFECTS = {
    "en": {
        "up_strong": "raises the estimate a lot",
        "up_clear": "clearly raises the estimate",
        "up_little": "raises the estimate a little",
        "down_strong": "lowers the estimate a lot",
        "down_clear": "clearly lowers the estimate",
        "down_little": "lowers the estimate a little",
        "none": "makes almost no difference to the estimate",
    },
    "fr": {
        "up_strong": "augmente beaucoup l'estimation",
        "up_clear": "augmente nettement l'estimation",
        "up_little": "augmente un peu l'estimation",
        "down_strong": "diminue beaucoup l'estimation",
        "down_clear": "diminue nettement l'estimation",
        "down_little": "diminue un peu l'estimation",
        "none": "ne change presque rien à l'estimation",
    },
}
# the short words beside a chart's bars (the chart shows no log-odds either)
_BAR_WORDS = {
    "en": {"strong": "a lot", "clear": "clearly", "little": "a little", "none": "barely"},
    "fr": {"strong": "beaucoup", "clear": "nettement", "little": "un peu", "none": "à peine"},
}
_SUBJECT = {
    ("en", "staff"): "The customer", ("en", "customer"): "You",
    ("fr", "staff"): "Le client", ("fr", "customer"): "Vous",
}
_LINK = {"en": " \u2014 this ", "fr": " \u2014 cela "}

# the second person of third-person verbs that no rule gives
_EN_YOU = {"is": "are", "has": "have", "was": "were", "does": "do", "isn't": "aren't",
           "hasn't": "haven't", "wasn't": "weren't", "doesn't": "don't"}
_FR_VOUS = {"est": "êtes", "a": "avez", "fait": "faites", "dit": "dites", "va": "allez",
            "peut": "pouvez", "doit": "devez", "reçoit": "recevez", "prend": "prenez",
            "paie": "payez", "paye": "payez", "vient": "venez", "détient": "détenez",
            "choisit": "choisissez", "appelle": "appelez", "vit": "vivez", "met": "mettez",
            "utilise": "utilisez"}


def _lang(lang: str) -> str:
    return "fr" if lang == "fr" else "en"


_STRONGEST_FIRST = MAGNITUDES[::-1]


def magnitude(shap_value: float) -> str:
    """The size class of a contribution: none, little, clear or strong (NaN: none)."""
    size = abs(float(shap_value))
    for key, lowest in _STRONGEST_FIRST:  # the first band reached, from the strongest
        if size >= lowest:
            return key
    return "none"


def strength(shap_value: float) -> int:
    """The rank of `magnitude(shap_value)` in `MAGNITUDES` (0: none .. 3: strong)."""
    return [k for k, _ in MAGNITUDES].index(magnitude(shap_value))


def effect_key(shap_value: float) -> str:
    """Classify a contribution: "none", or up/down with its size ("up_strong", "down_little")."""
    size = magnitude(shap_value)
    if size == "none":
        return "none"
    return ("up_" if shap_value > 0 else "down_") + size


def effect_text(shap_value: float, lang: str = "en") -> str:
    """What a contribution did, in words: "raises the estimate a lot"."""
    return _EFFECTS[_lang(lang)][effect_key(shap_value)]


def bar_word(shap_value: float, lang: str = "en") -> str:
    """The short mark printed beside a chart bar: an arrow for the direction and the size
    in words ("↑ a lot", "↓ un peu"); never the log-odds."""
    size = magnitude(shap_value)
    arrow = "" if size == "none" else ("\u2191 " if shap_value > 0 else "\u2193 ")
    return arrow + _BAR_WORDS[_lang(lang)][size]


def second_person(predicate: str, lang: str = "en") -> str:
    """A third-person predicate turned to the second person by its leading verb: "is on a
    contract" -> "are on a contract", "pays by cheque" -> "pay by cheque"; "a un contrat" ->
    "avez un contrat", "n'a pas" -> "n'avez pas", "ne paie pas" -> "ne payez pas"."""
    words = predicate.split(" ")
    if not words or not words[0]:
        return predicate
    if _lang(lang) == "en":
        words[0] = _en_you(words[0])
        return " ".join(words)
    i = 0
    if words[0] == "ne" and len(words) > 1:
        i = 1
    elif words[0].startswith(("n'", "n\u2019")):
        head, verb = words[0][:2], words[0][2:]
        words[0] = head + _fr_vous(verb)
        return " ".join(words)
    words[i] = _fr_vous(words[i])
    return " ".join(words)


def _en_you(verb: str) -> str:
    if verb in _EN_YOU:
        return _EN_YOU[verb]
    if verb.endswith("ed") or not verb.endswith("s") or verb.endswith("ss"):
        return verb  # a past tense, or no third-person -s
    if verb.endswith("ies") and len(verb) > 4:
        return verb[:-3] + "y"
    if re.search(r"(sh|ch|x|ss|o|z)es$", verb):
        return verb[:-2]
    return verb[:-1]


def _fr_vous(verb: str) -> str:
    if verb in _FR_VOUS:
        return _FR_VOUS[verb]
    if verb.endswith("e"):
        return verb + "z"  # the first group: utilise -> utilisez
    return verb


def fact_text(feature: FeatureSpec, value: Any, lang: str = "en",
              audience: Audience = "staff") -> str:
    """The fact as the model read it: "The customer is on a month-to-month contract" from the
    schema's sentence, else "Contract type: month-to-month"."""
    lang = _lang(lang)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    predicate = None
    if not missing and feature.kind == "numeric" and feature.sentence is not None:
        predicate = feature.sentence.get(lang).replace(
            "{value}", feature.display_value(value, lang))
    elif not missing and feature.kind != "numeric":
        said = feature.value_sentences.get(str(value))
        predicate = said.get(lang) if said is not None else None
    if predicate:
        if audience == "customer":
            predicate = second_person(predicate, lang)
        return f"{_SUBJECT[(lang, audience)]} {predicate}"
    sep = "\u00a0: " if lang == "fr" else ": "
    return f"{feature.display_label(lang)}{sep}{feature.display_value(value, lang)}"


def reason_text(feature: FeatureSpec, value: Any, shap_value: float, lang: str = "en",
                audience: Audience = "staff") -> str:
    """One sentence a person can read, e.g. "The customer is on a month-to-month contract —
    this raises the estimate a lot." Never a bare column name nor a log-odds figure."""
    lang = _lang(lang)
    fact = fact_text(feature, value, lang, audience)
    return f"{fact}{_LINK[lang]}{effect_text(shap_value, lang)}."


def count_text(n: int, one: str, many: str, lang: str = "en") -> str:
    """A count with its noun in the right number: "1 other fact", "3 other facts"."""
    return (one if is_singular(n, lang) else many).format(n=n)
