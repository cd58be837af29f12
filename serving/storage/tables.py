"""The tables. Raw customer ids live only in `customers.external_id`; every other
table refers to a customer by the keyed pseudonym `customer_ref`.

Issue 4 (contestability, migration 0002) adds disputes, their decisions, the
idempotency keys of dispute requests, the objections history, and the append-only,
hash-chained audit log with its chain head. `customers.restricted` / `customers.objected`
and `predictions.withdrawn` are the flags the risk list, tasks and batch scoring honour.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from serving.isotime import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPEN_TASK_STATUSES = ("open", "claimed")
TASK_STATUSES = ("open", "claimed", "done", "cancelled")
OUTCOMES = ("retained", "churned", "no_contact", "declined")
CONTACT_CHANNELS = ("phone", "email", "sms", "in_person", "letter", "chat")
ROLES = ("agent", "reviewer", "admin")
DISPUTE_STATUSES = ("open", "decided")
DECISIONS = ("upheld", "rectified", "overturned")
GENESIS_HASH = "0" * 64  # the "previous hash" of the first audit row


def utcnow() -> datetime:
    return datetime.now(UTC)


# Below this many ids, plain integers beat numpy's fixed cost (an online request needs one)
_FEW_IDS = 16
_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def new_ids(n: int) -> list[str]:
    """`n` UUIDv7 strings: time-ordered (appends, not random inserts, in the primary-key
    index of a table with millions of rows) with 74 random bits each."""
    ms = time.time_ns() // 1_000_000
    if n < _FEW_IDS:
        raw = os.urandom(10 * n)
        head = (ms << 80) | (0x7 << 76) | (0b10 << 62)  # 48-bit unix ms, version, variant
        out = []
        for i in range(0, 10 * n, 10):
            r = int.from_bytes(raw[i:i + 10], "big")  # 80 random bits: 12 and 62 kept
            h = f"{head | ((r >> 68) & _RAND_A) << 64 | (r & _RAND_B):032x}"
            out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return out
    b = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    b[:, :6] = np.frombuffer(ms.to_bytes(6, "big"), dtype=np.uint8)  # 48-bit unix ms
    b[:, 6] = 0x70 | (b[:, 6] & 0x0F)  # version 7, then 12 random bits
    b[:, 8] = 0x80 | (b[:, 8] & 0x3F)  # RFC 4122 variant, then 62 random bits
    h = b.tobytes().hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
            f"{h[i + 20:i + 32]}" for i in range(0, 32 * n, 32)]


def new_id() -> str:
    return new_ids(1)[0]


_ascending = threading.Lock()
_last_ascending = ""


def ascending_ids(n: int) -> list[str]:
    """`n` UUIDv7 strings (`new_ids`), each greater than every one this function returned
    before in this process. Two calls in the same millisecond would otherwise interleave
    (the low bits are random): a batch mints each chunk's task ids here as it writes the
    chunk, in file order, so the ids between a chunk's first and last task are that
    chunk's (its audit event names only those two). A tie is broken by counting on from
    the last id (RFC 9562's monotonic random method)."""
    global _last_ascending
    ids = sorted(new_ids(n))  # fixed-width lowercase hex: text order is number order
    with _ascending:
        for k, i in enumerate(ids):
            if i <= _last_ascending:
                ids[k] = str(uuid.UUID(int=uuid.UUID(_last_ascending).int + 1))
            _last_ascending = ids[k]
    return ids


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")

# the column kinds the tables repeat, declared once (SQLAlchemy's Annotated declarations):
# a row id made here (UUIDv7), and a reference to a customer or a prediction, deleted with
# it. A table may add to one: `Mapped[CustomerRef] = mapped_column(primary_key=True)`.
NewId = Annotated[str, mapped_column(String(36), primary_key=True, default=new_id)]
CustomerRef = Annotated[
    str, mapped_column(ForeignKey("customers.customer_ref", ondelete="CASCADE"))]
PredictionRef = Annotated[str, mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[NewId]
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # names are unique whatever their case (migration 0012): "Ana" and "ana" are one person
    # to whoever reads the audit log
    __table_args__ = (Index("uq_staff_users_name_lower", text("lower(name)"), unique=True),)


class ModelVersion(Base):
    """Every model version that served, with its spec: any stored prediction can be
    explained again (any language) without loading that model."""

    __tablename__ = "model_versions"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[str] = mapped_column(String(50), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    first_served_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Customer(Base):
    __tablename__ = "customers"

    customer_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The only place the raw id is kept: agents need to know whom to call.
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    objected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The precomputed risk list: the latest prediction of each customer.
    latest_prediction_id: Mapped[str | None] = mapped_column(String(36))
    latest_score: Mapped[float | None] = mapped_column(Float)
    latest_band: Mapped[str | None] = mapped_column(String(8))
    latest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 16 (migration 0008): when an agent last tried to reach the customer or closed
    # their task; a customer handled recently leaves the top of the risk list and queue
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The only score index: the unfiltered risk list merges the bands' pages
        # (migration 0004); each index with random keys costs the nightly batch dearly.
        Index("ix_customers_band_risk", "latest_band", "latest_score", "customer_ref"),
        # the few restricted or objecting customers, which batch scoring must skip
        Index("ix_customers_flagged", "customer_ref",
              sqlite_where=text("restricted OR objected"),
              postgresql_where=text("restricted OR objected")),
        # the few customers contacted at all (the batch never writes the column)
        Index("ix_customers_contacted", "last_contact_at",
              sqlite_where=text("last_contact_at IS NOT NULL"),
              postgresql_where=text("last_contact_at IS NOT NULL")),
    )


class Prediction(Base):
    """The decision receipt: inputs used, model version, exact explanation, routing."""

    __tablename__ = "predictions"

    id: Mapped[NewId]
    customer_ref: Mapped[CustomerRef]
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(50))
    score: Mapped[float] = mapped_column(Float)  # calibrated probability
    margin: Mapped[float] = mapped_column(Float)  # raw log-odds
    base_value: Mapped[float] = mapped_column(Float)
    risk_band: Mapped[str] = mapped_column(String(8))
    # JSON text of the values as the model read them (text: batch writes it in bulk)
    features: Mapped[str] = mapped_column(Text)
    shap: Mapped[bytes] = mapped_column(LargeBinary)  # float64 little-endian, model order
    route_action: Mapped[str] = mapped_column(String(16))
    route_reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # api | batch | review (issue 4)
    actor: Mapped[str] = mapped_column(String(80))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the served contract's version (`models.contract`) the receipt was made under
    # (migration 0006; null for receipts written before it)
    contract_version: Mapped[str | None] = mapped_column(String(16))
    # closing the loop (issue 17, migration 0009): the control-group arm of a prediction
    # that would open a retention task ("contact" | "control"; null when it would open
    # none), the targeting rule in force ("risk" | "uplift"), and the estimated uplift
    # when an uplift model ranked it. Never shown to agents.
    arm: Mapped[str | None] = mapped_column(String(8))
    targeting: Mapped[str] = mapped_column(String(8), default="risk", server_default="risk")
    uplift: Mapped[float | None] = mapped_column(Float)
    # uplift targeting (migration 0013): the customer's value used and the expected
    # retained value of a call (uplift x value - contact cost); null under risk targeting
    customer_value: Mapped[float | None] = mapped_column(Float)
    expected_value: Mapped[float | None] = mapped_column(Float)
    # a request sent with an Idempotency-Key (migration 0014): the key scoped to its caller
    # (`idempotency.scoped`), the digest of the request's body and the record's place in it;
    # null without a key. Kept on the receipts themselves, so an erasure or a purge takes
    # the key with what it stored.
    request_key: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    request_item: Mapped[int | None] = mapped_column(Integer)

    # The customer alone (migration 0004): a customer's few receipts are sorted when read,
    # and a slimmer key makes the nightly batch's random inserts cheaper. Withdrawn
    # (overturned) receipts are few and read by every scoring path (migration 0006).
    __table_args__ = (Index("ix_predictions_customer", "customer_ref"),
                      Index("ix_predictions_withdrawn", "customer_ref",
                            sqlite_where=text("withdrawn"), postgresql_where=text("withdrawn")),
                      # one receipt per record of a keyed request, whatever the code above
                      Index("uq_predictions_request", "request_key", "request_item",
                            unique=True, sqlite_where=text("request_key IS NOT NULL"),
                            postgresql_where=text("request_key IS NOT NULL")))


class RetentionTask(Base):
    """A request for a person to get in touch. At most one open task per customer."""

    __tablename__ = "retention_tasks"

    id: Mapped[NewId]
    customer_ref: Mapped[CustomerRef]
    prediction_id: Mapped[PredictionRef]
    status: Mapped[str] = mapped_column(String(16), default="open")
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # outcome: the label the next training learns from
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # issue 16 (migration 0008): when the contact is due (created_at + CHURN_TASK_DUE_DAYS)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 17 (migration 0013): the expected retained value of the call under uplift
    # targeting (the queue's `value` sort); null under risk targeting
    expected_value: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index(
            "uq_retention_tasks_open_customer",
            "customer_ref",
            unique=True,
            sqlite_where=text("status IN ('open', 'claimed')"),
            postgresql_where=text("status IN ('open', 'claimed')"),
        ),
        Index("ix_retention_tasks_queue", "status", "score", "id"),
        Index("ix_retention_tasks_due", "status", "due_at", "id"),
        Index("ix_retention_tasks_value", "status", "expected_value", "id"),
    )


class ContactAttempt(Base):
    """One try at reaching the customer for a task (issue 16, migration 0008): several per
    task, each with its channel, the agent's note and when; the task keeps one final
    outcome."""

    __tablename__ = "contact_attempts"

    id: Mapped[NewId]
    task_id: Mapped[str] = mapped_column(ForeignKey("retention_tasks.id", ondelete="CASCADE"))
    customer_ref: Mapped[CustomerRef]
    channel: Mapped[str] = mapped_column(String(16))  # CONTACT_CHANNELS
    reached: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(String(80))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_contact_attempts_task", "task_id", "attempted_at"),)


# -- contestability (issue 4, migration 0002) ----------------------------------------------
class Dispute(Base):
    """A customer contests one prediction. While open, the customer's record is restricted."""

    __tablename__ = "disputes"

    id: Mapped[NewId]
    customer_ref: Mapped[CustomerRef]
    prediction_id: Mapped[PredictionRef]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | decided
    # [{"feature", "claimed_value"}]: what the customer says is wrong
    contested: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    statement: Mapped[str] = mapped_column(Text, default="")
    wants_human_review: Mapped[bool] = mapped_column(Boolean, default=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_by: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # issue 15 (migration 0007): who opened it; `assisted`: an agent, for a customer who
    # phoned (shown to the customer, and in the audit log under the agent's name)
    opened_by: Mapped[str | None] = mapped_column(String(120))
    assisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        # one open dispute per prediction (a second one, or a race, is refused by the index)
        Index("uq_disputes_open_prediction", "prediction_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_disputes_queue", "status", "received_at", "id"),
        Index("ix_disputes_customer", "customer_ref", "received_at"),
    )


class DisputeDecision(Base):
    """A reviewer's final decision on a dispute (the primary key makes it one per dispute)."""

    __tablename__ = "dispute_decisions"

    dispute_id: Mapped[str] = mapped_column(
        ForeignKey("disputes.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(16))  # upheld | rectified | overturned
    rationale: Mapped[str] = mapped_column(Text)
    corrected_features: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    new_prediction_id: Mapped[str | None] = mapped_column(String(36))
    # [{"feature", "label", "value_before", "value_after", "shap_before", "shap_after", ...}]
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    restriction_lifted: Mapped[bool] = mapped_column(Boolean, default=True)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """`Idempotency-Key` of a dispute request, per customer, with a hash of its body:
    written in the dispute's own transaction, so a replay finds exactly that dispute."""

    __tablename__ = "idempotency_keys"

    customer_ref: Mapped[CustomerRef] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the canonical body
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Objection(Base):
    """A customer's objection to profiling (Art. 21), and its withdrawal."""

    __tablename__ = "objections"

    id: Mapped[NewId]
    customer_ref: Mapped[CustomerRef]
    objected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    objected_by: Mapped[str] = mapped_column(String(80))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        Index("uq_objections_active_customer", "customer_ref", unique=True,
              sqlite_where=text("withdrawn_at IS NULL"),
              postgresql_where=text("withdrawn_at IS NULL")),
    )


class Erasure(Base):
    """A customer erased at their request (Art. 17): only the keyed pseudonym and when.

    It keeps an erased customer from coming back: the nightly batch skips them and online
    scoring refuses them, even when a later customer file still lists them."""

    __tablename__ = "erasures"

    customer_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """One append-only audit row: who did what to which objects, never content.

    `hash = sha256(canonical row || prev_hash)`; UPDATE and DELETE are refused by
    database triggers (migration 0002). `customer_ref` is the pseudonym, never the raw id.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    customer_ref: Mapped[str | None] = mapped_column(String(64))
    objects: Mapped[str] = mapped_column(Text)  # canonical JSON of ids and enums
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(50))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_customer", "customer_ref", "seq"),
        Index("ix_audit_log_action", "action", "seq"),
    )


class AuditHead(Base):
    """The chain head (one row, id 1): locking it serialises appends, so the chain cannot
    fork, even with several app instances on one database."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


# -- issue 15: contact addresses, access links, sessions, the outbox (migration 0005) ----------
class CustomerContact(Base):
    """Where the customer's messages go: personal data, apart from the features (never a
    feature, never in MLflow), set by the integration role, erased with the customer."""

    __tablename__ = "customer_contacts"

    customer_ref: Mapped[CustomerRef] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    lang: Mapped[str] = mapped_column(String(2), default="en")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120))


class AccessLink(Base):
    """A customer's access link: only its hash is kept. Exchanged once for a session
    (`used_at`), then dead; it expires and can be revoked."""

    __tablename__ = "access_links"

    id: Mapped[NewId]
    customer_ref: Mapped[str] = mapped_column(String(64), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # portal | delivered
    issued_by: Mapped[str] = mapped_column(String(120))  # who minted or sent it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthSession(Base):
    """A server-side session (staff page, customer page or customer API): only the hash of
    its secret is kept; revoked by sign-out, deactivation and erasure."""

    __tablename__ = "auth_sessions"

    id: Mapped[NewId]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # staff | customer
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    link_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to a customer, written in the transaction of the event that causes it and
    delivered later by the worker (`serving.delivery`). The body (which may hold a link)
    is dropped once sent."""

    __tablename__ = "outbox"

    id: Mapped[NewId]
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    # pending | sending | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(120))
    link_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art. 18(3) (migration 0012): this notice tells the customer their restriction is about
    # to be lifted; the worker lifts it in the transaction that records the notice sent
    lifts_restriction: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


# -- issue 18: rights requests as tracked cases (migration 0010) -----------------------------
RIGHTS_KINDS = ("access", "erasure", "rectification", "restriction", "objection")
RIGHTS_STATUSES = ("open", "extended", "done", "refused", "cancelled")
RIGHTS_OPEN_STATUSES = ("open", "extended")


class RightsRequest(Base):
    """A data-protection request (Arts. 15-21) tracked as a case: a one-month deadline
    (`due_at`), extensible once by two months with a reason (Art. 12(3)), a status, a
    handler and an outcome. No foreign key to `customers`: the request that asked for an
    erasure outlives the customer it erased (only the pseudonym is kept)."""

    __tablename__ = "rights_requests"

    id: Mapped[NewId]
    customer_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # RIGHTS_KINDS
    status: Mapped[str] = mapped_column(String(16), default="open")  # RIGHTS_STATUSES
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # opened_at + 1 month
    extended_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    handler: Mapped[str | None] = mapped_column(String(120))  # staff name who took it
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    opened_via: Mapped[str] = mapped_column(String(16))  # customer | assisted
    opened_by: Mapped[str] = mapped_column(String(120))
    # what the customer wrote (rectification: what is wrong; restriction: why)
    details: Mapped[str] = mapped_column(Text, default="", server_default="")
    lang: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    # erasure: when it is carried out automatically unless a person did it before
    carry_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the objection or dispute the request was carried out through
    related_id: Mapped[str | None] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (
        Index("ix_rights_requests_customer", "customer_ref", "opened_at"),
        Index("ix_rights_requests_status_due", "status", "due_at", "id"),
    )


# -- issue 18: blind-first review (migration 0011) ---------------------------------------------
EXPECTED_RISKS = ("low", "medium", "high")
CLAIM_VIEWS = ("agree", "disagree", "unsure")


class ReviewJudgement(Base):
    """A reviewer's own judgement of a dispute, recorded before the model's score and
    explanation are shown (blind-first review): how likely they think the customer is to
    leave, from the customer's data and statement, and whether they think the customer's
    claim about their data is right. Compared with the model's band and the final decision
    in contest analytics (automation bias); goes with its dispute (cascade, and the purge)."""

    __tablename__ = "review_judgements"

    dispute_id: Mapped[str] = mapped_column(
        ForeignKey("disputes.id", ondelete="CASCADE"), primary_key=True)
    expected_risk: Mapped[str] = mapped_column(String(8))  # EXPECTED_RISKS
    claim_view: Mapped[str] = mapped_column(String(8))  # CLAIM_VIEWS
    judged_by: Mapped[str] = mapped_column(String(120))
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- issue 17: who actually left (migration 0009) ---------------------------------------------
ARMS = ("contact", "control")
TARGETING_RULES = ("risk", "uplift")


class ChurnEvent(Base):
    """A customer who left, as the business's systems report it (the integration role, or
    `serving.cli outcomes`): the label a prediction earns when its customer leaves within
    the horizon. By pseudonym only; goes with the customer on erasure (cascade)."""

    __tablename__ = "churn_events"

    id: Mapped[NewId]
    customer_ref: Mapped[CustomerRef]
    left_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(16))  # api | file

    __table_args__ = (
        Index("uq_churn_events_customer_left_on", "customer_ref", "left_on", unique=True),
    )


# -- a batch run, so that a rerun after a crash resumes it (migration 0015) -------------------
BATCH_RUN_STATUSES = ("running", "completed", "abandoned")


class BatchRun(Base):
    """One batch run: a customer file (by the digest of its bytes) scored by one model
    version for one `as_of` (null: the time of the run). `running` until the run completes:
    a run that died stays `running`, and the same command run again resumes it after the
    `rows_done` rows of the file its committed transactions had written (each commit adds
    to them in its own transaction, so they are exactly the rows stored). `attempt`: the
    token of the process writing it now; a later start of the same run takes it over, and
    the earlier process's next commit is refused. `abandoned`: restarted from the first row
    (`score --restart`). No personal data: counts and the file's name and digest."""

    __tablename__ = "batch_runs"

    id: Mapped[NewId]
    # sha256 of the identity below (as_of included when null): one `running` row per key
    run_key: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # the file's path as given (the latest attempt's)
    data_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the file's bytes
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(50))
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # BATCH_RUN_STATUSES
    attempt: Mapped[str] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)  # file rows committed
    scored: Mapped[int] = mapped_column(BigInteger, default=0)  # receipts committed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # the unfinished run of a key, found (and kept single) by this partial index
        Index("uq_batch_runs_running", "run_key", unique=True,
              sqlite_where=text("status = 'running'"),
              postgresql_where=text("status = 'running'")),
    )
