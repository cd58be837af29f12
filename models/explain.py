"""Explanations in words: the one place that turns encoded rows and exact SHAP values
into the values the model read and a sentence per contribution.

Online scoring, batch scoring and reviews all call these functions, and stored receipts
are explained with them too (from the receipt's own model version's spec), so a
prediction reads the same whichever path made it, today or in a year.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.reasons import Audience, effect_key, reason_text
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
    for f, code in zip(spec.features, np.asarray(X_row, dtype=np.float64).tolist(),
                       strict=True):
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


# Below this many rows, `decoded_json` builds each row's text in plain Python: numpy's
# per-column calls cost more than they save (one online request is one row).
_ROW_WISE = 32
# Per spec: each feature's `"name":` prefix, and for a category feature the whole
# `"name":"category"` text of each category (built once per model, not per receipt).
_PARTS: dict[int, tuple[ModelSpec, list[tuple[str, list[str] | None]]]] = {}


def _json_parts(spec: ModelSpec) -> list[tuple[str, list[str] | None]]:
    hit = _PARTS.get(id(spec))
    if hit is not None and hit[0] is spec:  # the spec is held: its id is not reused
        return hit[1]
    parts: list[tuple[str, list[str] | None]] = []
    for f in spec.features:
        key = json.dumps(f.name) + ":"
        parts.append((key, None if f.kind == "numeric"
                      else [key + json.dumps(c) for c in f.categories]))
    _PARTS[id(spec)] = (spec, parts)
    return parts


def decoded_json(spec: ModelSpec, X: np.ndarray) -> list[str]:
    """`values_json(decoded_values(spec, row))` for every row of `X`, built a column at a
    time (each category's text once): the batch writes millions of these, and a receipt
    must not depend on which path wrote it (a few rows, as online, go row by row to the
    same text)."""
    if len(X) == 0:
        return []
    if len(X) < _ROW_WISE:
        parts = _json_parts(spec)
        out = []
        for row in X.tolist():
            items = []
            for (key, texts), v in zip(parts, row, strict=True):
                if not math.isfinite(v):
                    items.append(key + "null")
                elif texts is None:
                    items.append(key + repr(v))
                else:
                    items.append(texts[int(v)])
            out.append("{" + ",".join(items) + "}")
        return out
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


# What `contributions` words, per spec: each sentence already worded (it depends only on
# the feature, the value, the class of the contribution's effect (`effect_key`), the
# language and the audience, and a customer base repeats those few combinations), and the
# features' labels per language: worded once per model, not on every prediction.
_WORDING: dict[int, tuple[ModelSpec, dict[tuple, str], dict[str, list[str]]]] = {}
_REASONS_MAX = 50_000  # sentences kept per spec (numbers with many values: emptied when full)


def _wording(spec: ModelSpec, lang: str) -> tuple[dict[tuple, str], list[str]]:
    """The spec's sentences said so far, and its features' labels in `lang`."""
    hit = _WORDING.get(id(spec))
    if hit is None or hit[0] is not spec:  # the spec is held: its id is not reused
        hit = _WORDING[id(spec)] = (spec, {}, {})
    said, labels = hit[1], hit[2]
    if len(said) > _REASONS_MAX:
        said.clear()
    in_lang = labels.get(lang)
    if in_lang is None:
        if len(labels) > 8:  # a language per caller's whim: kept small
            labels.clear()
        in_lang = labels[lang] = [f.display_label(lang) for f in spec.features]
    return said, in_lang


def contribution_rows(spec: ModelSpec, values: dict[str, Any], shap: np.ndarray,
                      lang: str = "en", top: int | None = None,
                      audience: Audience = "staff") -> list[tuple[str, str, Any, float, str]]:
    """`contributions` as plain tuples (feature, label, value, shap, text), in the same
    order: what the API's answer is built from without an object per contribution."""
    shaps = np.asarray(shap, dtype=np.float64).tolist()
    sizes = [abs(s) for s in shaps]
    if not any(map(math.isnan, sizes)):
        # largest first, ties in feature order: numpy's stable argsort of -|shap|, without
        # its per-call cost for a dozen values
        order = sorted(range(len(sizes)), key=sizes.__getitem__, reverse=True)
    else:  # numpy puts NaN last
        order = np.argsort(-np.abs(np.asarray(shaps)), kind="stable").tolist()
    if top is not None:
        order = order[:top]
    said, labels = _wording(spec, lang)
    features = spec.features
    out = []
    for j in order:
        f, s = features[j], shaps[j]
        value = values.get(f.name)
        # by type too (True == 1), and never a float zero (-0.0 == 0.0 reads "-0") or NaN
        if isinstance(value, float) and (value == 0 or value != value):
            text = reason_text(f, value, s, lang, audience)
        else:
            key = (j, type(value), value, effect_key(s), lang, audience)
            text = said.get(key)
            if text is None:
                text = said[key] = reason_text(f, value, s, lang, audience)
        out.append((f.name, labels[j], value, s, text))
    return out


def contributions(spec: ModelSpec, values: dict[str, Any], shap: np.ndarray,
                  lang: str = "en", top: int | None = None,
                  audience: Audience = "staff") -> list[Contribution]:
    """Each feature's contribution, largest |shap| first (ties in feature order), with
    its plain-language sentence in `lang` (about "the customer" for staff, "you" for the
    customer: `models.reasons`); the first `top` only when given."""
    return [Contribution(*row)
            for row in contribution_rows(spec, values, shap, lang, top, audience)]
