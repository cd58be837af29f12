from __future__ import annotations

from fastapi import APIRouter

from serving.customers import service
from serving.customers.schemas import (
    AccessLinkPublic,
    CustomerSelfPublic,
    ErasurePublic,
    MyPredictionPublic,
)
from serving.deps import Admin, CtxDep, CustomerDep, SessionDep, SettingsDep, Staff
from serving.errors import CUSTOMER
from serving.errors import documented as err

router = APIRouter(tags=["customers"])


@router.post("/v1/customers/{customer_id}/access-link", status_code=201,
             response_model=AccessLinkPublic,
             responses={404: err("No such customer (customers appear once scored)")})
def issue_access_link(customer_id: str, principal: Staff, session: SessionDep,
                      settings: SettingsDep) -> AccessLinkPublic:
    """Issue a signed, expiring self-service link scoped to this one customer."""
    return service.access_link(session, settings, customer_id, principal)


@router.get("/v1/me", response_model=CustomerSelfPublic,
            responses={404: err("No record is kept about you")})
def read_me(principal: CustomerDep, session: SessionDep) -> CustomerSelfPublic:
    """The customer's own record (customer token only)."""
    return service.me(session, principal)


@router.get("/v1/me/prediction", response_model=MyPredictionPublic,
            responses={404: err("No record is kept about you"), **CUSTOMER})
def read_my_prediction(principal: CustomerDep, ctx: CtxDep) -> MyPredictionPublic:
    """Your latest prediction in plain words, the data it used and why, what it is for,
    your rights and your disputes (customer token; ?lang=fr for French)."""
    return service.my_prediction(ctx.session, ctx.specs, principal, ctx.lang)


@router.delete("/v1/customers/{customer_id}", response_model=ErasurePublic,
               responses={404: err("No such customer")})
def erase_customer(customer_id: str, principal: Admin, session: SessionDep,
                   settings: SettingsDep) -> ErasurePublic:
    """Erase everything held about a customer (features, predictions, disputes,
    decisions, tasks, objections, the customer). The audit log keeps only the pseudonym
    and the fact of the erasure."""
    return service.erase(session, settings, customer_id, principal)
