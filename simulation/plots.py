"""The simulation's pictures (PNG, matplotlib): what a team would look at after the run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd


def write_plots(result: Any, labelled: pd.DataFrame, folder: Path) -> list[Path]:  # noqa: ANN401
    """Risk over time, tasks and departures, realised quality, drift, contact effect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = result.months
    labels = [m.period for m in months]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    ax = axes[0][0]
    if not labelled.empty:
        data = [labelled.loc[labelled["period"] == p, "score"].to_numpy() for p in labels]
        ax.boxplot([d if len(d) else [math.nan] for d in data], tick_labels=labels,
                   showfliers=False)
    ax.set_title("Risk score distribution by month")
    ax.set_ylabel("calibrated churn score")

    ax = axes[0][1]
    x = range(len(months))
    ax.bar([i - 0.2 for i in x], [m.tasks_opened for m in months], width=0.4,
           label="tasks opened")
    ax.bar([i + 0.2 for i in x], [m.left for m in months], width=0.4, label="customers left")
    ax.plot(list(x), [m.reached for m in months], "k.-", label="reached by an agent")
    ax.set_xticks(list(x), labels)
    ax.set_title("Tasks and outcomes")
    ax.legend()

    ax = axes[0][2]
    q = [r for r in result.quality if math.isfinite(r["auc"])]
    ax.errorbar([r["month"] for r in q], [r["auc"] for r in q],
                yerr=[[r["auc"] - r["auc_low"] for r in q], [r["auc_high"] - r["auc"] for r in q]],
                fmt="o-", capsize=4, label="realised (control + no-task rows)")
    ax.axhline(result.oof_roc_auc, color="grey", ls="--", label="out-of-fold at training")
    ax.set_title("Realised ROC-AUC by month")
    ax.legend()

    ax = axes[1][0]
    cols = sorted({c for m in months for c in m.drift_psi})
    for c in cols:
        ax.plot(labels, [m.drift_psi.get(c, math.nan) for m in months], "o-", label=c)
    ax.axhline(result.config.psi_alert, color="red", ls="--", label="alert")
    ax.axhline(result.config.psi_warn, color="orange", ls=":", label="warning")
    ax.set_title("Drift (PSI against the training reference)")
    ax.legend(fontsize=7)

    ax = axes[1][1]
    rows = result.effect_by_segment + result.effect
    names = [r["segment"] for r in rows]
    ax.errorbar([r["difference"] for r in rows], range(len(rows)),
                xerr=[[r["difference"] - r["lower"] for r in rows],
                      [r["upper"] - r["difference"] for r in rows]], fmt="o", capsize=4,
                label="measured (ITT, 95 %)")
    true = [result.true_effect_by_segment.get(n, result.true_effect) for n in names]
    ax.plot(true, range(len(rows)), "rx", label="the world's truth")
    ax.axvline(0, color="grey")
    ax.set_yticks(range(len(rows)), names)
    ax.set_title("Contact effect on churn (negative: contact keeps)")
    ax.legend(fontsize=8)

    ax = axes[1][2]
    ax.axis("off")
    if result.uplift:
        m = result.uplift["metrics"]
        ax.text(0, 0.9, "Uplift model (held-out customers)", fontsize=12, weight="bold")
        ax.text(0, 0.7, f"Qini {m['qini']:.4f} [{m['qini_low']:.4f}, {m['qini_high']:.4f}]")
        ax.text(0, 0.55, f"uplift at top {m['top_fraction']:.0%}: {m['uplift_at_k']:+.3f} "
                         f"[{m['uplift_at_k_low']:+.3f}, {m['uplift_at_k_high']:+.3f}]")
        ax.text(0, 0.4, result.uplift["gate"], fontsize=8, wrap=True)
    else:
        ax.text(0, 0.7, "Uplift model: not trained (not enough labelled rows in both arms)")
    fig.tight_layout()
    path = folder / "simulation.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [path]
