"""Quality, calibration, campaign profit and fairness of a set of scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from models.dataset_schema import DatasetSchema
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
        "log_loss": float(log_loss(y, np.clip(probability, 1e-15, 1 - 1e-15), labels=[0, 1])),
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
    out["mpc"] = curve.best_profit  # maximum profit, fixed acceptance rate
    expected = empc(y, probability + 1e-12 * margin, settings)
    out["empc"] = expected.empc
    out["empc_fraction"] = expected.fraction
    return out, curve


@dataclass
class EMPC:
    empc: float  # expected maximum profit per customer
    fraction: float  # expected profit-optimal contact fraction


def empc(y: np.ndarray, score: np.ndarray, settings: TrainSettings,
         grid: int = 400) -> EMPC:
    """Expected maximum profit of a retention campaign (EMPC, Verbraken et al. 2013).

    The acceptance rate γ of a contacted churner follows Beta(α, β); for each γ the
    campaign contacts its profit-optimal top fraction, and EMPC is the expectation of
    that maximum over γ (midpoint rule on `grid` equal-probability quantiles of γ). The
    profit of contacting the top k is linear in γ:
    (γ (CLV − δ) C_k − δ (k − C_k) − f k) / N, with C_k churners among them.
    """
    order = np.argsort(-score, kind="stable")
    ys = y[order].astype(float)
    churners = np.concatenate([[0.0], np.cumsum(ys)])
    k = np.arange(len(y) + 1, dtype=float)
    gammas = stats.beta.ppf((np.arange(grid) + 0.5) / grid, settings.acceptance_alpha,
                            settings.acceptance_beta)
    value = settings.customer_value - settings.offer_cost
    fixed = -settings.offer_cost * (k - churners) - settings.contact_cost * k
    profits = (np.outer(gammas, value * churners) + fixed) / len(y)  # (grid, N + 1)
    best = profits.argmax(axis=1)
    return EMPC(empc=float(profits[np.arange(grid), best].mean()),
                fraction=float((best / len(y)).mean()))


DEFAULT_AGE_EDGES = [25.0, 35.0, 45.0, 55.0, 65.0]
# a numeric sensitive attribute with more distinct values than this is binned
_MAX_NUMERIC_GROUPS = 10
SMALL_GROUPS = "other (small groups)"


def _band_labels(edges: list[float]) -> list[str]:
    def num(v: float) -> str:
        return f"{v:g}"
    labels = [f"< {num(edges[0])}"]
    labels += [f"{num(a)}–{num(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return labels + [f">= {num(edges[-1])}"]


def sensitive_groups(sensitive: pd.DataFrame, schema: DatasetSchema) -> tuple[pd.DataFrame,
                                                                               dict[str, str]]:
    """Audit groups per sensitive attribute: text as is; numbers with many values cut into
    bands (schema `bins:`, else age bands for an age column, else quartiles)."""
    out = pd.DataFrame(index=sensitive.index)
    how: dict[str, str] = {}
    for col in sensitive.columns:
        text = sensitive[col].astype(str)
        present = text[text != "(missing)"]
        numbers = pd.to_numeric(present, errors="coerce")
        note = schema.features.get(col)
        edges = list(note.bins) if note is not None and note.bins else None
        numeric = len(present) > 0 and numbers.notna().all()
        if numeric and (edges or numbers.nunique() > _MAX_NUMERIC_GROUPS):
            if edges is None:
                if "age" in col.lower():
                    edges, how[col] = DEFAULT_AGE_EDGES, "default age bands"
                else:
                    edges = sorted(set(np.quantile(numbers, [0.25, 0.5, 0.75]).tolist()))
                    how[col] = "quartiles"
            else:
                how[col] = "schema bins"
            edges = sorted(edges)
            labels = np.array(_band_labels(edges), dtype=object)
            values = pd.to_numeric(text, errors="coerce").to_numpy()
            band = labels[np.searchsorted(edges, np.nan_to_num(values, nan=0.0), side="right")]
            out[col] = np.where(np.isnan(values), "(missing)", band).astype(str)
        else:
            out[col] = text
            how[col] = "values as given"
    return out, how


@dataclass
class FairnessReport:
    summary: dict[str, dict[str, float]]  # attribute -> {dpd, eod} point estimates
    by_group: pd.DataFrame  # attribute, group, count, churn rate, routing rates, intervals
    intervals: dict[str, dict[str, list[float]]]  # attribute -> {dpd, eod} 95 % bootstrap
    grouping: dict[str, str]  # attribute -> how its groups were formed
    merged: dict[str, list[str]]  # attribute -> groups merged into SMALL_GROUPS
    apart: dict[str, list[str]]  # attribute -> groups reported apart (too small even merged)

    @property
    def audited(self) -> bool:
        return bool(self.summary)

    @property
    def max_equalized_odds(self) -> float:
        """Largest point estimate; NaN when nothing was audited (never a silent 0)."""
        values = [v["equalized_odds_difference"] for v in self.summary.values()]
        values = [v for v in values if np.isfinite(v)]
        return max(values) if values else float("nan")

    @property
    def max_equalized_odds_upper(self) -> float:
        values = [v["equalized_odds_difference"][1] for v in self.intervals.values()]
        values = [v for v in values if np.isfinite(v)]
        return max(values) if values else float("nan")

    def describe(self) -> dict:
        """The audit for the summary: what was audited, how, and the intervals."""
        if not self.audited:
            return {"audited": False,
                    "note": "not audited: the schema names no sensitive attribute"}
        return {"audited": True, "grouping": self.grouping, "merged_small_groups": self.merged,
                "reported_apart": self.apart, "intervals_95": self.intervals,
                "max_equalized_odds_difference": self.max_equalized_odds,
                "max_equalized_odds_upper_95": self.max_equalized_odds_upper}


def _rates(codes: np.ndarray, size: int, y: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    n = np.bincount(codes, minlength=size).astype(float)
    pos = np.bincount(codes, weights=y, minlength=size)
    sel = np.bincount(codes, weights=s, minlength=size)
    tp = np.bincount(codes, weights=y * s, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"count": n, "positives": pos, "churn_rate": pos / n, "selection_rate": sel / n,
                "tpr": tp / pos, "fpr": (sel - tp) / (n - pos)}


def _gaps(r: dict[str, np.ndarray], include: np.ndarray, axis: int = -1) -> tuple:
    def spread(a: np.ndarray) -> np.ndarray:
        a = np.where(include, a, np.nan)
        return np.nanmax(a, axis=axis) - np.nanmin(a, axis=axis)
    dpd = spread(r["selection_rate"])
    eod = np.maximum(spread(r["tpr"]), spread(r["fpr"]))
    return dpd, eod


def fairness_audit(y: np.ndarray, selected: np.ndarray, groups: pd.DataFrame,
                   min_group: int = 30, n_boot: int = 200, seed: int = 0,
                   grouping: dict[str, str] | None = None) -> FairnessReport:
    """Per sensitive attribute: each group's churn rate, selection rate, TPR and FPR of the
    routing decision, with bootstrap 95 % intervals, and the gaps between groups.

    A group with fewer than `min_group` positives or negatives is merged with the other
    small groups of its attribute; if the merged group is still that small it is reported
    apart and left out of the gaps (its rates are noise).
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(selected, dtype=float)
    rng = np.random.default_rng(seed)
    boot = rng.integers(0, len(y), size=(n_boot, len(y))) if n_boot else None
    rows, summary, intervals, merged, apart = [], {}, {}, {}, {}
    for attribute in groups.columns:
        labels = groups[attribute].astype(str).to_numpy()
        names, codes = np.unique(labels, return_inverse=True)
        r = _rates(codes, len(names), y, s)
        small = (r["positives"] < min_group) | (r["count"] - r["positives"] < min_group)
        if small.any():
            merged[attribute] = [str(n) for n in names[small]]
            labels = np.where(np.isin(labels, names[small]), SMALL_GROUPS, labels)
            names, codes = np.unique(labels, return_inverse=True)
            r = _rates(codes, len(names), y, s)
            small = (r["positives"] < min_group) | (r["count"] - r["positives"] < min_group)
        include = ~small
        apart[attribute] = [str(n) for n in names[small]]
        dpd, eod = _gaps(r, include) if include.sum() >= 2 else (np.nan, np.nan)
        summary[attribute] = {"demographic_parity_difference": float(dpd),
                              "equalized_odds_difference": float(eod)}
        table = pd.DataFrame({"attribute": attribute, "group": names.astype(str),
                              **{k: v for k, v in r.items()}, "in_gaps": include})
        if boot is not None:
            size = len(names)
            flat = (codes[boot] + size * np.arange(n_boot)[:, None]).ravel()
            br = {k: v.reshape(n_boot, size) for k, v in
                  _rates(flat, size * n_boot, y[boot].ravel(), s[boot].ravel()).items()}
            for metric in ("churn_rate", "selection_rate", "tpr", "fpr"):
                lo, hi = np.nanpercentile(br[metric], [2.5, 97.5], axis=0)
                table[f"{metric}_lo"], table[f"{metric}_hi"] = lo, hi
            if include.sum() >= 2:
                bdpd, beod = _gaps(br, include[None, :], axis=1)
                intervals[attribute] = {
                    "demographic_parity_difference": np.nanpercentile(bdpd, [2.5, 97.5]).tolist(),
                    "equalized_odds_difference": np.nanpercentile(beod, [2.5, 97.5]).tolist()}
        rows.append(table)
    by_group = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["attribute", "group", "count", "positives", "churn_rate", "selection_rate",
                 "tpr", "fpr", "in_gaps"])
    grouping = grouping or {a: "values as given" for a in groups.columns}
    return FairnessReport(summary=summary, by_group=by_group, intervals=intervals,
                          grouping=grouping, merged=merged, apart=apart)
