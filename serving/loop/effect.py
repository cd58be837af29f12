"""Whether contact helps: churn among the customers assigned to contact against the
randomised control group (intention to treat), with a 95 % interval.

The unit is a customer in a campaign period: the first receipt that drew them into an arm
in that period (re-scoring the same period never re-draws, so later receipts add nothing).
Only labelled ones count (the horizon has passed, or they left). Intention to treat: a
customer assigned to contact counts in the contact arm whether or not an agent reached
them, so the comparison stays randomised.

The interval of the difference (contact rate − control rate) is Newcombe's hybrid score
interval (Newcombe 1998, method 10), built from each arm's Wilson score interval: it stays
within [−1, 1] and behaves with small counts and rates near 0, unlike the Wald interval.
A negative difference means contact lowered churn.

Broken down by an agent's outcome the contact side is no longer randomised (the outcome
happens after assignment and depends on the customer): those rows compare the contact
customers with that outcome against the whole control group and say `randomised=False`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import pandas as pd

METHOD = "Newcombe hybrid score interval (Wilson), 95 %"
# the standard library's quantile (within 2e-16 of scipy's): the server does not import scipy
Z95 = NormalDist().inv_cdf(0.975)
OUTCOME_BY = "task_outcome"


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n ((nan, nan) when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95
             ) -> tuple[float, float, float]:
    """(p1 − p2, lower, upper): Newcombe's hybrid score interval of a difference of two
    independent proportions (nan when an arm is empty)."""
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


@dataclass(frozen=True)
class EffectRow:
    """One line of the contact-effect report."""

    by: str  # what the rows are cut by ("all", "period", "risk_band", a feature, ...)
    segment: str  # the value of that cut ("all" overall)
    n_contact: int  # labelled customers assigned to contact
    churned_contact: int
    n_control: int  # labelled customers held out
    churned_control: int
    rate_contact: float
    rate_control: float
    difference: float  # rate_contact − rate_control: negative when contact helps
    lower: float  # its 95 % interval
    upper: float
    randomised: bool = True  # False for rows cut by the agent's outcome
    method: str = METHOD

    @property
    def conclusive(self) -> bool:
        """Whether the interval excludes no effect."""
        return not (math.isnan(self.lower) or self.lower <= 0.0 <= self.upper)

    def as_dict(self) -> dict:
        return asdict(self)


def assigned(df: pd.DataFrame) -> pd.DataFrame:
    """Each customer's first labelled assignment per campaign period (the ITT units)."""
    if df.empty:
        return df
    drawn = df[df["arm"].isin(["contact", "control"]) & df["label"].notna()]
    drawn = drawn.sort_values(["scored_at", "prediction_id"])
    return drawn.drop_duplicates(["customer_ref", "period"], keep="first")


def _segment_values(units: pd.DataFrame, by: str) -> pd.Series:
    if by in units.columns:
        return units[by].astype(object).where(units[by].notna(), "none").astype(str)
    # a feature the model read (the receipt's decoded values)
    return units["features"].map(lambda f: str(f.get(by, "none")) if isinstance(f, dict)
                                 else "none")


def _row(by: str, segment: str, contact: pd.DataFrame, control: pd.DataFrame,
         randomised: bool = True) -> EffectRow:
    k1, n1 = int(contact["label"].sum()), len(contact)
    k2, n2 = int(control["label"].sum()), len(control)
    d, lo, hi = newcombe(k1, n1, k2, n2)
    return EffectRow(by=by, segment=segment, n_contact=n1, churned_contact=k1, n_control=n2,
                     churned_control=k2, rate_contact=k1 / n1 if n1 else float("nan"),
                     rate_control=k2 / n2 if n2 else float("nan"), difference=d, lower=lo,
                     upper=hi, randomised=randomised)


def contact_effect(df: pd.DataFrame, by: str | None = None) -> list[EffectRow]:
    """The contact effect from `outcomes.labelled_predictions` rows: overall (`by` None),
    or per value of a column (`period`, `risk_band`, `model_version`, ...) or of a feature
    the model read (`Contract`), or by the agent's outcome (`task_outcome`: the contact
    customers with each outcome against the whole control group, not randomised)."""
    units = assigned(df)
    if units.empty:
        return []
    contact = units[units["arm"] == "contact"]
    control = units[units["arm"] == "control"]
    if by is None or by == "all":
        return [_row("all", "all", contact, control)]
    if by == OUTCOME_BY:
        outcome = contact["task_outcome"].fillna("no outcome yet").astype(str)
        return [_row(by, value, contact[outcome == value], control, randomised=False)
                for value in sorted(outcome.unique())]
    segments = _segment_values(units, by)
    return [_row(by, value, contact[segments.loc[contact.index] == value],
                 control[segments.loc[control.index] == value])
            for value in sorted(segments.unique())]
