"""The model card: what the model is for, what it cannot do, and how it measured."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from models import ModelSpec

_CANDIDATE_COLUMNS = ("feature", "kept", "single_feature_auc", "mean_abs_shap",
                      "auc_change_when_removed", "reason")


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


def _constant(dropped: dict[str, str]) -> str:
    return "; ".join(f"`{name}`: {why}" for name, why in dropped.items()) or "none"


def render(*, spec: ModelSpec, model_name: str, summary: dict[str, Any],
           minimisation: pd.DataFrame, fairness: pd.DataFrame) -> str:
    """A Markdown model card from a training summary."""
    m = summary["metrics"]
    d = spec.decision
    default_purpose = ("no purpose given in the schema (pages say so); kept because removing "
                       "it lowered the cross-validated ROC-AUC by more than a feature must earn")
    feature_lines = "\n".join(
        f"- **{f.display_label('en')}** (`{f.name}`, {f.kind}): "
        f"{f.purpose_text('en') or default_purpose}"
        for f in spec.features
    )
    audit = summary.get("fairness_audit", {"audited": bool(summary["fairness"])})
    intervals = audit.get("intervals_95", {})

    def interval(attr: str, key: str) -> str:
        lo_hi = intervals.get(attr, {}).get(key)
        return f" [{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else ""

    fair_lines = "\n".join(
        f"| {attr} | {audit.get('grouping', {}).get(attr, '')} | "
        f"{_fmt(v['demographic_parity_difference'])}"
        f"{interval(attr, 'demographic_parity_difference')} | "
        f"{_fmt(v['equalized_odds_difference'])}{interval(attr, 'equalized_odds_difference')} |"
        for attr, v in summary["fairness"].items()
    )
    if audit.get("audited"):
        small = {a: g for a, g in audit.get("merged_small_groups", {}).items() if g}
        apart = {a: g for a, g in audit.get("reported_apart", {}).items() if g}
        fairness_section = f"""| attribute | groups | demographic-parity difference [95 % CI] | \
equalized-odds difference [95 % CI] |
|---|---|---|---|
{fair_lines}

Intervals: {summary.get('fairness_bootstrap', 'bootstrap')} resamples of the rows (percentile 95 %).
Groups with fewer than the minimum positives or negatives merged into "other (small groups)":
{small or 'none'}; reported apart and left out of the differences (too small even merged):
{apart or 'none'}. The promotion gate decides on the {summary.get('fairness_gate_on', 'point')}
(see `make promote`).

By group (each group's own churn rate beside the routing rates, with 95 % intervals):

{_table(fairness)}"""
    else:
        fairness_section = ("**Not audited**: the schema names no sensitive attribute, so no "
                            "group gap was measured and the fairness gate does not apply. "
                            "Name the sensitive columns under `sensitive:` to audit them.")
    single = summary.get("single_feature_auc", {})
    single_lines = "\n".join(
        f"| `{f.name}` | {_fmt(single.get(f.name, float('nan')))} |" for f in spec.features)
    honest = summary.get("honest", {})
    if "roc_auc" in honest:
        honest_lines = (
            f"| **Honest** ROC-AUC (held-out {honest['rows']} rows never seen by selection) "
            f"| **{honest['roc_auc']:.4f}** [{honest['roc_auc_lo']:.4f}, "
            f"{honest['roc_auc_hi']:.4f}] |\n"
            f"| Honest PR-AUC | {honest['pr_auc']:.4f} |\n"
            f"| Logistic-regression baseline, same features and rows (honest ROC-AUC) | "
            f"{honest['baseline_logreg_roc_auc']:.4f} |\n")
    else:
        honest_lines = "| Honest estimate | none: no rows held out |\n"
    mini = summary["minimisation"]
    cal = summary.get("calibration", {})
    return f"""# Model card — {model_name} (dataset `{spec.dataset}`)

## Purpose and intended use

Estimates the probability that a customer leaves, to help a **retention team decide whom a
person should contact**. A high score only puts a task in a human retention queue, with the
explanation attached. It must never trigger an automated action (message, offer, price or
contract change), never be used for credit, pricing, employment or any decision about a person
other than an offer of contact, and never be applied to customers who objected to profiling or
whose record is restricted by a dispute.

The service that uses this model may hold out a random share of the customers it would route
to a person (a control group, drawn afresh each campaign period): they get no retention task,
so that the team can measure whether contact actually helps. Observed churn of contacted
customers is therefore affected by the contact, and any evaluation on the service's own data
should say which customers were held out.

Which customers get a task is the serving setting `CHURN_TARGETING`: `risk` (the default) routes
by this model's score and risk bands; `uplift` keeps, among them, only the customers whose
expected retained value (estimated uplift of the promoted `churn-uplift` model x customer value
- contact cost) is positive, so customers a contact is estimated to push away are not queued.
Every receipt records the rule it was routed under.

## Data and minimisation

- Rows: {summary['rows']} ({summary['positive_rate']:.1%} positive: `{spec.target}` =
  `{spec.positive_label}`); rows with a missing feature value: {summary['rows_with_missing']}
  (kept: the model handles missing values).
- Customer ids are replaced by keyed HMAC-SHA256 pseudonyms before training; no raw id reaches
  the model, MLflow or this card.
- Sensitive attributes ({', '.join(summary['sensitive']) or 'none'}) are **never features**; they
  are used only for the fairness audit below.
- Constant columns dropped before selection (the same value, or none, for every customer: no
  information): {_constant(summary.get('dropped_constant', {}))}.
- Candidates: {len(summary['candidate_features'])}; kept: {len(summary['selected_features'])}.
  Duplicated columns are collapsed first ({mini.get('duplicates') or 'none found'}); then greedy
  backward elimination with {summary['evaluation']['cv_folds']}-fold stratified
  cross-validation of a deterministic selection model removes, at each step, the feature whose
  removal costs least, while that costs at most the step tolerance
  {_fmt(mini.get('step_tolerance', float('nan')))} ROC-AUC (twice the measured noise, SD
  {_fmt(mini.get('noise_sd', float('nan')))} over fold seeds) and the set stays within
  {mini['tolerance']} of the full candidate set. Selection used
  {mini.get('selection_rows', summary['rows'])} rows.

Each kept feature alone (cross-validated ROC-AUC of a model of that feature only):

| feature | single-feature ROC-AUC |
|---|---|
{single_lines}

Kept features and why they are needed:

{feature_lines}

Every candidate (mean |SHAP| in the full model; AUC change when removed):

{_table(minimisation[[c for c in _CANDIDATE_COLUMNS if c in minimisation]])}

## Measured quality

{summary['evaluation']['method']}

| metric | value |
|---|---|
{honest_lines}| ROC-AUC (selection-time, out-of-fold on all rows; optimistic) | {m['roc_auc']:.4f} |
| PR-AUC | {m['pr_auc']:.4f} |
| Brier score (calibrated; raw {m['brier_uncalibrated']:.4f}) | {m['brier']:.4f} |
| Expected calibration error | {m['ece']:.4f} |
| Log-loss | {_fmt(m.get('log_loss', float('nan')))} |
| Lift / recall at top 10 % | {m['lift_at_10']:.2f} / {m['recall_at_10']:.2%} |
| Lift / recall at top 20 % | {m['lift_at_20']:.2f} / {m['recall_at_20']:.2%} |
| Profit-optimal contact fraction (MPC, fixed acceptance rate) | \
{m['profit_optimal_fraction']:.1%} |
| MPC per customer (fixed acceptance rate) | {_fmt(m.get('mpc', float('nan')))} |
| EMPC per customer (acceptance rate ~ Beta, Verbraken et al. 2013) | \
{_fmt(m.get('empc', float('nan')))} |

Calibration: {spec.calibration.method}, chosen on cross-fitted out-of-fold log-loss
({cal.get('rule', '')}); scores are clipped to [{spec.calibration.low:.4f},
{spec.calibration.high:.4f}] and are never exactly 0 or 1.
Risk bands on the calibrated score: **high** from {d.high_threshold:.3f} (the profit-optimal
{d.contact_fraction:.1%} of customers), **medium** from {d.medium_threshold:.3f}.

## Fairness (decision audited: routed to a retention contact, score ≥ {d.high_threshold:.3f})

{fairness_section}

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
