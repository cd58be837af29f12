from __future__ import annotations

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.deps import Agent, CtxDep, CustomerOrStaff, Lang, RuntimeDep, ServedDep
from serving.scoring import service
from serving.scoring.schemas import BatchScoreRequest, PredictionPublic, ScoreRequest

router = APIRouter(tags=["scoring"])


@router.post("/v1/predictions", status_code=201,
             response_model=PredictionPublic | list[PredictionPublic])
async def create_predictions(
    principal: Agent, served: ServedDep, runtime: RuntimeDep, lang: Lang,
    body: ScoreRequest | BatchScoreRequest = Body(...),
) -> JSONResponse:
    """Score and explain one customer (an object) or up to 1,000 (a list). Each
    prediction is stored as a decision receipt; high risk opens a human-contact task."""
    items = body if isinstance(body, list) else [body]
    # Scoring and the durable write are CPU-bound and blocking: one trip to the thread
    # pool for all of it (the route itself stays in the loop, so does the response).
    out = await run_in_threadpool(service.score, runtime.writer, served, runtime.settings,
                                  items, principal, lang)
    runtime.metrics.count_bands((p["risk_band"] for p in out), source="api")
    # The service built the answer in the response model's shape: sent as it is, without
    # FastAPI validating and converting it again (the schema stays in the documentation).
    return JSONResponse(out if isinstance(body, list) else out[0], status_code=201)


@router.get("/v1/predictions/{prediction_id}", response_model=PredictionPublic)
def read_prediction(prediction_id: str, principal: CustomerOrStaff,
                    ctx: CtxDep) -> PredictionPublic:
    """A stored prediction with its explanation: staff, or the customer it is about."""
    return service.get_prediction(ctx.session, ctx.specs, prediction_id, principal, ctx.lang)
