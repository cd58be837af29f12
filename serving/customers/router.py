from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from serving import deps
from serving.auth.deps import customer_only, staff
from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers import service
from serving.customers.schemas import AccessLinkPublic, CustomerSelfPublic

router = APIRouter(tags=["customers"])


@router.post("/v1/customers/{customer_id}/access-link", status_code=201,
             response_model=AccessLinkPublic)
def issue_access_link(
    customer_id: str,
    principal: Principal = Depends(staff("agent", "reviewer")),
    session: Session = Depends(deps.session),
    settings: Settings = Depends(deps.settings),
) -> AccessLinkPublic:
    """Issue a signed, expiring self-service link scoped to this one customer."""
    return service.access_link(session, settings, customer_id, principal)


@router.get("/v1/me", response_model=CustomerSelfPublic)
def read_me(
    principal: Principal = Depends(customer_only()),
    session: Session = Depends(deps.session),
) -> CustomerSelfPublic:
    """The customer's own record (customer token only)."""
    return service.me(session, principal)
