"""Read-only lookups the pages need that no service offers (yet). Nothing here writes or
decides anything: every change goes through the services of `serving/`.

Candidates to move into the services: `risk_page` (the risk list with a task-status
filter), `history` and `current_task`.
"""

from __future__ import annotations

import json

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session

from serving.retention import service as retention
from serving.retention.schemas import RiskEntryPublic, RiskListPage
from serving.scoring import explain
from serving.scoring.schemas import ModelRef
from serving.scoring.service import SpecCache
from serving.storage import bulk
from serving.storage.tables import (
    OPEN_TASK_STATUSES,
    Customer,
    Prediction,
    RetentionTask,
    StaffUser,
)

TASK_FILTERS = ("open", "claimed", "none")


def risk_page(session: Session, specs: SpecCache, band: str | None, task: str | None,
              limit: int, cursor: str | None, lang: str = "en") -> RiskListPage:
    """The risk list (retention service), optionally only customers whose task is `open`,
    `claimed`, or who have no open task (`none`). Same order, exclusions and cursor."""
    if not task:
        return retention.risk_list(session, specs, band, limit, cursor, lang)
    q = (
        select(Customer, Prediction, RetentionTask.id)
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
    else:
        q = q.where(RetentionTask.status == task)
    if band:
        q = q.where(Customer.latest_band == band)
    after = retention._after(Customer.latest_score, Customer.customer_ref, cursor)  # noqa: SLF001
    if after is not None:
        # the same keyset condition plus a plain bound, so the index range is used
        score, _ = retention.decode_cursor(cursor or "")
        q = q.where(after, Customer.latest_score <= score)
    rows = session.execute(q).all()
    items = []
    for c, p, task_id in rows[:limit]:
        spec = specs.get(session, p.model_name, p.model_version)
        reasons = explain.contributions(spec, json.loads(p.features),
                                        explain.unpack_shap(p.shap), lang, top=3)
        items.append(RiskEntryPublic(
            customer_id=c.external_id, customer_ref=c.customer_ref, prediction_id=p.id,
            score=p.score, risk_band=p.risk_band,
            model=ModelRef(name=p.model_name, version=p.model_version),
            reasons=reasons, open_task_id=task_id, scored_at=p.created_at,
        ))
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = retention.encode_cursor(last.latest_score, last.customer_ref)
    return RiskListPage(items=items, next_cursor=nxt)


def task_statuses(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """status and claimant of each task id."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(RetentionTask.id, RetentionTask.status, RetentionTask.claimed_by)
        .where(RetentionTask.id.in_(task_ids))
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def history(session: Session, customer_ref: str, limit: int = 20) -> list[Prediction]:
    """The customer's predictions, newest first."""
    return list(session.scalars(
        select(Prediction).where(Prediction.customer_ref == customer_ref)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(limit)
    ))


def current_task(session: Session, customer_ref: str) -> RetentionTask | None:
    """The open/claimed task, else the most recent one."""
    return session.scalars(
        select(RetentionTask).where(RetentionTask.customer_ref == customer_ref)
        .order_by(RetentionTask.status.in_(OPEN_TASK_STATUSES).desc(),
                  RetentionTask.created_at.desc())
        .limit(1)
    ).first()


def staff_names(session: Session, actors: list[str | None]) -> dict[str, str]:
    """"staff:<id>" -> the user's name, for showing who claimed a task."""
    ids = {a.split(":", 1)[1] for a in actors if a and a.startswith("staff:")}
    names = {a: "administrator" for a in actors if a == "admin:bootstrap"}
    if ids:
        for uid, name in session.execute(
                select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))):
            names[f"staff:{uid}"] = name
    return names
