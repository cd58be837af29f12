from __future__ import annotations

from fastapi import APIRouter, Request, Response

from serving import openapi
from serving.deps import (
    Admin,
    DatabaseDep,
    HostDep,
    MetricsDep,
    ModelReader,
    RuntimeDep,
    ServedDep,
    SessionDep,
    SettingsDep,
    SpecsDep,
)
from serving.loop import dashboard as monitoring_exports
from serving.loop import targeting
from serving.staff import service as staff
from serving.system import service
from serving.system.schemas import (
    CreateUserRequest,
    Health,
    ModelPublic,
    Readiness,
    ReloadResult,
    StaffUserCreated,
)

public = APIRouter(tags=["system"])
router = APIRouter(tags=["system"])


@public.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@public.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(response: Response, host: HostDep, db: DatabaseDep) -> Readiness:
    """Ready to serve: a model is loaded and the database answers."""
    out = service.readiness(host, db)
    if not out.ready:
        response.status_code = 503
    return out


@public.get("/metrics", include_in_schema=False)
def metrics(counters: MetricsDep, db: DatabaseDep, specs: SpecsDep,
            settings: SettingsDep) -> Response:
    """Prometheus metrics (text exposition format), with the latest batch run's drift."""
    monitoring_exports.export_drift(counters, db, specs, settings)
    return Response(counters.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/v1/model", response_model=ModelPublic)
def read_model(reader: ModelReader, served: ServedDep, session: SessionDep,
               runtime: RuntimeDep) -> ModelPublic:
    """The served model's name, version, alias and features (type, categories, range,
    labels), and the targeting rule in force (who gets a retention task, in which order).
    Outside auditors too (their read is audited)."""
    return service.describe_for(session, served, reader,
                                service.targeting_rule(runtime.settings, runtime.uplift))


@router.post("/v1/admin/reload-model", response_model=ReloadResult,
             responses={409: {"description": "The new model was refused (a bad model, or "
                              "another contract not accepted); the old one serves"}})
def reload_model(request: Request, principal: Admin, session: SessionDep,
                 runtime: RuntimeDep, accept_new_contract: bool = False) -> ReloadResult:
    """Switch to the current champion without downtime: the new model is loaded and
    checked in full, then swapped in. A bad model is refused and the old one keeps serving;
    so is a model whose features' contract (names, kinds, categories, valid ranges,
    whole-number rules) differs from the served one's, with a 409 naming the differences,
    unless `accept_new_contract=true`."""
    out = service.reload_model(session, runtime.host, runtime.specs, runtime.metrics,
                               principal, runtime.settings.model_uri, accept_new_contract)
    # the uplift model follows its own champion alias too (CHURN_TARGETING=uplift)
    request.app.state.uplift = targeting.load_plan(runtime.settings)
    openapi.reset(request.app)  # the features in the document follow the served model
    return out


@router.post("/v1/admin/users", status_code=201, response_model=StaffUserCreated)
def add_user(body: CreateUserRequest, principal: Admin, session: SessionDep
             ) -> StaffUserCreated:
    """Create a staff user (names are unique: 409 otherwise); the token is shown once.
    Audited."""
    user = staff.create(session, body.name, body.role, principal)
    return StaffUserCreated(user_id=user.user_id, name=user.name, role=user.role,
                            token=user.token)
