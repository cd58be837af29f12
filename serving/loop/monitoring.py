"""Realised quality and fairness of served predictions, per model version and month.

Input: labelled predictions (`serving.loop.outcomes.labelled_predictions`: one row per
receipt whose horizon has passed, with its score, band, arm, observed label, model version
and time). Pure functions on that frame, no I/O.

Contact changes the label it is meant to predict: a customer an agent kept did not leave
*because* of the call. So realised quality is computed on the predictions whose label no
contact touched: the control group (held out at random among those a task would have been
opened for) and every prediction outside the contacted band (no arm drawn; not one routed
to an agent without a draw, whose customer kept an open task from an earlier campaign
period, `serving.loop.control.assign`: that customer may be called). The control
rows stand for the whole held-out band, so each is weighted by 1 / (the band's control
share that month): the evaluation population then looks like the scored one. The figure on
every prediction, contacted ones included, is given beside it, named as biased by contact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

BOOTSTRAP = 200
DECILES = 10
Z95 = 1.959963984540054

UNAFFECTED_NOTE = (
    "Contacted customers' labels are affected by the contact: realised quality is computed "
    "on the control group (weighted by the inverse of its share) and the predictions no "
    "task was drawn for; 'all predictions' includes contacted customers and is biased.")


def month_of(when: Any) -> str:
    """The calendar month (UTC) of a time: "2026-04"."""
    return pd.Timestamp(when).strftime("%Y-%m")


def normalise(labelled: pd.DataFrame) -> pd.DataFrame:
    """The labelled rows (label not NaN, withdrawn receipts left out) with the columns
    this module reads, whatever their producer named them: score, label (0/1), band, arm
    (contact | control | None), model_version, month."""
    df = labelled[labelled["label"].notna()].copy()
    if "withdrawn" in df:
        df = df[~df["withdrawn"].astype(bool)]
    if "band" not in df and "risk_band" in df:
        df["band"] = df["risk_band"]
    when = "scored_at" if "scored_at" in df else "created_at"
    df["month"] = [month_of(t) for t in df[when]] if len(df) else pd.Series(dtype=str)
    if "arm" not in df:
        df["arm"] = None
    df["arm"] = df["arm"].astype(object).where(df["arm"].notna(), None)
    df["label"] = df["label"].astype(int)
    df["score"] = df["score"].astype(float)
    df["model_version"] = df["model_version"].astype(str)
    return df


def unaffected_weights(df: pd.DataFrame) -> np.ndarray:
    """Weight of each row in the evaluation population: 0 for contacted customers, 1 for
    predictions without an arm, 1 / control share (of that month's drawn rows) for control.
    A prediction without an arm but routed to an agent (its customer carried an open task
    from an earlier campaign period, so was not drawn) counts as contacted: 0."""
    w = np.zeros(len(df))
    arm = df["arm"].to_numpy(dtype=object)
    w[pd.isna(arm)] = 1.0
    if "route_action" in df:
        w[pd.isna(arm) & (df["route_action"] == "human_contact").to_numpy()] = 0.0
    for month in df["month"].unique():
        in_month = (df["month"] == month).to_numpy()
        drawn = in_month & ~pd.isna(arm)
        control = in_month & (arm == "control")
        if control.any():
            w[control] = drawn.sum() / control.sum()
    return w


def weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    """ROC-AUC with row weights (NaN with a single class): the weighted Mann-Whitney
    statistic, ties counted half. Computed directly (one sort) rather than through
    scikit-learn, whose input checks cost more than the sum itself in the bootstrap."""
    y = np.asarray(y, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    _, group = np.unique(s, return_inverse=True)
    pos = np.bincount(group, weights=w * y)
    neg = np.bincount(group, weights=w * (1.0 - y))
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return math.nan
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))


def auc_interval(y: np.ndarray, s: np.ndarray, w: np.ndarray, n_boot: int = BOOTSTRAP,
                 seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the weighted ROC-AUC."""
    rng = np.random.default_rng(seed)
    n = len(y)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        value = weighted_auc(y[idx], s[idx], w[idx])
        if math.isfinite(value):
            values.append(value)
    if not values:
        return (math.nan, math.nan)
    return (float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975)))


@dataclass
class CalibrationBin:
    predicted: float  # mean score in the decile
    observed: float  # share that left
    rows: float  # weight of the decile


def calibration_deciles(y: np.ndarray, s: np.ndarray, w: np.ndarray,
                        bins: int = DECILES) -> list[CalibrationBin]:
    """Mean score and observed churn rate per decile of the score (weighted)."""
    if len(y) == 0:
        return []
    order = np.argsort(s, kind="stable")
    cw = np.cumsum(w[order])
    total = cw[-1] if len(cw) else 0.0
    if total <= 0:
        return []
    which = np.minimum((cw - 1e-12) / total * bins, bins - 1).astype(int)
    out = []
    for b in range(bins):
        idx = order[which == b]
        ww = w[idx]
        if ww.sum() <= 0:
            continue
        out.append(CalibrationBin(float(np.average(s[idx], weights=ww)),
                                  float(np.average(y[idx], weights=ww)), float(ww.sum())))
    return out


@dataclass
class Quality:
    """Realised quality of one model version in one month."""

    model_version: str
    month: str
    rows: int  # labelled predictions, all of them
    evaluated: int  # rows no contact touched (control + no arm)
    positives: int  # of the evaluated rows
    auc: float  # on the evaluated rows, weighted
    auc_low: float
    auc_high: float
    auc_all: float  # on every labelled prediction, contacted ones included (biased)
    brier: float
    ece: float  # expected calibration error over the deciles
    calibration: list[CalibrationBin] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "calibration"}
        out["calibration"] = [c.__dict__ for c in self.calibration]
        return out


def realised_quality(labelled: pd.DataFrame, n_boot: int = BOOTSTRAP,
                     seed: int = 0) -> list[Quality]:
    """Realised quality per model version and month of scoring, oldest first."""
    df = normalise(labelled) if len(labelled) else labelled
    if df.empty:
        return []
    df["_w"] = unaffected_weights(df)
    out = []
    for (version, month), part in df.groupby(["model_version", "month"], sort=True):
        y_all = part["label"].to_numpy()
        s_all = part["score"].to_numpy()
        keep = part["_w"].to_numpy() > 0
        y, s, w = y_all[keep], s_all[keep], part["_w"].to_numpy()[keep]
        auc = weighted_auc(y, s, w)
        low, high = auc_interval(y, s, w, n_boot, seed) if math.isfinite(auc) else (
            math.nan, math.nan)
        deciles = calibration_deciles(y, s, w)
        total = sum(c.rows for c in deciles) or 1.0
        ece = sum(c.rows / total * abs(c.predicted - c.observed) for c in deciles)
        brier = float(np.average((s - y) ** 2, weights=w)) if w.sum() > 0 else math.nan
        out.append(Quality(model_version=str(version), month=str(month), rows=len(part),
                           evaluated=int(keep.sum()), positives=int(y.sum()), auc=auc,
                           auc_low=low, auc_high=high, auc_all=weighted_auc(y_all, s_all),
                           brier=brier, ece=float(ece) if deciles else math.nan,
                           calibration=deciles))
    return out


def wilson(successes: float, n: float) -> tuple[float, float, float]:
    """A proportion with its 95 % Wilson score interval (NaNs when n is 0)."""
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return (p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class GroupRates:
    """One group of one sensitive attribute in one month: how often the model routed its
    customers to contact (score in the high band), overall and among those who left (TPR)
    and stayed (FPR), each with a 95 % interval."""

    month: str
    attribute: str
    group: str
    rows: int
    selection: tuple[float, float, float]
    tpr: tuple[float, float, float]
    fpr: tuple[float, float, float]


@dataclass
class FairnessMonth:
    month: str
    attribute: str
    groups: list[GroupRates]

    @property
    def tpr_gap(self) -> float:
        values = [g.tpr[0] for g in self.groups if math.isfinite(g.tpr[0])]
        return max(values) - min(values) if len(values) > 1 else math.nan

    @property
    def fpr_gap(self) -> float:
        values = [g.fpr[0] for g in self.groups if math.isfinite(g.fpr[0])]
        return max(values) - min(values) if len(values) > 1 else math.nan

    @property
    def equalized_odds(self) -> float:
        """The larger of the TPR and FPR gaps (fairlearn's equalized-odds difference)."""
        gaps = [g for g in (self.tpr_gap, self.fpr_gap) if math.isfinite(g)]
        return max(gaps) if gaps else math.nan


def fairness_over_time(labelled: pd.DataFrame, attributes: pd.DataFrame,
                       sensitive: Sequence[str], min_group: int = 30) -> list[FairnessMonth]:
    """Per month and sensitive attribute, each group's selection rate, TPR and FPR.

    `attributes` holds the customers' sensitive attributes by `customer_ref` (never
    features: kept apart for the audit). The routing decision audited is "high band"
    (what opens a task), as in training's fairness audit. Groups with fewer than
    `min_group` labelled rows in a month are left out of that month's comparison."""
    if labelled.empty or attributes.empty:
        return []
    df = normalise(labelled).merge(attributes, on="customer_ref", how="inner")
    df["selected"] = (df["band"] == "high").astype(int)
    out = []
    for month, part in df.groupby("month", sort=True):
        for attribute in sensitive:
            if attribute not in part:
                continue
            groups = []
            for value, g in part.groupby(part[attribute].astype(str), sort=True):
                if len(g) < min_group:
                    continue
                left = g[g["label"] == 1]
                stayed = g[g["label"] == 0]
                groups.append(GroupRates(
                    month=str(month), attribute=attribute, group=str(value), rows=len(g),
                    selection=wilson(g["selected"].sum(), len(g)),
                    tpr=wilson(left["selected"].sum(), len(left)),
                    fpr=wilson(stayed["selected"].sum(), len(stayed))))
            out.append(FairnessMonth(month=str(month), attribute=attribute, groups=groups))
    return out
