from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from models import pseudonymise
from serving.deps import Agent, CtxDep, SettingsDep
from serving.retention import service
from serving.retention.schemas import (
    CompleteRequest,
    ReassignRequest,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskListPage,
    TaskCounts,
)

router = APIRouter(tags=["retention"])


@router.get("/v1/retention-tasks", response_model=RetentionTaskPage)
def list_tasks(
    principal: Agent,
    ctx: CtxDep,
    settings: SettingsDep,
    status: Literal["open", "claimed", "active", "done", "cancelled"] = "open",
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    mine: bool = Query(False, description="only the tasks I claimed"),
    customer_id: str | None = Query(None, min_length=1, max_length=200,
                                    description="only this customer's task (their raw id)"),
) -> RetentionTaskPage:
    """Tasks for a person to get in touch, highest risk first, explanation attached.
    Every read is written to the audit log."""
    ref = pseudonymise(customer_id, settings.pseudonym_secret) if customer_id else None
    return service.list_tasks(ctx.session, ctx.specs, status, limit, cursor, ctx.lang,
                              reader=principal, mine=mine, customer_ref=ref)


@router.get("/v1/retention-tasks/counts", response_model=TaskCounts)
def task_counts(_: Agent, ctx: CtxDep) -> TaskCounts:
    """Open and claimed tasks, overall and by risk band."""
    return service.counts(ctx.session)


@router.post("/v1/retention-tasks/{task_id}/release", response_model=RetentionTaskPublic)
def release_task(task_id: str, principal: Agent, ctx: CtxDep) -> RetentionTaskPublic:
    """Give a claimed task back to the queue (its claimant or an admin); audited."""
    return service.release(ctx.session, ctx.specs, task_id, principal, ctx.lang)


@router.post("/v1/retention-tasks/{task_id}/reassign", response_model=RetentionTaskPublic)
def reassign_task(task_id: str, body: ReassignRequest, principal: Agent,
                  ctx: CtxDep) -> RetentionTaskPublic:
    """Hand a task to another agent (its claimant, or an admin for any task); audited."""
    return service.reassign(ctx.session, ctx.specs, task_id, body.to, principal, ctx.lang)


@router.post("/v1/retention-tasks/{task_id}/claim", response_model=RetentionTaskPublic)
def claim_task(task_id: str, principal: Agent, ctx: CtxDep) -> RetentionTaskPublic:
    """Take an open task (409 when someone else has it)."""
    return service.claim(ctx.session, ctx.specs, task_id, principal, ctx.lang)


@router.post("/v1/retention-tasks/{task_id}/complete", response_model=RetentionTaskPublic)
def complete_task(task_id: str, body: CompleteRequest, principal: Agent,
                  ctx: CtxDep) -> RetentionTaskPublic:
    """Close a claimed task with its outcome (kept as a label) and a note."""
    return service.complete(ctx.session, ctx.specs, task_id, body, principal, ctx.lang)


@router.get("/v1/risk-list", response_model=RiskListPage)
def risk_list(
    principal: Agent,
    ctx: CtxDep,
    band: Literal["low", "medium", "high"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    task: Literal["open", "claimed", "none"] | None = Query(
        None, description="only customers whose retention task is open, claimed, or none"),
) -> RiskListPage:
    """Latest prediction per customer, highest score first, top three reasons each.
    Customers who objected or whose record is restricted are not listed. Every read is
    written to the audit log."""
    return service.risk_list(ctx.session, ctx.specs, band, limit, cursor, ctx.lang, task=task,
                             reader=principal)
