"""The contact queue (claim, complete with an outcome) and the risk list (keyset pages)."""

from __future__ import annotations

import base64
import heapq
import itertools
import json
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import Select, and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from serving.auth.principal import Principal
from serving.errors import Conflict, InvalidInput, NotFound
from serving.retention.schemas import (
    CompleteRequest,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskEntryPublic,
    RiskListPage,
)
from serving.routing import Band
from serving.scoring.schemas import ModelRef
from serving.scoring.service import contributions_public, public
from serving.specs import SpecCache
from serving.storage import bulk
from serving.storage.db import write_lock
from serving.storage.receipts import unpack_shap
from serving.storage.tables import OPEN_TASK_STATUSES, Customer, Prediction, RetentionTask


# -- cursors -------------------------------------------------------------------------------
def encode_cursor(score: float, key: str) -> str:
    raw = json.dumps([score, key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, key = json.loads(raw)
        return float(score), str(key)
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(
            "cursor is not valid; use the next_cursor of the previous page",
            fields=["cursor"],
            errors=[{"loc": ["query", "cursor"], "field": "cursor", "problem": "not valid",
                     "expected": "a next_cursor value", "got": cursor[:40],
                     "fix": "Start again without a cursor."}],
        ) from exc


def _after(score_col: Any, key_col: Any, cursor: str | None) -> Any:
    """Rows after the cursor in the order (score desc, key asc)."""
    if not cursor:
        return None
    score, key = decode_cursor(cursor)
    return or_(score_col < score, and_(score_col == score, key_col > key))


# -- tasks ---------------------------------------------------------------------------------
def _task_public(session: Session, specs: SpecCache, task: RetentionTask, pred: Prediction,
                 customer: Customer, lang: str) -> RetentionTaskPublic:
    open_ = task.status in OPEN_TASK_STATUSES
    return RetentionTaskPublic(
        task_id=task.id, status=task.status, customer_id=customer.external_id,
        customer_ref=task.customer_ref, score=task.score, reason=task.reason,
        prediction=public(session, specs, pred, lang, task_id=task.id if open_ else None),
        claimed_by=task.claimed_by, claimed_at=task.claimed_at, outcome=task.outcome,
        note=task.note, completed_at=task.completed_at, created_at=task.created_at,
    )


def list_tasks(session: Session, specs: SpecCache, status: str = "open", limit: int = 50,
               cursor: str | None = None, lang: str = "en") -> RetentionTaskPage:
    """Tasks waiting for a person (status `open`, `claimed` or both with `active`),
    highest score first. Restricted or objecting customers are left out."""
    statuses = OPEN_TASK_STATUSES if status == "active" else (status,)
    q = (
        select(RetentionTask, Prediction, Customer)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status.in_(statuses), ~Customer.restricted, ~Customer.objected)
        .order_by(RetentionTask.score.desc(), RetentionTask.id.asc())
        .limit(limit + 1)
    )
    after = _after(RetentionTask.score, RetentionTask.id, cursor)
    if after is not None:
        q = q.where(after)
    rows = session.execute(q).all()
    items = [_task_public(session, specs, t, p, c, lang) for t, p, c in rows[:limit]]
    nxt = encode_cursor(rows[limit - 1][0].score, rows[limit - 1][0].id) \
        if len(rows) > limit else None
    return RetentionTaskPage(items=items, next_cursor=nxt)


def current_task(session: Session, customer_ref: str) -> RetentionTask | None:
    """The customer's open or claimed task, else their most recent one."""
    return session.scalars(
        select(RetentionTask).where(RetentionTask.customer_ref == customer_ref)
        .order_by(RetentionTask.status.in_(OPEN_TASK_STATUSES).desc(),
                  RetentionTask.created_at.desc())
        .limit(1)
    ).first()


def _load(session: Session, task_id: str) -> tuple[RetentionTask, Prediction, Customer]:
    row = session.execute(
        select(RetentionTask, Prediction, Customer)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.id == task_id)
    ).first()
    if row is None:
        raise NotFound("no such retention task")
    return row[0], row[1], row[2]


def claim(session: Session, specs: SpecCache, task_id: str, principal: Principal,
          lang: str = "en") -> RetentionTaskPublic:
    """Take an open task. Claiming one's own claimed task again is a no-op."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        if customer.restricted or customer.objected:
            raise Conflict("the customer's record is restricted or they objected: do not contact")
        now = datetime.now(UTC)
        done = session.execute(
            update(RetentionTask)
            .where(RetentionTask.id == task_id, RetentionTask.status == "open")
            .values(status="claimed", claimed_by=principal.actor, claimed_at=now, updated_at=now,
                    version=RetentionTask.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not done:
            session.rollback()
            task, _, _ = _load(session, task_id)
            if not (task.status == "claimed" and task.claimed_by == principal.actor):
                raise Conflict(f"the task is {task.status}"
                               + (f" by {task.claimed_by}" if task.status == "claimed" else ""))
        session.commit()
    session.expire_all()
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def complete(session: Session, specs: SpecCache, task_id: str, body: CompleteRequest,
             principal: Principal, lang: str = "en") -> RetentionTaskPublic:
    """Close a task one has claimed (an admin may close anyone's) with its outcome."""
    with write_lock(session):
        task, _, _ = _load(session, task_id)
        if task.status == "open":
            raise Conflict("claim the task first (POST /v1/retention-tasks/{id}/claim)")
        if task.status != "claimed":
            raise Conflict(f"the task is already {task.status}")
        if task.claimed_by != principal.actor and principal.role != "admin":
            raise Conflict(f"the task is claimed by {task.claimed_by}")
        now = datetime.now(UTC)
        done = session.execute(
            update(RetentionTask)
            .where(RetentionTask.id == task_id, RetentionTask.status == "claimed",
                   RetentionTask.version == task.version)
            .values(status="done", outcome=body.outcome, note=body.note,
                    completed_by=principal.actor, completed_at=now, updated_at=now,
                    version=RetentionTask.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not done:
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        session.commit()
    session.expire_all()
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def outcome_labels(session: Session) -> list[dict[str, Any]]:
    """Completed contacts as training labels (pseudonymised; restricted/objecting customers
    and withdrawn predictions left out)."""
    rows = session.execute(
        select(RetentionTask, Prediction)
        .join(Prediction, Prediction.id == RetentionTask.prediction_id)
        .join(Customer, Customer.customer_ref == RetentionTask.customer_ref)
        .where(RetentionTask.status == "done", ~Customer.restricted, ~Customer.objected,
               ~Prediction.withdrawn)
        .order_by(RetentionTask.completed_at)
    ).all()
    return [
        {"customer_ref": t.customer_ref, "prediction_id": p.id, "model_name": p.model_name,
         "model_version": p.model_version, "features": json.loads(p.features),
         "score": p.score, "outcome": t.outcome, "completed_at": t.completed_at}
        for t, p in rows
    ]


# -- risk list -----------------------------------------------------------------------------
TASK_FILTERS = ("open", "claimed", "none")
BANDS: tuple[str, ...] = get_args(Band)


def risk_list(session: Session, specs: SpecCache, band: str | None = None, limit: int = 50,
              cursor: str | None = None, lang: str = "en",
              task: str | None = None) -> RiskListPage:
    """The latest prediction per customer, highest score first, top three reasons each;
    optionally only customers whose task is `open`, `claimed`, or who have none (`none`)."""
    few = _few_with_task(session, task)
    if few is not None:
        # Few such customers (typically the claimed ones): read them, not a whole band.
        q = _risk_page(limit, cursor, task).where(Customer.customer_ref.in_(few))
        rows = session.execute(q.where(Customer.latest_band == band) if band else q).all()
    elif band:
        rows = session.execute(_risk_page(limit, cursor, task).where(
            Customer.latest_band == band)).all()
    else:
        top = _top_keys_across_bands(session, limit, cursor, task)
        # The task filter chose these keys; repeated here it would lead the planner to
        # read every open task instead of these few customers.
        rows = session.execute(_risk_page(limit, cursor, None).where(
            Customer.customer_ref.in_([ref for _, ref in top]))).all() if top else []
    items = []
    for c, p, task_id in rows[:limit]:
        spec = specs.get(session, p.model_name, p.model_version)
        reasons = contributions_public(spec, json.loads(p.features), unpack_shap(p.shap),
                                       lang, top=3)
        items.append(RiskEntryPublic(
            customer_id=c.external_id, customer_ref=c.customer_ref, prediction_id=p.id,
            score=p.score, risk_band=p.risk_band,
            model=ModelRef(name=p.model_name, version=p.model_version),
            reasons=reasons, open_task_id=task_id, scored_at=p.created_at,
        ))
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = encode_cursor(last.latest_score, last.customer_ref)
    return RiskListPage(items=items, next_cursor=nxt)


# Up to this many customers with open (or claimed) tasks are read directly; past it, the
# bands are read in score order, where such customers are dense enough to find at once.
FEW_TASKS = 2_000


def _few_with_task(session: Session, task: str | None) -> list[str] | None:
    """The customers whose task has status `task` (open, claimed), if there are few."""
    if task not in OPEN_TASK_STATUSES:
        return None
    with_task = select(RetentionTask.id).where(RetentionTask.status == task)
    # counted on the (status, score, id) index alone: many open tasks cost no table reads
    counted = select(func.count()).select_from(with_task.limit(FEW_TASKS + 1).subquery())
    if session.scalar(counted) > FEW_TASKS:
        return None
    return list(session.scalars(with_task.with_only_columns(RetentionTask.customer_ref)))


def _top_keys_across_bands(session: Session, limit: int, cursor: str | None,
                           task: str | None) -> list[tuple[float, str]]:
    """The next `limit + 1` (score, pseudonym) keys of the whole list, from every band.

    Each band is read on the (band, score) index, so the nightly batch keeps one score
    index on customers up to date, not two; the keys are merged, not concatenated, as
    bands follow each model version's thresholds. Highest band first: once `limit + 1`
    keys are in hand, a lower band is read only above the last of them, which usually
    ends its scan at once (a filter on tasks would otherwise read the whole band)."""
    top: list[tuple[float, str]] = []
    for band in reversed(BANDS):
        q = _risk_page(limit, cursor, task, keys_only=True).where(Customer.latest_band == band)
        if len(top) > limit:
            score, ref = top[-1]
            q = q.where(Customer.latest_score >= score,
                        or_(Customer.latest_score > score, Customer.customer_ref < ref))
        found = [(k[0], k[1]) for k in session.execute(q).all()]
        top = list(itertools.islice(heapq.merge(top, found, key=lambda k: (-k[0], k[1])),
                                    limit + 1))
    return top


def _risk_page(limit: int, cursor: str | None, task: str | None,
               keys_only: bool = False) -> Select:
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
                                       text("retention_tasks." + bulk.OPEN_TASK_WHERE)))
        .where(Customer.latest_score.is_not(None), ~Customer.restricted, ~Customer.objected,
               ~Prediction.withdrawn)
        .order_by(Customer.latest_score.desc(), Customer.customer_ref.asc())
        .limit(limit + 1)
    )
    if task == "none":
        q = q.where(RetentionTask.id.is_(None))  # the outer join found no open task
    elif task:
        q = q.where(RetentionTask.status == task)
    after = _after(Customer.latest_score, Customer.customer_ref, cursor)
    if after is not None:
        # the keyset condition plus a plain bound, so the index range is used deep down
        score, _ = decode_cursor(cursor or "")
        q = q.where(after, Customer.latest_score <= score)
    return q
