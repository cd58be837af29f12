from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.orm import Session

from serving import deps
from serving.auth.deps import customer_or_staff, staff
from serving.auth.principal import Principal
from serving.config import Settings
from serving.modelhost import ServedModel
from serving.scoring import service
from serving.scoring.schemas import BatchScoreRequest, PredictionPublic, ScoreRequest

router = APIRouter(tags=["scoring"])


@router.post("/v1/predictions", status_code=201,
             response_model=PredictionPublic | list[PredictionPublic])
def create_predictions(
    request: Request,
    body: ScoreRequest | BatchScoreRequest = Body(...),
    principal: Principal = Depends(staff("agent")),
    writer: service.ScoreWriter = Depends(deps.score_writer),
    served: ServedModel = Depends(deps.served),
    settings: Settings = Depends(deps.settings),
    lang: str = Depends(deps.lang),
) -> PredictionPublic | list[PredictionPublic]:
    """Score and explain one customer (an object) or up to 1,000 (a list). Each
    prediction is stored as a decision receipt; high risk opens a human-contact task."""
    items = body if isinstance(body, list) else [body]
    out = service.score(writer, served, settings, items, principal, lang)
    request.app.state.metrics.count_predictions(out, source="api")
    return out if isinstance(body, list) else out[0]


@router.get("/v1/predictions/{prediction_id}", response_model=PredictionPublic)
def read_prediction(
    prediction_id: str,
    principal: Principal = Depends(customer_or_staff("agent", "reviewer")),
    session: Session = Depends(deps.session),
    specs: service.SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> PredictionPublic:
    """A stored prediction with its explanation: staff, or the customer it is about."""
    return service.get_prediction(session, specs, prediction_id, principal, lang)
