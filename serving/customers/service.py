"""Access links and the customer's own view."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import pseudonymise
from serving.audit import service as audit
from serving.auth.principal import INTEGRATION, Principal
from serving.config import Settings
from serving.customers import access, privacy
from serving.customers.schemas import (
    AccessLinkPublic,
    ContactPublic,
    ContactSet,
    CustomerRecordPublic,
    CustomerSelfPublic,
    DataUsedPublic,
    ErasurePublic,
    LinkSentPublic,
    MyPredictionPublic,
    RightPublic,
)
from serving.delivery import notices
from serving.delivery import service as delivery
from serving.disputes import service as disputes
from serving.errors import Conflict, Forbidden, NotFound, must_find
from serving.objections import service as objections
from serving.reviews import lifting
from serving.scoring import service as scoring
from serving.scoring.schemas import PredictionPublic
from serving.specs import SpecCache
from serving.storage import access as store_access
from serving.storage import outbox as store_outbox
from serving.storage import rights as store_rights
from serving.storage.db import write_lock
from serving.storage.tables import (
    ChurnEvent,
    Customer,
    CustomerContact,
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
    return must_find(session.get(Customer, ref),
                     "no such customer (customers appear once they are scored)")


def portal_link(session: Session, settings: Settings, customer_id: str,
                principal: Principal) -> AccessLinkPublic:
    """A link for the integration's own customer portal (the only route that returns a
    customer's link: its role is a service account, never a person). Kept by hash, used
    once, expiring; the issue is audited."""
    if principal.role != INTEGRATION:
        raise Forbidden("only the integration role (the customer portal) receives a "
                        "customer's link; staff send it with .../access-link/send")
    customer = find(session, settings, customer_id)
    with write_lock(session):
        link = access.mint(session, settings, customer.customer_ref, "portal", principal.actor)
        audit.append(session, principal, audit.ACCESS_LINK_ISSUED,
                     customer_ref=customer.customer_ref,
                     objects={"link_id": link.id, "channel": "portal",
                              "expires_at": link.expires_at.isoformat()})
        session.commit()
    return AccessLinkPublic(url=link.url, token=link.token, expires_at=link.expires_at)


def send_link(session: Session, settings: Settings, customer_id: str,
              principal: Principal) -> LinkSentPublic:
    """Send the customer a fresh link at their contact address: the link, its message and
    the audit event in one transaction; the caller sees neither the link nor the address."""
    customer = find(session, settings, customer_id)
    return send_link_to(session, settings, customer.customer_ref, principal)


def send_link_to(session: Session, settings: Settings, customer_ref: str,
                 principal: Principal) -> LinkSentPublic:
    with write_lock(session):
        link = access.mint(session, settings, customer_ref, "delivered", principal.actor)
        message_id = delivery.queue(session, customer_ref, "access_link", principal.actor,
                                    link_id=link.id, link=link.url,
                                    expires=link.expires_at.strftime("%Y-%m-%d %H:%M UTC"))
        if message_id is None:
            session.rollback()
            raise Conflict("no contact address is known for this customer: the customer "
                           "portal (integration role) sets it", reason="no_contact_address")
        audit.append(session, principal, audit.ACCESS_LINK_SENT, customer_ref=customer_ref,
                     objects={"link_id": link.id, "message_id": message_id,
                              "channel": "delivered"})
        session.commit()
    return LinkSentPublic(message_id=message_id, status="queued", expires_at=link.expires_at)


def set_contact(session: Session, settings: Settings, customer_id: str, body: ContactSet,
                principal: Principal) -> ContactPublic:
    """The customer's contact address (integration role): personal data kept apart from
    the features; never shown to staff, erased with the customer."""
    if principal.role != INTEGRATION:
        raise Forbidden("only the integration role (the customer portal) sets a contact "
                        "address")
    customer = find(session, settings, customer_id)
    with write_lock(session):
        store_access.set_contact(session, customer.customer_ref, body.address, body.lang,
                                 principal.actor)
        # a decision notice that could not be delivered held the restriction: it goes
        # again, to the new address (Art. 18(3), `serving.reviews.lifting`)
        requeued = lifting.requeue_held(session, customer.customer_ref, body.address)
        audit.append(session, principal, audit.CONTACT_SET,
                     customer_ref=customer.customer_ref,
                     objects={"lang": body.lang, "requeued": requeued} if requeued
                     else {"lang": body.lang})
        session.commit()
    return ContactPublic(customer_ref=customer.customer_ref, address=body.address,
                         lang=body.lang)


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
    customer = must_find(session.get(Customer, customer_ref) if customer_ref else None,
                         "no such customer")
    return CustomerRecordPublic(
        customer_ref=customer.customer_ref, external_id=customer.external_id,
        restricted=customer.restricted, objected=customer.objected,
        latest_prediction_id=customer.latest_prediction_id)


def viewed_by_staff(session: Session, customer_ref: str,
                    viewer: Principal) -> CustomerRecordPublic:
    """A customer's record opened by a member of staff (their page): the view itself is
    in the audit log, whoever opened it and however."""
    out = record(session, customer_ref)
    audit.read(session, viewer, audit.CUSTOMER_VIEWED, customer_ref=customer_ref,
               objects={"via": "staff page"})
    return out


def _own(session: Session, principal: Principal) -> Customer:
    return must_find(session.get(Customer, principal.customer_ref) if principal.customer_ref
                     else None, "no record is kept about you")


def _latest_row(session: Session, customer: Customer) -> Prediction | None:
    """The customer's latest prediction still in use (a withdrawn one is not)."""
    row = (session.get(Prediction, customer.latest_prediction_id)
           if customer.latest_prediction_id else None)
    return None if row is None or row.withdrawn else row


def latest_prediction(session: Session, specs: SpecCache, principal: Principal,
                      lang: str = "en") -> PredictionPublic | None:
    """The customer's latest prediction still in use, explained (None: there is none)."""
    row = _latest_row(session, _own(session, principal))
    return (scoring.public(session, specs, row, lang, audience="customer")
            if row is not None else None)


def my_prediction(session: Session, specs: SpecCache, principal: Principal,
                  lang: str = "en") -> MyPredictionPublic:
    """The customer's latest prediction still in use, in plain words, with the data it
    used (and why each is needed), its purpose, their rights and their disputes."""
    customer = _own(session, principal)
    row = _latest_row(session, customer)
    pred = (scoring.public(session, specs, row, lang, audience="customer")
            if row is not None else None)
    data_used = []
    if row is not None:
        spec = specs.get(session, row.model_name, row.model_version)
        values = json.loads(row.features)
        for f in spec.features:
            data_used.append(DataUsedPublic(
                feature=f.name, label=f.display_label(lang), value=values.get(f.name),
                shown=f.display_value(values.get(f.name), lang),
                description=f.description_text(lang), purpose=f.purpose_or_missing(lang)))
    return MyPredictionPublic(
        customer_ref=customer.customer_ref, restricted=customer.restricted,
        objected=customer.objected, prediction=pred,
        summary=privacy.summary(
            pred, customer.restricted, customer.objected, lang,
            lift_pending=customer.restricted
            and disputes.open_count(session, customer.customer_ref) == 0
            and store_outbox.pending_lift(session, customer.customer_ref)),
        data_used=data_used, purpose=privacy.PURPOSE["fr" if lang == "fr" else "en"],
        rights=[RightPublic(**r) for r in privacy.rights(lang)],
        disputes=disputes.list_disputes(session, principal, specs=specs, lang=lang).items,
        objection=objections.status(session, principal),
    )


def erase(session: Session, settings: Settings, customer_id: str,
          principal: Principal) -> ErasurePublic:
    """Erase a customer (Art. 17): idempotency keys, decisions, disputes, tasks,
    predictions, objections and the customer row, in one transaction with its audit
    event. The audit log and the erasure tombstone keep only the pseudonym and the fact
    of the erasure; scoring refuses the customer from then on."""
    return erase_ref(session, settings, pseudonymise(customer_id, settings.pseudonym_secret),
                     principal)


def erase_ref(session: Session, settings: Settings, ref: str, principal: Principal | str, *,
              request_id: str | None = None,
              within: Callable[[Session], object] | None = None) -> ErasurePublic:
    """`erase` by the customer's pseudonym: what a rights request carries out (issue 18).
    `request_id`: the erasure request it answers; `within` runs in the erasure's own
    transaction (the request is closed with it, or not at all)."""
    counted = {
        "idempotency_keys": (IdempotencyKey, IdempotencyKey.customer_ref == ref),
        "decisions": (DisputeDecision, DisputeDecision.dispute_id.in_(
            select(Dispute.id).where(Dispute.customer_ref == ref))),
        "disputes": (Dispute, Dispute.customer_ref == ref),
        "retention_tasks": (RetentionTask, RetentionTask.customer_ref == ref),
        "predictions": (Prediction, Prediction.customer_ref == ref),
        "objections": (Objection, Objection.customer_ref == ref),
        "churn_events": (ChurnEvent, ChurnEvent.customer_ref == ref),  # issue 17
        "customers": (Customer, Customer.customer_ref == ref),
    }
    with write_lock(session):
        # the customer row first (locked on PostgreSQL), as scoring and disputes take it
        if session.scalar(select(Customer.customer_ref).where(Customer.customer_ref == ref)
                          .with_for_update()) is None:
            raise NotFound("no such customer (nothing is held about this id)")
        erased = {}
        # the customer is told (issue 15): the notice is written before the address goes
        # and is the one message kept (its address and body dropped once it is sent)
        notice = notices.notify(session, settings, ref, "erasure", principal,
                                with_link=False)
        # contact address, links, sessions (revoked: deleted) and undelivered messages
        erased["contacts"] = session.execute(
            delete(CustomerContact).where(CustomerContact.customer_ref == ref)
            .execution_options(synchronize_session=False)).rowcount
        erased["access_links"] = store_access.delete_customer_links(session, ref)
        erased["sessions"] = store_access.delete_customer_sessions(session, ref)
        erased["messages"] = store_outbox.forget_customer(session, ref, keep=notice)
        for kind, (table, where) in counted.items():
            erased[kind] = session.scalar(select(func.count()).select_from(table).where(where)) \
                or 0
            session.execute(delete(table).where(where)
                            .execution_options(synchronize_session=False))
        # the tombstone: a later customer file or API call cannot bring them back
        session.add(Erasure(customer_ref=ref, erased_at=datetime.now(UTC)))
        # their rights requests stay (pseudonymous, for accountability), without their
        # words; the other open ones close with the erasure
        closed = store_rights.at_erasure(session, ref, datetime.now(UTC), keep_id=request_id)
        if within is not None:
            within(session)
        seq = audit.append(session, principal, audit.CUSTOMER_ERASED, customer_ref=ref,
                           objects={"request_id": request_id, "closed_request_ids": closed}
                           if request_id or closed else None)
        session.commit()
    session.expunge_all()
    return ErasurePublic(customer_ref=ref, erased=erased, audit_seq=seq)
