"""Rights requests (issue 18) and everything held about one customer (their access copy).

The one place that reads and writes `rights_requests`, and the one query of every table
that holds rows about a customer, so the copy cannot forget a table that another query
would have found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from serving.storage.tables import (
    RIGHTS_OPEN_STATUSES,
    AccessLink,
    AuditEvent,
    AuthSession,
    Customer,
    CustomerContact,
    Dispute,
    DisputeDecision,
    IdempotencyKey,
    Objection,
    OutboxMessage,
    Prediction,
    RetentionTask,
    RightsRequest,
)


def insert(session: Session, **values: Any) -> RightsRequest:
    """A new request in the caller's transaction (flushed: its id is known)."""
    row = RightsRequest(**values)
    session.add(row)
    session.flush()
    return row


def get(session: Session, request_id: str, *, lock: bool = False) -> RightsRequest | None:
    q = select(RightsRequest).where(RightsRequest.id == request_id)
    if lock:
        q = q.with_for_update()
    return session.scalars(q.execution_options(populate_existing=True)).first()


def open_of_kind(session: Session, customer_ref: str, kind: str) -> RightsRequest | None:
    """The customer's open (or extended) request of this kind, if any."""
    return session.scalars(select(RightsRequest).where(
        RightsRequest.customer_ref == customer_ref, RightsRequest.kind == kind,
        RightsRequest.status.in_(RIGHTS_OPEN_STATUSES))
        .order_by(RightsRequest.opened_at)).first()


def for_customer(session: Session, customer_ref: str) -> list[RightsRequest]:
    """The customer's requests, newest first."""
    return list(session.scalars(select(RightsRequest)
                                .where(RightsRequest.customer_ref == customer_ref)
                                .order_by(RightsRequest.opened_at.desc(),
                                          RightsRequest.id.desc())))


def listing(session: Session, statuses: tuple[str, ...] | None, limit: int) -> list[RightsRequest]:
    """Requests in these statuses (all when None), the most urgent deadline first."""
    q = select(RightsRequest)
    if statuses:
        q = q.where(RightsRequest.status.in_(statuses))
    return list(session.scalars(q.order_by(RightsRequest.due_at, RightsRequest.id).limit(limit)))


def due_erasures(session: Session, now: datetime) -> list[str]:
    """Ids of the open erasure requests whose waiting period is over."""
    return list(session.scalars(select(RightsRequest.id).where(
        RightsRequest.kind == "erasure", RightsRequest.status.in_(RIGHTS_OPEN_STATUSES),
        RightsRequest.carry_out_at.is_not(None), RightsRequest.carry_out_at <= now)
        .order_by(RightsRequest.carry_out_at)))


def change(session: Session, row: RightsRequest, **values: Any) -> bool:
    """Update the request if nobody changed it since it was read (optimistic: its
    `version`); False when someone did."""
    done = session.execute(
        update(RightsRequest)
        .where(RightsRequest.id == row.id, RightsRequest.version == row.version)
        .values(version=row.version + 1, **values)
        .execution_options(synchronize_session=False)).rowcount
    return bool(done)


ERASED_OUTCOME = "closed by the erasure of the customer's data"


def at_erasure(session: Session, customer_ref: str, now: datetime,
               keep_id: str | None = None) -> list[str]:
    """At an erasure: the customer's words in their requests (and the staff's free-text
    outcomes and reasons) go; the requests themselves stay, pseudonymous (accountability).
    Their other open requests close with it: an erasure request as done, any other as
    cancelled (nothing is left to answer). `keep_id`: the request the erasure answers (its
    caller closes it). Returns the ids closed here."""
    session.execute(update(RightsRequest).where(RightsRequest.customer_ref == customer_ref)
                    .values(details="", extension_reason=None, outcome=None)
                    .execution_options(synchronize_session=False))
    still_open = list(session.scalars(select(RightsRequest.id).where(
        RightsRequest.customer_ref == customer_ref, RightsRequest.id != (keep_id or ""),
        RightsRequest.status.in_(RIGHTS_OPEN_STATUSES))))
    for kind, status in (("erasure", "done"), (None, "cancelled")):
        q = update(RightsRequest).where(RightsRequest.id.in_(still_open),
                                        RightsRequest.status.in_(RIGHTS_OPEN_STATUSES))
        q = q.where(RightsRequest.kind == kind) if kind else q
        session.execute(q.values(status=status, closed_at=now, outcome=ERASED_OUTCOME,
                                 version=RightsRequest.version + 1)
                        .execution_options(synchronize_session=False))
    return still_open


@dataclass
class Held:
    """Every row held about one customer, table by table."""

    customer: Customer | None
    contact: CustomerContact | None
    predictions: list[Prediction] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    decisions: list[DisputeDecision] = field(default_factory=list)
    idempotency_keys: list[IdempotencyKey] = field(default_factory=list)
    objections: list[Objection] = field(default_factory=list)
    tasks: list[RetentionTask] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    rights_requests: list[RightsRequest] = field(default_factory=list)
    access_links: list[AccessLink] = field(default_factory=list)
    sessions: list[AuthSession] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)


def held_about(session: Session, customer_ref: str) -> Held:
    """Everything held about the customer, oldest first in each table."""
    def rows(model: Any, *order: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.customer_ref == customer_ref)
                                    .order_by(*order)))

    disputes = rows(Dispute, Dispute.received_at, Dispute.id)
    ids = [d.id for d in disputes]
    decisions = list(session.scalars(select(DisputeDecision)
                                     .where(DisputeDecision.dispute_id.in_(ids))
                                     .order_by(DisputeDecision.decided_at))) if ids else []
    sessions = list(session.scalars(
        select(AuthSession).where(AuthSession.kind == "customer",
                                  AuthSession.customer_ref == customer_ref)
        .order_by(AuthSession.created_at)))
    return Held(
        customer=session.get(Customer, customer_ref),
        contact=session.get(CustomerContact, customer_ref),
        predictions=rows(Prediction, Prediction.created_at, Prediction.id),
        disputes=disputes, decisions=decisions,
        idempotency_keys=rows(IdempotencyKey, IdempotencyKey.created_at),
        objections=rows(Objection, Objection.objected_at),
        tasks=rows(RetentionTask, RetentionTask.created_at, RetentionTask.id),
        messages=rows(OutboxMessage, OutboxMessage.created_at, OutboxMessage.id),
        rights_requests=rows(RightsRequest, RightsRequest.opened_at, RightsRequest.id),
        access_links=rows(AccessLink, AccessLink.created_at),
        sessions=sessions,
        audit=rows(AuditEvent, AuditEvent.seq),
    )


def overdue_count(session: Session, now: datetime) -> int:
    """Open requests past their (extended) deadline."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(RightsRequest).where(
        RightsRequest.status.in_(RIGHTS_OPEN_STATUSES),
        or_(RightsRequest.extended_due_at < now,
            (RightsRequest.extended_due_at.is_(None)) & (RightsRequest.due_at < now)))) or 0
