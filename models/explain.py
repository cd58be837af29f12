"""Explanations in words: the one place that turns encoded rows and exact SHAP values
into the values the model read and a sentence per contribution.

Online scoring, batch scoring and reviews all call these functions, and stored receipts
are explained with them too (from the receipt's own model version's spec), so a
prediction reads the same whichever path made it, today or in a year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.reasons import Audience, reason_text
from models.spec import ModelSpec


@dataclass(frozen=True)
class Contribution:
    """One feature's share of one prediction."""

    feature: str
    label: str
    value: Any
    shap: float
    text: str


def decoded_values(spec: ModelSpec, X_row: np.ndarray) -> dict[str, Any]:
    """The values the model read in one encoded row, by feature name (None if missing)."""
    out: dict[str, Any] = {}
    for j, f in enumerate(spec.features):
        code = float(X_row[j])
        if code != code:  # NaN: the value was missing
            out[f.name] = None
        elif f.kind == "numeric":
            out[f.name] = code
        else:
            out[f.name] = f.categories[int(code)]
    return out


def values_json(values: dict[str, Any]) -> str:
    """A receipt's `features` text for decoded values (compact, no NaN)."""
    return json.dumps(values, separators=(",", ":"), allow_nan=False)


def decoded_json(spec: ModelSpec, X: np.ndarray) -> list[str]:
    """`values_json(decoded_values(spec, row))` for every row of `X`, built a column at a
    time (each category's text once): the batch writes millions of these, and a receipt
    must not depend on which path wrote it."""
    if len(X) == 0:
        return []
    columns = []
    for j, f in enumerate(spec.features):
        key = json.dumps(f.name) + ":"
        col = X[:, j]
        if f.kind == "numeric":
            finite = np.isfinite(col).tolist()
            columns.append([key + repr(v) if ok else key + "null"
                            for v, ok in zip(col.tolist(), finite, strict=True)])
        else:
            texts = np.array([key + json.dumps(c) for c in f.categories] + [key + "null"],
                             dtype=object)
            idx = np.where(np.isnan(col), len(f.categories), col).astype(np.int64)
            columns.append(texts[idx].tolist())
    return ["{" + ",".join(parts) + "}" for parts in zip(*columns, strict=True)]


def contributions(spec: ModelSpec, values: dict[str, Any], shap: np.ndarray,
                  lang: str = "en", top: int | None = None,
                  audience: Audience = "staff") -> list[Contribution]:
    """Each feature's contribution, largest |shap| first (ties in feature order), with
    its plain-language sentence in `lang` (about "the customer" for staff, "you" for the
    customer: `models.reasons`); the first `top` only when given."""
    shap = np.asarray(shap, dtype=np.float64)
    order = np.argsort(-np.abs(shap), kind="stable")
    if top is not None:
        order = order[:top]
    out = []
    for j in order.tolist():
        f = spec.features[j]
        value = values.get(f.name)
        s = float(shap[j])
        out.append(Contribution(feature=f.name, label=f.display_label(lang), value=value,
                                shap=s, text=reason_text(f, value, s, lang, audience)))
    return out
