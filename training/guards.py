"""Checks that stop a run before anything is logged: too little data, identifiers, leaks.

Each refusal is a `DataError` naming the column (or the counts) and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.dataset_schema import DatasetSchema
from training.config import TrainSettings
from training.data import DataError
from training.modeling import fast_auc

# Below this many distinct values a column cannot look like an identifier.
_MIN_IDENTIFIER_VALUES = 50
# Below this many categories seen once, a column's rare categories are left alone.
_MIN_RARE_VALUES = 10
# Single-feature models: numbers are cut into this many quantile bins (plus one for gaps).
_SINGLE_FEATURE_BINS = 20


def check_enough_data(y: np.ndarray, settings: TrainSettings) -> None:
    """Refuse data too small for the cross-validation and the held-out test split.

    Every fold of the selection rows, and the held-out test rows, need at least
    `min_class_per_fold` rows of each class, or the AUCs are NaN or noise.
    """
    need = settings.min_class_per_fold
    folds = settings.cv_folds
    share = 1.0 - settings.test_fraction
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    # the held-out split keeps `test_fraction` of each class; folds split the rest
    per_fold = {"positive (churn)": positives * share / folds,
                "negative": negatives * share / folds}
    per_test = {"positive (churn)": positives * settings.test_fraction,
                "negative": negatives * settings.test_fraction}
    short = [name for name in per_fold
             if per_fold[name] < need or (settings.test_fraction > 0 and per_test[name] < need)]
    if not short:
        _check_leaf_size(len(y), settings)
        return
    split = (f"{settings.test_fraction:.0%} of the rows are held out for the honest estimate "
             f"and the rest split into {folds} folds" if settings.test_fraction > 0
             else f"the rows are split into {folds} folds")
    slices = folds + (1 if settings.test_fraction > 0 else 0)
    factor = max(folds / share, 1 / settings.test_fraction if settings.test_fraction else 0)
    wanted = int(np.ceil(need * factor))
    raise DataError(
        f"too little data to train and measure a model: {len(y)} rows, {positives} positive "
        f"(churn) and {negatives} negative; {split}, so each of the {slices} parts gets about "
        f"{positives / slices:.1f} positive and {negatives / slices:.1f} negative rows, but at "
        f"least {need} of each class per part are needed (CHURN_MIN_CLASS_PER_FOLD). Add rows "
        f"(at least {wanted} of each class), or lower CHURN_CV_FOLDS (now {folds}, minimum 2)."
    )


def _check_leaf_size(rows: int, settings: TrainSettings) -> None:
    """Refuse data whose cross-validation models could not split once: each is fitted on
    (folds - 1) / folds of the selection rows, and a leaf needs `min_child_samples` rows.
    Below twice that, every tree is a single leaf: selection compares constant scores
    (ROC-AUC 0.5 whatever it keeps) and the model registered would say nothing."""
    fitted_on = int(rows * (1.0 - settings.test_fraction) * (settings.cv_folds - 1)
                    / settings.cv_folds)
    need = 2 * settings.min_child_samples
    if fitted_on >= need:
        return
    wanted = int(np.ceil(need * settings.cv_folds
                         / ((1.0 - settings.test_fraction) * (settings.cv_folds - 1))))
    raise DataError(
        f"too little data for the model's leaf size: {rows} rows, so each cross-validation "
        f"model is fitted on about {fitted_on} rows, but a leaf needs at least "
        f"{settings.min_child_samples} rows (CHURN_MIN_CHILD_SAMPLES), so no tree could split "
        f"even once (that needs {need} rows) and the model would give every customer the same "
        f"score. Add rows (at least {wanted} in all), or lower CHURN_MIN_CHILD_SAMPLES to at "
        f"most {max(1, fitted_on // 2)} (fewer rows per leaf: a noisier model)."
    )


def _integral(values: pd.Series) -> bool:
    present = values.dropna().to_numpy(dtype=np.float64)
    return bool(len(present)) and bool(np.all(np.isfinite(present))) \
        and bool(np.all(present == np.floor(present)))


def check_identifiers(candidates: pd.DataFrame, settings: TrainSettings) -> None:
    """Refuse a candidate that looks like an identifier: text or whole numbers that are
    unique, or nearly, per row (an account number the schema does not name)."""
    found = []
    for col in candidates.columns:
        series = candidates[col]
        present = series.dropna()
        if len(present) < _MIN_IDENTIFIER_VALUES:
            continue
        if pd.api.types.is_numeric_dtype(series) and not _integral(series):
            continue  # measured amounts (charges) are often unique without being ids
        share = present.nunique() / len(present)
        if share >= settings.identifier_unique_share:
            found.append((col, share))
    if found:
        names = ", ".join(f"{c!r} ({s:.0%} of its values are distinct)" for c, s in found)
        first = found[0][0]
        raise DataError(
            f"column(s) {names} look like identifiers: unique or nearly unique per row, so a "
            "model would learn them by heart and every raw value would end up in the model. "
            f"If {first!r} identifies the customer, set `id_column: {first}` in the schema "
            f"(it is then pseudonymised); otherwise list it under `drop: [{first}]`."
        )


def check_unseen_categories(candidates: pd.DataFrame, schema: DatasetSchema,
                            settings: TrainSettings) -> None:
    """Refuse a text candidate with so many rare categories that customers scored later
    would often carry one the model never saw (the service refuses such a value): a
    city, a free-text field, a product code. The share is estimated as Good and Turing
    did, by the share of rows whose category appears once (`unseen_share`). A column the
    schema declares categorical or ordinal is kept as declared."""
    found = []
    for col in candidates.columns:
        series = candidates[col]
        note = schema.features.get(col)
        if pd.api.types.is_numeric_dtype(series) or (
                note is not None and note.type in ("categorical", "ordinal")):
            continue
        counts = series.dropna().value_counts()
        once = int((counts == 1).sum())
        share = once / max(1, int(counts.sum()))
        if once >= _MIN_RARE_VALUES and share > settings.max_unseen_share:
            found.append((col, len(counts), once, share))
    if not found:
        return
    col, categories, once, share = found[0]
    also = ", ".join(f"{c!r} ({s:.1%})" for c, _n, _o, s in found[1:])
    raise DataError(
        f"column {col!r} has {categories:,} categories, {once:,} of them seen only once: "
        f"about {share:.1%} of the customers scored later would carry a category the model "
        f"never saw, and the service refuses such a value (more than "
        f"CHURN_MAX_UNSEEN_SHARE, {settings.max_unseen_share:.1%})"
        f"{f'; so would {also}' if also else ''}. "
        f"Group its rare categories into one (such as 'other') in the file, derive a number "
        f"from it, or list it under `drop: [{col}]`; declaring it `type: categorical` in the "
        "schema's features notes keeps it as it is."
    )


@dataclass
class SingleFeature:
    auc: dict[str, float]  # candidate -> cross-validated ROC-AUC of a model of it alone


def _codes(series: pd.Series, train: np.ndarray) -> np.ndarray:
    """Integer codes for a single-feature model: categories, or quantile bins of numbers
    fitted on the training rows; missing values get their own code."""
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        fit = values[train]
        fit = fit[~np.isnan(fit)]
        edges = np.unique(np.quantile(fit, np.linspace(0, 1, _SINGLE_FEATURE_BINS + 1)[1:-1])) \
            if len(fit) else np.array([])
        codes = np.searchsorted(edges, values, side="right")
        return np.where(np.isnan(values), len(edges) + 1, codes)
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    return np.where(codes < 0, codes.max() + 1, codes)


def single_feature_auc(candidates: pd.DataFrame, y: np.ndarray,
                       splits: list[tuple[np.ndarray, np.ndarray]]) -> SingleFeature:
    """Each candidate alone, cross-validated: its categories (or quantile bins) scored by
    their churn rate on the other folds (smoothed towards the overall rate)."""
    out = {}
    for col in candidates.columns:
        series = candidates[col]
        score = np.empty(len(y))
        for train, test in splits:
            codes = _codes(series, train)
            size = codes.max() + 1
            n = np.bincount(codes[train], minlength=size)
            k = np.bincount(codes[train], weights=y[train], minlength=size)
            prior = y[train].mean()
            rate = (k + 5 * prior) / (n + 5)
            score[test] = rate[codes[test]]
        out[col] = fast_auc(y, score)
    return SingleFeature(auc=out)


def check_leaks(single: SingleFeature, schema: DatasetSchema, settings: TrainSettings) -> None:
    """Refuse a candidate that alone predicts the outcome almost perfectly, unless the
    schema acknowledges it by name (`not_leaking:`)."""
    suspects = [(c, a) for c, a in single.auc.items()
                if a >= settings.leak_auc and c not in schema.not_leaking]
    if suspects:
        names = ", ".join(f"{c!r} (ROC-AUC {a:.3f} alone)" for c, a in suspects)
        first = suspects[0][0]
        raise DataError(
            f"suspected leak: column(s) {names} predict the outcome almost perfectly on their "
            f"own (threshold CHURN_LEAK_AUC={settings.leak_auc}). A column computed from, or "
            "recorded after, the outcome (a closing date, a cancellation reason) makes a model "
            f"that fails in use. Remove it with `drop: [{first}]`, or, if you are sure it is "
            f"known before the customer leaves, acknowledge it with `not_leaking: [{first}]`."
        )
