"""The FastAPI application: wiring only. Routes live with their domain."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from serving import deps, openapi
from serving.analytics.router import router as analytics_router
from serving.audit import service as audit
from serving.audit.router import router as audit_router
from serving.compliance.router import router as compliance_router
from serving.config import Settings
from serving.customers.router import router as customers_router
from serving.delivery import service as delivery
from serving.disputes.router import router as disputes_router
from serving.errors import ModelRejected, documented, install_handlers
from serving.loop import targeting
from serving.loop.router import router as loop_router
from serving.modelhost import ModelHost
from serving.objections.router import router as objections_router
from serving.recourse.router import router as recourse_router
from serving.retention.router import router as retention_router
from serving.reviews.router import router as reviews_router
from serving.rights.router import router as rights_router
from serving.scoring.fastpath import PredictionFastPath
from serving.scoring.router import router as scoring_router
from serving.scoring.service import score_writer
from serving.specs import register_model
from serving.staff.router import router as staff_router
from serving.storage import Database, upgrade
from serving.system import service as system_service
from serving.system import tuning
from serving.system.bodylimit import BodyLimit
from serving.system.middleware import RequestMetrics
from serving.system.router import public as public_router
from serving.system.router import router as system_router
from serving.system.security import SecurityHeaders, docs_enabled
from serving.system.textguard import TextGuard
from serving.web import mount as mount_web

log = logging.getLogger(__name__)

ERRORS = {
    401: documented("No or unknown token"),
    403: documented("This token's role may not do this"),
}


def create_app(settings: Settings | None = None, host: ModelHost | None = None,
               *, server: bool = False) -> FastAPI:
    """Build the app. `host` lets a caller share one already loaded model (tests, several
    apps in one process); by default the lifespan loads it once from the registry.
    `server`: the app owns its process (`serve`): once started, its heap is frozen out of
    the garbage collector's full passes (`serving.system.tuning.freeze_heap`)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if settings.migrate_on_start:
            upgrade(db.engine)
        app.state.db = db
        app.state.score_writer = score_writer(db, settings)
        # CHURN_TARGETING=uplift: the promoted uplift model, loaded once (None: risk)
        app.state.uplift = targeting.load_plan(settings)
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
                changed = system_service.contract_at_start(session, served)
                if changed:
                    log.warning("the served contract changed since the last model this "
                                "database served (now %s): %s", served.contract_version,
                                "; ".join(changed))
                register_model(session, served, app.state.specs)
                audit.record(session, "system:startup", audit.MODEL_LOADED, model=served,
                             objects={"contract_version": served.contract_version,
                                      "contract_changed": bool(changed)})
            app.state.metrics.serving(served.name, served.version)
        # messages to customers: delivered from the outbox by a thread of this process
        # (or by `python -m serving.cli deliver` when CHURN_DELIVERY_WORKER=false)
        worker = delivery.Worker(db, settings).start() if settings.delivery_worker else None
        if server:
            tuning.freeze_heap()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            app.state.score_writer.close()  # the predictions queued so far are stored first
            db.dispose()

    app = FastAPI(
        title="Churn prediction — explained, routed to a human, contestable",
        version="1.0",
        lifespan=lifespan,
        # CHURN_OTEL_TELEMETRY: FastAPI's native OpenTelemetry, checked on every request
        telemetry={"tracing": settings.otel_telemetry, "metrics": settings.otel_telemetry,
                   "logs": settings.otel_telemetry},
    )
    deps.init_state(app, settings)
    install_handlers(app)  # one error body for domain, framework and validation errors

    app.add_middleware(RequestMetrics, metrics=deps.app_metrics(app))
    app.add_middleware(SecurityHeaders, production=settings.mode == "production",
                       docs=docs_enabled(settings.mode, settings.api_docs))
    app.add_middleware(TextGuard)  # NUL and lone surrogates in URL or body: 422, any database
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # outermost: before any read

    app.include_router(public_router)
    for router in (system_router, scoring_router, retention_router, customers_router,
                   disputes_router, reviews_router, objections_router, audit_router,
                   staff_router, rights_router):
        app.include_router(router, responses=ERRORS)
    app.include_router(recourse_router, responses=ERRORS)  # issue 16: what lowers a risk
    app.include_router(loop_router, responses=ERRORS)  # issue 17: who actually left
    app.include_router(analytics_router, responses=ERRORS)  # issue 18: contest analytics
    app.include_router(compliance_router, responses=ERRORS)  # issue 18: the compliance report
    mount_web(app)  # server-rendered pages, their static files and 404 page (serving/web)
    openapi.install(app)  # error bodies, the served model's features, Allow on 405
    # outermost of ours: POST /v1/predictions that passes every check is answered without
    # FastAPI's per-request machinery, the middlewares above applied as functions;
    # anything else is replayed through them and the route
    app.add_middleware(PredictionFastPath, api=app)
    return app
