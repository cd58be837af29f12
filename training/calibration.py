"""Calibration of raw margins, chosen on out-of-fold data.

Both candidate maps (isotonic, sigmoid) are cross-fitted on the out-of-fold
margins: each row's calibrated probability comes from a map fitted on the
other folds. The method with the lower Brier score is kept and refitted on all
out-of-fold margins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from models import CalibrationSpec, calibrate


def fit_calibration(margin: np.ndarray, y: np.ndarray, method: str) -> CalibrationSpec:
    """Fit a calibration map of `method` from margins to outcomes."""
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
        return CalibrationSpec(method="isotonic", x=iso.X_thresholds_.tolist(),
                               y=iso.y_thresholds_.tolist())
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y)
        return CalibrationSpec(method="sigmoid", a=float(lr.coef_[0, 0]),
                               b=float(lr.intercept_[0]))
    return CalibrationSpec(method="none")


@dataclass
class CalibrationChoice:
    spec: CalibrationSpec
    oof_probability: np.ndarray  # cross-fitted calibrated probabilities of the chosen method
    brier: dict[str, float]  # per method, incl. "none" (the raw sigmoid of the margin)


def choose_calibration(margin: np.ndarray, y: np.ndarray,
                       splits: list[tuple[np.ndarray, np.ndarray]]) -> CalibrationChoice:
    """Cross-fit isotonic and sigmoid maps, keep the one with the lower Brier score."""
    probs = {"none": calibrate(margin, CalibrationSpec(method="none"))}
    for method in ("isotonic", "sigmoid"):
        p = np.empty(len(y))
        for train_idx, test_idx in splits:
            spec = fit_calibration(margin[train_idx], y[train_idx], method)
            p[test_idx] = calibrate(margin[test_idx], spec)
        probs[method] = p
    brier = {m: float(brier_score_loss(y, p)) for m, p in probs.items()}
    best = min(("isotonic", "sigmoid", "none"), key=lambda m: brier[m])
    return CalibrationChoice(spec=fit_calibration(margin, y, best), oof_probability=probs[best],
                             brier=brier)
