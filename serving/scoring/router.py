from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.auth.principal import Principal
from serving.deps import (
    Agent,
    CtxDep,
    CustomerOrStaff,
    Lang,
    Runtime,
    RuntimeDep,
    ServedDep,
    SettingsDep,
)
from serving.modelhost import ServedModel
from serving.scoring import service
from serving.scoring.schemas import PredictionPublic, ScoreBody, ScoreRequest

router = APIRouter(tags=["scoring"])
IN_LOOP = 8  # records a request may hold to be scored in the event loop
PATH = "/v1/predictions"
ROLES = ("agent",)  # who may score (admin always): `Agent`, and the fast path's check


@router.post(PATH, status_code=201, response_model=PredictionPublic | list[PredictionPublic])
async def create_predictions(
    principal: Agent, served: ServedDep, runtime: RuntimeDep, lang: Lang,
    body: ScoreBody = Body(...),
) -> JSONResponse:
    """Score and explain one customer (an object) or up to 1,000 (a list). Each
    prediction is stored as a decision receipt; high risk opens a human-contact task."""
    items = body if isinstance(body, list) else [body]
    out = await predictions(runtime, served, principal, items, lang)
    # The service built the answer in the response model's shape: sent as it is, without
    # FastAPI validating and converting it again (the schema stays in the documentation).
    return PredictionResponse(out if isinstance(body, list) else out[0], status_code=201)


class PredictionResponse(JSONResponse):
    """A new prediction's JSON, written by pydantic's serializer (compact UTF-8, as
    `JSONResponse`): a fifth of `json.dumps`'s time for a prediction (measured 5 against
    24 microseconds). The same JSON values; a small float may be spelt differently
    (0.000025 where `json.dumps` writes 2.5e-05). The route and its fast path both answer
    with it."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


async def predictions(runtime: Runtime, served: ServedModel, principal: Principal,
                      items: list[ScoreRequest], lang: str) -> list[dict[str, Any]]:
    """Score, explain, route and store `items` durably: the route's work, shared with the
    fast path (`serving.scoring.fastpath`) so that both answer alike."""
    if len(items) <= IN_LOOP:
        # A few records are scored in the loop (about half a millisecond of CPU each);
        # the writer thread only does the durable write, where concurrent requests share
        # a commit, and no two threads fight over the GIL to score.
        job = service.prepare(served, runtime.settings, items, principal, runtime.uplift)
        return await stored(runtime, job, lang)
    # a big list would hold the loop: all of it in the thread pool
    out = await run_in_threadpool(service.score, runtime.writer, served, runtime.settings,
                                  items, principal, lang, runtime.uplift)
    runtime.metrics.count_bands((p["risk_band"] for p in out), source="api")
    return out


async def stored(runtime: Runtime, job: service.ScoreJob, lang: str) -> list[dict[str, Any]]:
    """A prepared job stored durably (the writer thread's group commit), then answered."""
    out = service.answer(job, await runtime.writer.submit_async(job, len(job.refs)), lang)
    runtime.metrics.count_bands((p["risk_band"] for p in out), source="api")
    return out


@router.get("/v1/predictions/{prediction_id}", response_model=PredictionPublic)
def read_prediction(prediction_id: str, principal: CustomerOrStaff,
                    ctx: CtxDep, settings: SettingsDep) -> PredictionPublic:
    """A stored prediction with its explanation: staff (the read is audited), or the
    customer it is about."""
    return service.read_prediction(ctx.session, ctx.specs, prediction_id, principal, ctx.lang,
                                   settings.control_fraction)
