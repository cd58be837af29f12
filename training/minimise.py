"""Feature minimisation: keep only the features that earn their place.

Backward elimination by mean |SHAP|: start from every candidate and try removing
features from the least to the most useful. A feature is dropped when removing it
costs at most `minimise_step_tolerance` of cross-validated ROC-AUC (it does not
earn its place) and the set stays within `minimise_tolerance` of the full candidate
set. Every candidate is tried once, so each gets a recorded AUC change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from training.config import TrainSettings
from training.modeling import Design, cross_validate

# Selection runs many cross-validations: a quicker model (fewer, larger steps) ranks
# feature sets the same way as the final one at a fraction of the cost.
SELECTION_TREES = 150
SELECTION_LEARNING_RATE = 0.1


@dataclass
class FeatureDecision:
    feature: str
    kept: bool
    mean_abs_shap: float  # in the full candidate model, log-odds
    auc_change_when_removed: float  # AUC without it minus AUC with it, at the step it was tried
    auc_without: float
    step: int
    reason: str


@dataclass
class Minimisation:
    full_auc: float
    final_auc: float
    tolerance: float
    selected: list[str]
    decisions: list[FeatureDecision]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(d) for d in self.decisions])


def minimise(design: Design, y: np.ndarray, settings: TrainSettings,
             splits: list[tuple[np.ndarray, np.ndarray]]) -> Minimisation:
    """Backward elimination by mean |SHAP| within `settings.minimise_tolerance` of full AUC."""
    quick = settings.model_copy(update={"learning_rate": SELECTION_LEARNING_RATE})
    full = cross_validate(design, y, quick, splits, n_estimators=SELECTION_TREES)
    floor = full.roc_auc - settings.minimise_tolerance
    order = sorted(full.mean_abs_shap, key=lambda name: full.mean_abs_shap[name])
    current = [f.name for f in design.features]
    current_auc = full.roc_auc
    decisions: list[FeatureDecision] = []
    for step, name in enumerate(order, start=1):
        if len(current) == 1:
            decisions.append(FeatureDecision(
                feature=name, kept=True, mean_abs_shap=full.mean_abs_shap[name],
                auc_change_when_removed=float("nan"), auc_without=float("nan"), step=step,
                reason="last remaining feature"))
            continue
        trial = [n for n in current if n != name]
        without = cross_validate(design.subset(trial), y, quick, splits,
                                 n_estimators=SELECTION_TREES).roc_auc
        change = without - current_auc
        if without >= floor and change >= -settings.minimise_step_tolerance:
            current, current_auc = trial, without
            decisions.append(FeatureDecision(
                feature=name, kept=False, mean_abs_shap=full.mean_abs_shap[name],
                auc_change_when_removed=change, auc_without=without, step=step,
                reason=f"dropped: removing it changes AUC by {change:+.4f} and the set stays "
                       f"within {settings.minimise_tolerance} of the full set "
                       f"({full.roc_auc:.4f})"))
        else:
            decisions.append(FeatureDecision(
                feature=name, kept=True, mean_abs_shap=full.mean_abs_shap[name],
                auc_change_when_removed=change, auc_without=without, step=step,
                reason=(f"kept: removing it costs {-change:.4f} AUC, more than the "
                        f"{settings.minimise_step_tolerance} a feature must earn"
                        if without >= floor else
                        f"kept: without it AUC {without:.4f} falls below the floor {floor:.4f}")))
    decisions.sort(key=lambda d: (not d.kept, -d.mean_abs_shap))
    return Minimisation(full_auc=full.roc_auc, final_auc=current_auc,
                        tolerance=settings.minimise_tolerance,
                        selected=[f.name for f in design.features if f.name in current],
                        decisions=decisions)


def no_minimisation(design: Design) -> Minimisation:
    """Keep every candidate (for quick runs that switch minimisation off)."""
    names = [f.name for f in design.features]
    return Minimisation(
        full_auc=float("nan"), final_auc=float("nan"), tolerance=0.0, selected=names,
        decisions=[FeatureDecision(feature=n, kept=True, mean_abs_shap=float("nan"),
                                   auc_change_when_removed=float("nan"),
                                   auc_without=float("nan"), step=0,
                                   reason="kept: minimisation switched off")
                   for n in names])
