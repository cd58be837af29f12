"""Append to, read and verify the hash-chained audit log.

Every row carries ``hash = sha256(canonical row || prev_hash)``, where ``prev_hash`` is the
hash of the row before (``GENESIS_HASH`` for the first). Appends run inside the caller's
transaction, so an action and its audit row are committed together or not at all, and
they are serialised on the chain-head row (``audit_head``): its UPDATE takes a row lock on
PostgreSQL (held until commit, so two app instances cannot fork the chain) and the single
writer lock on SQLite. Take the append last in a transaction: the head lock is then held
for the shortest time.

What goes in: the actor, their role, the customer's pseudonym, ids and enums of the
objects concerned, the model version. Never a raw customer id, a score or free text: the
log outlives an erasure and must not keep what the erasure removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.audit.schemas import AuditEventPage, AuditEventPublic, AuditVerification
from serving.auth.principal import Principal
from serving.storage.bulk import RawWriter
from serving.storage.db import write_lock
from serving.storage.tables import GENESIS_HASH, AuditEvent, AuditHead

# The actions written (one constant per kind of event).
PREDICTION_CREATED = "prediction.created"
BATCH_SCORED = "batch.scored"  # one summary event per batch chunk
RISK_LIST_READ = "risk_list.read"
TASK_LIST_READ = "retention_tasks.read"
CUSTOMER_VIEWED = "customer.viewed"  # a member of staff opened the customer's page
# a member of staff read one of a customer's records through the API or a page other than
# the customer's own page (a receipt, a contact task and its attempts, a dispute)
# the highest sequence number a query may name (within a 64-bit integer on both databases)
MAX_SEQ = 2**62
RECORD_READ = "customer_record.read"
RIGHTS_LIST_READ = "rights_requests.read"  # the rights-request queue (counts only)
DISPUTE_LIST_READ = "disputes.read"  # the review queue, or every customer's disputes
TASK_CLAIMED = "retention_task.claimed"
TASK_RELEASED = "retention_task.released"
TASK_REASSIGNED = "retention_task.reassigned"
TASK_COMPLETED = "retention_task.completed"  # with its outcome: a training label
TASK_CREATED = "retention_task.created"  # online and review; the batch counts them per chunk
TASK_ATTEMPTED = "retention_task.attempted"  # a contact attempt: channel, never the note
ACCESS_LINK_ISSUED = "access_link.issued"
ACCESS_LINK_SENT = "access_link.sent"  # queued to the customer's contact address
ACCESS_LINKS_REVOKED = "access_link.revoked"
CONTACT_SET = "contact.set"
SESSION_OPENED = "session.opened"
SESSION_CLOSED = "session.closed"
NOTICE_QUEUED = "notice.queued"
MESSAGE_DELIVERED = "message.delivered"
# Art. 18(3): lifted once the customer's notice is delivered, or held when it cannot be
RESTRICTION_LIFTED = "restriction.lifted"
RESTRICTION_LIFT_HELD = "restriction.lift_held"
STAFF_CHANGED = "staff.changed"
DISPUTE_OPENED = "dispute.opened"
DISPUTE_DECIDED = "dispute.decided"
OBJECTION_RECORDED = "objection.recorded"
OBJECTION_WITHDRAWN = "objection.withdrawn"
CUSTOMER_ERASED = "customer.erased"
MODEL_LOADED = "model.loaded"
MODEL_RELOADED = "model.reloaded"
MODEL_REFUSED = "model.refused"
CHURN_EVENTS_RECORDED = "churn_events.recorded"  # issue 17: counts only, never ids
RETENTION_PURGED = "retention.purged"  # issue 18: counts per kind, never ids
REVIEW_JUDGED = "review.judged"  # issue 18: a blind-first judgement recorded
# issue 18: an outside auditor read aggregate material (what, through which door)
SCRUTINY_READ = "scrutiny.read"

_HEAD = AuditHead.__table__
_LOG = AuditEvent.__table__
_MAX_TEXT = 200


@dataclass(frozen=True)
class Event:
    """One thing to record. `objects`: ids and enums only (str, int, bool, None, lists)."""

    action: str
    actor: str
    role: str
    customer_ref: str | None = None
    objects: Mapping[str, Any] = field(default_factory=dict)
    model_name: str | None = None
    model_version: str | None = None


def event(who: Principal | str, action: str, *, customer_ref: str | None = None,
          objects: Mapping[str, Any] | None = None,
          model: Any = None) -> Event:
    """An `Event` by a principal (or a system actor such as ``"batch"``); `model` is a
    served model (anything with `name` and `version`) or a ``(name, version)`` pair."""
    if isinstance(who, Principal):
        actor, role = who.actor, who.role
    else:
        actor, role = str(who), "system"
    name = version = None
    if isinstance(model, tuple):
        name, version = model
    elif model is not None:
        name, version = model.name, model.version
    return Event(action=action, actor=actor, role=role, customer_ref=customer_ref,
                 objects=dict(objects or {}), model_name=name,
                 model_version=None if version is None else str(version))


def _check_value(key: str, value: Any) -> None:
    if isinstance(value, list | tuple):
        for v in value:
            _check_value(key, v)
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str) and len(value) <= _MAX_TEXT:
        return
    raise ValueError(f"audit object {key!r} must be an id or an enum (short text, int, bool), "
                     f"not {type(value).__name__}: the log never keeps content")


def canonical_objects(objects: Mapping[str, Any]) -> str:
    for key, value in objects.items():
        _check_value(key, value)
    return json.dumps(dict(objects), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(seq: int, at: datetime, action: str, actor: str, role: str,
             customer_ref: str | None, objects: str, model_name: str | None,
             model_version: str | None, prev_hash: str) -> str:
    """sha256 of the canonical row followed by the previous row's hash."""
    row = json.dumps([seq, _time(at), action, actor, role, customer_ref, objects, model_name,
                      model_version], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((row + "|" + prev_hash).encode("utf-8")).hexdigest()


def append_many(session: Session, events: Iterable[Event]) -> list[int]:
    """Append events to the chain in the session's transaction (the caller commits);
    returns their sequence numbers."""
    events = list(events)
    if not events:
        return []
    rows_objects = [canonical_objects(e.objects) for e in events]
    # Driver-level statements: the append runs on every prediction, and SQLAlchemy's
    # per-statement work would cost more than the statements themselves.
    raw = RawWriter(session)
    with write_lock(session):
        head = raw.fetchone(f"UPDATE audit_head SET seq = seq + {raw.mark} WHERE id = 1 "
                            "RETURNING seq, hash", (len(events),))
        if head is None:
            raise RuntimeError("the audit chain head is missing: run the migrations "
                               "(python -m serving.cli migrate)")
        end, prev = int(head[0]), str(head[1])
        start = end - len(events) + 1
        at = datetime.now(UTC)
        stored_at = raw.db_time(at)
        rows = []
        for i, (e, objects) in enumerate(zip(events, rows_objects, strict=True)):
            seq = start + i
            digest = row_hash(seq, at, e.action, e.actor, e.role, e.customer_ref, objects,
                              e.model_name, e.model_version, prev)
            rows.append((seq, stored_at, e.action, e.actor, e.role, e.customer_ref, objects,
                         e.model_name, e.model_version, prev, digest))
            prev = digest
        raw.executemany(f"INSERT INTO audit_log (seq, at, action, actor, role, customer_ref, "
                        f"objects, model_name, model_version, prev_hash, hash) "
                        f"VALUES ({raw.marks(11)})", rows)
        raw.execute(f"UPDATE audit_head SET hash = {raw.mark} WHERE id = 1", (prev,))
    return list(range(start, end + 1))


def append(session: Session, who: Principal | str, action: str, *,
           customer_ref: str | None = None, objects: Mapping[str, Any] | None = None,
           model: Any = None) -> int:
    """Append one event in the session's transaction (the caller commits); its seq."""
    return append_many(session, [event(who, action, customer_ref=customer_ref,
                                       objects=objects, model=model)])[0]


def batch_chunk(session: Session, ends: list[Any], predictions: int, tasks: int,
                skipped_restricted: int, skipped_objected: int, *,
                tasks_created: int | None = None,
                task_ends: list[str] | None = None) -> int | None:
    """The summary event of one batch chunk: counts, model version, first and last
    prediction id (`ends`: the chunk's first and last `PredictionRow`), and the tasks it
    opened: how many, first and last id (UUIDv7, minted in file order as the chunk is
    written: the batch's task ids between them are the chunk's).
    One event per chunk, not one per task: 20,000 per-task events cost 1.9 s on SQLite
    (measured), about half again a 100k-row batch. None for an empty chunk."""
    if not predictions and not (skipped_restricted or skipped_objected):
        return None
    model = (ends[0].model_name, ends[0].model_version) if ends else None
    return append(session, "batch", BATCH_SCORED, model=model, objects={
        "predictions": predictions, "tasks": tasks,
        "first_prediction_id": ends[0].id if ends else None,
        "last_prediction_id": ends[-1].id if ends else None,
        "skipped_restricted": skipped_restricted, "skipped_objected": skipped_objected}
        | ({} if tasks_created is None else {
            "tasks_created": tasks_created,
            "first_task_id": task_ends[0] if task_ends else None,
            "last_task_id": task_ends[-1] if task_ends else None}))


def record(session: Session, who: Principal | str, action: str, **kw: Any) -> int:
    """Append one event in its own transaction and commit (for reads: risk list...).
    The session must have nothing else pending."""
    with write_lock(session):
        seq = append(session, who, action, **kw)
        session.commit()
    return seq


def read(session: Session, who: Principal | str, action: str, **kw: Any) -> int:
    """Audit a read as it is answered: the session's read transaction is ended first (an
    audited read holds nothing pending), then the event is appended and committed."""
    session.rollback()
    return record(session, who, action, **kw)


def staff_read(session: Session, who: Principal, customer_ref: str | None, kind: str,
               record_id: str, via: str = "api") -> int | None:
    """Audit a member of staff reading one of a customer's records (`kind`: prediction,
    retention_task, contact_attempts, dispute) through `via`, in its own transaction,
    before the answer leaves, filed under the customer (their copy of their data lists
    it). A customer reading their own record is not recorded: it is theirs. Ends the
    session's read transaction first (nothing may be pending)."""
    if who.kind != "staff":
        return None
    return read(session, who, RECORD_READ, customer_ref=customer_ref,
                objects={"record": kind, "id": record_id, "via": via})


def staff_reads(session: Session, who: Principal,
                records: Sequence[tuple[str | None, str, str]], via: str = "api") -> None:
    """`staff_read` of many records at once (customer_ref, kind, id), in one transaction."""
    if who.kind != "staff" or not records:
        return
    session.rollback()
    with write_lock(session):
        append_many(session, [event(who, RECORD_READ, customer_ref=ref,
                                    objects={"record": kind, "id": rid, "via": via})
                              for ref, kind, rid in records])
        session.commit()


def third_party_read(session: Session, who: Principal, what: str, via: str,
                     **objects: Any) -> int | None:
    """Audit what an outside auditor read (`what`: the material, `via`: api or web), under
    their own account (`staff:<id>`, shown by name on the audit page), in its own
    transaction, before the answer leaves. The operator's own staff reading the same
    aggregate figures is not recorded: the material names no one, and who *outside* the
    operator saw it is what a data protection officer must be able to answer. Returns the
    event's seq, None for any other reader. The session must have nothing pending."""
    if not who.outside:
        return None
    return record(session, who, SCRUTINY_READ,
                  objects={"what": what, "via": via}
                  | {k: v for k, v in objects.items() if v is not None})


# -- reading --------------------------------------------------------------------------------
def public(row: AuditEvent) -> AuditEventPublic:
    return AuditEventPublic(
        seq=row.seq, at=row.at, action=row.action, actor=row.actor, role=row.role,
        customer_ref=row.customer_ref, object_ids=json.loads(row.objects),
        model_name=row.model_name, model_version=row.model_version,
        prev_hash=row.prev_hash, hash=row.hash,
    )


def latest(session: Session, limit: int = 100, before_seq: int | None = None,
           action: str | None = None, customer_ref: str | None = None) -> AuditEventPage:
    """The newest events first, optionally of one action or one customer pseudonym."""
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit + 1)
    if before_seq is not None:
        q = q.where(AuditEvent.seq < before_seq)
    if action:
        q = q.where(AuditEvent.action == action)
    if customer_ref:
        q = q.where(AuditEvent.customer_ref == customer_ref)
    rows = list(session.scalars(q))
    nxt = rows[limit - 1].seq if len(rows) > limit else None
    return AuditEventPage(items=[public(r) for r in rows[:limit]], next_before_seq=nxt)


def verify(session: Session, chunk: int = 5000) -> AuditVerification:
    """Recompute the whole chain from the first row; report the first broken link."""
    prev, expected, checked = GENESIS_HASH, 1, 0

    def broken(seq: int, detail: str) -> AuditVerification:
        return AuditVerification(ok=False, checked=checked, head_seq=expected - 1,
                                 head_hash=prev, first_broken=seq, detail=detail)

    cols = [_LOG.c[n] for n in ("seq", "at", "action", "actor", "role", "customer_ref",
                                "objects", "model_name", "model_version", "prev_hash",
                                "hash")]
    while True:
        rows = session.execute(
            select(*cols).where(_LOG.c.seq >= expected).order_by(_LOG.c.seq).limit(chunk)
        ).all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected:
                return broken(expected, f"row {expected} is missing (the next row is {r.seq})")
            if r.prev_hash != prev:
                return broken(r.seq, f"row {r.seq} does not link to row {r.seq - 1}: its "
                                     "prev_hash is not that row's hash")
            at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
            digest = row_hash(r.seq, at, r.action, r.actor, r.role, r.customer_ref, r.objects,
                              r.model_name, r.model_version, prev)
            if digest != r.hash:
                return broken(r.seq, f"row {r.seq} was changed after it was written: its "
                                     "content does not match its hash")
            prev, expected, checked = r.hash, expected + 1, checked + 1
    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
    if head is not None and (int(head[0]), head[1]) != (expected - 1, prev):
        if int(head[0]) >= expected:
            return broken(expected, f"the chain ends at row {expected - 1} but its head says "
                                    f"{head[0]}: rows were removed at the end")
        return broken(int(head[0]), "the chain head does not match the last row")
    return AuditVerification(ok=True, checked=checked, head_seq=expected - 1, head_hash=prev)


def verify_for(session: Session, reader: Principal, via: str) -> AuditVerification:
    """The chain verified for `reader`: an outside auditor's read is audited (after the
    verification, so the result they see is of the chain before their own row)."""
    result = verify(session)
    third_party_read(session, reader, "audit_verification", via)
    return result
