"""Drift: how far each batch run's customers are from the customers the model was trained on.

For every feature of the served contract and for the score, the population stability
index (`models.reference.psi`) between the training reference stored with the model
(`ModelSpec.feature_reference`, `ModelSpec.score_reference`) and the receipts of one batch
run. A batch run is the batch receipts of one model version on one calendar day (UTC): the
nightly job. PSI at or above `CHURN_DRIFT_PSI_WARN` (0.1) is a warning, at or above
`CHURN_DRIFT_PSI_ALERT` (0.25) an alert, shown on the dashboard and exported in `/metrics`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from models.encoding import Encoder
from models.reference import psi, shares_of
from models.spec import ModelSpec
from serving.specs import SpecCache
from serving.storage import monitoring as reads

SCORE = "score"  # the name the score's drift goes by, beside the features'


@dataclass
class ColumnDrift:
    """One column of one run: its PSI and status, the shares per bin on both sides."""

    column: str
    psi: float
    status: str  # ok | warn | alert | unknown (no reference)
    shares: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)


@dataclass
class RunDrift:
    """One batch run against its model's training reference."""

    run: str  # the run's day, ISO (2026-04-01)
    model_name: str
    model_version: str
    rows: int
    columns: list[ColumnDrift]

    @property
    def worst(self) -> ColumnDrift | None:
        known = [c for c in self.columns if math.isfinite(c.psi)]
        return max(known, key=lambda c: c.psi) if known else None

    @property
    def status(self) -> str:
        order = {"unknown": 0, "ok": 1, "warn": 2, "alert": 3}
        return max((c.status for c in self.columns), key=order.__getitem__, default="unknown")

    def flagged(self, level: str = "alert") -> list[str]:
        """The columns at `level` (alert) or above (warn: warnings and alerts)."""
        levels = {"alert"} if level == "alert" else {"warn", "alert"}
        return [c.column for c in self.columns if c.status in levels]

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run, "model_name": self.model_name,
                "model_version": self.model_version, "rows": self.rows,
                "status": self.status,
                "columns": {c.column: {"psi": None if math.isnan(c.psi) else round(c.psi, 4),
                                       "status": c.status} for c in self.columns}}


def status_of(value: float, warn: float, alert: float) -> str:
    """ok, warn or alert for one PSI (unknown when it cannot be computed)."""
    if not math.isfinite(value):
        return "unknown"
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def drift_of(spec: ModelSpec, X: np.ndarray, scores: np.ndarray, *, warn: float, alert: float,
             run: str = "", model_name: str = "", model_version: str = "") -> RunDrift:
    """The drift of one run: `X` the encoded features (the spec's order), `scores` the
    calibrated scores. A column without a training reference (older models) is `unknown`."""
    columns = []
    for j, f in enumerate(spec.features):
        ref = spec.feature_reference.get(f.name)
        if ref is None:
            columns.append(ColumnDrift(f.name, math.nan, "unknown"))
            continue
        value = psi(ref, X[:, j])
        columns.append(ColumnDrift(f.name, value, status_of(value, warn, alert),
                                   shares_of(ref, X[:, j]), [*ref.shares, ref.missing]))
    ref = spec.score_reference
    if ref is None:
        columns.append(ColumnDrift(SCORE, math.nan, "unknown"))
    else:
        value = psi(ref, scores)
        columns.append(ColumnDrift(SCORE, value, status_of(value, warn, alert),
                                   shares_of(ref, scores), [*ref.shares, ref.missing]))
    return RunDrift(run=run, model_name=model_name, model_version=model_version,
                    rows=len(scores), columns=columns)


def run_day(when: datetime) -> date:
    """The batch run a receipt belongs to: its UTC day."""
    return when.date()


def drift_by_run(rows: Iterable[dict[str, Any]], spec_of: Callable[[str, str], ModelSpec], *,
                 warn: float, alert: float) -> list[RunDrift]:
    """The drift of every batch run in `rows` (receipts as `serving.storage.monitoring.scored`
    reads them), oldest first."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return []
    frame["run"] = [run_day(t).isoformat() for t in frame["created_at"]]
    out = []
    for (run, name, version), part in frame.groupby(["run", "model_name", "model_version"],
                                                    sort=True):
        spec = spec_of(str(name), str(version))
        values = pd.DataFrame([json.loads(text) for text in part["features"]],
                              columns=spec.feature_names)
        X = Encoder(spec).encode_frame(values)
        out.append(drift_of(spec, X, part["score"].to_numpy(dtype=np.float64), warn=warn,
                            alert=alert, run=str(run), model_name=str(name),
                            model_version=str(version)))
    return out


def batch_drift(session: Session, specs: SpecCache, *, warn: float, alert: float,
                since: datetime | None = None) -> list[RunDrift]:
    """The drift of every batch run stored since `since` (all of them by default)."""
    rows = reads.scored(session, since=since, source="batch")
    return drift_by_run(rows, lambda name, version: specs.get(session, name, version),
                        warn=warn, alert=alert)
