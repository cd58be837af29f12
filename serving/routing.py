"""Risk bands and routing: pure functions, no I/O.

A high score never triggers an automated action. The only two actions are
`human_contact` (a person in the retention team decides what to do) and `none`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Band = Literal["low", "medium", "high"]
Action = Literal["human_contact", "none"]
ACTIONS: tuple[str, ...] = ("human_contact", "none")


@dataclass(frozen=True)
class Thresholds:
    """Calibrated-score thresholds of the bands, and the human-review margin below `high`."""

    high: float
    medium: float
    review_margin: float = 0.0

    def __post_init__(self) -> None:
        for name in ("high", "medium"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} threshold {value} is not a probability in [0, 1]")
        if self.medium > self.high:
            raise ValueError(
                f"medium threshold {self.medium} is above high threshold {self.high}"
            )
        if not 0.0 <= self.review_margin <= 0.5:
            raise ValueError(f"review margin {self.review_margin} is not in [0, 0.5]")


@dataclass(frozen=True)
class Route:
    action: Action
    reason: str


def risk_band(score: float, t: Thresholds) -> Band:
    """`high` from the high threshold up, `medium` from the medium one, else `low`."""
    if score >= t.high:
        return "high"
    if score >= t.medium:
        return "medium"
    return "low"


# A new score on exactly the values of a receipt a reviewer overturned repeats the view
# the reviewer withdrew: it is stored (withdrawn too) but goes nowhere, and the customer
# stays off the risk list until they are scored on changed data.
OVERTURNED = Route(
    "none",
    "A reviewer overturned a prediction made on exactly these values: the model's view of "
    "this customer stays withdrawn (off the risk list, no contact) until their data changes.",
)


def repeats_overturned(features: str, overturned: set[str] | frozenset[str]) -> bool:
    """Whether a receipt's values (`models.explain.values_json`) are exactly those of one
    of the customer's overturned receipts."""
    return features in overturned


_RESTRICTED = Route(
    "none",
    "The customer's record is restricted while a dispute is reviewed: no contact is proposed.",
)


def _case(score: float, t: Thresholds) -> str:
    if score >= t.high:
        return "high"
    if t.review_margin > 0 and score >= t.high - t.review_margin:
        return "near"
    return "below"


def _route(case: str, shown: str, t: Thresholds) -> Route:
    """The route of a score in `case`, shown in its reason as `shown` (two decimals)."""
    if case == "high":
        return Route(
            "human_contact",
            f"High risk of leaving (score {shown} is at or above the high-risk threshold "
            f"{t.high:.2f}): a retention agent should get in touch and decide what to offer.",
        )
    if case == "near":
        return Route(
            "human_contact",
            f"Close to the high-risk threshold (score {shown}, threshold {t.high:.2f}, "
            f"review margin {t.review_margin:.2f}): a person should look at this customer "
            "before anything is decided.",
        )
    return Route(
        "none",
        f"Score {shown} is below the contact threshold {t.high:.2f}: nothing is done.",
    )


def route(score: float, t: Thresholds, *, restricted: bool = False) -> Route:
    """Where a score goes: to a person, or nowhere. Never an automated message or offer."""
    if restricted:
        return _RESTRICTED
    return _route(_case(score, t), f"{score:.2f}", t)


def route_many(scores: list[float], t: Thresholds) -> list[Route]:
    """`route` for many unrestricted scores (batch scoring): the same routes, each
    distinct reason built once (a reason shows its score to two decimals only)."""
    cache: dict[tuple[str, str], Route] = {}
    out = []
    for score in scores:
        key = (_case(score, t), f"{score:.2f}")
        r = cache.get(key)
        if r is None:
            r = cache[key] = _route(*key, t)
        out.append(r)
    return out


def routes(scores, t: Thresholds):  # noqa: ANN001, ANN201 - numpy in, numpy out
    """Vectorised `route` actions for batch scoring: (bands, human mask, near-threshold mask)."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    bands = np.where(scores >= t.high, "high", np.where(scores >= t.medium, "medium", "low"))
    high = scores >= t.high
    near = (~high) & (t.review_margin > 0) & (scores >= t.high - t.review_margin)
    return bands, high | near, near
