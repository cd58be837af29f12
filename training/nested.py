"""Nested cross-validation of the whole selection: how stable and how honest it is.

Each outer fold runs the guards' single-feature AUCs and the minimiser on the other
folds only, fits the kept features there and scores the outer fold, which selection
never saw. It reports the pooled honest ROC-AUC, each fold's kept set and the spread of
the kept-set size. Slow (one minimisation per outer fold): an audit, not part of `train`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from training.config import TrainSettings
from training.data import prepare
from training.guards import single_feature_auc
from training.minimise import minimise
from training.modeling import Design, feature_specs, fit_booster, folds
from training.pipeline import load_with_provenance


def nested_selection(settings: TrainSettings, data: str | Path | None = None,
                     schema: str | Path | None = None) -> dict[str, Any]:
    frame, dataset_schema, provenance = load_with_provenance(data, schema, settings)
    prepared = prepare(frame, dataset_schema, settings.pseudonym_secret)
    y = prepared.y
    design = Design.build(prepared.candidates,
                          feature_specs(prepared.candidates, dataset_schema), dataset_schema)
    margin = np.empty(len(y))
    outer = []
    for number, (train_rows, test_rows) in enumerate(folds(y, settings), start=1):
        inner = folds(y[train_rows], settings)
        single = single_feature_auc(
            prepared.candidates.iloc[train_rows].reset_index(drop=True), y[train_rows], inner)
        selection = minimise(design.rows(train_rows), y[train_rows], settings, inner,
                             dataset_schema, single.auc)
        kept = design.subset(selection.selected)
        booster = fit_booster(kept, y, settings, rows=train_rows)
        margin[test_rows] = booster.predict(kept.X[test_rows], raw_score=True)
        outer.append({"fold": number, "kept": selection.selected,
                      "n_kept": len(selection.selected),
                      "selection_time_auc": selection.final_auc,
                      "honest_auc": float(roc_auc_score(y[test_rows], margin[test_rows])),
                      "noise_sd": selection.noise_sd,
                      "step_tolerance": selection.step_tolerance})
    sizes = [o["n_kept"] for o in outer]
    counts = Counter(f for o in outer for f in o["kept"])
    return {
        "source": provenance.source, "rows": len(y), "outer_folds": settings.cv_folds,
        "dropped_constant": prepared.dropped_constant,  # never candidates, as in training
        "honest_roc_auc_pooled": float(roc_auc_score(y, margin)),
        "honest_roc_auc_mean": float(np.mean([o["honest_auc"] for o in outer])),
        "selection_time_auc_mean": float(np.mean([o["selection_time_auc"] for o in outer])),
        "kept_size_min": min(sizes), "kept_size_max": max(sizes),
        "kept_size_mean": float(np.mean(sizes)),
        "kept_in_folds": dict(counts.most_common()),
        "folds": outer,
    }
