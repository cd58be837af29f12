"""Disputes: a customer contests one of their predictions; the record is restricted at once.

`open_dispute` writes the dispute, its idempotency key (with a hash of the request body),
the restriction, the cancellation of the customer's open retention task and the audit row
in ONE transaction, committed before it returns: a crash leaves all of it or none of it,
and two concurrent requests with the same key yield one dispute (the loser's insert hits
the key's primary key; it then answers with the winner's dispute).
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import ModelSpec
from models.explain import contributions
from serving import idempotency
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.users import display_names
from serving.customers import access
from serving.disputes import rules
from serving.disputes.schemas import (
    ContestedFeaturePublic,
    ContributionChange,
    DecisionPublic,
    DisputeCreate,
    DisputeList,
    DisputePublic,
    NoticePublic,
)
from serving.errors import Conflict, Forbidden, InvalidInput, NotFound
from serving.retention.tasks import cancel_for_dispute
from serving.scoring import service as scoring
from serving.specs import SpecCache
from serving.storage import outbox
from serving.storage.db import write_lock
from serving.storage.tables import (
    Customer,
    Dispute,
    DisputeDecision,
    IdempotencyKey,
    Prediction,
    new_id,
)


@dataclass
class DisputeOpened:
    dispute: DisputePublic
    created: bool  # False: a replay of an earlier request with the same key and body


# -- small pieces ---------------------------------------------------------------------------
def one_month_after(t: datetime) -> datetime:
    """The same time one calendar month later (31 Jan -> 28/29 Feb)."""
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month,
                     day=min(t.day, calendar.monthrange(year, month)[1]))


def days_left(due_by: datetime, now: datetime | None = None) -> int:
    today: date = (now or datetime.now(UTC)).astimezone(UTC).date()
    return (due_by.astimezone(UTC).date() - today).days


def request_hash(body: DisputeCreate) -> str:
    """The body's digest, kept with its Idempotency-Key (`idempotency.digest`). A body
    that cannot be written as JSON again (a claimed value nested deeper than the
    serialiser goes) gets a digest no stored key has: such a claim is refused by the
    rules, so no key is ever stored with it, and its request cannot pass for a replay."""
    try:
        data = body.model_dump(mode="json")
    except (ValueError, RecursionError):
        data = None
    return idempotency.digest(data) if data is not None else idempotency.digest(object())


# -- views ----------------------------------------------------------------------------------
def decision_public(session: Session, specs: SpecCache, row: DisputeDecision,
                    prediction_id: str, lang: str = "en") -> DecisionPublic:
    new = session.get(Prediction, row.new_prediction_id) if row.new_prediction_id else None
    old = session.get(Prediction, prediction_id)
    return DecisionPublic(
        dispute_id=row.dispute_id, decision=row.decision, rationale=row.rationale,
        decided_at=row.decided_at, decided_by=row.decided_by, prediction_id=prediction_id,
        prediction_withdrawn=bool(old.withdrawn) if old is not None else True,
        corrected_features=row.corrected_features, new_prediction_id=row.new_prediction_id,
        new_prediction=scoring.public(session, specs, new, lang) if new is not None else None,
        changes=[ContributionChange(**c) for c in (row.changes or [])],
        restriction_lifted=row.restriction_lifted,
    )


def dispute_public(session: Session, specs: SpecCache, d: Dispute, lang: str = "en",
                   now: datetime | None = None) -> DisputePublic:
    pred = session.get(Prediction, d.prediction_id)
    spec = specs.get(session, pred.model_name, pred.model_version) if pred else None
    used = json.loads(pred.features) if pred else {}
    contested = []
    for c in d.contested:
        try:
            label = spec.feature(c["feature"]).display_label(lang) if spec else c["feature"]
        except KeyError:
            label = c["feature"]
        contested.append(ContestedFeaturePublic(feature=c["feature"], label=label,
                                                claimed_value=c.get("claimed_value"),
                                                value_used=used.get(c["feature"])))
    decision = None
    if d.status == "decided":
        row = session.get(DisputeDecision, d.id)
        if row is not None:
            decision = decision_public(session, specs, row, d.prediction_id, lang)
    left = days_left(d.due_by, now)
    return DisputePublic(
        dispute_id=d.id, status=d.status, prediction_id=d.prediction_id,
        customer_ref=d.customer_ref, contested_features=contested, statement=d.statement,
        wants_human_review=d.wants_human_review, received_at=d.received_at, due_by=d.due_by,
        days_left=left, overdue=d.status == "open" and (now or datetime.now(UTC)) > d.due_by,
        decision=decision, assisted=bool(d.assisted),
        notices=[NoticePublic(message_id=m.id, kind=m.kind, status=m.status,
                              created_at=m.created_at, sent_at=m.sent_at)
                 for m in outbox.for_customer(session, d.customer_ref)
                 if m.created_at >= d.received_at and m.kind != "access_link"],
        assisted_by=(display_names(session, [d.opened_by]).get(d.opened_by or "", "staff")
                     if d.assisted else None),
    )


def changes(before_spec: ModelSpec, before_values: dict[str, Any], before_shap: Any,
            after_spec: ModelSpec, after_values: dict[str, Any], after_shap: Any,
            corrected: set[str], lang: str = "en") -> list[ContributionChange]:
    """Each factor's contribution before and after, largest change first."""
    before = {c.feature: c for c in contributions(before_spec, before_values, before_shap,
                                                  lang)}
    out = []
    for c in contributions(after_spec, after_values, after_shap, lang):
        b = before.pop(c.feature, None)
        out.append(ContributionChange(
            feature=c.feature, label=c.label,
            value_before=b.value if b else None, value_after=c.value,
            shap_before=b.shap if b else 0.0, shap_after=c.shap,
            change=c.shap - (b.shap if b else 0.0), corrected=c.feature in corrected,
            text_after=c.text))
    for b in before.values():  # a factor the new model no longer uses
        out.append(ContributionChange(
            feature=b.feature, label=b.label, value_before=b.value, value_after=None,
            shap_before=b.shap, shap_after=0.0, change=-b.shap, corrected=False,
            text_after=""))
    out.sort(key=lambda c: (-abs(c.change), c.feature))
    return out


# -- the service ----------------------------------------------------------------------------
def _replay(session: Session, customer_ref: str, key: str, digest: str,
            specs: SpecCache, lang: str) -> DisputePublic | None:
    row = session.get(IdempotencyKey, (customer_ref, key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise idempotency.mismatch("a new dispute")
    d = session.get(Dispute, row.dispute_id)
    return dispute_public(session, specs, d, lang) if d is not None else None


def open_dispute(session: Session, principal: Principal, body: DisputeCreate,
                 idempotency_key: str | None = None, *, specs: SpecCache,
                 lang: str = "en") -> DisputeOpened:
    """Open a dispute about one of the customer's own predictions (anyone else's: 404),
    restrict the record, cancel the open task, audit; committed before returning.
    Same key + same body -> the same dispute (`created` False); other body -> 422."""
    if principal.kind != "customer" or not principal.customer_ref:
        raise Forbidden("disputes are opened by the customer, through their access link")
    ref = principal.customer_ref
    key = idempotency.clean_key(idempotency_key)
    digest = request_hash(body)
    if key is not None:
        replay = _replay(session, ref, key, digest, specs, lang)
        if replay is not None:
            return DisputeOpened(replay, created=False)

    pred = session.get(Prediction, body.prediction_id)
    if pred is None or pred.customer_ref != ref:
        raise NotFound("no such prediction")
    if pred.withdrawn:
        raise Conflict("this prediction was withdrawn after a review: it is no longer used")
    spec = specs.get(session, pred.model_name, pred.model_version)
    errors = rules.claim_errors(spec, json.loads(pred.features), body)
    if errors:
        raise InvalidInput.naming(
            "the claims cannot be accepted: "
            + "; ".join(f"{e.field}: {e.problem}" for e in errors[:10]), errors)

    now = datetime.now(UTC)
    did = new_id()
    try:
        with write_lock(session):
            session.add(Dispute(
                id=did, customer_ref=ref, prediction_id=pred.id, status="open",
                contested=[c.model_dump(mode="json") for c in body.contested_features],
                statement=body.statement, wants_human_review=body.wants_human_review,
                received_at=now, due_by=one_month_after(now), opened_by=principal.actor,
                assisted=principal.assisted_by is not None))
            if key is not None:
                session.add(IdempotencyKey(customer_ref=ref, key=key, request_hash=digest,
                                           dispute_id=did, created_at=now))
            session.flush()
            # the customer row first: a concurrent score of this customer waits for it
            session.execute(update(Customer).where(Customer.customer_ref == ref)
                            .values(restricted=True)
                            .execution_options(synchronize_session=False))
            cancelled = cancel_for_dispute(session, ref, did, now)
            audit.append(session, principal, audit.DISPUTE_OPENED, customer_ref=ref,
                         objects={"dispute_id": did, "prediction_id": pred.id,
                                  "cancelled_task_ids": cancelled,
                                  **access.origin(session, principal)},
                         model=(pred.model_name, pred.model_version))
            session.commit()
    except IntegrityError:
        session.rollback()
        if key is not None:
            replay = _replay(session, ref, key, digest, specs, lang)
            if replay is not None:
                return DisputeOpened(replay, created=False)
        open_id = session.scalar(select(Dispute.id).where(
            Dispute.prediction_id == pred.id, Dispute.status == "open"))
        if open_id is not None:
            raise Conflict("a dispute about this prediction is already open",
                           dispute_id=open_id) from None
        raise
    d = session.get(Dispute, did)
    return DisputeOpened(dispute_public(session, specs, d, lang, now), created=True)


def find(session: Session, dispute_id: str) -> Dispute | None:
    """The dispute, or None (also for ids no dispute can have: too long, NUL)."""
    if not dispute_id or len(dispute_id) > 64 or "\x00" in dispute_id:
        return None
    return session.get(Dispute, dispute_id)


def visible(session: Session, principal: Principal, dispute_id: str) -> Dispute:
    """The dispute if `principal` may see it: a customer their own (anyone else's: 404),
    reviewers all."""
    d = find(session, dispute_id)
    if d is None or not (d.customer_ref == principal.customer_ref
                         if principal.kind == "customer" else principal.has_role("reviewer")):
        raise NotFound("no such dispute")
    return d


def get_dispute(session: Session, principal: Principal, dispute_id: str, *,
                specs: SpecCache, lang: str = "en", via: str = "api") -> DisputePublic:
    """A customer sees their own disputes (anyone else's: 404); reviewers see all, the
    read in the audit log, filed under the customer."""
    d = visible(session, principal, dispute_id)
    ref = d.customer_ref
    out = dispute_public(session, specs, d, lang)
    audit.staff_read(session, principal, ref, "dispute", dispute_id, via)
    return out


def list_disputes(session: Session, principal: Principal, status: str | None = None,
                  limit: int = 100, *, specs: SpecCache,
                  lang: str = "en") -> DisputeList:
    """Newest first: a customer's own disputes, or (reviewers) everyone's."""
    q = select(Dispute).order_by(Dispute.received_at.desc(), Dispute.id.desc()).limit(limit)
    if principal.kind == "customer":
        q = q.where(Dispute.customer_ref == principal.customer_ref)
    elif not principal.has_role("reviewer"):
        raise Forbidden("disputes are read by reviewers")
    if status:
        q = q.where(Dispute.status == status)
    out = DisputeList(items=[dispute_public(session, specs, d, lang)
                             for d in session.scalars(q)])
    if principal.kind == "staff":  # every customer's: a list read, in the audit log
        audit.read(session, principal, audit.DISPUTE_LIST_READ,
                   objects={"status": status, "limit": limit, "entries": len(out.items),
                            "via": "api"})
    return out


def open_count(session: Session, customer_ref: str) -> int:
    return session.scalar(select(func.count()).select_from(Dispute).where(
        Dispute.customer_ref == customer_ref, Dispute.status == "open")) or 0
