from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from serving import deps, openapi
from serving.audit import service as audit
from serving.auth.deps import staff
from serving.auth.principal import Principal
from serving.auth.users import create_user
from serving.errors import ModelRejected
from serving.modelhost import ModelHost, ServedModel
from serving.scoring.schemas import ModelRef
from serving.specs import register_model
from serving.system.schemas import (
    CreateUserRequest,
    FeaturePublic,
    Health,
    ModelPublic,
    Readiness,
    ReloadResult,
    StaffUserCreated,
    ThresholdsPublic,
)

public = APIRouter(tags=["system"])
router = APIRouter(tags=["system"])


@public.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@public.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(request: Request, response: Response) -> Readiness:
    """Ready to serve: a model is loaded and the database answers."""
    host: ModelHost = request.app.state.host
    db_ok = request.app.state.db.ping()
    current = host._current  # noqa: SLF001 - a read of the reference, no lock needed
    ready = db_ok and current is not None
    if not ready:
        response.status_code = 503
    return Readiness(
        ready=ready, model_loaded=current is not None, database=db_ok,
        model=ModelRef(name=current.name, version=current.version) if current else None,
        detail=None if ready else (host.last_error or ("database unreachable" if not db_ok
                                                       else "no model loaded")),
    )


@public.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(request.app.state.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


def describe(served: ServedModel) -> ModelPublic:
    spec = served.spec
    features = []
    for f in spec.features:
        features.append(FeaturePublic(
            name=f.name, type=f.kind,
            label={"en": f.display_label("en"), "fr": f.display_label("fr")},
            categories=list(f.categories) if f.kind != "numeric" else None,
            value_labels={k: v.model_dump() for k, v in f.value_labels.items()} or None,
            min=f.min, max=f.max, nullable=f.nullable,
            unit=f.unit.model_dump() if f.unit else None,
            description=f.description, purpose=f.purpose,
        ))
    t = served.thresholds
    return ModelPublic(
        name=served.name, version=served.version, alias=served.alias, uri=served.uri,
        run_id=served.run_id, dataset=spec.dataset, target=spec.target,
        trained_at=spec.trained_at, loaded_at=served.loaded_at,
        thresholds=ThresholdsPublic(high=t.high, medium=t.medium,
                                    human_review_margin=t.review_margin),
        features=features,
    )


@router.get("/v1/model", response_model=ModelPublic)
def read_model(
    _: Principal = Depends(staff("agent", "reviewer")),
    served: ServedModel = Depends(deps.served),
) -> ModelPublic:
    """The served model's name, version, alias and features (type, categories, range,
    labels)."""
    return describe(served)


@router.post("/v1/admin/reload-model", response_model=ReloadResult,
             responses={409: {"description": "The new model was refused; the old one serves"}})
def reload_model(
    request: Request,
    principal: Principal = Depends(staff("admin")),
    session: Session = Depends(deps.session),
) -> ReloadResult:
    """Switch to the current champion without downtime: the new model is loaded and
    checked in full, then swapped in. A bad model is refused and the old one keeps serving."""
    host: ModelHost = request.app.state.host
    previous = host._current  # noqa: SLF001
    try:
        current = host.reload()
    except ModelRejected:
        request.app.state.metrics.reloads.labels("refused").inc()
        audit.record(session, principal, audit.MODEL_REFUSED,
                     model=previous, objects={"uri": request.app.state.settings.model_uri})
        raise
    register_model(session, current, request.app.state.specs)
    openapi.reset(request.app)  # the features in the document follow the served model
    audit.record(session, principal, audit.MODEL_RELOADED, model=current,
                 objects={"previous": f"{previous.name}/{previous.version}" if previous
                          else None})
    request.app.state.metrics.reloads.labels("ok").inc()
    request.app.state.metrics.serving(current.name, current.version)
    return ReloadResult(
        previous=ModelRef(name=previous.name, version=previous.version) if previous else None,
        current=ModelRef(name=current.name, version=current.version),
        changed=previous is None or (previous.name, previous.version)
        != (current.name, current.version),
    )


@router.post("/v1/admin/users", status_code=201, response_model=StaffUserCreated)
def add_user(
    body: CreateUserRequest,
    _: Principal = Depends(staff("admin")),
    session: Session = Depends(deps.session),
) -> StaffUserCreated:
    """Create a staff user; the token is shown once."""
    user, token = create_user(session, body.name, body.role)
    return StaffUserCreated(user_id=user.id, name=user.name, role=user.role, token=token)
