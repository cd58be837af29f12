from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.orm import Session

from serving import deps
from serving.auth.deps import staff
from serving.auth.principal import Principal
from serving.disputes.router import NO_MODEL, err
from serving.disputes.schemas import DecisionCreate, DecisionPublic
from serving.modelhost import ServedModel
from serving.reviews import service
from serving.reviews.schemas import PreviewCreate, RectificationPreview, ReviewPage
from serving.specs import SpecCache

router = APIRouter(tags=["reviews"])
reviewer = staff("reviewer")


@router.get("/v1/reviews", response_model=ReviewPage)
def review_queue(
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
    _: Principal = Depends(reviewer),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    lang: str = Depends(deps.lang),
) -> ReviewPage:
    """Open disputes, oldest first, each with the contested prediction and its explanation,
    the customer's statement and claimed values, the deadline and the days left."""
    return service.list_open(session, specs, limit, cursor, lang)


@router.post("/v1/disputes/{dispute_id}/preview", response_model=RectificationPreview,
             responses={404: err("No such dispute"), 409: err("Already decided"),
                        422: err("A corrected value does not fit the served model"),
                        **NO_MODEL})
def preview(
    dispute_id: str,
    body: PreviewCreate = Body(...),
    _: Principal = Depends(reviewer),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    served: ServedModel = Depends(deps.served),
    lang: str = Depends(deps.lang),
) -> RectificationPreview:
    """Dry run of a rectification: the new score and each contribution before/after.
    Nothing is stored."""
    return service.preview_rectification(session, specs, served, dispute_id,
                                         body.corrected_features, lang)


@router.post("/v1/disputes/{dispute_id}/decision", status_code=201,
             response_model=DecisionPublic,
             responses={404: err("No such dispute"),
                        409: err("Already decided: decisions are final"),
                        422: err("Invalid decision, or a corrected value does not fit the "
                                 "served model (the field is named)"),
                        **NO_MODEL})
def decide(
    dispute_id: str,
    body: DecisionCreate = Body(...),
    principal: Principal = Depends(reviewer),
    session: Session = Depends(deps.session),
    specs: SpecCache = Depends(deps.specs),
    served: ServedModel = Depends(deps.served),
    lang: str = Depends(deps.lang),
) -> DecisionPublic:
    """Decide a dispute: `upheld`, `rectified` (corrected data stored and re-scored; the
    new prediction and the before/after of each contribution are returned) or
    `overturned` (the prediction is withdrawn from all use). Lifts the restriction unless
    another dispute of the customer is open."""
    return service.decide(session, specs, served, principal, dispute_id, body, lang)
