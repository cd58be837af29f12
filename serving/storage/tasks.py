"""Retention tasks' reads and state changes (claim, complete); opening and cancelling
tasks is in `receipts`, beside the receipts that cause it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from serving.storage.tables import OPEN_TASK_STATUSES, Customer, Prediction, RetentionTask

Key = tuple[float, str]


def page(session: Session, statuses: tuple[str, ...], limit: int, after: Key | None,
         claimed_by: str | None = None,
         customer_ref: str | None = None) -> list[tuple[RetentionTask, Prediction, Customer]]:
    """The next `limit + 1` tasks in `statuses` after `after` (score desc, id), of
    customers neither restricted nor objecting; optionally only those claimed by one
    person, or of one customer."""
    q = (
        select(RetentionTask, Prediction, Customer)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status.in_(statuses), ~Customer.restricted, ~Customer.objected)
        .order_by(RetentionTask.score.desc(), RetentionTask.id.asc())
        .limit(limit + 1)
    )
    if after is not None:
        score, key = after
        q = q.where(or_(RetentionTask.score < score,
                        and_(RetentionTask.score == score, RetentionTask.id > key)))
    if claimed_by is not None:
        q = q.where(RetentionTask.claimed_by == claimed_by)
    if customer_ref is not None:
        q = q.where(RetentionTask.customer_ref == customer_ref)
    return list(session.execute(q).all())


def counts(session: Session) -> list[tuple[str, str, int]]:
    """(band of the task's receipt, task status, tasks) for open and claimed tasks of
    customers neither restricted nor objecting."""
    return [(band, status, n) for band, status, n in session.execute(
        select(Prediction.risk_band, RetentionTask.status, func.count())
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status.in_(OPEN_TASK_STATUSES), ~Customer.restricted,
               ~Customer.objected)
        .group_by(Prediction.risk_band, RetentionTask.status)).all()]


def mark_released(session: Session, task_id: str, version: int, now: datetime) -> bool:
    """Claimed -> open again (nobody's), if still at `version`."""
    return bool(session.execute(
        update(RetentionTask)
        .where(RetentionTask.id == task_id, RetentionTask.status == "claimed",
               RetentionTask.version == version)
        .values(status="open", claimed_by=None, claimed_at=None, updated_at=now,
                version=RetentionTask.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount)


def mark_reassigned(session: Session, task_id: str, version: int, to: str,
                    now: datetime) -> bool:
    """Open or claimed -> claimed by `to`, if still at `version`."""
    return bool(session.execute(
        update(RetentionTask)
        .where(RetentionTask.id == task_id, RetentionTask.status.in_(OPEN_TASK_STATUSES),
               RetentionTask.version == version)
        .values(status="claimed", claimed_by=to, claimed_at=now, updated_at=now,
                version=RetentionTask.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount)


def current(session: Session, customer_ref: str) -> RetentionTask | None:
    """The customer's open or claimed task, else their most recent one."""
    return session.scalars(
        select(RetentionTask).where(RetentionTask.customer_ref == customer_ref)
        .order_by(RetentionTask.status.in_(OPEN_TASK_STATUSES).desc(),
                  RetentionTask.created_at.desc())
        .limit(1)
    ).first()


def load(session: Session, task_id: str) -> tuple[RetentionTask, Prediction, Customer] | None:
    """A task with its receipt and customer."""
    row = session.execute(
        select(RetentionTask, Prediction, Customer)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.id == task_id)
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def mark_claimed(session: Session, task_id: str, actor: str, now: datetime) -> bool:
    """Open -> claimed by `actor`; False when the task was not open."""
    return bool(session.execute(
        update(RetentionTask)
        .where(RetentionTask.id == task_id, RetentionTask.status == "open")
        .values(status="claimed", claimed_by=actor, claimed_at=now, updated_at=now,
                version=RetentionTask.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount)


def mark_done(session: Session, task_id: str, version: int, actor: str, outcome: str,
              note: str | None, now: datetime) -> bool:
    """Claimed -> done with its outcome, if still at `version` (optimistic check)."""
    return bool(session.execute(
        update(RetentionTask)
        .where(RetentionTask.id == task_id, RetentionTask.status == "claimed",
               RetentionTask.version == version)
        .values(status="done", outcome=outcome, note=note, completed_by=actor,
                completed_at=now, updated_at=now, version=RetentionTask.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount)


def completed(session: Session) -> list[tuple[RetentionTask, Prediction]]:
    """Done tasks with their receipts, oldest completion first, of customers neither
    restricted nor objecting, receipts not withdrawn."""
    return list(session.execute(
        select(RetentionTask, Prediction)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status == "done", ~Customer.restricted, ~Customer.objected,
               ~Prediction.withdrawn)
        .order_by(RetentionTask.completed_at)
    ).all())


def statuses(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Status and claimant of each task id."""
    rows = session.execute(
        select(RetentionTask.id, RetentionTask.status, RetentionTask.claimed_by)
        .where(RetentionTask.id.in_(task_ids))
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}
