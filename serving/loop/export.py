"""Retraining from the live system: the training table, from the service's own database.

One row per customer, from their latest receipt whose label is known (the horizon has
passed, or they left within it): the values the model read, with the values a reviewer
rectified since put in their place (a rectification corrects a data error, so it corrects
the earlier record too), the observed label (left within `CHURN_LABEL_HORIZON_DAYS`), the
control-group arm, the targeting rule (with the uplift estimate, the customer's value and
the expected retained value when uplift targeting ranked the queue) and the agent's
outcome. Left out: customers whose record is restricted (an open dispute), who objected to
profiling, who were erased, and withdrawn (overturned) receipts. Customers appear only by pseudonym.

Written as Parquet with a generated dataset schema (YAML) that `make train` accepts: the
served model's data set name, target and features with their notes (words, ranges,
ordinal orders, constraints), so a challenger trained on it keeps the champion's contract.
The most recent labelled customers (`recent_fraction`, by scoring time) go to a separate
file that neither model trained on: `make retrain` compares challenger and champion there.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy.orm import Session

from models.spec import FeatureSpec, ModelSpec
from serving.loop.outcomes import labelled_predictions
from serving.storage import outcomes as store

ID_COLUMN = "customer_ref"
# recorded for the data scientist, never features (the schema drops them)
RECORDED = ("scored_at", "model_version", "arm", "targeting", "uplift", "customer_value",
            "expected_value", "task_outcome", "source", "rectified")
TRAIN_FILE, RECENT_FILE, SCHEMA_FILE, REPORT_FILE = (
    "training.parquet", "recent.parquet", "schema.yaml", "export.json")


class ExportError(ValueError):
    """Nothing usable to export: says why and what to do."""


@dataclass
class ExportReport:
    """What an export wrote and what it left out, and why."""

    out_dir: str
    dataset: str
    model: str  # the served model whose contract the schema keeps
    horizon_days: int
    training_rows: int = 0
    recent_rows: int = 0
    churned: int = 0
    arms: dict[str, int] = field(default_factory=dict)
    rectified: int = 0
    left_out_restricted: int = 0
    left_out_objected: int = 0
    left_out_erased: int = 0
    left_out_withdrawn_receipts: int = 0
    left_out_other_features: int = 0
    unlabelled_customers: int = 0
    files: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _negative(positive: str) -> str:
    return {"Yes": "No", "yes": "no", "1": "0", "True": "False", "true": "false",
            "1.0": "0.0"}.get(positive, f"not {positive}")


def _number(value: Any) -> float | None:
    """A stored amount or estimate as a float; None (missing) for NULL or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _localized(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value


def feature_note(f: FeatureSpec) -> dict[str, Any]:
    """The dataset-schema notes that make training read a feature as the served model does."""
    note: dict[str, Any] = {}
    if f.kind == "numeric":
        note["type"] = "numeric"
        if f.lower is not None and f.upper is not None and f.lower < f.upper:
            note["range"] = [float(f.lower), float(f.upper)]
    elif f.kind == "ordinal":
        note["type"] = "ordinal"
        note["order"] = list(f.categories)
    else:
        note["type"] = "categorical"
    if f.monotone and f.kind != "categorical":
        note["monotone"] = "increasing" if f.monotone > 0 else "decreasing"
    for key, value in (("label", f.label), ("unit", f.unit), ("unit_one", f.unit_one),
                       ("sentence", f.sentence), ("description", f.description),
                       ("purpose", f.purpose)):
        if value is not None:
            note[key] = _localized(value)
    if f.value_labels:
        note["values"] = {k: _localized(v) for k, v in f.value_labels.items()}
    if f.value_sentences:
        note["sentences"] = {k: _localized(v) for k, v in f.value_sentences.items()}
    if f.actionable is not None:
        note["actionable"] = f.actionable.model_dump(exclude_none=True)
    return note


def dataset_schema(spec: ModelSpec) -> dict[str, Any]:
    """The dataset schema of an export: the served contract (name, target, features)."""
    return {
        "name": spec.dataset,
        "id_column": ID_COLUMN,
        "target": {"column": spec.target, "positive": spec.positive_label},
        # the service keeps no sensitive attribute (they are never features): training on
        # this export audits no group, and says so
        "sensitive": [],
        "drop": list(RECORDED),
        "features": {f.name: feature_note(f) for f in spec.features},
    }


def training_table(session: Session, horizon_days: int, spec: ModelSpec, *,
                   now: datetime | None = None, period: str = "month"
                   ) -> tuple[pd.DataFrame, ExportReport]:
    """The export's rows (oldest scoring first) and what was left out."""
    report = ExportReport(out_dir="", dataset=spec.dataset, model="", horizon_days=horizon_days)
    df = labelled_predictions(session, horizon_days, now=now, period=period)
    erased = store.erased_all(session)
    names = spec.feature_names
    if df.empty:
        return pd.DataFrame(), report
    customers = df.drop_duplicates("customer_ref")
    report.left_out_restricted = int(customers["restricted"].sum())
    report.left_out_objected = int((customers["objected"] & ~customers["restricted"]).sum())
    # erased customers' receipts are gone; the tombstones say how many are kept out
    report.left_out_erased = len(erased)
    report.left_out_withdrawn_receipts = int(df["withdrawn"].sum())
    usable = df[~df["withdrawn"] & ~df["restricted"] & ~df["objected"]
                & ~df["customer_ref"].isin(erased)]
    fits = usable["features"].map(lambda f: all(n in f for n in names))
    report.left_out_other_features = int((~fits).sum())
    usable = usable[fits]
    labelled = usable[usable["label"].notna()]
    report.unlabelled_customers = int(usable["customer_ref"].nunique()
                                      - labelled["customer_ref"].nunique())
    latest = labelled.sort_values(["scored_at", "prediction_id"]).drop_duplicates(
        "customer_ref", keep="last")
    fixes = store.rectifications(session)
    records = []
    for row in latest.itertuples(index=False):
        values = {n: row.features.get(n) for n in names}
        rectified = False
        for decided_at, corrected in fixes.get(row.customer_ref, ()):
            if decided_at > row.scored_at.to_pydatetime():
                values.update({k: v for k, v in corrected.items() if k in values})
                rectified = True
        records.append({
            ID_COLUMN: row.customer_ref, **values,
            spec.target: spec.positive_label if row.label == 1.0
            else _negative(spec.positive_label),
            "scored_at": row.scored_at.isoformat(), "model_version": str(row.model_version),
            "arm": row.arm if isinstance(row.arm, str) else "none",
            "targeting": row.targeting,
            # under uplift targeting (issue 17): the estimate, the customer's value and the
            # expected retained value the queue was ranked by (empty under risk targeting)
            "uplift": _number(row.uplift), "customer_value": _number(row.customer_value),
            "expected_value": _number(row.expected_value),
            "task_outcome": row.task_outcome if isinstance(row.task_outcome, str) else "none",
            "source": row.source, "rectified": rectified})
    out = pd.DataFrame.from_records(records)
    if out.empty:
        return out, report
    for f in spec.features:
        if f.kind == "numeric":
            out[f.name] = pd.to_numeric(out[f.name], errors="coerce").astype("float64")
        else:
            out[f.name] = out[f.name].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                else str(v)).astype("str")
    report.churned = int((out[spec.target] == spec.positive_label).sum())
    report.arms = {str(k): int(v) for k, v in out["arm"].value_counts().items()}
    report.rectified = int(out["rectified"].sum())
    return out, report


def export_training(session: Session, out_dir: str | Path, horizon_days: int, *,
                    recent_fraction: float = 0.2, now: datetime | None = None,
                    period: str = "month") -> ExportReport:
    """Write `training.parquet`, `recent.parquet` (the latest `recent_fraction` of the
    labelled customers by scoring time), `schema.yaml` and `export.json` into `out_dir`."""
    if not 0.0 <= recent_fraction < 1.0:
        raise ExportError(f"recent fraction {recent_fraction} is not in [0, 1)")
    served = store.latest_served_spec(session)
    if served is None:
        raise ExportError("no model has served from this database yet: there is nothing "
                          "to learn from; score customers first (make score)")
    name, version, raw_spec = served
    spec = ModelSpec.model_validate(raw_spec)
    table, report = training_table(session, horizon_days, spec, now=now, period=period)
    report.model = f"{name} v{version}"
    if table.empty:
        raise ExportError(
            f"no customer has an observed label yet: a prediction is labelled once its "
            f"customer left (churn events: POST /v1/churn-events or make outcomes) or "
            f"{horizon_days} days (CHURN_LABEL_HORIZON_DAYS) have passed after it "
            f"({report.unlabelled_customers} customers wait for theirs)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = table.sort_values("scored_at", kind="stable").reset_index(drop=True)
    n_recent = int(round(len(table) * recent_fraction))
    train, recent = table.iloc[:len(table) - n_recent], table.iloc[len(table) - n_recent:]
    train.to_parquet(out / TRAIN_FILE, index=False)
    report.training_rows = len(train)
    report.files = {"training": str(out / TRAIN_FILE), "schema": str(out / SCHEMA_FILE)}
    if n_recent:
        recent.to_parquet(out / RECENT_FILE, index=False)
        report.recent_rows = len(recent)
        report.files["recent"] = str(out / RECENT_FILE)
    header = (f"# Generated by `python -m serving.cli export-training` on "
              f"{datetime.now(UTC).isoformat(timespec='seconds')} from the service's "
              f"database: the contract of {name} v{version}.\n# Labels: left within "
              f"{horizon_days} days after the prediction (contacted customers' labels are "
              "affected by the contact; `arm` says who was held out).\n")
    (out / SCHEMA_FILE).write_text(header + yaml.safe_dump(
        dataset_schema(spec), sort_keys=False, allow_unicode=True), encoding="utf-8")
    report.out_dir = str(out)
    (out / REPORT_FILE).write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return report
