"""Words, not certainties: how a calibrated probability is shown to people.

An estimate is never shown as 0 % or 100 % (a model is never certain): below 1 % it reads
"under 1 %", above 99 % "over 99 %". Beside the number, a word for the likelihood and the
score's rank among a reference of customers' scores ("higher than 9 in 10 customers"), in
English and French. The reference is the model's own out-of-fold scores on its training
rows (`ModelSpec.reference_scores`, quantiles written at training), or any scores a
caller has (serving falls back to the stored latest scores).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

# the quantiles of the out-of-fold scores kept in a spec: 0 %, 1 %, ..., 100 %
REFERENCE_POINTS = 101

# (upper bound, English, French): the likelihood word of a probability
_WORDS = (
    (0.05, "very low", "très faible"),
    (0.20, "low", "faible"),
    (0.40, "moderate", "modérée"),
    (0.65, "high", "élevée"),
    (math.inf, "very high", "très élevée"),
)


def reference_quantiles(scores: Sequence[float] | object, points: int = REFERENCE_POINTS
                        ) -> list[float]:
    """`points` evenly spaced quantiles of `scores` (for `ModelSpec.reference_scores`)."""
    import numpy as np

    values = np.asarray(scores, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    return [round(float(q), 6) for q in np.quantile(values, np.linspace(0.0, 1.0, points))]


def shown_percent(p: float, lang: str = "en") -> str:
    """A probability as a whole percentage, never 0 % nor 100 %."""
    pct = 100.0 * float(p)
    nbsp = "\u00a0"
    if pct < 0.5:
        return f"moins de 1{nbsp}%" if lang == "fr" else f"under 1{nbsp}%"
    if pct >= 99.5:
        return f"plus de 99{nbsp}%" if lang == "fr" else f"over 99{nbsp}%"
    return f"{pct:.0f}{nbsp}%"


def likelihood(p: float, lang: str = "en") -> str:
    """A word for the probability: very low, low, moderate, high, very high."""
    for bound, en, fr in _WORDS:
        if float(p) < bound:
            return fr if lang == "fr" else en
    return "très élevée" if lang == "fr" else "very high"  # pragma: no cover (NaN)


def shares(p: float, reference: Sequence[float]) -> tuple[float, float] | None:
    """(share of the reference strictly below p, share strictly above), or None without a
    reference. `reference` must be sorted."""
    n = len(reference)
    if n == 0:
        return None
    below = bisect.bisect_left(reference, p)
    above = n - bisect.bisect_right(reference, p)
    return below / n, above / n


def rank(p: float, reference: Sequence[float], lang: str = "en") -> str | None:
    """Where the score stands among the reference customers, in whole tenths rounded
    towards the middle ("higher than 9 in 10 customers"; between 4 and 6 in 10 either
    way, "about average"); None without a reference."""
    s = shares(p, reference)
    if s is None:
        return None
    below, above = s
    if below >= 0.6:
        # at most 9 in 10: "higher than 10 in 10" would claim a certainty no sample gives
        n = min(9, math.floor(below * 10 + 1e-9))
        return (f"plus élevée que pour {n} clients sur 10" if lang == "fr"
                else f"higher than {n} in 10 customers")
    if above >= 0.6:
        n = min(9, math.floor(above * 10 + 1e-9))
        return (f"plus faible que pour {n} clients sur 10" if lang == "fr"
                else f"lower than {n} in 10 customers")
    return "dans la moyenne des clients" if lang == "fr" else "about average among customers"


def describe(p: float, reference: Sequence[float] = (), lang: str = "en") -> str:
    """The words beside a probability: "very high, higher than 9 in 10 customers"."""
    word = likelihood(p, lang)
    where = rank(p, reference, lang)
    return f"{word}, {where}" if where else word
