from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from serving import deps
from serving.auth.deps import customer_only, staff
from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers import service
from serving.customers.schemas import (
    AccessLinkPublic,
    CustomerSelfPublic,
    ErasurePublic,
    MyPredictionPublic,
)
from serving.disputes.router import CUSTOMER, err
from serving.specs import SpecCache

router = APIRouter(tags=["customers"])


@router.post("/v1/customers/{customer_id}/access-link", status_code=201,
             response_model=AccessLinkPublic,
             responses={404: err("No such customer (customers appear once scored)")})
def issue_access_link(
    customer_id: str,
    principal: Principal = Depends(staff("agent", "reviewer")),
    session: Session = Depends(deps.session),
    settings: Settings = Depends(deps.settings),
) -> AccessLinkPublic:
    """Issue a signed, expiring self-service link scoped to this one customer."""
    return service.access_link(session, settings, customer_id, principal)


@router.get("/v1/me", response_model=CustomerSelfPublic,
            responses={404: err("No record is kept about you")})
def read_me(
    principal: Principal = Depends(customer_only()),
    session: Session = Depends(deps.session),
) -> CustomerSelfPublic:
    """The customer's own record (customer token only)."""
    return service.me(session, principal)


@router.get("/v1/me/prediction", response_model=MyPredictionPublic,
            responses={404: err("No record is kept about you"), **CUSTOMER})
def read_my_prediction(
    principal: Principal = Depends(customer_only()),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> MyPredictionPublic:
    """Your latest prediction in plain words, the data it used and why, what it is for,
    your rights and your disputes (customer token; ?lang=fr for French)."""
    return service.my_prediction(session, specs, principal, lang)


@router.delete("/v1/customers/{customer_id}", response_model=ErasurePublic,
               responses={404: err("No such customer")})
def erase_customer(
    customer_id: str,
    principal: Principal = Depends(staff("admin")),
    session: Session = Depends(deps.session),
    settings: Settings = Depends(deps.settings),
) -> ErasurePublic:
    """Erase everything held about a customer (features, predictions, disputes,
    decisions, tasks, objections, the customer). The audit log keeps only the pseudonym
    and the fact of the erasure."""
    return service.erase(session, settings, customer_id, principal)
