"""The figures behind the staff dashboard (issue 17): one read of the database, no HTML.

Risk distribution over time, tasks and their outcomes, the contact effect (overall and
by campaign period), realised quality per model version and month, drift of each batch
run with its alerts, and fairness over time when the sensitive attributes are provided
(`CHURN_AUDIT_ATTRIBUTES`). The alerts listed here are those `/metrics` exports too
(`alert_gauges`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from models import pseudonymise
from serving.config import Settings
from serving.loop import drift as drift_mod
from serving.loop import monitoring
from serving.loop.effect import EffectRow, contact_effect
from serving.loop.outcomes import labelled_predictions
from serving.specs import SpecCache
from serving.storage import monitoring as reads

BANDS = ("low", "medium", "high")
SENSITIVE_DEFAULT = ("gender", "SeniorCitizen", "Partner", "Dependents")


@dataclass
class MonthRisk:
    month: str
    rows: int
    mean_score: float
    shares: dict[str, float]  # band -> share of the month's receipts


@dataclass
class MonthTasks:
    month: str
    opened: int
    outcomes: dict[str, int]  # outcome (or status when not done) -> tasks


@dataclass
class Alert:
    kind: str  # drift | quality | fairness
    subject: str  # the column, model version or attribute
    period: str
    value: float
    threshold: float


@dataclass
class Dashboard:
    generated_at: datetime
    risk: list[MonthRisk] = field(default_factory=list)
    tasks: list[MonthTasks] = field(default_factory=list)
    effect: list[EffectRow] = field(default_factory=list)
    effect_by_period: list[EffectRow] = field(default_factory=list)
    quality: list[monitoring.Quality] = field(default_factory=list)
    drift: list[drift_mod.RunDrift] = field(default_factory=list)
    fairness: list[monitoring.FairnessMonth] = field(default_factory=list)
    fairness_source: str | None = None  # None: no attributes configured
    alerts: list[Alert] = field(default_factory=list)
    labelled: int = 0
    control_fraction: float = 0.0
    targeting: str = "risk"

    @property
    def latest_drift(self) -> drift_mod.RunDrift | None:
        return self.drift[-1] if self.drift else None


def _month(when: Any) -> str:
    return monitoring.month_of(when)


def risk_by_month(labelled: pd.DataFrame) -> list[MonthRisk]:
    """Each month's receipts: how many, their mean score, the share in each band."""
    if labelled.empty:
        return []
    df = labelled[~labelled["withdrawn"].astype(bool)]
    out = []
    for month, part in df.groupby(df["scored_at"].map(_month), sort=True):
        counts = part["risk_band"].value_counts()
        out.append(MonthRisk(month=str(month), rows=len(part),
                             mean_score=float(part["score"].mean()),
                             shares={b: float(counts.get(b, 0)) / len(part) for b in BANDS}))
    return out


def tasks_by_month(rows: list[dict[str, Any]]) -> list[MonthTasks]:
    """Tasks opened per month, by outcome (open, claimed and cancelled ones by status)."""
    if not rows:
        return []
    df = pd.DataFrame(rows)
    df["month"] = df["created_at"].map(_month)
    df["what"] = df["outcome"].where(df["status"] == "done", df["status"]).fillna("done")
    out = []
    for month, part in df.groupby("month", sort=True):
        out.append(MonthTasks(month=str(month), opened=len(part),
                              outcomes={str(k): int(v) for k, v in
                                        part["what"].value_counts().sort_index().items()}))
    return out


def load_attributes(settings: Settings) -> pd.DataFrame | None:
    """The sensitive attributes by pseudonym (`CHURN_AUDIT_ATTRIBUTES`), or None."""
    if not settings.audit_attributes:
        return None
    path = Path(settings.audit_attributes)
    if not path.is_file():
        return None
    id_col = settings.audit_attributes_id
    # the id as text, as every path reads it: "00123" is not customer 123
    frame = (pd.read_parquet(path) if path.suffix == ".parquet"
             else pd.read_csv(path, dtype={id_col: str}))
    if id_col not in frame:
        return None
    secret = settings.pseudonym_secret
    frame["customer_ref"] = [pseudonymise(str(c), secret) for c in frame[id_col]]
    return frame.drop(columns=[id_col])


def alerts_of(board: Dashboard, settings: Settings) -> list[Alert]:
    """What needs a person's attention: drift alerts in the latest run, realised quality
    whose whole interval is below the floor, fairness gaps above the ceiling (latest
    month)."""
    out = []
    run = board.latest_drift
    if run is not None:
        for c in run.columns:
            if c.status == "alert":
                out.append(Alert("drift", c.column, run.run, c.psi, settings.drift_psi_alert))
    for q in board.quality:
        if math.isfinite(q.auc_high) and q.auc_high < settings.monitor_min_auc:
            out.append(Alert("quality", f"v{q.model_version}", q.month, q.auc,
                             settings.monitor_min_auc))
    if board.fairness:
        last = max(f.month for f in board.fairness)
        for f in board.fairness:
            if f.month == last and math.isfinite(f.equalized_odds) \
                    and f.equalized_odds > settings.monitor_max_equalized_odds:
                out.append(Alert("fairness", f.attribute, f.month, f.equalized_odds,
                                 settings.monitor_max_equalized_odds))
    return out


def build(session: Session, specs: SpecCache, settings: Settings,
          now: datetime | None = None, uplift_in_force: bool | None = None) -> Dashboard:
    """Everything the dashboard shows, read from the database now. `uplift_in_force`: an
    uplift model is loaded (the rule applied is uplift only then; None: as the settings
    ask)."""
    now = now or datetime.now(UTC)
    labelled = labelled_predictions(session, settings.label_horizon_days, now=now,
                                    period=settings.campaign_period)
    rule = settings.targeting if uplift_in_force is None else (
        "uplift" if settings.targeting == "uplift" and uplift_in_force else "risk")
    board = Dashboard(generated_at=now, control_fraction=settings.control_fraction,
                      targeting=rule)
    board.risk = risk_by_month(labelled)
    board.tasks = tasks_by_month(reads.task_outcomes(session))
    board.effect = contact_effect(labelled)
    board.effect_by_period = contact_effect(labelled, by="period")
    board.quality = monitoring.realised_quality(labelled)
    board.labelled = int(labelled["label"].notna().sum()) if len(labelled) else 0
    board.drift = drift_mod.batch_drift(session, specs, warn=settings.drift_psi_warn,
                                        alert=settings.drift_psi_alert)
    attributes = load_attributes(settings)
    if attributes is not None:
        board.fairness_source = Path(str(settings.audit_attributes)).name
        sensitive = [c for c in SENSITIVE_DEFAULT if c in attributes] or [
            c for c in attributes.columns if c != "customer_ref"]
        board.fairness = monitoring.fairness_over_time(labelled, attributes, sensitive)
    board.alerts = alerts_of(board, settings)
    return board


class AlertCache:
    """The latest drift figures for `/metrics`, recomputed at most every `ttl` seconds
    (a scrape must not read every receipt's features each time)."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._at = -math.inf
        self._value: drift_mod.RunDrift | None = None
        self._lock = threading.Lock()

    def latest(self, compute: Callable[[], drift_mod.RunDrift | None]
               ) -> drift_mod.RunDrift | None:
        with self._lock:
            # nothing to show yet (no batch run) is asked again at the next scrape
            if self._value is None or time.monotonic() - self._at > self.ttl:
                self._value = compute()
                self._at = time.monotonic()
            return self._value


def latest_run_drift(session: Session, specs: SpecCache, settings: Settings
                     ) -> drift_mod.RunDrift | None:
    """The drift of the most recent batch run (the receipts of its day)."""
    last = reads.latest_batch_time(session)
    if last is None:
        return None
    day = datetime(last.year, last.month, last.day, tzinfo=UTC)
    runs = drift_mod.batch_drift(session, specs, warn=settings.drift_psi_warn,
                                 alert=settings.drift_psi_alert, since=day)
    return runs[-1] if runs else None


_DRIFT_CACHES: dict[str, AlertCache] = {}  # one per database (several apps per process)
log = logging.getLogger(__name__)


def export_drift(metrics: Any, db: Any, specs: SpecCache, settings: Settings,  # noqa: ANN401
                 cache: AlertCache | None = None) -> None:
    """Put the latest batch run's drift into `/metrics` (`Metrics.drift`), recomputed at
    most every five minutes. A database that cannot answer leaves the last figures (a
    scrape never fails because of monitoring)."""
    def compute() -> drift_mod.RunDrift | None:
        with db.session() as session:
            return latest_run_drift(session, specs, settings)

    cache = cache or _DRIFT_CACHES.setdefault(settings.database_url, AlertCache())
    try:
        run = cache.latest(compute)
    except Exception:  # noqa: BLE001 - monitoring must not break the scrape
        log.warning("drift for /metrics could not be computed", exc_info=True)
        return
    if run is None:
        return
    metrics.drift({c.column: c.psi for c in run.columns if math.isfinite(c.psi)},
                  {c.column: c.status == "alert" for c in run.columns})
