"""What contest analytics and the compliance report read (issue 18): one row per dispute
with what became of it, and counts; the figures and their suppression are the analytics
service's (`serving.analytics.service`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from serving.storage.tables import (
    Dispute,
    DisputeDecision,
    ModelVersion,
    Prediction,
    ReviewJudgement,
)


@dataclass(frozen=True)
class DisputeFacts:
    """One dispute as analytics needs it: no raw id, no free text."""

    dispute_id: str
    customer_ref: str
    status: str
    received_at: datetime
    due_by: datetime
    decided_at: datetime | None
    contested: tuple[str, ...]  # the features contested
    decision: str | None
    band: str | None  # the contested prediction's band
    route_before: str | None
    route_after: str | None  # a rectification's new prediction's route
    values: dict[str, Any]  # the contested prediction's data, as the model read it
    model: tuple[str, str] | None
    expected_risk: str | None  # blind-first judgement
    claim_view: str | None


def first_received(session: Session) -> datetime | None:
    """When the oldest dispute held was received (None: there is none)."""
    return session.scalar(select(func.min(Dispute.received_at)))


def dispute_facts(session: Session, since: datetime | None = None,
                  until: datetime | None = None) -> list[DisputeFacts]:
    """Every dispute received in [since, until), oldest first."""
    before = aliased(Prediction)
    after = aliased(Prediction)
    q = (select(Dispute.id, Dispute.customer_ref, Dispute.status, Dispute.received_at,
                Dispute.due_by, Dispute.decided_at, Dispute.contested,
                DisputeDecision.decision, before.risk_band, before.route_action,
                after.route_action, before.features, before.model_name,
                before.model_version, ReviewJudgement.expected_risk,
                ReviewJudgement.claim_view)
         .outerjoin(DisputeDecision, DisputeDecision.dispute_id == Dispute.id)
         .outerjoin(before, before.id == Dispute.prediction_id)
         .outerjoin(after, after.id == DisputeDecision.new_prediction_id)
         .outerjoin(ReviewJudgement, ReviewJudgement.dispute_id == Dispute.id)
         .order_by(Dispute.received_at, Dispute.id))
    if since is not None:
        q = q.where(Dispute.received_at >= since)
    if until is not None:
        q = q.where(Dispute.received_at < until)
    out = []
    for r in session.execute(q):
        contested = tuple(sorted({str(c.get("feature")) for c in (r[6] or [])
                                  if isinstance(c, dict)}))
        out.append(DisputeFacts(
            dispute_id=r[0], customer_ref=r[1], status=r[2], received_at=r[3], due_by=r[4],
            decided_at=r[5], contested=contested, decision=r[7], band=r[8],
            route_before=r[9], route_after=r[10],
            values=json.loads(r[11]) if r[11] else {},
            model=(r[12], r[13]) if r[12] else None, expected_risk=r[14], claim_view=r[15]))
    return out


def scored_customers(session: Session, since: datetime | None = None,
                     until: datetime | None = None) -> int:
    """Customers with at least one receipt in [since, until) (the contest rate's base)."""
    q = select(func.count(func.distinct(Prediction.customer_ref)))
    if since is not None:
        q = q.where(Prediction.created_at >= since)
    if until is not None:
        q = q.where(Prediction.created_at < until)
    return int(session.scalar(q) or 0)


def served_models(session: Session) -> list[tuple[str, str, datetime, dict[str, Any]]]:
    """Every model version that served, oldest first, with its spec."""
    return [(r.name, r.version, r.first_served_at, r.spec) for r in session.scalars(
        select(ModelVersion).order_by(ModelVersion.first_served_at))]


@dataclass(frozen=True)
class ReviewedCase:
    """A dispute decided rectified or overturned, with the data as decided and the
    champion's scores at decision time (for `make promote`'s reviewed-cases report)."""

    dispute_id: str
    customer_ref: str
    decision: str
    decided_at: datetime
    model_name: str
    model_version: str
    score_before: float
    band_before: str
    score_after: float | None  # rectified: the served model on the corrected data
    band_after: str | None
    after_model_version: str | None
    features: str  # JSON of the values as decided (the corrected ones when rectified)


def reviewed_cases(session: Session) -> list[ReviewedCase]:
    """Every dispute decided rectified or overturned whose receipts are still held."""
    before = aliased(Prediction)
    after = aliased(Prediction)
    q = (select(Dispute.id, Dispute.customer_ref, DisputeDecision.decision,
                DisputeDecision.decided_at, before.model_name, before.model_version,
                before.score, before.risk_band, after.score, after.risk_band,
                after.model_version, before.features, after.features)
         .join(DisputeDecision, DisputeDecision.dispute_id == Dispute.id)
         .join(before, before.id == Dispute.prediction_id)
         .outerjoin(after, after.id == DisputeDecision.new_prediction_id)
         .where(DisputeDecision.decision.in_(("rectified", "overturned")))
         .order_by(DisputeDecision.decided_at, Dispute.id))
    return [ReviewedCase(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                         r[12] if r[2] == "rectified" and r[12] else r[11])
            for r in session.execute(q)]
