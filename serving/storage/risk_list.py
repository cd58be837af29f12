"""The risk list's reads: each customer's entry in use, highest score first, in keyset
pages (key: score, pseudonym), with their open task if any."""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from typing import get_args

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, text
from sqlalchemy.orm import Session

from serving.routing import Band
from serving.storage.bulk import OPEN_TASK_WHERE
from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    Customer,
    Dispute,
    DisputeDecision,
    Prediction,
    RetentionTask,
)

Key = tuple[float, str]
BANDS: tuple[str, ...] = get_args(Band)


def handled_filter(session: Session, since: datetime | None,
                   handled: bool) -> ColumnElement | None:
    """Customers contacted (or whose task was closed) at or after `since` (`handled`), or
    the others; None when nothing is to be filtered (`since` None, or nobody handled).

    The handled customers are few (a team's contacts of the last weeks): read on their
    partial index and named, so the pages keep reading the (band, score, pseudonym)
    index alone; a filter on the column would read every scanned customer's row."""
    if since is None:
        return None
    refs = list(session.scalars(select(Customer.customer_ref)
                                .where(Customer.last_contact_at >= since)
                                .limit(FEW_TASKS + 1)))
    if len(refs) > FEW_TASKS:  # many: the column itself
        if handled:
            return Customer.last_contact_at >= since
        return or_(Customer.last_contact_at.is_(None), Customer.last_contact_at < since)
    if handled:
        return Customer.customer_ref.in_(refs) if refs else false()
    return Customer.customer_ref.not_in(refs) if refs else None


def page(session: Session, limit: int, after: Key | None, band: str | None,
         task: str | None, extra: ColumnElement | None = None,
         ) -> list[tuple[Customer, Prediction, str | None]]:
    """The next `limit + 1` entries (customer, receipt, open task id) after `after`, of
    one band or all, optionally only customers whose task is `open`, `claimed` or who
    have none (`none`), and meeting `extra` (`handled_filter`)."""
    few = few_with_task(session, task)
    if few is not None:
        # Few such customers (typically the claimed ones): read them, not a whole band.
        q = page_query(limit, after, task, extra=extra).where(Customer.customer_ref.in_(few))
        return list(session.execute(q.where(Customer.latest_band == band) if band else q).all())
    if band:
        return list(session.execute(page_query(limit, after, task, extra=extra).where(
            Customer.latest_band == band)).all())
    top = top_keys_across_bands(session, limit, after, task, extra)
    # The task filter chose these keys; repeated here it would lead the planner to
    # read every open task instead of these few customers.
    return list(session.execute(page_query(limit, after, None).where(
        Customer.customer_ref.in_([ref for _, ref in top]))).all()) if top else []


# Up to this many customers with open (or claimed) tasks are read directly; past it, the
# bands are read in score order, where such customers are dense enough to find at once.
FEW_TASKS = 2_000


def few_with_task(session: Session, task: str | None) -> list[str] | None:
    """The customers whose task has status `task` (open, claimed), if there are few."""
    if task not in OPEN_TASK_STATUSES:
        return None
    with_task = select(RetentionTask.id).where(RetentionTask.status == task)
    # counted on the (status, score, id) index alone: many open tasks cost no table reads
    counted = select(func.count()).select_from(with_task.limit(FEW_TASKS + 1).subquery())
    if session.scalar(counted) > FEW_TASKS:
        return None
    return list(session.scalars(with_task.with_only_columns(RetentionTask.customer_ref)))


def top_keys_across_bands(session: Session, limit: int, after: Key | None,
                          task: str | None, extra: ColumnElement | None = None) -> list[Key]:
    """The next `limit + 1` (score, pseudonym) keys of the whole list, from every band.

    Each band is read on the (band, score) index, so the nightly batch keeps one score
    index on customers up to date, not two; the keys are merged, not concatenated, as
    bands follow each model version's thresholds. Highest band first: once `limit + 1`
    keys are in hand, a lower band is read only above the last of them, which usually
    ends its scan at once (a filter on tasks would otherwise read the whole band)."""
    top: list[tuple[float, str]] = []
    for band in reversed(BANDS):
        q = page_query(limit, after, task, keys_only=True, extra=extra).where(
            Customer.latest_band == band)
        if len(top) > limit:
            score, ref = top[-1]
            q = q.where(Customer.latest_score >= score,
                        or_(Customer.latest_score > score, Customer.customer_ref < ref))
        found = [(k[0], k[1]) for k in session.execute(q).all()]
        top = list(itertools.islice(heapq.merge(top, found, key=lambda k: (-k[0], k[1])),
                                    limit + 1))
    return top


def page_query(limit: int, after: Key | None, task: str | None,
               keys_only: bool = False, extra: ColumnElement | None = None) -> Select:
    """The next `limit + 1` risk-list rows, (customer, prediction, open task id), or
    with `keys_only` their (score, pseudonym); the caller narrows it (a band, some ids)."""
    columns = ((Customer.latest_score, Customer.customer_ref) if keys_only
               else (Customer, Prediction, RetentionTask.id))
    q = (
        select(*columns)
        .join(Prediction, Prediction.id == Customer.latest_prediction_id)
        # Literal IN: SQLite uses the partial index of open tasks only when the query
        # repeats its condition word for word (a bound IN (?, ?) scans every task).
        .outerjoin(RetentionTask, and_(RetentionTask.customer_ref == Customer.customer_ref,
                                       text("retention_tasks." + OPEN_TASK_WHERE)))
        .where(Customer.latest_score.is_not(None), ~Customer.restricted, ~Customer.objected,
               ~Prediction.withdrawn)
        .order_by(Customer.latest_score.desc(), Customer.customer_ref.asc())
        .limit(limit + 1)
    )
    if extra is not None:
        q = q.where(extra)
    if task == "none":
        q = q.where(RetentionTask.id.is_(None))  # the outer join found no open task
    elif task:
        q = q.where(RetentionTask.status == task)
    if after is not None:
        # the keyset condition plus a plain bound, so the index range is used deep down
        score, key = after
        q = q.where(or_(Customer.latest_score < score,
                        and_(Customer.latest_score == score, Customer.customer_ref > key)),
                    Customer.latest_score <= score)
    return q


def arms(session: Session, prediction_ids: list[str]) -> dict[str, str]:
    """The control-group arm of each drawn receipt among `prediction_ids`."""
    return dict(session.execute(
        select(Prediction.id, Prediction.arm)
        .where(Prediction.id.in_(prediction_ids), Prediction.arm.is_not(None))).all())


def not_held_out(extra: ColumnElement | None) -> ColumnElement:
    """`extra`, and the customer's receipt in use was not held out by the control group
    (issue 17): what an agent's list reads (`page_query` joins that receipt)."""
    kept = or_(Prediction.arm.is_(None), Prediction.arm != "control")
    return kept if extra is None else and_(extra, kept)


# -- the customer's voice beside an entry (issue 16) ---------------------------------------
def disputes_of(session: Session, customer_ref: str) -> list[Dispute]:
    """The customer's disputes, newest first (open and decided)."""
    return list(session.scalars(select(Dispute).where(Dispute.customer_ref == customer_ref)
                                .order_by(Dispute.received_at.desc(), Dispute.id.desc())))


def decision_of(session: Session, dispute_id: str) -> DisputeDecision | None:
    """A dispute's decision, if decided."""
    return session.get(DisputeDecision, dispute_id)


def dispute_marks(session: Session, refs: list[str],
                  ) -> dict[str, list[tuple[str, str | None, datetime]]]:
    """Each customer's disputes as (status, decision or None, decided or received at),
    newest first: what a risk-list row marks before the agent calls."""
    out: dict[str, list[tuple[str, str | None, datetime]]] = {}
    if not refs:
        return out
    rows = session.execute(
        select(Dispute.customer_ref, Dispute.status, DisputeDecision.decision,
               func.coalesce(DisputeDecision.decided_at, Dispute.received_at))
        .outerjoin(DisputeDecision, DisputeDecision.dispute_id == Dispute.id)
        .where(Dispute.customer_ref.in_(refs))
        .order_by(Dispute.received_at.desc(), Dispute.id.desc())).all()
    for ref, status, decision, at in rows:
        out.setdefault(ref, []).append((status, decision, at))
    return out
