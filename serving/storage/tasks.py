"""Retention tasks' reads and state changes (claim, complete); opening and cancelling
tasks is in `receipts`, beside the receipts that cause it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    ContactAttempt,
    Customer,
    Prediction,
    RetentionTask,
)

Key = tuple[float, str]
# How a queue can be ordered: by score (customers handled recently after the others), by
# due date (soonest first), by last contact (never contacted first, then longest ago), by
# the expected retained value of the call (uplift targeting, issue 17; handled customers
# after the others, tasks without a value last).
SORTS = ("score", "due", "last_contact", "value")
# the value of a task that has none (opened under risk targeting): below any real one
NO_VALUE = -1e18
# the "never" of last contact and due date, so that keyset comparisons see no NULL
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def handled_expr(since: datetime | None) -> ColumnElement:
    """1 for a customer contacted (or whose task was closed) at or after `since`, else 0."""
    if since is None:
        return literal(0)
    return case((Customer.last_contact_at >= since, 1), else_=0)


def sort_keys(sort: str, since: datetime | None) -> list[ColumnElement]:
    """The ORDER BY of a queue sorted by `sort` (the task id last, as the tie-break)."""
    # ties (the same due date, every customer never contacted): the highest risk first
    if sort == "due":
        return [func.coalesce(RetentionTask.due_at, RetentionTask.created_at),
                -RetentionTask.score]
    if sort == "last_contact":
        return [func.coalesce(Customer.last_contact_at, EPOCH), -RetentionTask.score]
    if sort == "value":
        return [handled_expr(since), -func.coalesce(RetentionTask.expected_value, NO_VALUE),
                -RetentionTask.score]
    return [handled_expr(since), -RetentionTask.score]


def _after(keys: list[ColumnElement], values: list[Any], key: str) -> ColumnElement:
    """Rows strictly after (values..., key) in the order (keys..., task id)."""
    cond = RetentionTask.id > key
    for k, v in reversed(list(zip(keys, values, strict=True))):
        cond = or_(k > v, and_(k == v, cond))
    return cond


def page(session: Session, statuses: tuple[str, ...], limit: int, after: list[Any] | None,
         claimed_by: str | None = None, customer_ref: str | None = None, *,
         sort: str = "score", handled_since: datetime | None = None, band: str | None = None,
         latest: bool = False) -> list[tuple[RetentionTask, Prediction, Customer, list[Any]]]:
    """The next `limit + 1` tasks in `statuses` after the key `after`, of customers
    neither restricted nor objecting, each with its own key; optionally only those
    claimed by one person, of one customer, or of one band. `sort` (see `SORTS`); with
    `score`, customers handled at or after `handled_since` come after the others.
    `latest`: the customer's latest receipt instead of the task's."""
    keys = sort_keys(sort, handled_since)
    receipt = Customer.latest_prediction_id if latest else RetentionTask.prediction_id
    q = (
        select(RetentionTask, Prediction, Customer,
               *[k.label(f"sort_key_{n}") for n, k in enumerate(keys)])
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .join(Prediction, Prediction.id == receipt)
        .where(RetentionTask.status.in_(statuses), ~Customer.restricted, ~Customer.objected)
        .order_by(*keys, RetentionTask.id.asc())
        .limit(limit + 1)
    )
    if after is not None:
        *values, key = after
        q = q.where(_after(keys, values, key))
    if claimed_by is not None:
        q = q.where(RetentionTask.claimed_by == claimed_by)
    if customer_ref is not None:
        q = q.where(RetentionTask.customer_ref == customer_ref)
    if band is not None:
        q = q.where(Prediction.risk_band == band)
    return [(r[0], r[1], r[2], [*r[3:], r[0].id]) for r in session.execute(q).all()]


def add_attempt(session: Session, row: dict[str, Any]) -> None:
    """Record a contact attempt and the customer's last contact, in the caller's
    transaction."""
    session.execute(insert(ContactAttempt), [row])
    touch_contact(session, row["customer_ref"], row["attempted_at"])


def touch_contact(session: Session, customer_ref: str, at: datetime) -> None:
    """The customer was contacted (or their task closed) at `at`."""
    session.execute(update(Customer).where(Customer.customer_ref == customer_ref)
                    .values(last_contact_at=at).execution_options(synchronize_session=False))


def attempts(session: Session, task_ids: list[str]) -> dict[str, list[ContactAttempt]]:
    """The contact attempts of each task, oldest first."""
    out: dict[str, list[ContactAttempt]] = {t: [] for t in task_ids}
    if task_ids:
        for a in session.scalars(select(ContactAttempt)
                                 .where(ContactAttempt.task_id.in_(task_ids))
                                 .order_by(ContactAttempt.attempted_at, ContactAttempt.id)):
            out[a.task_id].append(a)
    return out


def customer_exists(session: Session, customer_ref: str) -> bool:
    """A customer with this pseudonym is held."""
    return session.get(Customer, customer_ref) is not None


def last_contacts(session: Session, refs: list[str]) -> dict[str, datetime | None]:
    """Each customer's last contact (None: never)."""
    if not refs:
        return {}
    return dict(session.execute(select(Customer.customer_ref, Customer.last_contact_at)
                                .where(Customer.customer_ref.in_(refs))).all())


def counts(session: Session) -> list[tuple[str, str, int]]:
    """(the customer's band on the risk list, task status, tasks) for open and claimed
    tasks of customers neither restricted nor objecting. The customer's own band (as the
    list filters it), not the receipt's: no join on receipts (shown on every page, this
    read measured 0.3 s at 100k customers with it)."""
    return [(band, status, n) for band, status, n in session.execute(
        select(Customer.latest_band, RetentionTask.status, func.count())
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status.in_(OPEN_TASK_STATUSES), ~Customer.restricted,
               ~Customer.objected, Customer.latest_band.is_not(None))
        .group_by(Customer.latest_band, RetentionTask.status)).all()]


def overdue_count(session: Session, now: datetime) -> int:
    """Open or claimed tasks past their due date (customers neither restricted nor
    objecting)."""
    return session.scalar(
        select(func.count()).select_from(RetentionTask)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status.in_(OPEN_TASK_STATUSES), RetentionTask.due_at < now,
               ~Customer.restricted, ~Customer.objected)) or 0


def claimed_count(session: Session, actor: str) -> int:
    """Tasks `actor` holds."""
    return session.scalar(select(func.count()).select_from(RetentionTask).where(
        RetentionTask.status == "claimed", RetentionTask.claimed_by == actor)) or 0


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


def by_ids(session: Session, task_ids: list[str]) -> dict[str, RetentionTask]:
    """The tasks of these ids."""
    if not task_ids:
        return {}
    return {t.id: t for t in session.scalars(
        select(RetentionTask).where(RetentionTask.id.in_(task_ids)))}
