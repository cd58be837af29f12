from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from sqlalchemy.orm import Session

from serving import deps
from serving.auth.deps import customer_only, customer_or_staff
from serving.auth.principal import Principal
from serving.disputes import service
from serving.disputes.schemas import DisputeCreate, DisputeList, DisputePublic
from serving.specs import SpecCache
from serving.system.schemas import ErrorPublic

router = APIRouter(tags=["disputes"])


def err(description: str) -> dict:
    return {"model": ErrorPublic, "description": description}


# what a public customer route may also answer
CUSTOMER = {429: err("Too many requests with this access link or from this address")}
NO_MODEL = {503: err("No model is loaded")}


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
    body: DisputeCreate = Body(...),
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", max_length=service.KEY_MAX,
        description="Same key + same body -> the same dispute; same key + other body -> 422"),
    principal: Principal = Depends(customer_only()),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> DisputePublic:
    """Contest one of your predictions: say which factors are wrong and what is right,
    and ask for a human review. Your record is restricted at once (no risk list, no
    retention contact, no training use) until a reviewer decides, within one month."""
    out = service.open_dispute(session, principal, body, idempotency_key, specs=specs,
                               lang=lang)
    if not out.created:
        response.status_code = 200
    return out.dispute


@router.get("/v1/disputes", response_model=DisputeList, responses=CUSTOMER)
def list_disputes(
    status: Literal["open", "decided"] | None = None,
    limit: int = Query(100, ge=1, le=500),
    principal: Principal = Depends(customer_or_staff("reviewer")),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> DisputeList:
    """Newest first: a customer's own disputes; reviewers see everyone's."""
    return service.list_disputes(session, principal, status, limit, specs=specs, lang=lang)


@router.get("/v1/disputes/{dispute_id}", response_model=DisputePublic,
            responses={404: err("No such dispute (or not yours)"), **CUSTOMER})
def read_dispute(
    dispute_id: str,
    principal: Principal = Depends(customer_or_staff("reviewer")),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> DisputePublic:
    """Status, deadline and outcome of a dispute: the customer's own; reviewers any."""
    return service.get_dispute(session, principal, dispute_id, specs=specs, lang=lang)
