"""Seeded synthetic telecom customers: the project's own default data.

Columns follow the IBM Telco set (tenure, contract, services, charges, payment
method) plus the number of support calls. Churn follows a known mechanism with
noise, so a model can learn it but not perfectly:

    log-odds = -1.9
             + contract effect          (month-to-month +1.0, one year -0.3, two year -1.3)
             - 0.03 * min(tenure, 60)
             + internet effect          (fibre +0.6, none -0.7)
             + 0.35 if online without OnlineSecurity, + 0.35 if online without TechSupport
             + 0.45 if paying by electronic check, + 0.15 with paperless billing
             + 0.30 * support calls in the last 6 months
             + 0.008 * (monthly charges - 65)
             + a customer-level random effect N(0, 0.6) the data never shows

Sensitive attributes (gender, SeniorCitizen, Partner, Dependents) do not enter
the mechanism, but some features depend on them (seniors choose fibre and
month-to-month more often), as in real data: that is what the fairness audit is for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SCHEMA_PATH = Path(__file__).parent / "datasets" / "synthetic.yaml"

CONTRACTS = ["Month-to-month", "One year", "Two year"]
PAYMENTS = ["Electronic check", "Mailed check", "Bank transfer (automatic)",
            "Credit card (automatic)"]
INTERNET = ["DSL", "Fiber optic", "No"]
ADDONS = ["OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV",
          "StreamingMovies"]


CALL_RATE = 0.05  # per minute: CallCharges = CallMinutes x CALL_RATE


def generate(rows: int = 20_000, seed: int = 0, id_offset: int = 0,
             derived: bool = False) -> pd.DataFrame:
    """`rows` synthetic customers, identical for the same `seed`.

    `id_offset` shifts the customer ids so several bases can be told apart. `derived`
    adds monthly call minutes (heavy callers leave a little more often: +0.004 log-odds
    per minute above 300) and the call charges derived from them (minutes x a fixed
    rate): two columns carrying the same information, for testing minimisation. The
    other columns are the same with or without them.
    """
    rng = np.random.default_rng(seed)
    n = rows
    senior = rng.random(n) < 0.16
    partner = rng.random(n) < 0.48
    dependents = rng.random(n) < np.where(partner, 0.5, 0.1)
    gender = rng.choice(np.array(["Female", "Male"]), n)

    contract_p = np.where(senior[:, None], [0.70, 0.17, 0.13], [0.52, 0.22, 0.26])
    contract_idx = _choose_rows(rng, contract_p)
    contract = np.array(CONTRACTS)[contract_idx]

    # tenure grows with contract length; month-to-month customers are newer
    tenure_scale = np.array([14.0, 32.0, 48.0])[contract_idx]
    tenure = np.minimum(72, np.floor(rng.exponential(tenure_scale))).astype(int)
    tenure = np.where(contract_idx == 2, np.maximum(tenure, rng.integers(0, 24, n)), tenure)

    internet_p = np.where(senior[:, None], [0.25, 0.65, 0.10], [0.35, 0.42, 0.23])
    internet_idx = _choose_rows(rng, internet_p)
    internet = np.array(INTERNET)[internet_idx]
    online = internet_idx != 2

    phone = rng.random(n) < 0.9
    multiple = np.where(phone, np.where(rng.random(n) < 0.45, "Yes", "No"), "No phone service")

    addon_yes = {}
    for name, p in zip(ADDONS, [0.30, 0.36, 0.36, 0.30, 0.42, 0.42], strict=True):
        # long-standing customers collect more services
        p_eff = np.clip(p + 0.004 * (tenure - 30), 0.05, 0.9)
        addon_yes[name] = online & (rng.random(n) < p_eff)

    payment_p = np.where(senior[:, None], [0.50, 0.15, 0.18, 0.17], [0.31, 0.24, 0.23, 0.22])
    payment = np.array(PAYMENTS)[_choose_rows(rng, payment_p)]
    paperless = rng.random(n) < np.where(senior, 0.75, 0.57)

    monthly = (
        np.where(phone, 20.0, 0.0)
        + np.where(multiple == "Yes", 5.0, 0.0)
        + np.select([internet_idx == 0, internet_idx == 1], [25.0, 50.0], 0.0)
        + sum(np.where(addon_yes[a], 6.0 if "Streaming" in a else 5.0, 0.0) for a in ADDONS)
        + rng.normal(0, 3.0, n)
    )
    monthly = np.round(np.clip(monthly, 18.25, 120.0), 2)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.03, n), 2)
    total = np.where(tenure == 0, np.nan, total)

    support_rate = 0.5 + 0.9 * ((internet_idx == 1) & ~addon_yes["TechSupport"])
    support_calls = rng.poisson(support_rate)

    logit = (
        -1.9
        + np.array([1.0, -0.3, -1.3])[contract_idx]
        - 0.03 * np.minimum(tenure, 60)
        + np.array([0.0, 0.6, -0.7])[internet_idx]
        + 0.35 * (online & ~addon_yes["OnlineSecurity"])
        + 0.35 * (online & ~addon_yes["TechSupport"])
        + 0.45 * (payment == "Electronic check")
        + 0.15 * paperless
        + 0.30 * support_calls
        + 0.008 * (monthly - 65.0)
        + rng.normal(0.0, 0.6, n)
    )
    if derived:
        extra = np.random.default_rng([seed, 1])
        minutes = np.round(extra.gamma(4.0, 75.0, n))
        logit = logit + 0.004 * (minutes - 300.0)
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    def yes_no(mask: np.ndarray) -> np.ndarray:
        return np.where(mask, "Yes", "No")

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{id_offset + i:07d}" for i in range(n)],
            "gender": gender,
            "SeniorCitizen": senior.astype(int),
            "Partner": yes_no(partner),
            "Dependents": yes_no(dependents),
            "tenure": tenure,
            "PhoneService": yes_no(phone),
            "MultipleLines": multiple,
            "InternetService": internet,
        }
    )
    for a in ADDONS:
        frame[a] = np.where(online, yes_no(addon_yes[a]), "No internet service")
    frame["Contract"] = contract
    frame["PaperlessBilling"] = yes_no(paperless)
    frame["PaymentMethod"] = payment
    frame["MonthlyCharges"] = monthly
    frame["TotalCharges"] = total
    frame["SupportCalls"] = support_calls
    if derived:
        frame["CallMinutes"] = minutes
        frame["CallCharges"] = np.round(minutes * CALL_RATE, 2)
    frame["Churn"] = yes_no(churn)
    return frame


def _choose_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One categorical draw per row of the probability matrix `p`."""
    cumulative = np.cumsum(p, axis=1)
    u = rng.random((p.shape[0], 1)) * cumulative[:, -1:]
    return (u > cumulative).sum(axis=1)


RANDOM_EFFECT_SD = 0.6  # the customer-level random effect of the mechanism above


def churn_log_odds(frame: pd.DataFrame) -> np.ndarray:
    """The known part of the churn mechanism of `generate` (the module docstring's
    formula, without the customer-level random effect), recomputed from a frame's columns.

    A simulation that lets the base evolve (`simulation.world`) recomputes each customer's
    churn probability from their current values with it, so the world follows the same
    mechanism the models were trained on. With `CallMinutes` present, heavy callers' term
    is added too."""
    contract = frame["Contract"].map({c: v for c, v in zip(CONTRACTS, [1.0, -0.3, -1.3],
                                                            strict=True)})
    internet = frame["InternetService"].map({"DSL": 0.0, "Fiber optic": 0.6, "No": -0.7})
    online = (frame["InternetService"] != "No").to_numpy()
    logit = (
        -1.9
        + contract.to_numpy(dtype=np.float64)
        - 0.03 * np.minimum(frame["tenure"].to_numpy(dtype=np.float64), 60)
        + internet.to_numpy(dtype=np.float64)
        + 0.35 * (online & (frame["OnlineSecurity"] != "Yes").to_numpy())
        + 0.35 * (online & (frame["TechSupport"] != "Yes").to_numpy())
        + 0.45 * (frame["PaymentMethod"] == "Electronic check").to_numpy()
        + 0.15 * (frame["PaperlessBilling"] == "Yes").to_numpy()
        + 0.30 * frame["SupportCalls"].to_numpy(dtype=np.float64)
        + 0.008 * (frame["MonthlyCharges"].to_numpy(dtype=np.float64) - 65.0)
    )
    if "CallMinutes" in frame:
        logit = logit + 0.004 * (frame["CallMinutes"].to_numpy(dtype=np.float64) - 300.0)
    return logit


def support_call_rate(frame: pd.DataFrame) -> np.ndarray:
    """The Poisson rate of a customer's support calls in `generate` (fibre without tech
    support calls more)."""
    fibre = (frame["InternetService"] == "Fiber optic").to_numpy()
    no_support = (frame["TechSupport"] != "Yes").to_numpy()
    return 0.5 + 0.9 * (fibre & no_support)
