"""Explanations from a stored receipt: features as read, exact SHAP values, model spec.

The receipt keeps numbers, not sentences: the sentences are rendered from the model
version's spec in the reader's language, so a prediction is explained identically
today and in a year, in English or French.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from models import ModelSpec, reason_text


def pack_shap(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def unpack_shap(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8")


def decoded_values(spec: ModelSpec, X_row: np.ndarray) -> dict[str, Any]:
    """The values the model read, by feature name (None when missing)."""
    out: dict[str, Any] = {}
    for j, f in enumerate(spec.features):
        code = float(X_row[j])
        if math.isnan(code):
            out[f.name] = None
        elif f.kind == "numeric":
            out[f.name] = code
        else:
            out[f.name] = f.categories[int(code)]
    return out


def features_json(values: dict[str, Any]) -> str:
    return json.dumps(values, separators=(",", ":"), allow_nan=False)


def contributions(spec: ModelSpec, values: dict[str, Any], shap: np.ndarray,
                  lang: str = "en", top: int | None = None) -> list[dict[str, Any]]:
    """Largest |shap| first, each with its plain-language sentence (same order and words
    as `ChurnModel.contributions`)."""
    order = np.argsort(-np.abs(shap), kind="stable")
    if top is not None:
        order = order[:top]
    out = []
    for j in order:
        f = spec.features[int(j)]
        value = values.get(f.name)
        out.append(
            {
                "feature": f.name,
                "label": f.display_label(lang),
                "value": value,
                "shap": float(shap[j]),
                "text": reason_text(f, value, float(shap[j]), lang),
            }
        )
    return out
