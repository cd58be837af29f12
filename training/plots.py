"""Evaluation plots written as PNG files (ROC, calibration, gain/lift, SHAP summary, fairness)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from training.evaluation import ProfitCurve  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roc_plot(y: np.ndarray, margin: np.ndarray, auc: float, path: Path) -> Path:
    fpr, tpr, _ = roc_curve(y, margin)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"model (ROC-AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (out-of-fold)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def calibration_plot(y: np.ndarray, raw: np.ndarray, calibrated: np.ndarray, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    for label, p in (("raw model", raw), ("calibrated", calibrated)):
        frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
        ax.plot(mean, frac, marker="o", label=label)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.set(xlabel="Predicted probability", ylabel="Observed churn rate",
           title="Calibration (out-of-fold)")
    ax.legend(loc="upper left")
    return _save(fig, path)


def gain_lift_plot(y: np.ndarray, score: np.ndarray, curve: ProfitCurve, path: Path) -> Path:
    order = np.argsort(-score, kind="stable")
    captured = np.concatenate([[0], np.cumsum(y[order])]) / max(1, y.sum())
    frac = np.arange(len(y) + 1) / len(y)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    axes[0].plot(frac, captured, label="model")
    axes[0].plot([0, 1], [0, 1], "--", color="grey", label="random")
    axes[0].set(xlabel="Share of customers contacted", ylabel="Share of churners reached",
                title="Cumulative gain")
    axes[0].legend()
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(frac > 0, captured / frac, np.nan)
    axes[1].plot(frac[1:], lift[1:])
    axes[1].axhline(1.0, ls="--", color="grey")
    axes[1].set(xlabel="Share of customers contacted", ylabel="Lift", title="Lift", ylim=(0, None))
    axes[2].plot(curve.fractions, curve.profit_per_customer)
    axes[2].axvline(curve.best_fraction, ls="--", color="tab:red",
                    label=f"optimum {curve.best_fraction:.1%}")
    axes[2].set(xlabel="Share of customers contacted", ylabel="Profit per customer",
                title="Retention campaign profit")
    axes[2].legend()
    return _save(fig, path)


def shap_summary_plot(shap_values: np.ndarray, X: np.ndarray, names: list[str],
                      path: Path) -> Path:
    shap.summary_plot(shap_values, X, feature_names=names, show=False, max_display=20)
    fig = plt.gcf()
    fig.suptitle("SHAP summary (contributions to the log-odds)")
    return _save(fig, path)


def fairness_plot(by_group: pd.DataFrame, path: Path) -> Path:
    if by_group.empty:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "Not audited: the schema names no sensitive attribute",
                ha="center", va="center")
        return _save(fig, path)
    attributes = list(dict.fromkeys(by_group["attribute"]))
    fig, axes = plt.subplots(1, max(1, len(attributes)), figsize=(4 * max(1, len(attributes)), 4),
                             squeeze=False)
    for ax, attribute in zip(axes[0], attributes, strict=False):
        part = by_group[by_group["attribute"] == attribute]
        x = np.arange(len(part))
        for i, metric in enumerate(("churn_rate", "selection_rate", "tpr", "fpr")):
            values = part[metric].to_numpy(dtype=float)
            err = None
            if f"{metric}_lo" in part:
                lo = part[f"{metric}_lo"].to_numpy(dtype=float)
                hi = part[f"{metric}_hi"].to_numpy(dtype=float)
                err = np.nan_to_num(np.vstack([values - lo, hi - values]).clip(0))
            ax.bar(x + (i - 1.5) * 0.2, values, width=0.2, label=metric, yerr=err,
                   capsize=2)
        ax.set_xticks(x, part["group"].astype(str), rotation=20)
        ax.set(title=attribute, ylim=(0, 1))
    axes[0][0].legend()
    fig.suptitle("Routed to a retention contact, by group")
    return _save(fig, path)
