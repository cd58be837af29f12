"""The served contract: what a client may send to a model, and its short version.

A model's contract is its features as a client sees them: each name, its kind, its
categories (an ordinal's in order), and for a number its valid range and whether it must
be whole. Two models with the same contract accept and refuse exactly the same requests;
serving refuses to switch to a model with another contract unless asked explicitly.
The version is a short hash of the contract, so every replica and every receipt names
the same version for the same contract, and it changes only when the contract does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from models.spec import FeatureSpec, ModelSpec


def feature_contract(f: FeatureSpec) -> dict[str, Any]:
    """One feature's part of the contract (a categorical's code order is the model's
    business: its categories are compared as a set)."""
    if f.kind == "numeric":
        lo, hi = f.valid_range()
        return {"kind": f.kind, "range": [float(lo), float(hi)], "integer": bool(f.integer)}
    categories = list(f.categories) if f.kind == "ordinal" else sorted(f.categories)
    return {"kind": f.kind, "categories": categories}


def contract(spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """The spec's contract, by feature name."""
    return {f.name: feature_contract(f) for f in sorted(spec.features, key=lambda f: f.name)}


def contract_version(spec: ModelSpec) -> str:
    """A 12-hex-digit digest of the contract (stable across processes and versions)."""
    text = json.dumps(contract(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _number(x: float) -> str:
    return f"{x:g}"


def contract_differences(new: ModelSpec, old: ModelSpec) -> list[str]:
    """How `new`'s contract differs from `old`'s, one sentence per difference, naming the
    feature (empty when they are the same)."""
    a, b = contract(new), contract(old)
    out: list[str] = []
    added = [n for n in a if n not in b]
    removed = [n for n in b if n not in a]
    if added:
        out.append("features added: " + ", ".join(added))
    if removed:
        out.append("features removed: " + ", ".join(removed))
    for name in (n for n in a if n in b):
        x, y = a[name], b[name]
        if x == y:
            continue
        if x["kind"] != y["kind"]:
            out.append(f"{name}: kind {x['kind']} instead of {y['kind']}")
            continue
        if x["kind"] == "numeric":
            if x["range"] != y["range"]:
                out.append(f"{name}: valid range {_number(x['range'][0])} to "
                           f"{_number(x['range'][1])} instead of {_number(y['range'][0])} to "
                           f"{_number(y['range'][1])}")
            if x["integer"] != y["integer"]:
                out.append(f"{name}: " + ("whole numbers only" if x["integer"]
                                          else "any number") + " instead of "
                           + ("whole numbers only" if y["integer"] else "any number"))
            continue
        new_c, old_c = x["categories"], y["categories"]
        more = [c for c in new_c if c not in old_c]
        fewer = [c for c in old_c if c not in new_c]
        parts = []
        if more:
            parts.append("categories added " + ", ".join(repr(c) for c in more))
        if fewer:
            parts.append("categories removed " + ", ".join(repr(c) for c in fewer))
        if not parts:
            parts.append(f"order {new_c} instead of {old_c}")
        out.append(f"{name}: " + "; ".join(parts))
    return out
