from __future__ import annotations

from fastapi import APIRouter, Body, Query

from serving.deps import CtxDep, Reviewer, RuntimeDep, ServedDep, SettingsDep
from serving.disputes.schemas import DecisionCreate, DecisionPublic
from serving.errors import NO_MODEL
from serving.errors import documented as err
from serving.reviews import blind, schemas, service

router = APIRouter(tags=["reviews"])


@router.get("/v1/reviews", response_model=schemas.ReviewPage)
def review_queue(
    principal: Reviewer,
    ctx: CtxDep,
    settings: SettingsDep,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> schemas.ReviewPage:
    """Open disputes, oldest first, each with the contested prediction and its explanation,
    the customer's statement and claimed values, the deadline and the days left. Under
    blind-first review (CHURN_BLIND_REVIEW), a dispute whose judgement is not recorded yet
    comes with the customer's data instead (`blind: true`): no score, band or explanation."""
    return service.list_open(ctx.session, ctx.specs, limit, cursor, ctx.lang,
                             blind=settings.blind_review, reader=principal)


@router.post("/v1/disputes/{dispute_id}/preview", response_model=schemas.RectificationPreview,
             responses={404: err("No such dispute"),
                        409: err("Already decided, or (blind-first review) no judgement "
                                 "recorded yet"),
                        422: err("A corrected value does not fit the served model"),
                        **NO_MODEL})
def preview(dispute_id: str, _: Reviewer, ctx: CtxDep, served: ServedDep,
            settings: SettingsDep, body: schemas.PreviewCreate = Body(...),
            ) -> schemas.RectificationPreview:
    """Dry run of a rectification: the new score and each contribution before/after.
    Nothing is stored."""
    return service.preview_rectification(ctx.session, ctx.specs, served, dispute_id,
                                         body.corrected_features, ctx.lang,
                                         blind=settings.blind_review)


@router.post("/v1/disputes/{dispute_id}/judgement", status_code=201,
             response_model=schemas.JudgementPublic,
             responses={404: err("No such dispute"),
                        409: err("Already decided, or a judgement is already recorded"),
                        422: err("expected_risk or claim_view missing or not one of the "
                                 "choices")})
def judge(dispute_id: str, principal: Reviewer, ctx: CtxDep,
          body: schemas.JudgementCreate = Body(...)) -> schemas.JudgementPublic:
    """Blind-first review: record your own judgement of an open dispute, from the
    customer's data and statement, before the model's score and explanation are shown:
    `expected_risk` (low | medium | high: how likely you think they are to leave) and
    `claim_view` (agree | disagree | unsure: is their claim about their data right?).
    Once, final, audited; then the queue shows the model's view and a decision can be
    made."""
    return blind.record(ctx.session, principal, dispute_id, body)


@router.post("/v1/disputes/{dispute_id}/decision", status_code=201,
             response_model=DecisionPublic,
             responses={404: err("No such dispute"),
                        409: err("Already decided: decisions are final"),
                        422: err("Invalid decision, or a corrected value does not fit the "
                                 "served model (the field is named)"),
                        **NO_MODEL})
def decide(dispute_id: str, principal: Reviewer, ctx: CtxDep, served: ServedDep,
           settings: SettingsDep, runtime: RuntimeDep,
           body: DecisionCreate = Body(...)) -> DecisionPublic:
    """Decide a dispute: `upheld`, `rectified` (corrected data stored and re-scored; the
    new prediction and the before/after of each contribution are returned) or
    `overturned` (the prediction is withdrawn from all use). Lifts the restriction unless
    another dispute of the customer is open."""
    return service.decide(ctx.session, ctx.specs, served, principal, dispute_id, body,
                          ctx.lang, settings=settings, uplift=runtime.uplift)
