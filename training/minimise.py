"""Feature minimisation above the noise: keep only the features that earn their place.

1. **Collapse duplicates**: of two candidates that carry the same information (|rank
   correlation| >= 0.999, or each a function of the other), keep the one with the
   plainer meaning (described in the schema, then fewer distinct values, then first).
2. **Measure the noise**: the cross-validated ROC-AUC of all remaining candidates under
   several fold seeds; its standard deviation is the noise no decision may follow.
   The step tolerance is `minimise_noise_multiplier` x that SD (at least
   `minimise_step_tolerance`).
3. **Greedy backward elimination** with a deterministic selection model (no bagging, no
   feature subsampling, one thread): at each step every remaining feature is tried out
   and the cheapest removal is made, while it costs at most the step tolerance and the
   set stays within `minimise_tolerance` of the full set. To save steps, all the
   removals that each cost at most the tolerance are first tried together (then the
   cheapest half, ...): a joint removal is kept only when it passes the same test.
   It stops at the first step whose cheapest removal costs more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.dataset_schema import DatasetSchema
from training.config import TrainSettings
from training.modeling import Design, booster_feature_names, cross_validate, fast_auc

# Selection runs many cross-validations: a quicker model (fewer, larger steps) ranks
# feature sets the same way as the final one at a fraction of the cost.
SELECTION_TREES = 60
SELECTION_LEARNING_RATE = 0.25
DUPLICATE_CORRELATION = 0.999


@dataclass
class FeatureDecision:
    feature: str
    kept: bool
    mean_abs_shap: float  # in the full candidate model (selection model), log-odds
    auc_change_when_removed: float  # AUC without it minus AUC with it, at the step it was tried
    auc_without: float
    step: int
    reason: str
    single_feature_auc: float = float("nan")  # cross-validated, the feature alone


@dataclass
class Minimisation:
    full_auc: float
    final_auc: float
    tolerance: float
    selected: list[str]
    decisions: list[FeatureDecision]
    step_tolerance: float = 0.0
    noise_sd: float = float("nan")  # SD of the full set's CV AUC over fold seeds
    duplicates: dict[str, str] = field(default_factory=dict)  # dropped -> kept twin

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(d) for d in self.decisions])


def _codes(values: np.ndarray) -> np.ndarray:
    # NaN is a value of its own
    _, codes = np.unique(np.where(np.isnan(values), np.inf, values), return_inverse=True)
    return codes


def _determines(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether each value of `a` goes with a single value of `b` (b is a function of a)."""
    pairs = np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b)
    return len(pairs) == len(np.unique(a))


def duplicate_groups(design: Design, schema: DatasetSchema) -> dict[str, str]:
    """Candidates that repeat another one: {dropped: kept}."""
    X = design.X
    names = [f.name for f in design.features]
    codes = [_codes(X[:, j]) for j in range(len(names))]
    distinct = [int(c.max()) + 1 for c in codes]
    ranks = pd.DataFrame(X, columns=names).rank().to_numpy()

    def plainness(j: int) -> tuple:
        note = schema.features.get(names[j])
        described = bool(note and (note.label or note.description or note.purpose))
        return (not described, distinct[j], j)

    dropped: dict[str, str] = {}
    for i in range(len(names)):
        if names[i] in dropped:
            continue
        for j in range(i + 1, len(names)):
            if names[j] in dropped:
                continue
            same = _determines(codes[i], codes[j]) and _determines(codes[j], codes[i])
            if not same and design.features[i].kind != "categorical" \
                    and design.features[j].kind != "categorical":
                both = ~np.isnan(ranks[:, i]) & ~np.isnan(ranks[:, j])
                if both.sum() > 2 and np.isnan(X[:, i]).sum() == np.isnan(X[:, j]).sum():
                    ri, rj = ranks[both, i], ranks[both, j]
                    if ri.std() > 0 and rj.std() > 0:
                        same = abs(np.corrcoef(ri, rj)[0, 1]) >= DUPLICATE_CORRELATION
            if same:
                keep, drop = sorted((i, j), key=plainness)
                dropped[names[drop]] = names[keep]
                if drop == i:
                    break
    return dropped


def selection_params(settings: TrainSettings, design: Design) -> dict:
    """The deterministic selection model: no bagging, no feature subsampling, one thread."""
    params = {
        "objective": "binary", "learning_rate": SELECTION_LEARNING_RATE,
        "num_leaves": settings.num_leaves, "min_data_in_leaf": settings.min_child_samples,
        "lambda_l2": 1.0, "cat_smooth": 20.0, "min_data_per_group": 50,
        "num_threads": 1, "seed": settings.seed, "deterministic": True,
        "force_row_wise": True, "verbose": -1,
    }
    monotone = [f.monotone for f in design.features]
    if any(monotone):
        params["monotone_constraints"] = monotone
    return params


def selection_auc(design: Design, y: np.ndarray, settings: TrainSettings,
                  splits: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Pooled out-of-fold ROC-AUC of the selection model on `design` (raw scores only)."""
    cat = [i for i, f in enumerate(design.features) if f.kind == "categorical"]
    data = lgb.Dataset(design.X, label=y, categorical_feature=cat,
                       feature_name=booster_feature_names(design.features), free_raw_data=False,
                       params={"verbose": -1}).construct()
    params = selection_params(settings, design)
    margin = np.empty(len(y))
    for train_idx, test_idx in splits:
        booster = lgb.train(params, data.subset(train_idx), num_boost_round=SELECTION_TREES)
        margin[test_idx] = booster.predict(design.X[test_idx], raw_score=True)
    return fast_auc(y, margin)


def _reseeded(y: np.ndarray, settings: TrainSettings, seed: int) -> list:
    skf = StratifiedKFold(n_splits=settings.cv_folds, shuffle=True, random_state=seed)
    return list(skf.split(np.zeros(len(y)), y))


def minimise(design: Design, y: np.ndarray, settings: TrainSettings,
             splits: list[tuple[np.ndarray, np.ndarray]], schema: DatasetSchema | None = None,
             single_auc: dict[str, float] | None = None) -> Minimisation:
    """Collapse duplicates, measure the noise, then greedy backward elimination above it."""
    schema = schema or DatasetSchema(name="unnamed", target={"column": "y", "positive": "1"})
    single_auc = single_auc or {}
    quick = settings.model_copy(update={"learning_rate": SELECTION_LEARNING_RATE, "threads": 1})
    # mean |SHAP| of every candidate in the full model, for the record
    full_cv = cross_validate(design, y, quick, splits, n_estimators=SELECTION_TREES)
    shap = full_cv.mean_abs_shap
    duplicates = duplicate_groups(design, schema)
    current = [f.name for f in design.features if f.name not in duplicates]
    full_auc = selection_auc(design.subset(current), y, settings, splits)
    seeds = [settings.seed + 1000 * (r + 1) for r in range(settings.minimise_noise_repeats)]
    repeats = [full_auc] + [selection_auc(design.subset(current), y, settings,
                                          _reseeded(y, settings, s)) for s in seeds]
    noise = float(np.std(repeats, ddof=1)) if len(repeats) > 1 else 0.0
    step_tol = max(settings.minimise_step_tolerance, settings.minimise_noise_multiplier * noise)
    floor = full_auc - settings.minimise_tolerance

    def decision(name: str, kept: bool, change: float, without: float, step: int,
                 reason: str) -> FeatureDecision:
        return FeatureDecision(feature=name, kept=kept, mean_abs_shap=shap[name],
                               auc_change_when_removed=change, auc_without=without, step=step,
                               reason=reason, single_feature_auc=single_auc.get(name, np.nan))

    decisions = [decision(name, False, float("nan"), float("nan"), 0,
                          f"dropped: duplicates {twin!r} (same information; {twin!r} kept)")
                 for name, twin in duplicates.items()]
    current_auc = full_auc
    step = 0
    while len(current) > 1:
        step += 1
        without = {name: selection_auc(design.subset([n for n in current if n != name]), y,
                                       settings, splits) for name in current}
        cost = {name: current_auc - auc for name, auc in without.items()}
        order = sorted(current, key=lambda n: (cost[n], shap[n]))

        def acceptable(auc: float, base: float = current_auc) -> bool:
            return base - auc <= step_tol and auc >= floor

        free = [n for n in order if acceptable(without[n])]
        removed: list[str] = []
        new_auc = current_auc
        # try the free removals together, then halves, down to the single cheapest; never
        # all of them: when no feature carries signal (a tiny or very imbalanced set, where
        # every removal is free) the last one stays, as the loop keeps one anyway, and a
        # model of no feature is not a model (LightGBM refuses to fit one)
        batch = free[: len(current) - 1]
        while len(batch) > 1:
            trial = [n for n in current if n not in batch]
            auc = selection_auc(design.subset(trial), y, settings, splits)
            if acceptable(auc):
                removed, new_auc = batch, auc
                break
            batch = batch[: len(batch) // 2]
        if not removed and free:
            removed, new_auc = free[:1], without[free[0]]
        if not removed:
            break
        for name in removed:
            decisions.append(decision(
                name, False, -cost[name], without[name], step,
                f"dropped at step {step}: removing it costs {cost[name]:+.4f} AUC, within the "
                f"step tolerance {step_tol:.4f} (noise SD {noise:.4f}), and the set stays "
                f"within {settings.minimise_tolerance} of the full set ({full_auc:.4f})"))
        current = [n for n in current if n not in removed]
        current_auc = new_auc
    # every kept feature: what its removal would cost at the final step
    for name in current:
        if len(current) == 1:
            decisions.append(decision(name, True, float("nan"), float("nan"), step + 1,
                                      "kept: last remaining feature"))
            continue
        auc = selection_auc(design.subset([n for n in current if n != name]), y, settings,
                            splits) if step == 0 or name not in without else without[name]
        change = auc - current_auc
        reason = (f"kept: removing it costs {-change:.4f} AUC, more than the step tolerance "
                  f"{step_tol:.4f} (noise SD {noise:.4f})" if auc >= floor or -change > step_tol
                  else f"kept: without it AUC {auc:.4f} falls below the floor {floor:.4f}")
        decisions.append(decision(name, True, change, auc, step + 1, reason))
    decisions.sort(key=lambda d: (not d.kept, -d.mean_abs_shap))
    return Minimisation(full_auc=full_auc, final_auc=current_auc,
                        tolerance=settings.minimise_tolerance,
                        selected=[f.name for f in design.features if f.name in current],
                        decisions=decisions, step_tolerance=step_tol, noise_sd=noise,
                        duplicates=duplicates)


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
