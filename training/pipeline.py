"""`train` and `evaluate`: from a data file to a logged, registered, audited model."""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from models import ChurnModel, DecisionSpec, ModelSpec
from models.dataset_schema import DatasetSchema
from models.signature import signature_for
from training import model_card, plots, synthetic
from training.calibration import CalibrationChoice, choose_calibration
from training.config import TrainSettings
from training.data import PreparedData, load_table, prepare
from training.evaluation import FairnessReport, ProfitCurve, fairness_audit, quality_metrics
from training.minimise import Minimisation, minimise, no_minimisation
from training.modeling import (
    CrossValidation,
    Design,
    cross_validate,
    feature_specs,
    fit_booster,
    folds,
)
from training.registry import CHALLENGER, log_model, set_alias, setup_tracking

log = logging.getLogger("training")


@dataclass
class TrainResult:
    run_id: str
    model_name: str
    model_version: str
    model_uri: str
    summary: dict[str, Any]


def load_dataset(data: str | Path | None, schema: str | Path | None,
                 settings: TrainSettings) -> tuple[pd.DataFrame, DatasetSchema, str]:
    """The data and its schema; the built-in synthetic data when `data` is None."""
    if data is None:
        if schema is not None:
            raise ValueError("SCHEMA= was given without DATA=; give both, or neither for the "
                             "built-in synthetic data")
        frame = synthetic.generate(settings.synthetic_rows, settings.seed)
        return frame, DatasetSchema.load(synthetic.SCHEMA_PATH), \
            f"synthetic(rows={settings.synthetic_rows}, seed={settings.seed})"
    if schema is None:
        raise ValueError(f"DATA={data} needs SCHEMA=<yaml> describing its columns "
                         "(see training/datasets/telco.yaml for an example)")
    return load_table(data), DatasetSchema.load(schema), Path(data).name


def _decision(y: np.ndarray, probability: np.ndarray, fraction: float) -> DecisionSpec:
    """High band = the profit-optimal top fraction; medium = the next band of equal size."""
    if fraction <= 0:
        high = float(min(1.0, probability.max() + 1e-9))
        return DecisionSpec(contact_fraction=0.0, high_threshold=high, medium_threshold=high,
                            basis="no contact fraction is profitable under the campaign costs")
    high = float(np.quantile(probability, 1.0 - fraction, method="higher"))
    medium = float(np.quantile(probability, max(0.0, 1.0 - 2 * fraction), method="higher"))
    return DecisionSpec(contact_fraction=fraction, high_threshold=high,
                        medium_threshold=min(medium, high),
                        basis="profit-optimal contact fraction on out-of-fold calibrated scores")


def _input_example(data: PreparedData, selected: list[str]) -> pd.DataFrame:
    """Real training rows for the signature example, one of them with a missing value."""
    frame = data.candidates[selected]
    missing_rows = frame.index[frame.isna().any(axis=1)]
    complete_rows = frame.index[~frame.isna().any(axis=1)]
    picks = list(missing_rows[:1]) + list(complete_rows[: 3 - min(1, len(missing_rows))])
    example = frame.loc[picks].reset_index(drop=True)
    numeric = [c for c in selected if pd.api.types.is_numeric_dtype(frame[c])]
    example[numeric] = example[numeric].astype("float64")
    if len(missing_rows) == 0 and numeric:
        # no real row has a gap in the kept features: show how to send one anyway
        example.loc[0, numeric[-1]] = np.nan
    return example


@dataclass
class Fitted:
    """Everything a training run computes, before anything is logged: a pure result.

    `fit` builds it from data alone (no MLflow, no files); `log_run` logs and registers it.
    """

    settings: TrainSettings
    schema: DatasetSchema
    source: str
    y: np.ndarray
    kept: Design  # the encoded design of the kept features, all rows
    selection: Minimisation
    cv: CrossValidation  # out-of-fold margins of the kept set
    calibration: CalibrationChoice
    metrics: dict[str, float]
    curve: ProfitCurve
    decision: DecisionSpec
    fairness: FairnessReport
    booster: lgb.Booster
    spec: ModelSpec
    model: ChurnModel
    input_example: pd.DataFrame
    summary: dict[str, Any]  # JSON-ready; `log_run` adds the run and registry fields
    started: float  # perf_counter at the start of `fit`

    @property
    def run_params(self) -> dict[str, Any]:
        """This run's own parameters, beside the settings."""
        return {"source": self.source, "rows": len(self.y),
                "n_candidates": len(self.summary["candidate_features"]),
                "n_selected": len(self.selection.selected),
                "selected_features": ",".join(self.selection.selected),
                "calibration": self.calibration.spec.method}


def train(settings: TrainSettings, data: str | Path | None = None,
          schema: str | Path | None = None, summary_path: str | Path | None = None) -> TrainResult:
    """Train, evaluate, audit, log and register a churn model; set alias `challenger`."""
    return log_run(fit(settings, data, schema), summary_path)


def fit(settings: TrainSettings, data: str | Path | None = None,
        schema: str | Path | None = None) -> Fitted:
    """Load, check, minimise, fit, calibrate, evaluate and audit: no logging, no files."""
    started = time.perf_counter()
    frame, dataset_schema, source = load_dataset(data, schema, settings)
    prepared = prepare(frame, dataset_schema, settings.pseudonym_secret)
    del frame  # the raw ids go no further
    y = prepared.y
    features = feature_specs(prepared.candidates, dataset_schema)
    design = Design.build(prepared.candidates, features, dataset_schema)
    splits = folds(y, settings)

    log.info("minimising %d candidates", len(features))
    selection = minimise(design, y, settings, splits) if settings.minimise \
        else no_minimisation(design)
    kept = design.subset(selection.selected)

    cv = cross_validate(kept, y, settings, splits)
    calib = choose_calibration(cv.margin, y, splits)
    metrics, curve = quality_metrics(y, calib.oof_probability, cv.margin, settings)
    metrics["cv_roc_auc_mean"] = float(np.mean(cv.fold_auc))
    metrics["cv_roc_auc_std"] = float(np.std(cv.fold_auc))
    metrics["brier_uncalibrated"] = calib.brier["none"]
    metrics["brier_isotonic"] = calib.brier["isotonic"]
    metrics["brier_sigmoid"] = calib.brier["sigmoid"]
    decision = _decision(y, calib.oof_probability, metrics["profit_optimal_fraction"])
    fairness = fairness_audit(y, calib.oof_probability >= decision.high_threshold,
                              prepared.sensitive)
    metrics["max_equalized_odds_difference"] = fairness.max_equalized_odds
    metrics["max_demographic_parity_difference"] = max(
        (v["demographic_parity_difference"] for v in fairness.summary.values()), default=0.0)

    booster = fit_booster(kept, y, settings)
    spec = ModelSpec(
        dataset=dataset_schema.name, target=dataset_schema.target.column,
        positive_label=dataset_schema.target.positive, features=kept.features,
        calibration=calib.spec, decision=decision,
        base_value=float(booster.predict(kept.X[:1], pred_contrib=True)[0, -1]),
        training_rows=len(y), trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    model = ChurnModel.from_parts(booster, spec)

    evaluation = {
        "method": (
            f"All metrics are out-of-fold: {settings.cv_folds}-fold stratified cross-validation "
            f"(shuffled, seed {settings.seed}) over all {len(y)} rows; every row is scored by a "
            "model that never saw it. Calibration maps are cross-fitted on the same folds. "
            "Feature selection used the same folds, so the figures of the kept set are "
            "slightly optimistic."),
        "cv_folds": settings.cv_folds,
        "rows": len(y),
        "split": "out-of-fold",
        "roc_auc_on": "raw margin (ranking); calibration is monotone",
    }
    summary: dict[str, Any] = {
        "dataset": dataset_schema.name,
        "source": source,
        "rows": len(y),
        "positive_rate": float(y.mean()),
        "rows_with_missing": prepared.rows_with_missing,
        "coerced_numeric_columns": prepared.coerced,
        "sensitive": list(dataset_schema.sensitive),
        "candidate_features": prepared.candidate_names,
        "selected_features": selection.selected,
        "minimisation": {"tolerance": selection.tolerance, "full_auc": selection.full_auc,
                         "final_auc": selection.final_auc,
                         "features": selection.table().to_dict(orient="records")},
        "metrics": metrics,
        "calibration": {"method": calib.spec.method, "brier": calib.brier},
        "decision": decision.model_dump(),
        "fairness": fairness.summary,
        "evaluation": evaluation,
    }
    return Fitted(settings=settings, schema=dataset_schema, source=source, y=y, kept=kept,
                  selection=selection, cv=cv, calibration=calib, metrics=metrics, curve=curve,
                  decision=decision, fairness=fairness, booster=booster, spec=spec, model=model,
                  input_example=_input_example(prepared, selection.selected), summary=summary,
                  started=started)


def settings_params(settings: TrainSettings) -> dict[str, Any]:
    """The settings as MLflow parameters, from the settings object itself (no secret, no
    machine path)."""
    values = settings.model_dump(exclude={"pseudonym_key", "tracking_uri", "artifact_root",
                                          "reports_dir"})
    return {k: v for k, v in values.items() if v is not None}


def log_run(fitted: Fitted, summary_path: str | Path | None = None) -> TrainResult:
    """Log a fitted model as one MLflow run, register it and set alias `challenger`."""
    settings = fitted.settings
    summary = fitted.summary
    experiment_id = setup_tracking(settings)
    with mlflow.start_run(experiment_id=experiment_id,
                          run_name=f"train-{fitted.schema.name}") as run, \
            tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        mlflow.set_tags({"dataset": fitted.schema.name, "stage": "train"})
        mlflow.log_params({**settings_params(settings), **fitted.run_params})
        mlflow.log_metrics({k: v for k, v in _flat_metrics(summary).items()
                            if isinstance(v, float | int) and math.isfinite(v)})
        _log_reports(out, fitted)
        uri, version = log_model(fitted.model, out / "model_parts", signature_for(fitted.spec),
                                 fitted.input_example, settings.model_name)
        set_alias(settings.model_name, CHALLENGER, version)
        summary.update({"run_id": run.info.run_id, "model_name": settings.model_name,
                        "model_version": version, "model_uri": uri,
                        "alias": CHALLENGER,
                        "training_seconds": round(time.perf_counter() - fitted.started, 2)})
        mlflow.log_dict(summary, "summary.json")
    _write_summary(summary, settings.reports_dir / "last_run.json", summary_path)
    return TrainResult(run_id=summary["run_id"], model_name=settings.model_name,
                       model_version=version, model_uri=uri, summary=summary)


def _flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    out = dict(summary["metrics"])
    for attribute, values in summary["fairness"].items():
        for key, value in values.items():
            out[f"fairness_{attribute}_{key}"] = value
    out["minimisation_full_auc"] = summary["minimisation"]["full_auc"]
    out["minimisation_final_auc"] = summary["minimisation"]["final_auc"]
    out["n_selected_features"] = float(len(summary["selected_features"]))
    return out


def _log_reports(out: Path, fitted: Fitted) -> None:
    """Plots, tables and the model card of a fitted model, into the active run."""
    y, kept, settings = fitted.y, fitted.kept, fitted.settings
    figures = out / "plots"
    figures.mkdir()
    raw = 1.0 / (1.0 + np.exp(-fitted.cv.margin))
    plots.roc_plot(y, fitted.cv.margin, fitted.metrics["roc_auc"], figures / "roc.png")
    plots.calibration_plot(y, raw, fitted.calibration.oof_probability,
                           figures / "calibration.png")
    plots.gain_lift_plot(y, fitted.calibration.oof_probability, fitted.curve,
                         figures / "gain_lift_profit.png")
    sample = np.random.default_rng(settings.seed).choice(len(y), size=min(2000, len(y)),
                                                         replace=False)
    phi = fitted.booster.predict(kept.X[sample], pred_contrib=True)[:, :-1]
    plots.shap_summary_plot(phi, kept.X[sample], [f.name for f in kept.features],
                            figures / "shap_summary.png")
    plots.fairness_plot(fitted.fairness.by_group, figures / "fairness.png")
    mlflow.log_artifacts(str(figures), "plots")

    tables = out / "tables"
    tables.mkdir()
    minimisation = fitted.selection.table()
    minimisation.to_csv(tables / "minimisation.csv", index=False)
    fitted.fairness.by_group.to_csv(tables / "fairness_by_group.csv", index=False)
    mlflow.log_artifacts(str(tables), "tables")
    mlflow.log_text(model_card.render(spec=fitted.spec, model_name=settings.model_name,
                                      summary=fitted.summary, minimisation=minimisation,
                                      fairness=fitted.fairness.by_group), "model_card.md")


def _write_summary(summary: dict[str, Any], default: Path, extra: str | Path | None) -> None:
    text = json.dumps(summary, indent=2, default=_json_default)
    for path in filter(None, [default, Path(extra) if extra else None]):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def evaluate(settings: TrainSettings, model_uri: str, data: str | Path | None = None,
             schema: str | Path | None = None) -> dict[str, Any]:
    """Evaluate a registered model on other data; logged as its own MLflow run."""
    frame, dataset_schema, source = load_dataset(data, schema, settings)
    prepared = prepare(frame, dataset_schema, settings.pseudonym_secret)
    experiment_id = setup_tracking(settings)
    model: ChurnModel = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    spec = model.spec
    assert spec is not None
    absent = [n for n in spec.feature_names if n not in prepared.candidates.columns]
    if absent:
        raise ValueError(f"the data lacks the model's feature(s) {absent}; evaluate on data "
                         "with the same columns the model was trained on")
    explanation = model.explain_frame(prepared.candidates)
    y = prepared.y
    metrics, _ = quality_metrics(y, explanation.score, explanation.margin, settings)
    selected = explanation.score >= spec.decision.high_threshold
    metrics["routed_fraction"] = float(selected.mean())
    fairness = fairness_audit(y, selected, prepared.sensitive)
    metrics["max_equalized_odds_difference"] = fairness.max_equalized_odds
    summary = {
        "model_uri": model_uri, "dataset": dataset_schema.name, "source": source,
        "rows": len(y), "metrics": metrics, "fairness": fairness.summary,
        "evaluation": {"split": "external", "method": "The registered model scores every row "
                       "of the given data once; nothing is refitted."},
    }
    with mlflow.start_run(experiment_id=experiment_id,
                          run_name=f"evaluate-{dataset_schema.name}") as run:
        mlflow.set_tags({"dataset": dataset_schema.name, "stage": "evaluate",
                         "model_uri": model_uri})
        mlflow.log_params({"model_uri": model_uri, "source": source, "rows": len(y)})
        mlflow.log_metrics({k: v for k, v in _flat_metrics(
            {**summary, "minimisation": {"full_auc": float("nan"), "final_auc": float("nan")},
             "selected_features": spec.feature_names}).items() if math.isfinite(v)})
        mlflow.log_table(fairness.by_group, "tables/fairness_by_group.json")
        summary["run_id"] = run.info.run_id
        mlflow.log_dict(summary, "summary.json")
    _write_summary(summary, settings.reports_dir / "last_evaluation.json", None)
    return summary
