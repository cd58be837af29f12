"""Recourse routes: staff read what would lower a customer's risk; the customer reads what
would change their estimate."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import CustomerDep, Lang, ServedDep, SessionDep, SettingsDep, Staff
from serving.errors import CUSTOMER
from serving.errors import documented as err
from serving.recourse import service
from serving.recourse.schemas import RecoursePublic

router = APIRouter(tags=["recourse"])


@router.get("/v1/customers/{customer_id}/recourse", response_model=RecoursePublic,
            responses={404: err("No such customer (never scored, or erased)")})
def read_recourse(customer_id: str, principal: Staff, session: SessionDep,
                  settings: SettingsDep, served: ServedDep, lang: Lang) -> RecoursePublic:
    """What would lower this customer's risk: up to three different smallest changes of
    the features the model marks actionable, each with the score the served model gives
    the changed record, its band and the contributions that change; or, when nothing is
    proposed, why (already low, nothing lowers it, a dispute open, an objection). Audited
    as `recourse.viewed`."""
    return service.for_staff(session, settings, served, customer_id, principal, lang)


@router.get("/v1/me/recourse", response_model=RecoursePublic,
            responses={404: err("No record is kept about you"), **CUSTOMER})
def read_my_recourse(principal: CustomerDep, session: SessionDep, served: ServedDep,
                     lang: Lang) -> RecoursePublic:
    """What would change your estimate: the smallest changes of what can change (your
    contract, how you pay, options) that would lower it, each re-scored by the model in
    use (customer session; ?lang=fr for French)."""
    return service.for_me(session, served, principal, lang)
