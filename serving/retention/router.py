from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from models import pseudonymise
from serving.deps import Agent, CtxDep, RuntimeDep, SettingsDep
from serving.retention import service
from serving.retention.schemas import (
    CompleteRequest,
    ContactAttemptCreate,
    ContactAttemptPublic,
    ReassignRequest,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskListPage,
    Sort,
    TaskCounts,
)

router = APIRouter(tags=["retention"])


@router.get("/v1/retention-tasks", response_model=RetentionTaskPage)
def list_tasks(
    principal: Agent,
    ctx: CtxDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    status: Literal["open", "claimed", "active", "done", "cancelled"] = "open",
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    mine: bool = Query(False, description="only the tasks I claimed"),
    customer_id: str | None = Query(None, min_length=1, max_length=200,
                                    description="only this customer's task (their raw id)"),
    sort: Sort | None = Query(None, description=(
        "score: highest risk first, customers handled in the last CHURN_TASK_HANDLED_DAYS "
        "days after the others; due: soonest due first; last_contact: never contacted "
        "first, then the longest ago; value: the highest expected value of a call first, "
        "handled customers after the others (uplift targeting). Default: value under "
        "uplift targeting (CHURN_TARGETING=uplift with a promoted uplift model), else "
        "score")),
) -> RetentionTaskPage:
    """Tasks for a person to get in touch, explanation, due date, contact attempts and
    the customer's disputes attached; under uplift targeting, what each call is expected
    to be worth. Every read is written to the audit log."""
    ref = pseudonymise(customer_id, settings.pseudonym_secret) if customer_id else None
    return service.list_tasks(ctx.session, ctx.specs, status, limit, cursor, ctx.lang,
                              reader=principal, mine=mine, customer_ref=ref,
                              sort=sort or service.default_sort(runtime.uplift is not None),
                              handled_days=settings.task_handled_days)


@router.get("/v1/retention-tasks/counts", response_model=TaskCounts)
def task_counts(principal: Agent, ctx: CtxDep) -> TaskCounts:
    """Open and claimed tasks, overall and by risk band; overdue ones; the caller's."""
    return service.counts(ctx.session, principal)


@router.get("/v1/retention-tasks/{task_id}", response_model=RetentionTaskPublic)
def get_task(task_id: str, principal: Agent, ctx: CtxDep) -> RetentionTaskPublic:
    """One task: its due date, contact attempts and the customer's disputes (the read is
    audited)."""
    return service.read_task(ctx.session, ctx.specs, task_id, principal, ctx.lang)


@router.get("/v1/retention-tasks/{task_id}/attempts",
            response_model=list[ContactAttemptPublic])
def list_attempts(task_id: str, principal: Agent,
                  ctx: CtxDep) -> list[ContactAttemptPublic]:
    """A task's contact attempts, oldest first (the read is audited)."""
    return service.read_attempts(ctx.session, task_id, principal)


@router.post("/v1/retention-tasks/{task_id}/attempts", response_model=RetentionTaskPublic,
             status_code=201)
def add_attempt(task_id: str, body: ContactAttemptCreate, principal: Agent,
                ctx: CtxDep) -> RetentionTaskPublic:
    """Record a try at reaching the customer (channel, reached or not, note) on a task one
    has claimed; several per task, the outcome stays one. Audited (never the note)."""
    return service.attempt(ctx.session, ctx.specs, task_id, body, principal, ctx.lang)


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
    settings: SettingsDep,
    runtime: RuntimeDep,
    band: Literal["low", "medium", "high"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    task: Literal["open", "claimed", "none"] | None = Query(
        None, description="only customers whose retention task is open, claimed, or none"),
    sort: Sort | None = Query(None, description=(
        "score: highest first, customers handled in the last CHURN_TASK_HANDLED_DAYS days "
        "after the others; due / last_contact / value: customers with an open or claimed "
        "task, soonest due first / never contacted first / highest expected value of a "
        "call first. Default: value under uplift targeting, else score")),
    mine: bool = Query(False, description="only customers whose task I hold"),
) -> RiskListPage:
    """Latest prediction per customer, top three reasons each, with the task's due date,
    the last contact, the customer's dispute mark and (uplift targeting) what a call is
    expected to be worth. Customers who objected or whose record is restricted are not
    listed, nor, for agents, customers held out by the control group. Every read is
    written to the audit log."""
    return service.risk_list(ctx.session, ctx.specs, band, limit, cursor, ctx.lang, task=task,
                             reader=principal, mine=mine,
                             sort=sort or service.default_sort(runtime.uplift is not None),
                             handled_days=settings.task_handled_days)
