"""The contact queue (claim, complete with an outcome) and the risk list (keyset pages)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth import users
from serving.auth.principal import Principal
from serving.errors import Conflict, InvalidInput, NotFound, field_error
from serving.retention.schemas import (
    CompleteRequest,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskEntryPublic,
    RiskListPage,
    TaskCounts,
)
from serving.scoring.schemas import ModelRef
from serving.scoring.service import contributions_public, public
from serving.specs import SpecCache
from serving.storage import risk_list as risk_list_rows
from serving.storage import tasks
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
        raise InvalidInput.naming(
            "cursor is not valid; use the next_cursor of the previous page",
            [field_error(["query", "cursor"], "not valid", "a next_cursor value", cursor,
                         fix="Start again without a cursor.")]) from exc


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


def _audit_read(session: Session, reader: Principal, action: str, objects: dict[str, Any],
                via: str | None) -> None:
    """Every read of a list of customers is in the audit log, whoever serves it."""
    session.rollback()  # end the read's transaction before the audit write
    audit.record(session, reader, action, objects=objects | ({"via": via} if via else {}))


def list_tasks(session: Session, specs: SpecCache, status: str = "open", limit: int = 50,
               cursor: str | None = None, lang: str = "en", *, reader: Principal,
               via: str | None = None, mine: bool = False,
               customer_ref: str | None = None) -> RetentionTaskPage:
    """Tasks waiting for a person (status `open`, `claimed` or both with `active`),
    highest score first; `mine`: only those the reader claimed; `customer_ref`: one
    customer's. Restricted or objecting customers are left out. The read is audited
    (`via`: the entry point when not the JSON API)."""
    statuses = OPEN_TASK_STATUSES if status == "active" else (status,)
    rows = tasks.page(session, statuses, limit, decode_cursor(cursor) if cursor else None,
                      claimed_by=reader.actor if mine else None, customer_ref=customer_ref)
    items = [_task_public(session, specs, t, p, c, lang) for t, p, c in rows[:limit]]
    nxt = encode_cursor(rows[limit - 1][0].score, rows[limit - 1][0].id) \
        if len(rows) > limit else None
    _audit_read(session, reader, audit.TASK_LIST_READ,
                {"status": status, "limit": limit, "page": "next" if cursor else "first",
                 "entries": len(items), "mine": mine,
                 "customer_ref": customer_ref}, via)
    return RetentionTaskPage(items=items, next_cursor=nxt)


def task_statuses(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Status and claimant of each task id (shown beside a risk-list entry)."""
    return tasks.statuses(session, task_ids) if task_ids else {}


def current_task(session: Session, customer_ref: str) -> RetentionTask | None:
    """The customer's open or claimed task, else their most recent one."""
    return tasks.current(session, customer_ref)


def _load(session: Session, task_id: str) -> tuple[RetentionTask, Prediction, Customer]:
    row = tasks.load(session, task_id)
    if row is None:
        raise NotFound("no such retention task")
    return row


def claim(session: Session, specs: SpecCache, task_id: str, principal: Principal,
          lang: str = "en") -> RetentionTaskPublic:
    """Take an open task. Claiming one's own claimed task again is a no-op."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        if customer.restricted or customer.objected:
            raise Conflict("the customer's record is restricted or they objected: do not contact")
        if not tasks.mark_claimed(session, task_id, principal.actor, datetime.now(UTC)):
            session.rollback()
            task, _, _ = _load(session, task_id)
            if not (task.status == "claimed" and task.claimed_by == principal.actor):
                raise Conflict(f"the task is {task.status}"
                               + (f" by {task.claimed_by}" if task.status == "claimed" else ""))
        else:
            _audit_task(session, principal, audit.TASK_CLAIMED, task)
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
        if not tasks.mark_done(session, task_id, task.version, principal.actor, body.outcome,
                               body.note, datetime.now(UTC)):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        _audit_task(session, principal, audit.TASK_COMPLETED, task, outcome=body.outcome,
                    claimed_by=task.claimed_by)
        session.commit()
    session.expire_all()
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def release(session: Session, specs: SpecCache, task_id: str, principal: Principal,
            lang: str = "en") -> RetentionTaskPublic:
    """Give a claimed task back to the queue (its claimant, or an admin)."""
    with write_lock(session):
        task, _, _ = _load(session, task_id)
        if task.status != "claimed":
            raise Conflict(f"only a claimed task can be released; this one is {task.status}")
        if task.claimed_by != principal.actor and principal.role != "admin":
            raise Conflict(f"the task is claimed by {task.claimed_by}: only they or an admin "
                           "can release it")
        if not tasks.mark_released(session, task_id, task.version, datetime.now(UTC)):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        _audit_task(session, principal, audit.TASK_RELEASED, task, claimed_by=task.claimed_by)
        session.commit()
    session.expire_all()
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def reassign(session: Session, specs: SpecCache, task_id: str, to: str, principal: Principal,
             lang: str = "en") -> RetentionTaskPublic:
    """Hand an open or claimed task to agent `to` (an actor such as `staff:ana`): its
    claimant may hand it over, an admin may move anyone's."""
    with write_lock(session):
        task, _, customer = _load(session, task_id)
        if task.status not in OPEN_TASK_STATUSES:
            raise Conflict(f"the task is already {task.status}")
        if customer.restricted or customer.objected:
            raise Conflict("the customer's record is restricted or they objected: do not contact")
        if task.status == "claimed" and task.claimed_by != principal.actor \
                and principal.role != "admin":
            raise Conflict(f"the task is claimed by {task.claimed_by}: only they or an admin "
                           "can hand it over")
        if task.status == "open" and principal.role != "admin":
            raise Conflict("claim the task first, or ask an admin to assign it")
        if not users.is_active_agent(session, to):
            raise InvalidInput.naming("no active agent is named so", [field_error(
                ["body", "to"], "unknown agent", "the actor of an active agent "
                "(staff:<name>)", to, fix="List the staff to find the agent's actor.")])
        if not tasks.mark_reassigned(session, task_id, task.version, to, datetime.now(UTC)):
            session.rollback()
            raise Conflict("the task changed meanwhile; read it again")
        _audit_task(session, principal, audit.TASK_REASSIGNED, task, claimed_by=task.claimed_by,
                    to=to)
        session.commit()
    session.expire_all()
    task, pred, customer = _load(session, task_id)
    return _task_public(session, specs, task, pred, customer, lang)


def counts(session: Session) -> TaskCounts:
    """Open and claimed tasks by band (customers neither restricted nor objecting)."""
    out = TaskCounts()
    for band, status, n in tasks.counts(session):
        setattr(out, status, getattr(out, status) + n)
        out.by_band[band] = out.by_band.get(band, {}) | {status: n}
    return out


def _audit_task(session: Session, principal: Principal, action: str, task: RetentionTask,
                **details: Any) -> None:
    """A task event in the audit chain, in the caller's transaction."""
    audit.append(session, principal, action, customer_ref=task.customer_ref,
                 objects={"task_id": task.id, "prediction_id": task.prediction_id,
                          **details})


def outcome_labels(session: Session) -> list[dict[str, Any]]:
    """Completed contacts as training labels (pseudonymised; restricted/objecting customers
    and withdrawn predictions left out)."""
    return [
        {"customer_ref": t.customer_ref, "prediction_id": p.id, "model_name": p.model_name,
         "model_version": p.model_version, "features": json.loads(p.features),
         "score": p.score, "outcome": t.outcome, "completed_at": t.completed_at}
        for t, p in tasks.completed(session)
    ]


# -- risk list -----------------------------------------------------------------------------
TASK_FILTERS = ("open", "claimed", "none")
BANDS = risk_list_rows.BANDS


def risk_list(session: Session, specs: SpecCache, band: str | None = None, limit: int = 50,
              cursor: str | None = None, lang: str = "en",
              task: str | None = None, *, reader: Principal,
              via: str | None = None) -> RiskListPage:
    """The latest prediction per customer, highest score first, top three reasons each;
    optionally only customers whose task is `open`, `claimed`, or who have none (`none`).
    The read is audited (`via`: the entry point when not the JSON API)."""
    rows = risk_list_rows.page(session, limit, decode_cursor(cursor) if cursor else None,
                               band, task)
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
    _audit_read(session, reader, audit.RISK_LIST_READ,
                {"band": band, "task": task, "limit": limit,
                 "page": "next" if cursor else "first", "entries": len(items)}, via)
    return RiskListPage(items=items, next_cursor=nxt)
