"""Access links and the customer's own view."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import pseudonymise
from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.tokens import issue_link
from serving.config import Settings
from serving.customers import privacy
from serving.customers.schemas import (
    AccessLinkPublic,
    CustomerRecordPublic,
    CustomerSelfPublic,
    DataUsedPublic,
    ErasurePublic,
    MyPredictionPublic,
    RightPublic,
)
from serving.disputes import service as disputes
from serving.errors import NotFound
from serving.scoring import service as scoring
from serving.scoring.schemas import PredictionPublic
from serving.specs import SpecCache
from serving.storage.db import write_lock
from serving.storage.tables import (
    Customer,
    Dispute,
    DisputeDecision,
    Erasure,
    IdempotencyKey,
    Objection,
    Prediction,
    RetentionTask,
)


def find(session: Session, settings: Settings, customer_id: str) -> Customer:
    ref = pseudonymise(customer_id, settings.pseudonym_secret)
    customer = session.get(Customer, ref)
    if customer is None:
        raise NotFound("no such customer (customers appear once they are scored)")
    return customer


def access_link(session: Session, settings: Settings, customer_id: str,
                principal: Principal) -> AccessLinkPublic:
    """Issue a signed, expiring link for one customer. The link carries its own scope
    (the pseudonym) and expiry; only the fact of its issue is written (audit log)."""
    customer = find(session, settings, customer_id)
    link = issue_link(customer.customer_ref, settings.link_signing_secret,
                      timedelta(hours=settings.link_ttl_hours))
    audit.record(session, principal, audit.ACCESS_LINK_ISSUED,
                 customer_ref=customer.customer_ref,
                 objects={"expires_at": link.expires_at.isoformat()})
    return AccessLinkPublic(
        # a plain link: it works without JavaScript; /me swaps it for a cookie and redirects
        url=f"{settings.public_base_url}/me?token={link.token}",
        token=link.token,
        expires_at=link.expires_at,
    )


def me(session: Session, principal: Principal) -> CustomerSelfPublic:
    customer = session.scalar(
        select(Customer).where(Customer.customer_ref == principal.customer_ref)
    )
    if customer is None:
        raise NotFound("no record is kept about you")
    return CustomerSelfPublic(
        customer_ref=customer.customer_ref, restricted=customer.restricted,
        objected=customer.objected, latest_prediction_id=customer.latest_prediction_id,
    )


def record(session: Session, customer_ref: str) -> CustomerRecordPublic:
    """A customer's record as staff see it (404 when none is held)."""
    customer = session.get(Customer, customer_ref) if customer_ref else None
    if customer is None:
        raise NotFound("no such customer")
    return CustomerRecordPublic(
        customer_ref=customer.customer_ref, external_id=customer.external_id,
        restricted=customer.restricted, objected=customer.objected,
        latest_prediction_id=customer.latest_prediction_id)


def _own(session: Session, principal: Principal) -> Customer:
    customer = session.get(Customer, principal.customer_ref) if principal.customer_ref else None
    if customer is None:
        raise NotFound("no record is kept about you")
    return customer


def _latest_row(session: Session, customer: Customer) -> Prediction | None:
    """The customer's latest prediction still in use (a withdrawn one is not)."""
    row = (session.get(Prediction, customer.latest_prediction_id)
           if customer.latest_prediction_id else None)
    return None if row is None or row.withdrawn else row


def latest_prediction(session: Session, specs: SpecCache, principal: Principal,
                      lang: str = "en") -> PredictionPublic | None:
    """The customer's latest prediction still in use, explained (None: there is none)."""
    row = _latest_row(session, _own(session, principal))
    return scoring.public(session, specs, row, lang) if row is not None else None


def my_prediction(session: Session, specs: SpecCache, principal: Principal,
                  lang: str = "en") -> MyPredictionPublic:
    """The customer's latest prediction still in use, in plain words, with the data it
    used (and why each is needed), its purpose, their rights and their disputes."""
    customer = _own(session, principal)
    row = _latest_row(session, customer)
    pred = scoring.public(session, specs, row, lang) if row is not None else None
    data_used = []
    if row is not None:
        spec = specs.get(session, row.model_name, row.model_version)
        values = json.loads(row.features)
        for f in spec.features:
            data_used.append(DataUsedPublic(
                feature=f.name, label=f.display_label(lang), value=values.get(f.name),
                shown=f.display_value(values.get(f.name), lang),
                description=f.description, purpose=f.purpose))
    return MyPredictionPublic(
        customer_ref=customer.customer_ref, restricted=customer.restricted,
        objected=customer.objected, prediction=pred,
        summary=privacy.summary(pred, customer.restricted, customer.objected, lang),
        data_used=data_used, purpose=privacy.PURPOSE["fr" if lang == "fr" else "en"],
        rights=[RightPublic(**r) for r in privacy.rights(lang)],
        disputes=disputes.list_disputes(session, principal, specs=specs, lang=lang).items,
    )


def erase(session: Session, settings: Settings, customer_id: str,
          principal: Principal) -> ErasurePublic:
    """Erase a customer (Art. 17): idempotency keys, decisions, disputes, tasks,
    predictions, objections and the customer row, in one transaction with its audit
    event. The audit log and the erasure tombstone keep only the pseudonym and the fact
    of the erasure; scoring refuses the customer from then on."""
    ref = pseudonymise(customer_id, settings.pseudonym_secret)
    counted = {
        "idempotency_keys": (IdempotencyKey, IdempotencyKey.customer_ref == ref),
        "decisions": (DisputeDecision, DisputeDecision.dispute_id.in_(
            select(Dispute.id).where(Dispute.customer_ref == ref))),
        "disputes": (Dispute, Dispute.customer_ref == ref),
        "retention_tasks": (RetentionTask, RetentionTask.customer_ref == ref),
        "predictions": (Prediction, Prediction.customer_ref == ref),
        "objections": (Objection, Objection.customer_ref == ref),
        "customers": (Customer, Customer.customer_ref == ref),
    }
    with write_lock(session):
        # the customer row first (locked on PostgreSQL), as scoring and disputes take it
        if session.scalar(select(Customer.customer_ref).where(Customer.customer_ref == ref)
                          .with_for_update()) is None:
            raise NotFound("no such customer (nothing is held about this id)")
        erased = {}
        for kind, (table, where) in counted.items():
            erased[kind] = session.scalar(select(func.count()).select_from(table).where(where)) \
                or 0
            session.execute(delete(table).where(where)
                            .execution_options(synchronize_session=False))
        # the tombstone: a later customer file or API call cannot bring them back
        session.add(Erasure(customer_ref=ref, erased_at=datetime.now(UTC)))
        seq = audit.append(session, principal, audit.CUSTOMER_ERASED, customer_ref=ref)
        session.commit()
    session.expunge_all()
    return ErasurePublic(customer_ref=ref, erased=erased, audit_seq=seq)
