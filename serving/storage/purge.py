"""The retention purge's statements (issue 18): which rows are due, and their deletion.

Each `due_*` function returns the ids of the rows of one kind whose retention ran out
before `cutoff` and which nothing still kept needs; `delete_*` removes them in chunks (a
bounded parameter list on every engine). The rules themselves, their order and the
transaction are the purge service's (`serving.purge.service`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    Customer,
    Dispute,
    DisputeDecision,
    OutboxMessage,
    Prediction,
    RetentionTask,
)

CHUNK = 2000
LINK_KINDS = ("access_link",)  # outbox messages that only carry a link (not notices)
DONE_MESSAGES = ("sent", "failed")


def _ids(session: Session, q: Select) -> list[str]:
    return [str(i) for i in session.scalars(q)]


def due_tasks(session: Session, cutoff: datetime) -> list[str]:
    """Closed tasks (done or cancelled) last changed before `cutoff`."""
    return _ids(session, select(RetentionTask.id).where(
        RetentionTask.status.not_in(OPEN_TASK_STATUSES),
        RetentionTask.updated_at < cutoff))


def due_disputes(session: Session, cutoff: datetime) -> list[str]:
    """Decided disputes decided before `cutoff` (with them go their decision, their
    idempotency key and the reviewer's blind judgement, by cascade)."""
    return _ids(session, select(Dispute.id).where(
        Dispute.status == "decided", Dispute.decided_at < cutoff))


def due_messages(session: Session, cutoff: datetime, *, notices: bool) -> list[str]:
    """Outbox messages sent or failed (never pending or being sent) created before
    `cutoff`: the customer notices, or (`notices=False`) the link messages."""
    kind = OutboxMessage.kind.not_in(LINK_KINDS) if notices else \
        OutboxMessage.kind.in_(LINK_KINDS)
    return _ids(session, select(OutboxMessage.id).where(
        kind, OutboxMessage.status.in_(DONE_MESSAGES), OutboxMessage.created_at < cutoff))


def due_predictions(session: Session, cutoff: datetime) -> list[str]:
    """Receipts made before `cutoff` that nothing kept refers to: not a customer's latest
    (the risk list shows it), no dispute (open or decided and still kept) about it, no
    task (open or closed and still kept) made from it, not the new prediction of a kept
    rectification. Run after the disputes and tasks due were deleted."""
    p = Prediction
    # Outer joins kept only where nothing matched (anti-joins): PostgreSQL hashes each side
    # and SQLite builds a temporary index on each unindexed column. A correlated NOT EXISTS
    # scanned customers.latest_prediction_id once per receipt on SQLite, and NOT IN falls
    # back to a per-row scan on PostgreSQL once the set outgrows work_mem: both quadratic.
    q = (select(p.id)
         .outerjoin(Customer, Customer.latest_prediction_id == p.id)
         .outerjoin(Dispute, Dispute.prediction_id == p.id)
         .outerjoin(RetentionTask, RetentionTask.prediction_id == p.id)
         .outerjoin(DisputeDecision, DisputeDecision.new_prediction_id == p.id)
         .where(p.created_at < cutoff, Customer.customer_ref.is_(None), Dispute.id.is_(None),
                RetentionTask.id.is_(None), DisputeDecision.dispute_id.is_(None)))
    return _ids(session, q)


def delete_ids(session: Session, table: type, ids: Sequence[str]) -> int:
    """Delete the rows of `table` (an ORM class with an `id` key) with these ids."""
    done = 0
    col = table.id  # type: ignore[attr-defined]
    for i in range(0, len(ids), CHUNK):
        part = list(ids[i:i + CHUNK])
        done += session.execute(delete(table).where(col.in_(part))
                                .execution_options(synchronize_session=False)).rowcount or 0
    return done


def dependants(session: Session, dispute_ids: Sequence[str]) -> dict[str, int]:
    """How many decisions come with these disputes (reported; they go by cascade)."""
    n = 0
    for i in range(0, len(dispute_ids), CHUNK):
        part = list(dispute_ids[i:i + CHUNK])
        n += len(_ids(session, select(DisputeDecision.dispute_id).where(
            DisputeDecision.dispute_id.in_(part))))
    return {"decisions": n}

