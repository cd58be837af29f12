"""Calibration of raw margins, chosen on out-of-fold data, never certain.

Three maps, simplest first: `none` (LightGBM's own sigmoid of the margin), `sigmoid`
(Platt: two parameters) and `isotonic` (a monotone step map whose blocks are smoothed
towards the base rate, so no block says exactly 0 or 1). Each is cross-fitted on the
out-of-fold margins: a row's calibrated probability comes from a map fitted on the other
folds. The choice is by log-loss, preferring the simpler map: a more complex one replaces
it only when its mean log-loss is lower by more than the standard error of the paired
difference. Every served probability is also clipped to the range the map saw in training
(`CalibrationSpec.low` / `high`), and `calibrate` never returns exactly 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from models import CalibrationSpec, calibrate

METHODS = ("none", "sigmoid", "isotonic")  # simplest first
# pseudo-rows at the base rate added to every isotonic block
_BLOCK_PRIOR = 2.0


def fit_calibration(margin: np.ndarray, y: np.ndarray, method: str) -> CalibrationSpec:
    """Fit a calibration map of `method` from margins to outcomes."""
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
        fitted = iso.predict(margin)
        base = float(y.mean())
        values = []
        for level in iso.y_thresholds_:
            block = fitted == level
            n, k = int(block.sum()), float(y[block].sum())
            values.append((k + _BLOCK_PRIOR * base) / (n + _BLOCK_PRIOR) if n else level)
        smooth = np.maximum.accumulate(np.asarray(values))
        return CalibrationSpec(method="isotonic", x=iso.X_thresholds_.tolist(),
                               y=smooth.tolist(), low=float(smooth.min()),
                               high=float(smooth.max()))
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y)
        spec = CalibrationSpec(method="sigmoid", a=float(lr.coef_[0, 0]),
                               b=float(lr.intercept_[0]))
    else:
        spec = CalibrationSpec(method="none")
    seen = calibrate(margin, spec)
    return spec.model_copy(update={"low": float(seen.min()), "high": float(seen.max())})


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


@dataclass
class CalibrationChoice:
    spec: CalibrationSpec
    oof_probability: np.ndarray  # cross-fitted calibrated probabilities of the chosen method
    brier: dict[str, float]  # per method, incl. "none" (the raw sigmoid of the margin)
    log_loss: dict[str, float]  # per method
    rule: str  # why the chosen method won


def choose_calibration(margin: np.ndarray, y: np.ndarray,
                       splits: list[tuple[np.ndarray, np.ndarray]]) -> CalibrationChoice:
    """Cross-fit every map; keep the simplest unless a more complex one wins on log-loss by
    more than the standard error of the difference."""
    probs = {}
    for method in METHODS:
        p = np.empty(len(y))
        for train_idx, test_idx in splits:
            spec = fit_calibration(margin[train_idx], y[train_idx], method)
            p[test_idx] = calibrate(margin[test_idx], spec)
        probs[method] = p
    losses = {m: row_log_loss(y, p) for m, p in probs.items()}
    chosen = METHODS[0]
    rule = f"{chosen}: the simplest map"
    for method in METHODS[1:]:
        gain = losses[chosen] - losses[method]
        se = float(gain.std(ddof=1) / np.sqrt(len(gain)))
        if gain.mean() > se:
            rule = (f"{method}: log-loss lower than {chosen}'s by {gain.mean():.5f}, more than "
                    f"its standard error {se:.5f}")
            chosen = method
        else:
            rule += (f"; {method} kept out (log-loss gain {gain.mean():+.5f} within its standard "
                     f"error {se:.5f})")
    return CalibrationChoice(
        spec=fit_calibration(margin, y, chosen), oof_probability=probs[chosen],
        brier={m: float(brier_score_loss(y, p)) for m, p in probs.items()},
        log_loss={m: float(v.mean()) for m, v in losses.items()}, rule=rule)
