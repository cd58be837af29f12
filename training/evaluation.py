"""Quality, calibration, campaign profit and fairness of a set of scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from training.config import TrainSettings


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-width probability bins: Σ (n_b / n) |mean(y_b) - mean(p_b)|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(y[mask].mean() - p[mask].mean())
    return float(ece)


def top_fraction_mask(score: np.ndarray, fraction: float) -> np.ndarray:
    """The `fraction` of rows with the highest scores (ties broken by position)."""
    k = int(round(fraction * len(score)))
    mask = np.zeros(len(score), dtype=bool)
    if k > 0:
        mask[np.argsort(-score, kind="stable")[:k]] = True
    return mask


@dataclass
class ProfitCurve:
    fractions: np.ndarray
    profit_per_customer: np.ndarray
    best_fraction: float
    best_profit: float
    best_threshold: float


def profit_curve(y: np.ndarray, score: np.ndarray, settings: TrainSettings) -> ProfitCurve:
    """Average campaign profit per customer when contacting the top fraction by score.

    The cost model of Verbraken et al. (2013) with a fixed acceptance rate γ: a
    contacted churner accepts the offer with probability γ and stays, worth
    (customer value − offer cost); a contacted stayer takes the offer (−offer cost);
    every contact costs the contact cost. This is the expected maximum profit
    (EMP) measure with a point mass on γ instead of a Beta distribution.
    """
    order = np.argsort(-score, kind="stable")
    ys = y[order].astype(float)
    gain_churner = settings.acceptance_rate * (settings.customer_value - settings.offer_cost)
    per_contact = ys * gain_churner - (1 - ys) * settings.offer_cost - settings.contact_cost
    cumulative = np.concatenate([[0.0], np.cumsum(per_contact)]) / len(y)
    fractions = np.arange(len(y) + 1) / len(y)
    best = int(np.argmax(cumulative))
    threshold = float(score[order[best - 1]]) if best > 0 else float("inf")
    return ProfitCurve(fractions=fractions, profit_per_customer=cumulative,
                       best_fraction=float(fractions[best]), best_profit=float(cumulative[best]),
                       best_threshold=threshold)


def quality_metrics(y: np.ndarray, probability: np.ndarray, margin: np.ndarray,
                    settings: TrainSettings) -> tuple[dict[str, float], ProfitCurve]:
    """ROC-AUC, PR-AUC, Brier, ECE, lift and recall at 10 % / 20 %, profit-optimal fraction."""
    base_rate = float(y.mean())
    out = {
        "roc_auc": float(roc_auc_score(y, margin)),
        "pr_auc": float(average_precision_score(y, margin)),
        "brier": float(brier_score_loss(y, probability)),
        "ece": expected_calibration_error(y, probability),
        "base_rate": base_rate,
    }
    for pct in (10, 20):
        mask = top_fraction_mask(probability + 1e-12 * margin, pct / 100)
        hit = float(y[mask].mean()) if mask.any() else 0.0
        out[f"lift_at_{pct}"] = hit / base_rate if base_rate else 0.0
        out[f"recall_at_{pct}"] = float(y[mask].sum() / max(1, y.sum()))
    curve = profit_curve(y, probability + 1e-12 * margin, settings)
    out["profit_optimal_fraction"] = curve.best_fraction
    out["profit_per_customer_at_optimum"] = curve.best_profit
    return out, curve


@dataclass
class FairnessReport:
    summary: dict[str, dict[str, float]]  # attribute -> {dpd, eod}
    by_group: pd.DataFrame  # attribute, group, count, selection_rate, tpr, fpr

    @property
    def max_equalized_odds(self) -> float:
        values = [v["equalized_odds_difference"] for v in self.summary.values()]
        return max(values) if values else 0.0


def fairness_audit(y: np.ndarray, selected: np.ndarray, sensitive: pd.DataFrame) -> FairnessReport:
    """Per sensitive attribute: selection rate, TPR, FPR by group and the gaps between them.

    `selected` is the decision the model drives: routed to a human retention contact.
    """
    rows = []
    summary: dict[str, dict[str, float]] = {}
    y_pred = selected.astype(int)
    for attribute in sensitive.columns:
        groups = sensitive[attribute].astype(str).to_numpy()
        frame = MetricFrame(
            metrics={"selection_rate": selection_rate, "tpr": true_positive_rate,
                     "fpr": false_positive_rate, "count": lambda yt, yp: len(yt)},
            y_true=y, y_pred=y_pred, sensitive_features=groups,
        )
        table = frame.by_group.reset_index()
        table.columns = ["group", *table.columns[1:]]
        table.insert(0, "attribute", attribute)
        rows.append(table)
        summary[attribute] = {
            "demographic_parity_difference": float(
                demographic_parity_difference(y, y_pred, sensitive_features=groups)),
            "equalized_odds_difference": float(
                equalized_odds_difference(y, y_pred, sensitive_features=groups)),
        }
    by_group = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return FairnessReport(summary=summary, by_group=by_group)
