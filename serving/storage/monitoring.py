"""Reads for monitoring and the dashboard (issue 17): receipts by period, tasks by outcome.

Only this module's callers (`serving.loop.monitoring`, `serving.loop.drift`,
`serving.loop.dashboard`) need them; they are plain reads, never locked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.storage.tables import Prediction, RetentionTask


def scored(session: Session, since: datetime | None = None, source: str | None = "batch",
           with_features: bool = True) -> list[dict[str, Any]]:
    """Every receipt (withdrawn ones left out) made since `since`, oldest first: when,
    which model, score, band, arm and (optionally) the feature values' JSON text."""
    cols = [Prediction.id, Prediction.customer_ref, Prediction.created_at,
            Prediction.model_name, Prediction.model_version, Prediction.score,
            Prediction.risk_band, Prediction.route_action, Prediction.arm,
            Prediction.targeting, Prediction.uplift, Prediction.customer_value,
            Prediction.expected_value, Prediction.route_reason]
    if with_features:
        cols.append(Prediction.features)
    query = select(*cols).where(Prediction.withdrawn.is_(False))
    if since is not None:
        query = query.where(Prediction.created_at >= since)
    if source is not None:
        query = query.where(Prediction.source == source)
    query = query.order_by(Prediction.created_at, Prediction.id)
    return [dict(row._mapping) for row in session.execute(query)]


def task_outcomes(session: Session, since: datetime | None = None) -> list[dict[str, Any]]:
    """Every retention task with when it was opened, its status and outcome."""
    query = select(RetentionTask.created_at, RetentionTask.status, RetentionTask.outcome,
                   RetentionTask.customer_ref, RetentionTask.expected_value)
    if since is not None:
        query = query.where(RetentionTask.created_at >= since)
    return [dict(row._mapping) for row in session.execute(query)]


def receipt_count(session: Session) -> int:
    """How many receipts there are (withdrawn included)."""
    return session.scalar(select(func.count()).select_from(Prediction)) or 0


def latest_batch_time(session: Session) -> datetime | None:
    """When the most recent batch receipt was made (None: no batch run yet)."""
    return session.scalar(select(func.max(Prediction.created_at))
                          .where(Prediction.source == "batch"))
