"""The model card: what the model is for, what it cannot do, and how it measured."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from models import ModelSpec


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines)


def render(*, spec: ModelSpec, model_name: str, summary: dict[str, Any],
           minimisation: pd.DataFrame, fairness: pd.DataFrame) -> str:
    """A Markdown model card from a training summary."""
    m = summary["metrics"]
    d = spec.decision
    default_purpose = ("kept because removing it lowered the cross-validated ROC-AUC by more "
                       "than a feature must earn")
    feature_lines = "\n".join(
        f"- **{f.display_label('en')}** (`{f.name}`, {f.kind}): {f.purpose or default_purpose}"
        for f in spec.features
    )
    fair_lines = "\n".join(
        f"| {attr} | {v['demographic_parity_difference']:.3f} | "
        f"{v['equalized_odds_difference']:.3f} |"
        for attr, v in summary["fairness"].items()
    )
    return f"""# Model card — {model_name} (dataset `{spec.dataset}`)

## Purpose and intended use

Estimates the probability that a customer leaves, to help a **retention team decide whom a
person should contact**. A high score only puts a task in a human retention queue, with the
explanation attached. It must never trigger an automated action (message, offer, price or
contract change), never be used for credit, pricing, employment or any decision about a person
other than an offer of contact, and never be applied to customers who objected to profiling or
whose record is restricted by a dispute.

## Data and minimisation

- Rows: {summary['rows']} ({summary['positive_rate']:.1%} positive: `{spec.target}` =
  `{spec.positive_label}`); rows with a missing feature value: {summary['rows_with_missing']}
  (kept: the model handles missing values).
- Customer ids are replaced by keyed HMAC-SHA256 pseudonyms before training; no raw id reaches
  the model, MLflow or this card.
- Sensitive attributes ({', '.join(summary['sensitive']) or 'none'}) are **never features**; they
  are used only for the fairness audit below.
- Candidates: {len(summary['candidate_features'])}; kept: {len(summary['selected_features'])}.
  Backward elimination by mean |SHAP| with {summary['evaluation']['cv_folds']}-fold stratified
  cross-validation drops a feature while the ROC-AUC stays within
  {summary['minimisation']['tolerance']} of the full candidate set.

Kept features and why they are needed:

{feature_lines}

Every candidate (mean |SHAP| in the full model; AUC change when removed):

{_table(minimisation[['feature', 'kept', 'mean_abs_shap', 'auc_change_when_removed', 'reason']])}

## Measured quality

{summary['evaluation']['method']}

| metric | value |
|---|---|
| ROC-AUC | {m['roc_auc']:.4f} |
| PR-AUC | {m['pr_auc']:.4f} |
| Brier score (calibrated; raw {m['brier_uncalibrated']:.4f}) | {m['brier']:.4f} |
| Expected calibration error | {m['ece']:.4f} |
| Lift / recall at top 10 % | {m['lift_at_10']:.2f} / {m['recall_at_10']:.2%} |
| Lift / recall at top 20 % | {m['lift_at_20']:.2f} / {m['recall_at_20']:.2%} |
| Profit-optimal contact fraction | {m['profit_optimal_fraction']:.1%} |

Calibration: {spec.calibration.method}, chosen on cross-fitted out-of-fold Brier score.
Risk bands on the calibrated score: **high** from {d.high_threshold:.3f} (the profit-optimal
{d.contact_fraction:.1%} of customers), **medium** from {d.medium_threshold:.3f}.

## Fairness (decision audited: routed to a retention contact, score ≥ {d.high_threshold:.3f})

| attribute | demographic-parity difference | equalized-odds difference |
|---|---|---|
{fair_lines}

By group:

{_table(fairness)}

## Limits

- Trained on one snapshot of `{spec.dataset}`; customer behaviour drifts: retrain and re-audit
  regularly, and re-check calibration before relying on the probabilities.
- The score is a statistical estimate for a group of similar customers, not a fact about one
  person. The explanation (SHAP) tells how the model used each value, not why the customer
  would leave.
- Gaps between groups above are measured, not removed. Features correlated with sensitive
  attributes can carry their effect; reviewers should read the group table before promotion.
- Values outside the training range or categories are refused by the serving API.
"""
