"""`train` and `evaluate`: from a data file to a logged, registered, audited model."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable, Container
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from models import ChurnModel, DecisionSpec, ModelSpec
from models.dataset_schema import DatasetSchema
from models.reference import feature_references, reference_of
from models.signature import signature_for
from models.wording import reference_quantiles
from training import model_card, plots, synthetic
from training.calibration import CalibrationChoice, choose_calibration
from training.config import TrainSettings
from training.data import PreparedData, load_table, prepare
from training.evaluation import (
    FairnessReport,
    ProfitCurve,
    fairness_audit,
    quality_metrics,
    sensitive_groups,
)
from training.guards import (
    check_enough_data,
    check_identifiers,
    check_leaks,
    check_unseen_categories,
    single_feature_auc,
)
from training.minimise import Minimisation, minimise, no_minimisation
from training.modeling import (
    CrossValidation,
    Design,
    acceptable_name,
    cross_validate,
    fast_auc,
    feature_specs,
    fit_booster,
    folds,
    holdout_split,
    logistic_baseline,
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


@dataclass
class Provenance:
    """Where the data came from, with SHA-256 digests of the data and the schema."""

    source: str  # file name, or the synthetic generator's arguments
    data_path: str | None  # resolved path of the data file; None for synthetic data
    schema_path: str
    data_sha256: str
    schema_sha256: str
    synthetic_rows: int | None = None
    synthetic_seed: int | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_dataset(data: str | Path | None, schema: str | Path | None,
                 settings: TrainSettings) -> tuple[pd.DataFrame, DatasetSchema, str]:
    """The data and its schema; the built-in synthetic data when `data` is None."""
    frame, dataset_schema, provenance = load_with_provenance(data, schema, settings)
    return frame, dataset_schema, provenance.source


def load_with_provenance(data: str | Path | None, schema: str | Path | None,
                         settings: TrainSettings, synthetic_rows: int | None = None,
                         synthetic_seed: int | None = None
                         ) -> tuple[pd.DataFrame, DatasetSchema, Provenance]:
    """`load_dataset` with where the data came from and its digests."""
    if data is None:
        if schema is not None:
            raise ValueError("SCHEMA= was given without DATA=; give both, or neither for the "
                             "built-in synthetic data")
        rows = synthetic_rows or settings.synthetic_rows
        seed = settings.seed if synthetic_seed is None else synthetic_seed
        frame = synthetic.generate(rows, seed)
        blob = frame.to_csv(index=False).encode("utf-8")
        return frame, DatasetSchema.load(synthetic.SCHEMA_PATH), Provenance(
            source=f"synthetic(rows={rows}, seed={seed})", data_path=None,
            schema_path=str(synthetic.SCHEMA_PATH), data_sha256=hashlib.sha256(blob).hexdigest(),
            schema_sha256=_sha256(synthetic.SCHEMA_PATH), synthetic_rows=rows,
            synthetic_seed=seed)
    if schema is None:
        raise ValueError(f"DATA={data} needs SCHEMA=<yaml> describing its columns "
                         "(see training/datasets/telco.yaml for an example)")
    frame, dataset_schema = load_table(data), DatasetSchema.load(schema)
    return frame, dataset_schema, Provenance(
        source=Path(data).name, data_path=str(Path(data).resolve()),
        schema_path=str(Path(schema).resolve()), data_sha256=_sha256(Path(data)),
        schema_sha256=_sha256(Path(schema)))


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
    provenance: Provenance
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
    row_keys: list[str]  # digests of the training rows' pseudonyms (in-sample checks)

    @property
    def run_params(self) -> dict[str, Any]:
        """This run's own parameters, beside the settings."""
        dropped = self.summary["dropped_constant"]
        return {"source": self.source, "rows": len(self.y),
                "n_candidates": len(self.summary["candidate_features"]),
                "n_selected": len(self.selection.selected),
                "selected_features": param_value(",".join(self.selection.selected),
                                                 "summary.json"),
                "calibration": self.calibration.spec.method,
                "n_dropped_constant": len(dropped),
                **({"dropped_constant": param_value(constant_text(dropped),
                                                    "summary.json")} if dropped else {})}


def train(settings: TrainSettings, data: str | Path | None = None,
          schema: str | Path | None = None, summary_path: str | Path | None = None) -> TrainResult:
    """Train, evaluate, audit, log and register a churn model; set alias `challenger`.

    The tracking store is made ready while the model is fitted, once the data has passed
    its checks (refused data still opens no store): a new local store runs MLflow's schema
    migrations (about 10 s on a fresh clone), Python and SQLite work that fitting
    (LightGBM, which releases the GIL) leaves room for on another core."""
    with ThreadPoolExecutor(1, thread_name_prefix="tracking-store") as pool:
        store: list[Future] = []
        try:
            fitted = fit(settings, data, schema, checked=lambda: store.append(
                pool.submit(setup_tracking, settings)))
        except BaseException:
            for f in store:
                f.exception()  # waited for, never masking the fitting's own error
            raise
        for f in store:
            f.result()  # a store that cannot be used fails the run here, as before
    return log_run(fitted, summary_path)


def fit(settings: TrainSettings, data: str | Path | None = None,
        schema: str | Path | None = None,
        checked: Callable[[], object] | None = None) -> Fitted:
    """Load, check, minimise, fit, calibrate, evaluate and audit: no logging, no files.
    `checked` is called once the data has passed every check (before minimisation)."""
    started = time.perf_counter()
    frame, dataset_schema, provenance = load_with_provenance(data, schema, settings)
    source = provenance.source
    prepared = prepare(frame, dataset_schema, settings.pseudonym_secret)
    del frame  # the raw ids go no further
    if prepared.dropped_constant:
        log.warning("dropped as constant (no information: the same value, or none, for every "
                    "customer): %s", constant_text(prepared.dropped_constant))
    y = prepared.y
    check_enough_data(y, settings)
    check_identifiers(prepared.candidates, settings)
    check_unseen_categories(prepared.candidates, dataset_schema, settings)
    features = feature_specs(prepared.candidates, dataset_schema)
    design = Design.build(prepared.candidates, features, dataset_schema)

    # the held-out rows: feature selection never sees them (the honest estimate)
    selection_rows, test_rows = holdout_split(y, settings)
    y_sel = y[selection_rows]
    selection_splits = folds(y_sel, settings)
    single = single_feature_auc(prepared.candidates.iloc[selection_rows].reset_index(drop=True),
                                y_sel, selection_splits)
    check_leaks(single, dataset_schema, settings)
    if checked is not None:
        checked()

    log.info("minimising %d candidates on %d rows", len(features), len(selection_rows))
    if settings.minimise:
        selection = minimise(design.rows(selection_rows), y_sel, settings, selection_splits,
                             dataset_schema, single.auc)
    else:
        selection = no_minimisation(design)
    for row in selection.decisions:
        row.single_feature_auc = single.auc.get(row.feature, float("nan"))
    kept = design.subset(selection.selected)
    honest = honest_estimate(kept, y, selection_rows, test_rows, settings)

    splits = folds(y, settings)
    cv = cross_validate(kept, y, settings, splits)
    calib = choose_calibration(cv.margin, y, splits)
    metrics, curve = quality_metrics(y, calib.oof_probability, cv.margin, settings)
    metrics["cv_roc_auc_mean"] = float(np.mean(cv.fold_auc))
    metrics["cv_roc_auc_std"] = float(np.std(cv.fold_auc))
    for method in ("none", "isotonic", "sigmoid"):
        suffix = "uncalibrated" if method == "none" else method
        metrics[f"brier_{suffix}"] = calib.brier[method]
        metrics[f"log_loss_{suffix}"] = calib.log_loss[method]
    metrics.update({f"honest_{k}": v for k, v in honest.items() if isinstance(v, float)})
    decision = _decision(y, calib.oof_probability, metrics["profit_optimal_fraction"])
    groups, grouping = sensitive_groups(prepared.sensitive, dataset_schema)
    fairness = fairness_audit(y, calib.oof_probability >= decision.high_threshold, groups,
                              min_group=settings.fairness_min_group,
                              n_boot=settings.fairness_bootstrap, seed=settings.seed,
                              grouping=grouping)
    if fairness.audited:
        metrics["max_equalized_odds_difference"] = fairness.max_equalized_odds
        metrics["max_equalized_odds_upper_95"] = fairness.max_equalized_odds_upper
        metrics["max_demographic_parity_difference"] = max(
            (v["demographic_parity_difference"] for v in fairness.summary.values()
             if math.isfinite(v["demographic_parity_difference"])), default=float("nan"))

    booster = fit_booster(kept, y, settings)
    spec = ModelSpec(
        dataset=dataset_schema.name, target=dataset_schema.target.column,
        positive_label=dataset_schema.target.positive, features=kept.features,
        calibration=calib.spec, decision=decision,
        base_value=float(booster.predict(kept.X[:1], pred_contrib=True)[0, -1]),
        training_rows=len(y), trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        reference_scores=reference_quantiles(calib.oof_probability),
        feature_reference=feature_references(kept.X, kept.features),
        score_reference=reference_of(calib.oof_probability, "numeric"),
    )
    model = ChurnModel.from_parts(booster, spec)

    held = len(test_rows)
    evaluation = {
        "method": (
            f"Selection-time figures (`metrics`, e.g. roc_auc): out-of-fold, "
            f"{settings.cv_folds}-fold stratified cross-validation (shuffled, seed "
            f"{settings.seed}) over all {len(y)} rows; every row is scored by a model that "
            "never saw it, but feature selection saw "
            f"{len(selection_rows)} of these rows, so they are slightly optimistic. "
            + (f"Honest figures (`honest`, honest_roc_auc): a model of the kept features fitted "
               f"on the {len(selection_rows)} selection rows scores {held} held-out rows "
               "that selection never saw (stratified, same seed)."
               if held else "No rows were held out (CHURN_TEST_FRACTION=0): no honest "
               "estimate.")
            + " Calibration maps are cross-fitted on the out-of-fold margins."),
        "cv_folds": settings.cv_folds,
        "rows": len(y),
        "split": "out-of-fold",
        "honest_split": f"held-out test rows ({held})" if held else "none",
        "roc_auc_on": "raw margin (ranking); calibration is monotone",
    }
    summary: dict[str, Any] = {
        "dataset": dataset_schema.name,
        "source": source,
        "data_sha256": provenance.data_sha256,
        "schema_sha256": provenance.schema_sha256,
        "rows": len(y),
        "positive_rate": float(y.mean()),
        "rows_with_missing": prepared.rows_with_missing,
        "coerced_numeric_columns": prepared.coerced,
        "sensitive": list(dataset_schema.sensitive),
        "candidate_features": prepared.candidate_names,
        # candidates with one value (or none) for every customer: not features, and why
        "dropped_constant": prepared.dropped_constant,
        "selected_features": selection.selected,
        "single_feature_auc": single.auc,
        "minimisation": {"tolerance": selection.tolerance, "full_auc": selection.full_auc,
                         "final_auc": selection.final_auc,
                         "step_tolerance": selection.step_tolerance,
                         "noise_sd": selection.noise_sd,
                         "duplicates": selection.duplicates,
                         "selection_rows": len(selection_rows),
                         "features": selection.table().to_dict(orient="records")},
        "metrics": metrics,
        "honest": honest,
        "calibration": {"method": calib.spec.method, "brier": calib.brier,
                        "log_loss": calib.log_loss, "rule": calib.rule},
        "decision": decision.model_dump(),
        "fairness": fairness.summary,
        "fairness_audit": fairness.describe(),
        "fairness_bootstrap": settings.fairness_bootstrap,
        "fairness_gate_on": ("point estimate" if settings.fairness_gate_on == "point"
                             else "upper end of the 95 % interval"),
        "evaluation": evaluation,
    }
    keys = [] if prepared.pseudonyms is None else [
        hashlib.sha256(p.encode()).hexdigest()[:16] for p in prepared.pseudonyms]
    return Fitted(settings=settings, schema=dataset_schema, source=source,
                  provenance=provenance, y=y, kept=kept,
                  selection=selection, cv=cv, calibration=calib, metrics=metrics, curve=curve,
                  decision=decision, fairness=fairness, booster=booster, spec=spec, model=model,
                  input_example=_input_example(prepared, selection.selected), summary=summary,
                  started=started, row_keys=keys)


def constant_text(dropped: dict[str, str]) -> str:
    """The columns dropped as constant and why, on one line: "Branch: holds the one value
    'Paris' in all 600 rows; Notes: is empty in all 600 rows"."""
    return "; ".join(f"{name}: {why}" for name, why in dropped.items())


def honest_estimate(kept: Design, y: np.ndarray, selection_rows: np.ndarray,
                    test_rows: np.ndarray, settings: TrainSettings) -> dict[str, Any]:
    """The kept features' model fitted on the selection rows, scored on the held-out rows
    selection never saw; a logistic-regression baseline on the same split beside it."""
    if len(test_rows) == 0:
        return {"split": "none", "note": "no held-out rows (CHURN_TEST_FRACTION=0)"}
    booster = fit_booster(kept, y, settings, rows=selection_rows)
    margin = booster.predict(kept.X[test_rows], raw_score=True)
    y_test = y[test_rows]
    rng = np.random.default_rng(settings.seed)
    boot = []
    for _ in range(200):
        pick = rng.integers(0, len(test_rows), len(test_rows))
        if 0 < y_test[pick].sum() < len(pick):
            boot.append(fast_auc(y_test[pick], margin[pick]))
    baseline = logistic_baseline(kept, y, selection_rows, test_rows)
    return {
        "split": "held-out test rows, never seen by feature selection",
        "rows": int(len(test_rows)),
        "roc_auc": float(roc_auc_score(y_test, margin)),
        "roc_auc_lo": float(np.percentile(boot, 2.5)),
        "roc_auc_hi": float(np.percentile(boot, 97.5)),
        "pr_auc": float(average_precision_score(y_test, margin)),
        "baseline_logreg_roc_auc": float(roc_auc_score(y_test, baseline)),
    }


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
        mlflow.set_tags({"dataset": fitted.schema.name, "stage": "train",
                         "fairness_audited": str(fitted.fairness.audited).lower(),
                         **provenance_tags(fitted.provenance)})
        mlflow.log_params({**settings_params(settings), **fitted.run_params})
        log_inputs(fitted.provenance, fitted.schema.name, "training")
        if fitted.row_keys:
            mlflow.log_text("\n".join(fitted.row_keys), "provenance/row_keys.txt")
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


def provenance_tags(provenance: Provenance) -> dict[str, str]:
    """Run tags that let `promote` and `evaluate` find and check the data again."""
    tags = {"data_sha256": provenance.data_sha256, "schema_sha256": provenance.schema_sha256,
            "schema_path": provenance.schema_path}
    if provenance.data_path:
        tags["data_path"] = provenance.data_path
    else:
        tags["synthetic_rows"] = str(provenance.synthetic_rows)
        tags["synthetic_seed"] = str(provenance.synthetic_seed)
    return tags


def log_inputs(provenance: Provenance, name: str, context: str) -> None:
    """The data file and the schema as MLflow dataset inputs with their SHA-256 digests."""
    from mlflow.data.http_dataset_source import HTTPDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    for kind, path, digest in (("data", provenance.data_path, provenance.data_sha256),
                               ("schema", provenance.schema_path, provenance.schema_sha256)):
        # a file URI (or, for the synthetic data, the generator's arguments)
        location = Path(path).as_uri() if path else f"synthetic:{provenance.source}"
        dataset = MetaDataset(source=HTTPDatasetSource(location), name=f"{name}-{kind}",
                              digest=digest[:32])
        mlflow.log_input(dataset, context=f"{context}-{kind}",
                         tags={"sha256": digest, "kind": kind})


# What MLflow accepts in a metric or parameter name on every system (no colon: Windows)
_UNSAFE_IN_KEY = re.compile(r"[^/\w.\- ]")
MAX_PARAM_CHARS = 6000  # MLflow's longest parameter value


def metric_key(text: str, taken: Container[str] = ()) -> str:
    """`text` as an MLflow metric name (`acceptable_name`): a data set's column may be
    called "Age (years)" or "Balance €"."""
    return acceptable_name(text, _UNSAFE_IN_KEY, taken)


def param_value(text: str, whole: str) -> str:
    """`text` as an MLflow parameter value: cut to MLflow's limit with a pointer to
    `whole`, the artifact that holds all of it (a data set with hundreds of columns)."""
    if len(text) <= MAX_PARAM_CHARS:
        return text
    tail = f"... (cut: all of it in {whole})"
    return text[:MAX_PARAM_CHARS - len(tail)] + tail


def _flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    out = dict(summary["metrics"])
    for attribute, values in summary["fairness"].items():
        for key, value in values.items():
            out[metric_key(f"fairness_{attribute}_{key}", out)] = value
    out["minimisation_full_auc"] = summary["minimisation"]["full_auc"]
    out["minimisation_final_auc"] = summary["minimisation"]["final_auc"]
    out["minimisation_noise_sd"] = summary["minimisation"].get("noise_sd", float("nan"))
    out["minimisation_step_tolerance"] = summary["minimisation"].get("step_tolerance",
                                                                      float("nan"))
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


def resolve_version(model_uri: str) -> tuple[str, str, str]:
    """(name, exact version, run id) behind `models:/name@alias` or `models:/name/version`."""
    from mlflow import MlflowClient

    client = MlflowClient()
    if not model_uri.startswith("models:/"):
        raise ValueError(f"MODEL={model_uri} is not a registered model URI; use "
                         "models:/<name>@<alias> or models:/<name>/<version>")
    rest = model_uri[len("models:/"):]
    if "@" in rest:
        name, alias = rest.split("@", 1)
        version = client.get_model_version_by_alias(name, alias)
    else:
        name, number = rest.rsplit("/", 1)
        version = client.get_model_version(name, number)
    return name, str(version.version), version.run_id


def in_sample_share(training_run_id: str, provenance: Provenance,
                    pseudonyms: pd.Series | None) -> tuple[str, float]:
    """How much of the evaluation data the model was trained on: ('same file', 1.0) when the
    digests agree, else the share of rows whose pseudonym was among the training rows."""
    from mlflow import MlflowClient

    run = MlflowClient().get_run(training_run_id)
    if run.data.tags.get("data_sha256") == provenance.data_sha256:
        return "the same data (SHA-256 digests agree)", 1.0
    if pseudonyms is None:
        return "no id column to compare", 0.0
    try:
        text = mlflow.artifacts.load_text(f"runs:/{training_run_id}/provenance/row_keys.txt")
    except Exception:  # the training run kept no row keys (no id column)
        return "the training run kept no row keys", 0.0
    known = set(text.split())
    keys = [hashlib.sha256(p.encode()).hexdigest()[:16] for p in pseudonyms]
    share = float(np.mean([k in known for k in keys])) if keys else 0.0
    return f"{share:.1%} of the rows' pseudonyms were training rows", share


def evaluate(settings: TrainSettings, model_uri: str, data: str | Path | None = None,
             schema: str | Path | None = None) -> dict[str, Any]:
    """Evaluate a registered model on other data; logged as its own MLflow run that names
    the exact model version. Data the model was trained on is labelled in-sample, with a
    warning."""
    frame, dataset_schema, provenance = load_with_provenance(data, schema, settings)
    source = provenance.source
    # a column constant in this file is still the fixed model's input
    prepared = prepare(frame, dataset_schema, settings.pseudonym_secret, drop_constant=False)
    experiment_id = setup_tracking(settings)
    name, version, training_run = resolve_version(model_uri)
    exact_uri = f"models:/{name}/{version}"
    model: ChurnModel = mlflow.pyfunc.load_model(exact_uri).unwrap_python_model()
    spec = model.spec
    assert spec is not None
    absent = [n for n in spec.feature_names if n not in prepared.candidates.columns]
    if absent:
        raise ValueError(f"the data lacks the model's feature(s) {absent}; evaluate on data "
                         "with the same columns the model was trained on")
    why, overlap = in_sample_share(training_run, provenance, prepared.pseudonyms)
    if overlap >= 0.5:
        split = "in-sample"
    elif overlap > 0:
        split = "partly in-sample"
    else:
        split = "external"
    warning = None
    if overlap > 0:
        warning = (f"{split}: {why}; the model was trained on these rows, so these figures "
                   "are optimistic and say nothing about new customers")
        log.warning("evaluation is %s", warning)
    explanation = model.explain_frame(prepared.candidates)
    y = prepared.y
    metrics, _ = quality_metrics(y, explanation.score, explanation.margin, settings)
    selected = explanation.score >= spec.decision.high_threshold
    metrics["routed_fraction"] = float(selected.mean())
    groups, grouping = sensitive_groups(prepared.sensitive, dataset_schema)
    fairness = fairness_audit(y, selected, groups, min_group=settings.fairness_min_group,
                              n_boot=settings.fairness_bootstrap, seed=settings.seed,
                              grouping=grouping)
    if fairness.audited:
        metrics["max_equalized_odds_difference"] = fairness.max_equalized_odds
    summary = {
        "model_uri": exact_uri, "requested_model_uri": model_uri, "model_name": name,
        "model_version": version, "dataset": dataset_schema.name, "source": source,
        "data_sha256": provenance.data_sha256, "rows": len(y), "metrics": metrics,
        "fairness": fairness.summary, "fairness_audit": fairness.describe(),
        "evaluation": {"split": split, "in_sample_share": overlap, "in_sample_check": why,
                       "method": "The registered model scores every row of the given data "
                                 "once; nothing is refitted."},
    }
    if warning:
        summary["warning"] = warning
    with mlflow.start_run(experiment_id=experiment_id,
                          run_name=f"evaluate-{dataset_schema.name}-v{version}") as run:
        mlflow.set_tags({"dataset": dataset_schema.name, "stage": "evaluate",
                         "model_uri": exact_uri, "model_name": name, "model_version": version,
                         "requested_model_uri": model_uri, "split": split,
                         **provenance_tags(provenance)})
        mlflow.log_params({"model_uri": exact_uri, "model_version": version, "source": source,
                           "rows": len(y)})
        log_inputs(provenance, dataset_schema.name, "evaluation")
        mlflow.log_metrics({k: v for k, v in _flat_metrics(
            {**summary, "minimisation": {"full_auc": float("nan"), "final_auc": float("nan")},
             "selected_features": spec.feature_names}).items() if math.isfinite(v)})
        if not fairness.by_group.empty:
            mlflow.log_table(fairness.by_group, "tables/fairness_by_group.json")
        summary["run_id"] = run.info.run_id
        mlflow.log_dict(summary, "summary.json")
    _write_summary(summary, settings.reports_dir / "last_evaluation.json", None)
    return summary
