from __future__ import annotations

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.deps import Agent, CtxDep, CustomerOrStaff, Lang, RuntimeDep, ServedDep, SettingsDep
from serving.scoring import service
from serving.scoring.schemas import BatchScoreRequest, PredictionPublic, ScoreRequest

router = APIRouter(tags=["scoring"])
IN_LOOP = 8  # records a request may hold to be scored in the event loop


@router.post("/v1/predictions", status_code=201,
             response_model=PredictionPublic | list[PredictionPublic])
async def create_predictions(
    principal: Agent, served: ServedDep, runtime: RuntimeDep, lang: Lang,
    body: ScoreRequest | BatchScoreRequest = Body(...),
) -> JSONResponse:
    """Score and explain one customer (an object) or up to 1,000 (a list). Each
    prediction is stored as a decision receipt; high risk opens a human-contact task."""
    items = body if isinstance(body, list) else [body]
    if len(items) <= IN_LOOP:
        # A few records are scored in the loop (about half a millisecond of CPU each):
        # the thread pool then only waits on the durable write, where concurrent
        # requests share a commit, and no two threads fight over the GIL to score.
        job = service.prepare(served, runtime.settings, items, principal, runtime.uplift)
        stored = await run_in_threadpool(runtime.writer.submit, job, len(items))
        out = service.answer(job, stored, lang)
    else:  # a big list would hold the loop: all of it in the thread pool
        out = await run_in_threadpool(service.score, runtime.writer, served,
                                      runtime.settings, items, principal, lang,
                                      runtime.uplift)
    runtime.metrics.count_bands((p["risk_band"] for p in out), source="api")
    # The service built the answer in the response model's shape: sent as it is, without
    # FastAPI validating and converting it again (the schema stays in the documentation).
    return JSONResponse(out if isinstance(body, list) else out[0], status_code=201)


@router.get("/v1/predictions/{prediction_id}", response_model=PredictionPublic)
def read_prediction(prediction_id: str, principal: CustomerOrStaff,
                    ctx: CtxDep, settings: SettingsDep) -> PredictionPublic:
    """A stored prediction with its explanation: staff, or the customer it is about."""
    return service.get_prediction(ctx.session, ctx.specs, prediction_id, principal, ctx.lang,
                                  settings.control_fraction)
