from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from serving import deps
from serving.audit import service as audit
from serving.auth.deps import staff
from serving.auth.principal import Principal
from serving.retention import service
from serving.retention.schemas import (
    CompleteRequest,
    RetentionTaskPage,
    RetentionTaskPublic,
    RiskListPage,
)
from serving.specs import SpecCache

router = APIRouter(tags=["retention"])
agent = staff("agent")


@router.get("/v1/retention-tasks", response_model=RetentionTaskPage)
def list_tasks(
    status: Literal["open", "claimed", "active", "done", "cancelled"] = "open",
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    principal: Principal = Depends(agent),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> RetentionTaskPage:
    """Tasks for a person to get in touch, highest risk first, explanation attached.
    Every read is written to the audit log."""
    page = service.list_tasks(session, specs, status, limit, cursor, lang)
    session.rollback()  # end the read before the audit write
    audit.record(session, principal, audit.TASK_LIST_READ,
                 objects={"status": status, "limit": limit,
                          "page": "next" if cursor else "first", "entries": len(page.items)})
    return page


@router.post("/v1/retention-tasks/{task_id}/claim", response_model=RetentionTaskPublic)
def claim_task(
    task_id: str,
    principal: Principal = Depends(agent),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> RetentionTaskPublic:
    """Take an open task (409 when someone else has it)."""
    return service.claim(session, specs, task_id, principal, lang)


@router.post("/v1/retention-tasks/{task_id}/complete", response_model=RetentionTaskPublic)
def complete_task(
    task_id: str,
    body: CompleteRequest,
    principal: Principal = Depends(agent),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> RetentionTaskPublic:
    """Close a claimed task with its outcome (kept as a label) and a note."""
    return service.complete(session, specs, task_id, body, principal, lang)


@router.get("/v1/risk-list", response_model=RiskListPage)
def risk_list(
    band: Literal["low", "medium", "high"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
    task: Literal["open", "claimed", "none"] | None = Query(
        None, description="only customers whose retention task is open, claimed, or none"),
    principal: Principal = Depends(agent),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> RiskListPage:
    """Latest prediction per customer, highest score first, top three reasons each.
    Customers who objected or whose record is restricted are not listed. Every read is
    written to the audit log."""
    page = service.risk_list(session, specs, band, limit, cursor, lang, task=task)
    session.rollback()  # end the read before the audit write
    audit.record(session, principal, audit.RISK_LIST_READ,
                 objects={"band": band, "task": task, "limit": limit,
                          "page": "next" if cursor else "first", "entries": len(page.items)})
    return page
