"""`Explanation`: a block of rows scored and explained, in a module of its own (numpy
only), so that code which carries explanations without computing them (the writer process,
say) need not import LightGBM and MLflow with `models.churn_model`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Explanation:
    """Scores and exact SHAP contributions for a block of rows."""

    X: np.ndarray  # encoded inputs, model column order
    margin: np.ndarray  # raw log-odds, shape (n,)
    score: np.ndarray  # calibrated probability, shape (n,)
    shap: np.ndarray  # contributions to the margin, shape (n, k)
    base_value: float  # expected margin; base_value + shap.sum(1) == margin

    def __len__(self) -> int:
        return len(self.margin)
