"""Rights requests and the customer's own copy (issue 18): the JSON API."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from serving.customers import service as customers
from serving.deps import Agent, CtxDep, CustomerDep, HostDep, Reviewer, SessionDep, SettingsDep
from serving.errors import CUSTOMER
from serving.errors import documented as err
from serving.rights import copy, service
from serving.rights.schemas import (
    AccessCopy,
    RightsClose,
    RightsExtend,
    RightsRequestCreate,
    RightsRequestList,
    RightsRequestPublic,
)

router = APIRouter(tags=["rights"])
CONFLICT = {409: err("Already closed, already extended, past the deadline to extend, or an "
                     "open request of this kind exists")}
# what the reviewer's actions on one request answer
A_REQUEST: dict = {"response_model": RightsRequestPublic,
                   "responses": {404: err("No such request"), **CONFLICT}}


@router.get("/v1/me/copy", response_model=AccessCopy,
            responses={404: err("No record is kept about you"), **CUSTOMER})
def read_my_copy(principal: CustomerDep, ctx: CtxDep, settings: SettingsDep,
                 host: HostDep) -> AccessCopy:
    """Your own copy (Art. 15): everything held about you and how it is used, in your
    language (`?lang=fr`). Only your own session downloads it; each download is audited
    and recorded as an access request answered at once."""
    made = copy.build(ctx.session, ctx.specs, settings, principal, ctx.lang, host=host)
    service.copy_delivered(ctx.session, principal)
    return made


@router.get("/v1/me/rights-requests", response_model=RightsRequestList, responses=CUSTOMER)
def my_requests(principal: CustomerDep, session: SessionDep) -> RightsRequestList:
    """Your rights requests, newest first, with their deadlines."""
    return service.mine(session, principal)


@router.post("/v1/me/rights-requests", status_code=201, response_model=RightsRequestPublic,
             responses={404: err("No record is kept about you"), **CONFLICT, **CUSTOMER})
def open_my_request(body: RightsRequestCreate, principal: CustomerDep, ctx: CtxDep,
                    settings: SettingsDep) -> RightsRequestPublic:
    """Ask for access, erasure, rectification, restriction or objection. Answered within
    one month (extensible by two, with the reason told). An objection and a restriction
    are carried out at once; an erasure after `CHURN_ERASURE_WAIT_DAYS` unless you cancel."""
    return service.open_request(ctx.session, settings, ctx.specs, principal, body,
                                lang=ctx.lang)


@router.post("/v1/me/rights-requests/{request_id}/cancel", response_model=RightsRequestPublic,
             responses={404: err("No such request of yours"), **CONFLICT, **CUSTOMER})
def cancel_my_request(request_id: str, principal: CustomerDep, session: SessionDep,
                      settings: SettingsDep) -> RightsRequestPublic:
    """Cancel your open request (an erasure before it is carried out)."""
    return service.cancel(session, settings, principal, request_id)


@router.post("/v1/customers/{customer_id}/assisted/rights-requests", status_code=201,
             response_model=RightsRequestPublic,
             responses={404: err("No such customer"), **CONFLICT})
def assisted_request(customer_id: str, body: RightsRequestCreate, principal: Agent,
                     ctx: CtxDep, settings: SettingsDep) -> RightsRequestPublic:
    """Open a request for a customer who phoned: recorded as an assisted action under your
    name; the customer is told at their contact address."""
    customer = customers.find(ctx.session, settings, customer_id)
    return service.open_request(ctx.session, settings, ctx.specs,
                                principal.assisting(customer.customer_ref), body,
                                lang=ctx.lang)


@router.get("/v1/rights-requests", response_model=RightsRequestList)
def list_requests(principal: Reviewer, session: SessionDep,
                  status: Literal["open", "overdue", "closed", "all"] = Query("open"),
                  limit: int = Query(200, ge=1, le=1000)) -> RightsRequestList:
    """Rights requests, overdue first then by deadline (reviewer or admin); the read is
    audited."""
    return service.listing(session, status, limit, reader=principal)


@router.post("/v1/rights-requests/{request_id}/take", **A_REQUEST)
def take_request(request_id: str, principal: Reviewer, session: SessionDep) -> RightsRequestPublic:
    """Become the request's handler."""
    return service.take(session, principal, request_id)


@router.post("/v1/rights-requests/{request_id}/extend", **A_REQUEST)
def extend_request(request_id: str, body: RightsExtend, principal: Reviewer,
                   session: SessionDep, settings: SettingsDep) -> RightsRequestPublic:
    """Extend by two further months with a reason (once, within the first month); the
    customer is told."""
    return service.extend(session, settings, principal, request_id, body)


@router.post("/v1/rights-requests/{request_id}/close", **A_REQUEST)
def close_request(request_id: str, body: RightsClose, principal: Reviewer,
                  session: SessionDep, settings: SettingsDep) -> RightsRequestPublic:
    """Answer: done (an erasure is carried out now) or refused with the reason; the
    customer is told."""
    return service.close(session, settings, principal, request_id, body)
