from __future__ import annotations

from fastapi import APIRouter, Response

from serving.deps import CustomerDep, SessionDep, SettingsDep
from serving.errors import CUSTOMER
from serving.errors import documented as err
from serving.objections import service
from serving.objections.schemas import ObjectionPublic

router = APIRouter(tags=["objections"])


@router.post("/v1/objections", status_code=201, response_model=ObjectionPublic,
             responses={200: {"model": ObjectionPublic,
                              "description": "You had already objected; nothing changed"},
                        404: err("No record is kept about you"), **CUSTOMER})
def object_to_profiling(response: Response, principal: CustomerDep,
                        session: SessionDep, settings: SettingsDep) -> ObjectionPublic:
    """Object to profiling: from now on nothing about you is scored, listed or routed to
    a retention contact, and open contact tasks are cancelled. You can withdraw it."""
    out, created = service.object_to_profiling(session, principal, settings=settings)
    if not created:
        response.status_code = 200
    return out


@router.delete("/v1/objections", response_model=ObjectionPublic,
               responses={404: err("No record is kept about you"),
                          409: err("There is no objection to withdraw"), **CUSTOMER})
def withdraw_objection(principal: CustomerDep, session: SessionDep) -> ObjectionPublic:
    """Withdraw your objection: you may be scored again from the next scoring."""
    return service.withdraw(session, principal)
