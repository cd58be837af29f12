"""Feature specs from data, LightGBM fitting, and cross-validated margins."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from models import CalibrationSpec, DecisionSpec, Encoder, FeatureSpec, ModelSpec
from models.dataset_schema import DatasetSchema, SchemaError
from training.config import TrainSettings

_MONOTONE = {"increasing": 1, "decreasing": -1, None: 0}


def feature_specs(candidates: pd.DataFrame, schema: DatasetSchema) -> list[FeatureSpec]:
    """One `FeatureSpec` per candidate column: kind, categories or range, labels, notes."""
    specs = []
    for col in candidates.columns:
        series = candidates[col]
        note = schema.features.get(col)
        kind = note.type if note and note.type else (
            "numeric" if pd.api.types.is_numeric_dtype(series) else "categorical")
        spec: dict = {"name": col, "kind": kind, "nullable": True}
        if kind == "numeric":
            values = pd.to_numeric(series, errors="coerce")
            spec["min"], spec["max"] = float(values.min()), float(values.max())
            seen = values.dropna().to_numpy(dtype=float)
            spec["integer"] = bool(len(seen)) and bool((seen == seen.round()).all())
            if note and note.range is not None:
                spec["lower"], spec["upper"] = map(float, note.range)
        elif kind == "ordinal":
            spec["categories"] = list(note.order)  # type: ignore[union-attr]
        else:
            spec["categories"] = sorted(str(v) for v in series.dropna().unique())
        if note:
            # a monotone constraint only makes sense along an ordered axis
            spec["monotone"] = _MONOTONE[note.monotone] if kind != "categorical" else 0
            spec["label"] = note.label
            spec["value_labels"] = note.values
            spec["unit"] = note.unit
            spec["unit_one"] = note.unit_one
            spec["value_sentences"] = note.sentences
            spec["sentence"] = note.sentence
            spec["description"] = note.description
            spec["purpose"] = note.purpose
            spec["actionable"] = note.actionable
        try:
            specs.append(FeatureSpec(**spec))
        except ValidationError as exc:  # e.g. `actionable` naming a category never seen
            raise SchemaError(f"schema note of {col!r} does not fit the data: "
                              + "; ".join(e["msg"] for e in exc.errors())) from exc
    return specs


def provisional_spec(features: list[FeatureSpec], schema: DatasetSchema) -> ModelSpec:
    """A spec for encoding only (no calibration or decision yet)."""
    return ModelSpec(
        dataset=schema.name,
        target=schema.target.column,
        positive_label=schema.target.positive,
        features=features,
        calibration=CalibrationSpec(method="none"),
        decision=DecisionSpec(contact_fraction=0.0, high_threshold=1.0, medium_threshold=1.0),
    )


@dataclass
class Design:
    """The encoded design matrix for a set of features."""

    X: np.ndarray
    features: list[FeatureSpec]

    @classmethod
    def build(cls, candidates: pd.DataFrame, features: list[FeatureSpec],
              schema: DatasetSchema) -> Design:
        encoder = Encoder(provisional_spec(features, schema))
        return cls(X=encoder.encode_frame(candidates), features=features)

    def rows(self, index: np.ndarray) -> Design:
        """The same features for the rows `index` only."""
        return Design(X=self.X[index], features=self.features)

    def subset(self, names: list[str]) -> Design:
        idx = [i for i, f in enumerate(self.features) if f.name in names]
        return Design(X=self.X[:, idx], features=[self.features[i] for i in idx])


def lgb_params(settings: TrainSettings, features: list[FeatureSpec]) -> dict:
    params = {
        "objective": "binary",
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "min_data_in_leaf": settings.min_child_samples,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "cat_smooth": 20.0,
        "min_data_per_group": 50,
        "num_threads": settings.threads,
        "seed": settings.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    monotone = [f.monotone for f in features]
    if any(monotone):
        params["monotone_constraints"] = monotone
        params["monotone_constraints_method"] = "advanced"
    return params


# LightGBM keeps feature names in its JSON model text and refuses these characters in them
# (a line break splits its list of names); it writes the other control characters (a tab)
# into its JSON dump unescaped, which no JSON reader accepts, so the model could not explain
_LGB_REFUSED = re.compile(r'[",:\[\]{}\x00-\x1f\x7f]')


def acceptable_name(text: str, refused: re.Pattern[str], taken: Container[str] = ()) -> str:
    """`text` with each character a library `refused` in its names replaced by "_", and
    "_2", "_3"... added when that name is already `taken` (two names that differed only
    there). For the names MLflow and LightGBM keep for themselves; the data set's own
    names stay everywhere else."""
    base = refused.sub("_", text)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def booster_feature_names(features: list[FeatureSpec]) -> list[str]:
    """The names LightGBM is given for `features` (`acceptable_name`: a column called
    'Monthly charge, € [EUR]' is 'Monthly charge_ € _EUR_' in the booster's text only).
    The model's spec, its signature, its explanations and every record keep the data
    set's own names: the booster is fed by position."""
    out: list[str] = []
    for f in features:
        out.append(acceptable_name(f.name, _LGB_REFUSED, out))
    return out


def fit_booster(design: Design, y: np.ndarray, settings: TrainSettings,
                rows: np.ndarray | None = None, n_estimators: int | None = None) -> lgb.Booster:
    """Fit LightGBM on `design` (optionally only `rows`)."""
    X = design.X if rows is None else design.X[rows]
    target = y if rows is None else y[rows]
    cat = [i for i, f in enumerate(design.features) if f.kind == "categorical"]
    data = lgb.Dataset(X, label=target, categorical_feature=cat,
                       feature_name=booster_feature_names(design.features), free_raw_data=True,
                       params={"verbose": -1})
    return lgb.train(lgb_params(settings, design.features), data,
                     num_boost_round=n_estimators or settings.n_estimators)


@dataclass
class CrossValidation:
    """Out-of-fold raw margins and per-feature mean |SHAP| for one feature set."""

    margin: np.ndarray
    roc_auc: float  # pooled out-of-fold
    fold_auc: list[float]
    mean_abs_shap: dict[str, float]


def folds(y: np.ndarray, settings: TrainSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    skf = StratifiedKFold(n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed)
    return list(skf.split(np.zeros(len(y)), y))


def cross_validate(design: Design, y: np.ndarray, settings: TrainSettings,
                   splits: list[tuple[np.ndarray, np.ndarray]],
                   n_estimators: int | None = None) -> CrossValidation:
    """Stratified k-fold: every row gets a margin from a model that never saw it."""
    margin = np.empty(len(y))
    shap_abs = np.zeros(len(design.features))
    fold_auc = []
    for train_idx, test_idx in splits:
        booster = fit_booster(design, y, settings, rows=train_idx, n_estimators=n_estimators)
        phi = booster.predict(design.X[test_idx], pred_contrib=True)
        margin[test_idx] = phi.sum(axis=1)
        shap_abs += np.abs(phi[:, :-1]).sum(axis=0)
        fold_auc.append(float(roc_auc_score(y[test_idx], margin[test_idx])))
    shap_abs /= len(y)
    return CrossValidation(
        margin=margin,
        roc_auc=float(roc_auc_score(y, margin)),
        fold_auc=fold_auc,
        mean_abs_shap={f.name: float(v) for f, v in zip(design.features, shap_abs, strict=True)},
    )


def fast_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (ties get their average rank): the same value as
    scikit-learn's, without its input checks, for the many AUCs of selection."""
    from scipy.stats import rankdata

    positives = y == 1
    n1 = int(positives.sum())
    n0 = len(y) - n1
    ranks = rankdata(score)
    return float((ranks[positives].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def holdout_split(y: np.ndarray, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """(selection rows, held-out test rows): a stratified `test_fraction` of the rows that
    feature selection never sees, for the honest estimate. No test rows when it is 0."""
    rows = np.arange(len(y))
    if settings.test_fraction <= 0:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    selection, test = train_test_split(rows, test_size=settings.test_fraction, stratify=y,
                                       random_state=settings.seed)
    return np.sort(selection), np.sort(test)


def logistic_baseline(design: Design, y: np.ndarray, train: np.ndarray,
                      test: np.ndarray) -> np.ndarray:
    """A plain logistic regression on the same features (categories one-hot, numbers
    standardised with a missing-value flag), fitted on `train`; margins for `test`."""
    from sklearn.linear_model import LogisticRegression

    columns = []
    for j, feature in enumerate(design.features):
        x = design.X[:, j]
        missing = np.isnan(x)
        if feature.kind == "categorical":
            for code in range(len(feature.categories)):
                columns.append((x == code).astype(float))
        else:
            fill = np.nanmedian(x[train]) if (~missing[train]).any() else 0.0
            filled = np.where(missing, fill, x)
            sd = filled[train].std() or 1.0
            columns.append((filled - filled[train].mean()) / sd)
        if missing.any():
            columns.append(missing.astype(float))
    Z = np.column_stack(columns)
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(Z[train], y[train])
    return lr.decision_function(Z[test])
