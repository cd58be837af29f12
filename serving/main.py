"""The FastAPI application: wiring only. Routes live with their domain."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving import openapi
from serving.audit import service as audit
from serving.audit.router import router as audit_router
from serving.auth.ratelimit import RateLimiter
from serving.config import Settings
from serving.customers.router import router as customers_router
from serving.disputes.router import router as disputes_router
from serving.errors import DomainError, ModelRejected, RateLimited
from serving.modelhost import ModelHost
from serving.objections.router import router as objections_router
from serving.retention.router import router as retention_router
from serving.reviews.router import router as reviews_router
from serving.scoring.router import router as scoring_router
from serving.scoring.service import score_writer
from serving.specs import SpecCache, register_model
from serving.storage import Database, upgrade
from serving.system.bodylimit import BodyLimit
from serving.system.metrics import Metrics
from serving.system.middleware import RequestMetrics
from serving.system.router import public as public_router
from serving.system.router import router as system_router
from serving.system.schemas import ErrorPublic
from serving.system.security import SecurityHeaders, docs_enabled
from serving.web import mount as mount_web

log = logging.getLogger(__name__)

ERRORS = {
    401: {"model": ErrorPublic, "description": "No or unknown token"},
    403: {"model": ErrorPublic, "description": "This token's role may not do this"},
}


def _json_safe(value):  # noqa: ANN001, ANN202
    """NaN and Infinity (which Python's JSON parser accepts) echoed back as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class Limits:
    def __init__(self, settings: Settings):
        self.token = RateLimiter(settings.rate_limit_per_token, settings.rate_limit_window_seconds)
        self.client = RateLimiter(settings.rate_limit_per_client,
                                  settings.rate_limit_window_seconds)


def create_app(settings: Settings | None = None, host: ModelHost | None = None) -> FastAPI:
    """Build the app. `host` lets a caller share one already loaded model (tests, several
    apps in one process); by default the lifespan loads it once from the registry."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if settings.migrate_on_start:
            upgrade(db.engine)
        app.state.db = db
        app.state.score_writer = score_writer(db, settings)
        model_host = host or ModelHost(settings)
        app.state.host = model_host
        if not model_host.ready:
            try:
                model_host.load()
            except ModelRejected as exc:
                if settings.model_required:
                    db.dispose()
                    raise RuntimeError(f"cannot start: {exc.detail}") from exc
                log.error("starting without a model: %s", exc.detail)
        if model_host.ready:
            served = model_host.current()
            with db.session() as session:
                register_model(session, served, app.state.specs)
                audit.record(session, "system:startup", audit.MODEL_LOADED, model=served)
            app.state.metrics.serving(served.name, served.version)
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="Churn prediction — explained, routed to a human, contestable",
        version="1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.specs = SpecCache()
    app.state.metrics = Metrics()
    app.state.limits = Limits(settings)

    @app.exception_handler(DomainError)
    def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = {}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = RateLimiter.retry_after(exc.extra.get("retry_after", 1))
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Framework errors (unreadable body, unknown route, wrong method) in the JSON
        API's error shape; FastAPI's own answer elsewhere."""
        if not request.url.path.startswith("/v1/"):
            return await http_exception_handler(request, exc)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error")
        return JSONResponse({"error": code, "detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each field with what was expected and what came (JSON API);
        FastAPI's own answer elsewhere. `detail` keeps FastAPI's shape."""
        if not request.url.path.startswith("/v1/"):
            return await request_validation_exception_handler(request, exc)
        raw = list(exc.errors())
        # a body that may be one object or a list: drop the "wrong branch" complaint
        branch = {"list_type", "model_attributes_type"}
        names = ("ScoreRequest", "list[ScoreRequest]")
        specific = [e for e in raw
                    if not ([p for p in e.get("loc", ()) if p not in names] == ["body"]
                            and e.get("type") in branch)]
        errors = []
        for e in specific or raw:
            loc = [p for p in e.get("loc", ()) if p not in names]
            field = ".".join(str(p) for p in loc[1:]) or str(loc[0] if loc else "body")
            errors.append({
                "loc": loc, "field": field, "problem": e.get("type", "invalid"),
                "expected": e.get("msg", ""),
                "got": "nothing" if e.get("type") == "missing" else repr(e.get("input"))[:80],
                "fix": "See the request schema of this route in /openapi.json.",
            })
        return JSONResponse(
            {"error": "invalid_request", "detail": _json_safe(jsonable_encoder(exc.errors())),
             "fields": sorted({e["field"] for e in errors}), "errors": errors},
            status_code=422,
        )

    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders, production=settings.mode == "production",
                       docs=docs_enabled(settings.mode, settings.api_docs))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # outermost: before any read

    app.include_router(public_router)
    for router in (system_router, scoring_router, retention_router, customers_router,
                   disputes_router, reviews_router, objections_router, audit_router):
        app.include_router(router, responses=ERRORS)
    mount_web(app)  # server-rendered pages and their static files (serving/web)
    openapi.install(app)  # error bodies, the served model's features, Allow on 405
    return app
