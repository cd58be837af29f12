"""The simulated world: a customer base that evolves, leaves, and answers to contact.

Who leaves follows the synthetic generator's own mechanism (`training.synthetic`): each
customer's log-odds of leaving within one period (the label horizon) is the generator's
formula on their *current* values plus a customer-level random effect drawn once, so in a
period without contact the world's churn is distributed exactly as the labels the model
was trained on.

Contact has a KNOWN, heterogeneous effect on that log-odds, by segment:

- `kept`: month-to-month customers with 2 or more support calls in the period: a call
  from the retention team fixes what they were calling about (log-odds -1.5);
- `pushed`: customers on a one- or two-year contract: a retention call reminds them the
  contract can end, and some leave (log-odds +1.0; Ascarza et al. 2016 saw this);
- `unchanged`: everyone else (0).

An agent reaches a customer with probability `reach` (else the task is closed as
`no_contact`); only a reached customer is affected. The true intention-to-treat effect of
being assigned to contact is therefore `reach` x (p(contacted) - p(not)) for each customer,
which the world computes exactly (`true_effect`) for the tests to compare with what the
service measures.

Each period the base evolves: tenure grows by one month, total charges by the monthly
charge, support calls are redrawn from the generator's rates; leavers are replaced by new
customers from the generator (fresh ids), so the base keeps its size. From `drift_period`
on, a network incident multiplies the support-call rate of fibre customers by
`drift_factor` (a shift in a feature the model uses; churn follows the mechanism).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training import synthetic

SEGMENTS = ("kept", "unchanged", "pushed")
EFFECTS = {"kept": -1.5, "unchanged": 0.0, "pushed": 1.0}
SENSITIVE = ["gender", "SeniorCitizen", "Partner", "Dependents"]


def segment_of(frame: pd.DataFrame) -> np.ndarray:
    """Each customer's contact segment (`SEGMENTS`) from their current values."""
    month_to_month = (frame["Contract"] == "Month-to-month").to_numpy()
    calls = frame["SupportCalls"].to_numpy() >= 2
    return np.where(month_to_month & calls, "kept",
                    np.where(month_to_month, "unchanged", "pushed")).astype(object)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class WorldConfig:
    customers: int = 10_000
    seed: int = 7
    reach: float = 0.8  # an agent's chance of reaching a customer
    drift_period: int | None = 4  # 1-based; None: no drift
    drift_factor: float = 3.0  # fibre customers' support-call rate from then on


class World:
    """The customer base and its hidden truth (random effects, segments)."""

    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng([config.seed, 17])
        self.period = 1
        self._next_id = 0
        self.base = self._newcomers(config.customers)
        self.left: list[pd.DataFrame] = []

    # -- the base -------------------------------------------------------------------------
    def _newcomers(self, n: int) -> pd.DataFrame:
        if n == 0:
            return pd.DataFrame()
        frame = synthetic.generate(n, seed=int(self.rng.integers(2**31)),
                                   id_offset=self._next_id).drop(columns=["Churn"])
        frame["customer_id"] = [f"S{self._next_id + i:07d}" for i in range(n)]
        self._next_id += n
        frame["_effect"] = self.rng.normal(0.0, synthetic.RANDOM_EFFECT_SD, n)
        frame["_joined"] = self.period
        frame["_contacted"] = False
        return frame.reset_index(drop=True)

    @property
    def drifting(self) -> bool:
        d = self.config.drift_period
        return d is not None and self.period >= d

    def scoring_frame(self) -> pd.DataFrame:
        """What the business's systems hold about the current base (no hidden column)."""
        return self.base[[c for c in self.base.columns if not c.startswith("_")]].copy()

    def attributes(self) -> pd.DataFrame:
        """The sensitive attributes by raw customer id (kept apart for the fairness audit)."""
        return self.base[["customer_id", *SENSITIVE]].copy()

    # -- the truth ------------------------------------------------------------------------
    def log_odds(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """Each customer's log-odds of leaving this period without contact."""
        frame = self.base if frame is None else frame
        return synthetic.churn_log_odds(frame) + frame["_effect"].to_numpy()

    def probabilities(self, contacted: np.ndarray | None = None) -> np.ndarray:
        """P(leave this period), for everyone, given who was reached (`contacted`)."""
        z = self.log_odds()
        if contacted is not None:
            effect = np.array([EFFECTS[s] for s in segment_of(self.base)])
            z = z + np.where(contacted, effect, 0.0)
        return sigmoid(z)

    def true_effect(self, ids: list[str]) -> np.ndarray:
        """Each listed customer's true intention-to-treat effect of being assigned to
        contact this period: reach x (P(leave | reached) - P(leave | not)), in the order of
        `ids`; negative when contact keeps them."""
        part = self.base.set_index("customer_id").loc[ids].reset_index()  # in `ids` order
        z = self.log_odds(part)
        effect = np.array([EFFECTS[s] for s in segment_of(part)])
        return self.config.reach * (sigmoid(z + effect) - sigmoid(z))

    def segments(self, ids: list[str]) -> dict[str, str]:
        part = self.base[self.base["customer_id"].isin(ids)]
        return dict(zip(part["customer_id"], segment_of(part), strict=True))

    # -- a period passes ------------------------------------------------------------------
    def mark_contacted(self, ids: set[str]) -> None:
        """The customers an agent reached this period."""
        self.base["_contacted"] = self.base["customer_id"].isin(ids).to_numpy()

    def departures(self) -> pd.DataFrame:
        """Who leaves this period (drawn from the mechanism and contact), with the day of the
        period they leave on (0-based). Removes them from the base."""
        p = self.probabilities(self.base["_contacted"].to_numpy())
        leaves = self.rng.random(len(p)) < p
        gone = self.base[leaves].copy()
        gone["_day"] = self.rng.integers(0, 28, len(gone))
        gone["_period"] = self.period
        self.left.append(gone)
        self.base = self.base[~leaves].reset_index(drop=True)
        return gone

    def advance(self) -> None:
        """The next period: the base ages, calls are redrawn, leavers are replaced, and the
        drift starts when its period comes."""
        n_new = self.config.customers - len(self.base)
        self.period += 1
        base = self.base
        base["tenure"] = np.minimum(base["tenure"] + 1, 72)
        base["TotalCharges"] = np.round(base["TotalCharges"].fillna(0.0)
                                        + base["MonthlyCharges"], 2)
        new = self._newcomers(n_new)
        self.base = pd.concat([base, new], ignore_index=True) if len(new) else base
        rate = synthetic.support_call_rate(self.base)
        if self.drifting:
            fibre = (self.base["InternetService"] == "Fiber optic").to_numpy()
            rate = np.where(fibre, rate * self.config.drift_factor, rate)
        self.base["SupportCalls"] = self.rng.poisson(rate)
        self.base["_contacted"] = False
