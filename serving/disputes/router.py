from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Header, Query, Response

from serving import idempotency
from serving.deps import CtxDep, CustomerDep, CustomerOrReviewer
from serving.disputes import service
from serving.disputes.schemas import DisputeCreate, DisputeList, DisputePublic
from serving.errors import CUSTOMER
from serving.errors import documented as err

router = APIRouter(tags=["disputes"])


@router.post(
    "/v1/disputes", status_code=201, response_model=DisputePublic,
    responses={
        200: {"model": DisputePublic,
              "description": "A replay: this Idempotency-Key and body opened this dispute"},
        404: err("No such prediction among the customer's own"),
        409: err("The prediction was withdrawn, or a dispute about it is already open"),
        422: err("Invalid body, unknown contested feature or value, or the "
                 "Idempotency-Key was used with another body"),
        **CUSTOMER,
    },
)
def create_dispute(
    response: Response,
    principal: CustomerDep,
    ctx: CtxDep,
    body: DisputeCreate = Body(...),
    idempotency_key: str | None = Header(
        None, alias=idempotency.HEADER, max_length=idempotency.KEY_MAX,
        description="Same key + same body -> the same dispute; same key + other body -> 422"),
) -> DisputePublic:
    """Contest one of your predictions: say which factors are wrong and what is right,
    and ask for a human review. Your record is restricted at once (no risk list, no
    retention contact, no training use) until a reviewer decides, within one month."""
    out = service.open_dispute(ctx.session, principal, body, idempotency_key,
                               specs=ctx.specs, lang=ctx.lang)
    if not out.created:
        response.status_code = 200
    return out.dispute


@router.get("/v1/disputes", response_model=DisputeList, responses=CUSTOMER)
def list_disputes(
    principal: CustomerOrReviewer,
    ctx: CtxDep,
    status: Literal["open", "decided"] | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> DisputeList:
    """Newest first: a customer's own disputes; reviewers see everyone's."""
    return service.list_disputes(ctx.session, principal, status, limit, specs=ctx.specs,
                                 lang=ctx.lang)


@router.get("/v1/disputes/{dispute_id}", response_model=DisputePublic,
            responses={404: err("No such dispute (or not yours)"), **CUSTOMER})
def read_dispute(dispute_id: str, principal: CustomerOrReviewer, ctx: CtxDep) -> DisputePublic:
    """Status, deadline and outcome of a dispute: the customer's own; reviewers any."""
    return service.get_dispute(ctx.session, principal, dispute_id, specs=ctx.specs,
                               lang=ctx.lang)
