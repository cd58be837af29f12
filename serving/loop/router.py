"""The loop's routes: the business's systems report who left."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import Integration, SessionDep, SettingsDep
from serving.loop import service
from serving.loop.schemas import ChurnEventsIn, ChurnEventsPublic

router = APIRouter(tags=["outcomes"])


@router.post("/v1/churn-events", response_model=ChurnEventsPublic)
def record_churn_events(body: ChurnEventsIn, principal: Integration, session: SessionDep,
                        settings: SettingsDep) -> ChurnEventsPublic:
    """Record customers who left (integration role: the business's systems). Each event
    is the customer's id and the day they left; ids are pseudonymised on the way in. A
    row for a customer the service does not hold, one erased at their request, a day in
    the future or a repeat within the call is refused and reported by its row number;
    the others are recorded. Idempotent: an event already recorded is counted as such."""
    return service.record_events(session, settings, body, principal)
