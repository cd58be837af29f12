"""Plain-language sentences for SHAP contributions, in English and French."""

from __future__ import annotations

from typing import Any

from models.spec import FeatureSpec

# |SHAP| in log-odds above which an effect is called strong (about x1.65 on the odds).
STRONG_EFFECT = 0.5
# Below this the factor is reported as having almost no effect.
NEGLIGIBLE_EFFECT = 0.01

_EFFECTS = {
    "en": {
        "up_strong": "strongly raises the risk of leaving",
        "up": "raises the risk of leaving",
        "down_strong": "strongly lowers the risk of leaving",
        "down": "lowers the risk of leaving",
        "none": "has almost no effect on the risk",
    },
    "fr": {
        "up_strong": "augmente fortement le risque de départ",
        "up": "augmente le risque de départ",
        "down_strong": "diminue fortement le risque de départ",
        "down": "diminue le risque de départ",
        "none": "n'a presque pas d'effet sur le risque",
    },
}


def effect_key(shap_value: float) -> str:
    """Classify a contribution: up/down, strong or not, or negligible."""
    if abs(shap_value) < NEGLIGIBLE_EFFECT:
        return "none"
    direction = "up" if shap_value > 0 else "down"
    return direction + ("_strong" if abs(shap_value) >= STRONG_EFFECT else "")


def reason_text(feature: FeatureSpec, value: Any, shap_value: float, lang: str = "en") -> str:
    """One sentence a person can read, e.g. "Contract type is Month-to-month, which
    raises the risk of leaving." Never a bare column name."""
    lang = "fr" if lang == "fr" else "en"
    label = feature.display_label(lang)
    shown = feature.display_value(value, lang)
    effect = _EFFECTS[lang][effect_key(shap_value)]
    if lang == "fr":
        return f"{label} : {shown}, ce qui {effect}."
    return f"{label} is {shown}, which {effect}."
