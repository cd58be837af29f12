"""Reference distributions stored with a model, and the population stability index.

Training writes, with every model, how each feature and the score were distributed in
its training rows (`ModelSpec.feature_reference`, `ModelSpec.score_reference`); serving
compares each batch run against them (`serving.loop.drift`). Both sides bin values the
same way, on the *encoded* matrix the model reads (numbers as they are, categories as
their code), so a comparison never depends on how a value was written.

PSI = sum over bins of (actual - expected) * ln(actual / expected), with shares floored
at `EPSILON` so an empty bin weighs a lot but never infinitely. Usual reading: below 0.1
stable, 0.1-0.25 a moderate shift, above 0.25 a major one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

# an empty bin's share, so that ln(actual / expected) stays finite
EPSILON = 1e-4
# numeric features and the score are cut at these quantiles of the training values
NUMERIC_BINS = 10
# a whole-number column with at most this many distinct values gets one bin per value
MAX_DISCRETE = 12


class FeatureReference(BaseModel):
    """How one column was distributed in training.

    Numeric: `edges` are the inner cut points (a value v falls in the first bin whose
    edge is > v, i.e. bins (-inf, e0], (e0, e1], ... (e_last, inf)); `shares` has one more
    entry than `edges`. Categorical: one share per category code (0, 1, ...). `missing`
    is the share of missing values (its own bin)."""

    kind: str = Field(pattern="^(numeric|categorical)$")
    edges: list[float] = Field(default_factory=list)
    shares: list[float]
    missing: float = Field(default=0.0, ge=0.0, le=1.0)
    rows: int = 0


def _counts(values: np.ndarray, ref: FeatureReference) -> np.ndarray:
    """Counts per bin of `values` (encoded floats, NaN missing), the missing bin last."""
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    present = values[~missing]
    if ref.kind == "numeric":
        idx = np.searchsorted(np.asarray(ref.edges, dtype=np.float64), present, side="left")
        bins = len(ref.edges) + 1
    else:
        bins = len(ref.shares)
        idx = present.astype(np.int64)
        idx = idx[(idx >= 0) & (idx < bins)]
    counts = np.bincount(idx, minlength=bins).astype(np.float64)
    return np.append(counts, float(missing.sum()))


def reference_of(values: Sequence[float] | np.ndarray, kind: str,
                 n_categories: int = 0, bins: int = NUMERIC_BINS) -> FeatureReference:
    """The reference of one encoded column: deciles of a number (ties merged; one bin per
    value for a count with few values), shares of each category code."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    n = len(values)
    if kind == "numeric":
        distinct = np.unique(finite)
        if finite.size and distinct.size <= MAX_DISCRETE and np.all(distinct == np.round(distinct)):
            # a count with few values (support calls): one bin per value, the largest
            # open-ended, so a shift towards more calls is seen value by value
            edges = [float(v) for v in distinct[:-1]]
        elif finite.size:
            qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
            edges = sorted({round(float(q), 6) for q in qs})
        else:
            edges = []
        ref = FeatureReference(kind="numeric", edges=edges, shares=[0.0] * (len(edges) + 1))
    else:
        ref = FeatureReference(kind="categorical", shares=[0.0] * max(n_categories, 1))
    counts = _counts(values, ref)
    total = max(n, 1)
    ref.shares = [round(float(c) / total, 6) for c in counts[:-1]]
    ref.missing = round(float(counts[-1]) / total, 6)
    ref.rows = n
    return ref


def psi(ref: FeatureReference, values: Sequence[float] | np.ndarray) -> float:
    """Population stability index of `values` against the training reference (NaN
    when `values` is empty)."""
    counts = _counts(np.asarray(values, dtype=np.float64), ref)
    total = counts.sum()
    if total == 0:
        return math.nan
    actual = np.maximum(counts / total, EPSILON)
    expected = np.maximum(np.append(np.asarray(ref.shares, dtype=np.float64), ref.missing),
                          EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def shares_of(ref: FeatureReference, values: Sequence[float] | np.ndarray) -> list[float]:
    """The share of `values` in each of the reference's bins, the missing bin last."""
    counts = _counts(np.asarray(values, dtype=np.float64), ref)
    total = counts.sum() or 1.0
    return [float(c) / total for c in counts]


def feature_references(X: np.ndarray, features: Sequence) -> dict[str, FeatureReference]:  # noqa: ANN001
    """The reference of every column of the encoded matrix `X`, by feature name
    (`features`: the `FeatureSpec`s of its columns, in order)."""
    out = {}
    for j, f in enumerate(features):
        kind = "numeric" if f.kind == "numeric" else "categorical"
        out[f.name] = reference_of(X[:, j], kind, len(f.categories))
    return out
