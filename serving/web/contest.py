"""The contestability services (disputes, reviews, objections, audit) as the pages use
them: every function calls the service the JSON API calls and only reshapes its answer
for the templates. No rule is decided here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.config import Settings
from serving.disputes import service as disputes
from serving.disputes.schemas import DecisionCreate, DisputeCreate, DisputePublic
from serving.errors import NotFound
from serving.modelhost import ServedModel
from serving.objections import service as objections
from serving.reviews import blind as blind_review
from serving.reviews import service as reviews
from serving.reviews.schemas import JudgementCreate
from serving.specs import SpecCache


@dataclass
class Claimed:
    feature: str
    label: str
    claimed_value: Any
    value_used: Any = None


@dataclass
class DisputeView:
    """A dispute as the pages show it."""

    id: str
    status: str
    received_at: datetime
    due_by: datetime
    days_left: int
    overdue: bool
    prediction_id: str
    customer_ref: str
    statement: str = ""
    wants_human_review: bool = False
    contested: list[Claimed] = field(default_factory=list)
    decision: str | None = None
    rationale: str | None = None
    decided_at: datetime | None = None
    new_prediction_id: str | None = None
    prediction_withdrawn: bool = False
    customer_id: str | None = None
    prediction: Any = None  # the contested prediction explained (review queue)
    assisted_by: str | None = None  # filed by staff for a customer who phoned (issue 15)
    notices: list[Any] = field(default_factory=list)  # what the customer was told
    # blind-first review (issue 18): the model's view withheld until the own judgement
    blind: bool = False
    data: list[Any] = field(default_factory=list)  # the customer's data, when blind
    judgement: Any = None

    @property
    def reference(self) -> str:
        """A short reference to quote (the start of the dispute id)."""
        return self.id.replace("-", "")[:8].upper()

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def view(d: DisputePublic) -> DisputeView:
    dec = d.decision
    return DisputeView(
        id=d.dispute_id, status=d.status, received_at=d.received_at, due_by=d.due_by,
        days_left=d.days_left, overdue=d.overdue, prediction_id=d.prediction_id,
        customer_ref=d.customer_ref, statement=d.statement,
        wants_human_review=d.wants_human_review,
        contested=[Claimed(c.feature, c.label, c.claimed_value, c.value_used)
                   for c in d.contested_features],
        decision=dec.decision if dec else None, rationale=dec.rationale if dec else None,
        decided_at=dec.decided_at if dec else None,
        new_prediction_id=dec.new_prediction_id if dec else None,
        prediction_withdrawn=dec.prediction_withdrawn if dec else False,
        customer_id=getattr(d, "customer_id", None),
        prediction=getattr(d, "prediction", None),
        assisted_by=d.assisted_by, notices=list(d.notices),
        blind=getattr(d, "blind", False), data=list(getattr(d, "data", [])),
        judgement=getattr(d, "judgement", None),
    )


# -- customers ------------------------------------------------------------------------------
def create_dispute(session: Session, specs: SpecCache, principal: Principal,
                   body: DisputeCreate, idempotency_key: str, lang: str = "en") -> DisputeView:
    """The JSON API's service, with the JSON API's body: the same rules, the same errors."""
    out = disputes.open_dispute(session, principal, body, idempotency_key, specs=specs,
                                lang=lang)
    return view(out.dispute)


def customer_disputes(session: Session, specs: SpecCache, principal: Principal,
                      lang: str = "en") -> list[DisputeView]:
    page = disputes.list_disputes(session, principal, specs=specs, lang=lang)
    return [view(d) for d in page.items]


def dispute(session: Session, specs: SpecCache, principal: Principal, dispute_id: str,
            lang: str = "en") -> DisputeView:
    return view(disputes.get_dispute(session, principal, dispute_id, specs=specs, lang=lang))


def for_review(session: Session, specs: SpecCache, principal: Principal,
               dispute_id: str, blind: bool = False, via: str | None = None) -> DisputeView:
    """A dispute as a reviewer reads it: with the contested prediction explained and the
    customer's id (404 when the prediction is no longer held); under blind-first review
    (`blind`) and before the own judgement, the customer's data instead. With `via` (the
    page opened), the read is in the audit log, filed under the customer."""
    d = disputes.visible(session, principal, dispute_id)
    ref = d.customer_ref
    item = reviews.review_item(session, specs, d, "en", blind=blind)
    if via is not None:
        audit.staff_read(session, principal, ref, "dispute", dispute_id, via)
    if getattr(item, "blind", False):
        return view(item)
    if item.prediction is None:
        raise NotFound("the contested prediction is no longer held")
    return view(item)


def record_judgement(session: Session, principal: Principal, dispute_id: str,
                     body: JudgementCreate) -> Any:
    """Blind-first review: the JSON API's service, with the body the page built."""
    return blind_review.record(session, principal, dispute_id, body)


def object_to_profiling(session: Session, principal: Principal,
                        settings: Settings | None = None) -> None:
    objections.object_to_profiling(session, principal, settings=settings)


def withdraw_objection(session: Session, principal: Principal) -> None:
    objections.withdraw(session, principal)


# -- reviewers ------------------------------------------------------------------------------
def review_queue(session: Session, specs: SpecCache, reader: Principal,
                 cursor: str | None = None,
                 limit: int = 50) -> tuple[list[DisputeView], str | None]:
    page = reviews.list_open(session, specs, limit, cursor, "en", reader=reader,
                             via="staff page")
    return [view(d) for d in page.items], page.next_cursor


@dataclass
class Preview:
    """What a rectification would give (from the review service; nothing is stored)."""

    score_before: float
    score_after: float
    band_before: str
    band_after: str
    route_after: str
    rows: list[dict[str, Any]]
    contributions: list[Any]
    model: str


def preview_rescore(session: Session, specs: SpecCache, served: ServedModel,
                    dispute_id: str, corrected: dict[str, Any], blind: bool = False) -> Preview:
    p = reviews.preview_rectification(session, specs, served, dispute_id, corrected, "en",
                                      blind=blind)
    spec = served.spec

    def shown(feature: str, value: Any) -> str:
        try:
            return spec.feature(feature).display_value(value, "en")
        except KeyError:
            return "" if value is None else str(value)

    rows = [{"feature": c.feature, "label": c.label,
             "value_before": shown(c.feature, c.value_before),
             "value_after": shown(c.feature, c.value_after), "before": c.shap_before,
             "after": c.shap_after, "change": c.change, "corrected": c.corrected}
            for c in p.changes]
    rows.sort(key=lambda r: not r["corrected"])  # corrected first, then largest change
    return Preview(score_before=p.score_before, score_after=p.score_after,
                   band_before=p.risk_band_before, band_after=p.risk_band_after,
                   route_after=p.route_after.reason, rows=rows,
                   contributions=[{"feature": c.feature, "label": c.label, "value": c.value,
                                   "shap": c.shap} for c in p.contributions],
                   model=f"{p.model.name} v{p.model.version}")


def decide(session: Session, specs: SpecCache, served: ServedModel, principal: Principal,
           dispute_id: str, decision: str, rationale: str,
           corrected: dict[str, Any], settings: Settings, uplift: Any = None) -> Any:
    body = DecisionCreate(decision=decision, rationale=rationale,
                          corrected_features=corrected if decision == "rectified" else None)
    return reviews.decide(session, specs, served, principal, dispute_id, body, "en",
                          settings=settings, uplift=uplift)


# -- audit ----------------------------------------------------------------------------------
def audit_events(session: Session, limit: int = 50,
                 before_seq: int | None = None) -> tuple[list[Any], int | None]:
    page = audit.latest(session, limit, before_seq)
    return page.items, page.next_before_seq


def audit_verify(session: Session) -> Any:
    return audit.verify(session)
