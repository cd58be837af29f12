from __future__ import annotations

from fastapi import APIRouter, Query

from serving.audit import service
from serving.audit.schemas import AuditEventPage, AuditVerification
from serving.deps import Admin, ChainVerifier, SessionDep

router = APIRouter(tags=["audit"])


@router.get("/v1/audit/verify", response_model=AuditVerification)
def verify_chain(reader: ChainVerifier, session: SessionDep) -> AuditVerification:
    """Recompute the hash chain from the first row and report the first broken link
    (`ok` false, `first_broken` its sequence number). Admins and outside auditors (whose
    read is audited); the entries themselves (pseudonyms) are for admins only."""
    return service.verify_for(session, reader, via="api")


@router.get("/v1/audit/events", response_model=AuditEventPage)
def list_events(
    _: Admin,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
    before_seq: int | None = Query(None, ge=1, le=service.MAX_SEQ,
                                   description="Only events older than this"),
    action: str | None = Query(None, max_length=40, pattern=r"^[a-z_.]+$",
                               description="e.g. dispute.opened"),
    customer_ref: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="A customer pseudonym"),
) -> AuditEventPage:
    """The latest audit events, newest first (ids and pseudonyms, never content)."""
    return service.latest(session, limit, before_seq, action, customer_ref)
