"""The outbox: messages to customers, written in the transaction of their cause, claimed
and delivered by the worker (`serving.delivery.service`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from serving.storage.tables import OutboxMessage, utcnow


@dataclass(frozen=True)
class MessageRow:
    id: str
    customer_ref: str | None
    kind: str
    address: str | None
    subject: str
    body: str | None
    status: str
    attempts: int
    created_by: str
    link_id: str | None
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    lifts_restriction: bool = False


def _row(m: OutboxMessage) -> MessageRow:
    return MessageRow(m.id, m.customer_ref, m.kind, m.address, m.subject, m.body, m.status,
                      m.attempts, m.created_by, m.link_id, m.created_at, m.sent_at,
                      m.last_error, bool(m.lifts_restriction))


def insert(session: Session, *, customer_ref: str | None, kind: str, address: str | None,
           subject: str, body: str, created_by: str, link_id: str | None = None,
           lifts_restriction: bool = False) -> str:
    now = utcnow()
    m = OutboxMessage(customer_ref=customer_ref, kind=kind, address=address, subject=subject,
                      body=body, status="pending", attempts=0, next_attempt_at=now,
                      created_by=created_by, link_id=link_id, created_at=now,
                      lifts_restriction=lifts_restriction)
    session.add(m)
    session.flush()
    return m.id


def claim(session: Session, lease: timedelta, limit: int = 20) -> list[MessageRow]:
    """Due messages (pending, or `sending` whose lease ran out: a worker died mid-way),
    marked `sending` with a lease, one attempt counted. Committed by the caller."""
    now = utcnow()
    q = (select(OutboxMessage)
         .where(or_(OutboxMessage.status == "pending", OutboxMessage.status == "sending"),
                OutboxMessage.next_attempt_at <= now)
         .order_by(OutboxMessage.next_attempt_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = list(session.scalars(q))
    for m in rows:
        m.status = "sending"
        m.attempts += 1
        m.next_attempt_at = now + lease
    session.flush()
    return [_row(m) for m in rows]


def sent(session: Session, message_id: str, redacted: str | None) -> None:
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                    .values(status="sent", sent_at=utcnow(), body=redacted, address=None,
                            last_error=None))


def failed(session: Session, message_id: str, error: str, retry_at: datetime | None) -> None:
    values = {"last_error": error[:300]}
    if retry_at is None:
        values |= {"status": "failed"}
    else:
        values |= {"status": "pending", "next_attempt_at": retry_at}
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def requeue_failed_lifts(session: Session, customer_ref: str, address: str) -> list[str]:
    """Failed notices that lift a restriction, queued again to `address` (fresh attempts)."""
    ids = list(session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.customer_ref == customer_ref, OutboxMessage.status == "failed",
        OutboxMessage.lifts_restriction)))
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(
            status="pending", attempts=0, next_attempt_at=utcnow(), address=address))
    return ids


def pending_lift(session: Session, customer_ref: str) -> bool:
    """A notice that will lift the customer's restriction is not delivered yet."""
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.customer_ref == customer_ref, OutboxMessage.lifts_restriction,
        OutboxMessage.status != "sent").limit(1)) is not None


def for_customer(session: Session, customer_ref: str) -> list[MessageRow]:
    return [_row(m) for m in session.scalars(
        select(OutboxMessage).where(OutboxMessage.customer_ref == customer_ref)
        .order_by(OutboxMessage.created_at.desc()))]


def recent(session: Session, limit: int = 100) -> list[MessageRow]:
    return [_row(m) for m in session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc()).limit(limit))]


def get(session: Session, message_id: str) -> MessageRow | None:
    m = session.get(OutboxMessage, message_id)
    return _row(m) if m is not None else None


def forget_customer(session: Session, customer_ref: str, keep: str | None = None) -> int:
    """Erasure: the customer's messages go, but `keep` (the erasure notice itself)."""
    q = delete(OutboxMessage).where(OutboxMessage.customer_ref == customer_ref)
    if keep:
        q = q.where(OutboxMessage.id != keep)
    return session.execute(q.execution_options(synchronize_session=False)).rowcount
