"""Blind-first review (issue 18, CHURN_BLIND_REVIEW): against automation bias, the
reviewer first records their own judgement of a dispute from the customer's data and
statement, and only then sees the model's score and explanation and decides.

The order is enforced by the review service whatever the entry point (API or page): before
the judgement, a dispute is served without its score, band and explanation (`BlindItem`),
and a preview or a decision is refused (409, saying to record the judgement first). One
judgement per dispute, final, audited (`review.judged`, enums only). Contest analytics
compares it with the model's band and the final decision.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.disputes import service as disputes
from serving.errors import Conflict, must_find
from serving.reviews.schemas import BlindItem, DataValue, JudgementCreate, JudgementPublic
from serving.specs import SpecCache
from serving.storage.db import write_lock
from serving.storage.tables import (
    CLAIM_VIEWS,
    EXPECTED_RISKS,
    Customer,
    Dispute,
    Prediction,
    ReviewJudgement,
)

__all__ = ["CLAIM_VIEWS", "EXPECTED_RISKS", "record", "require_judgement", "withheld"]


def judgement(session: Session, dispute_id: str) -> JudgementPublic | None:
    """The dispute's recorded judgement, if any."""
    row = session.get(ReviewJudgement, dispute_id)
    return None if row is None else public(row)


def public(row: ReviewJudgement) -> JudgementPublic:
    return JudgementPublic(dispute_id=row.dispute_id, expected_risk=row.expected_risk,
                           claim_view=row.claim_view, judged_by=row.judged_by,
                           judged_at=row.judged_at)


def withheld(session: Session, d: Dispute, blind: bool) -> bool:
    """Whether the model's view of this dispute is still withheld from the reviewer."""
    return blind and d.status == "open" and session.get(ReviewJudgement, d.id) is None


def require_judgement(session: Session, d: Dispute, blind: bool) -> None:
    """Refuse to show the model's re-score or to decide before the own judgement."""
    if withheld(session, d, blind):
        raise Conflict("blind-first review: record your own judgement of this dispute "
                       "first (POST /v1/disputes/{id}/judgement with expected_risk and "
                       "claim_view); the model's score is shown after it",
                       dispute_id=d.id)


def blind_item(session: Session, specs: SpecCache, d: Dispute, lang: str = "en",
               now: datetime | None = None) -> BlindItem:
    """The dispute as a reviewer sees it before judging: the customer's data as the
    model read it and their statement; no score, band or contribution."""
    base = disputes.dispute_public(session, specs, d, lang, now)
    pred = session.get(Prediction, d.prediction_id)
    customer = session.get(Customer, d.customer_ref)
    data: list[DataValue] = []
    if pred is not None:
        spec = specs.get(session, pred.model_name, pred.model_version)
        values = json.loads(pred.features)
        for name in spec.feature_names:
            f = spec.feature(name)
            data.append(DataValue(feature=name, label=f.display_label(lang),
                                  value=values.get(name),
                                  display=f.display_value(values.get(name), lang)))
    others = disputes.open_count(session, d.customer_ref) - (1 if d.status == "open" else 0)
    return BlindItem(**base.model_dump(),
                     customer_id=customer.external_id if customer else None,
                     data=data, other_open_disputes=max(others, 0))


def record(session: Session, principal: Principal, dispute_id: str,
           body: JudgementCreate) -> JudgementPublic:
    """Record the reviewer's own judgement of an open dispute (once; audited);
    committed."""
    d = must_find(disputes.find(session, dispute_id), "no such dispute")
    if d.status != "open":
        raise Conflict("this dispute was already decided; a judgement is recorded before "
                       "the decision", dispute_id=d.id)
    if session.get(ReviewJudgement, d.id) is not None:
        raise Conflict("a judgement of this dispute is already recorded; it is final",
                       dispute_id=d.id)
    now = datetime.now(UTC)
    try:
        with write_lock(session):
            session.add(ReviewJudgement(dispute_id=d.id, expected_risk=body.expected_risk,
                                        claim_view=body.claim_view,
                                        judged_by=principal.actor, judged_at=now))
            session.flush()
            audit.append(session, principal, audit.REVIEW_JUDGED, customer_ref=d.customer_ref,
                         objects={"dispute_id": d.id, "expected_risk": body.expected_risk,
                                  "claim_view": body.claim_view})
            session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("a judgement of this dispute is already recorded; it is final",
                       dispute_id=d.id) from None
    return public(session.get(ReviewJudgement, d.id))
