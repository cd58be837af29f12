"""Everything a route is given, as `Annotated` aliases: who calls (`Agent`, `Reviewer`,
`Admin`, `CustomerDep`...), what the app holds (`SettingsDep`, `SpecsDep`, `ServedDep`...),
a database session (`SessionDep`), the language (`Lang`), and `Ctx`, the three most
routes pass on to their service.

The only module that reads `app.state` (the lifespan in `serving.main` fills it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from models import ModelSpec
from serving.auth import deps as auth
from serving.auth.deps import Limits
from serving.auth.known import KnownTokens
from serving.auth.principal import STAFF_ROLES, Principal
from serving.auth.tokens import STAFF_PREFIX, presented_hash
from serving.config import Settings
from serving.errors import Forbidden
from serving.loop.targeting import UpliftPlan
from serving.modelhost import ModelHost, ServedModel
from serving.scoring.service import ScoreWriter
from serving.specs import SpecCache
from serving.storage import Database
from serving.system.metrics import Metrics

T = TypeVar("T")


# -- what the app holds -----------------------------------------------------------------------
def init_state(app: FastAPI, settings: Settings) -> None:
    """What exists before the lifespan starts: settings, spec cache, metrics, limits."""
    app.state.settings = settings
    app.state.specs = SpecCache()
    app.state.metrics = Metrics()
    app.state.limits = Limits(settings)
    app.state.known_tokens = KnownTokens()


def _in_loop(read: Callable[[Request], T]) -> Callable[[Request], object]:
    """`read` as an async dependency: reading app state never blocks, and a sync
    dependency costs a trip through the thread pool on every request (the hot path pays
    for each one)."""

    async def dependency(request: Request) -> T:
        return read(request)

    dependency.__name__ = read.__name__
    dependency.__doc__ = read.__doc__
    return dependency


def _from_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency reading `app.state.<name>` (a `kind`)."""

    def read(request: Request) -> T:
        return getattr(request.app.state, name)

    read.__name__ = name
    read.__doc__ = f"The app's {kind.__name__}."
    return read


settings = _from_state("settings", Settings)
database = _from_state("db", Database)
host = _from_state("host", ModelHost)
specs = _from_state("specs", SpecCache)
metrics = _from_state("metrics", Metrics)
limits = _from_state("limits", Limits)


def served(request: Request) -> ServedModel:
    """The served model (503 when none is loaded)."""
    return request.app.state.host.current()


def app_metrics(app: FastAPI) -> Metrics:
    return app.state.metrics


def served_spec(app: FastAPI) -> ModelSpec | None:
    """The served model's spec, None before a model is loaded (the OpenAPI document)."""
    model_host = getattr(app.state, "host", None)
    return model_host.current().spec if model_host is not None and model_host.ready else None


def session(request: Request) -> Iterator[Session]:
    """A session per request. Services commit explicitly; this only closes it
    (rolling back anything left uncommitted)."""
    with request.app.state.db.session() as s:
        yield s


async def lang(lang: Literal["en", "fr"] = Query("en",
                                                description="Language of the explanations"),
               ) -> str:
    return lang


def count_client(request: Request) -> None:
    """One more customer-side request from this address (public routes: the exchange)."""
    auth.count_client(limits(request), client(request))


ClientCounted = Depends(count_client)


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(_in_loop(settings))]
DatabaseDep = Annotated[Database, Depends(_in_loop(database))]
HostDep = Annotated[ModelHost, Depends(_in_loop(host))]
ServedDep = Annotated[ServedModel, Depends(_in_loop(served))]
SpecsDep = Annotated[SpecCache, Depends(_in_loop(specs))]
MetricsDep = Annotated[Metrics, Depends(_in_loop(metrics))]
SessionDep = Annotated[Session, Depends(session)]
Lang = Annotated[str, Depends(lang)]


@dataclass(frozen=True)
class Ctx:
    """What most routes pass to their service: the session, the spec cache, the language."""

    session: Session
    specs: SpecCache
    lang: str


def ctx(session: SessionDep, specs: SpecsDep, lang: Lang) -> Ctx:
    return Ctx(session, specs, lang)


CtxDep = Annotated[Ctx, Depends(ctx)]


@dataclass(frozen=True)
class Runtime:
    """What the app runs with: settings, model host, spec cache, counters, score writer.
    One dependency read straight from the app (scoring is the hot path)."""

    settings: Settings
    host: ModelHost
    specs: SpecCache
    metrics: Metrics
    writer: ScoreWriter
    db: Database
    # CHURN_TARGETING=uplift: the uplift model loaded at start-up (and on a model reload)
    uplift: UpliftPlan | None = None


def app_runtime(app: Starlette) -> Runtime:
    """The app's `Runtime` (the scoring fast path reads it without a request object)."""
    state = app.state
    return Runtime(state.settings, state.host, state.specs, state.metrics, state.score_writer,
                   state.db, getattr(state, "uplift", None))


def runtime(request: Request) -> Runtime:
    return app_runtime(request.app)


RuntimeDep = Annotated[Runtime, Depends(_in_loop(runtime))]


# -- who calls --------------------------------------------------------------------------------
bearer = HTTPBearer(
    auto_error=False,
    description="Staff token (`make create-user`) or a customer access-link token.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token(creds: HTTPAuthorizationCredentials | None) -> str | None:
    return creds.credentials if creds is not None else None


def staff(*roles: str) -> Callable[..., Principal]:
    """Staff with one of `roles` (admin always). Customers 403, no token 401.

    Asynchronous: on SQLite the token's lookup is one indexed read of a local file (tens
    of microseconds, never waiting on a writer in WAL mode) and runs in the loop; a
    database over the network is asked from the thread pool. A sync dependency would
    cost every staff request a trip through the thread pool (the hot path's largest
    fixed cost after the write)."""

    async def dependency(request: Request, creds: Credentials) -> Principal:
        return await staff_of(request.app, _token(creds), roles)

    dependency.__name__ = f"staff_{'_'.join(roles)}"
    return dependency


async def staff_of(app: Starlette, token: str | None, roles: tuple[str, ...]) -> Principal:
    """The staff member holding `token`, if they have one of `roles` (admin always): the
    rule of `staff`, shared with the scoring fast path (`serving.scoring.fastpath`).
    401 without a known active token, 403 for a customer or another role. The token is
    looked up on every call: a revoked or deactivated one is refused at once."""
    state = app.state
    db: Database = state.db
    if db.dialect == "sqlite":
        principal = auth.authenticate(token, state.settings, db)
    else:
        principal = await run_in_threadpool(auth.authenticate, token, state.settings, db)
    return auth.require_staff(principal, roles)


async def staff_remembered(app: Starlette, token: str | None, roles: tuple[str, ...]
                           ) -> tuple[Principal, str | None]:
    """`staff_of` for the scoring fast path, on the app's memory of staff tokens that
    authenticated (`serving.auth.known`): the principal, and the hash of the staff token
    that the prediction's write must confirm (None for the admin token, which is not in
    the table). A token not remembered is looked up, and remembered once it passed."""
    if token is None or not token.startswith(STAFF_PREFIX):
        return await staff_of(app, token, roles), None
    known: KnownTokens = app.state.known_tokens
    token_hash = presented_hash(token)
    found = known.get(token_hash)
    if found is not None:
        return auth.require_staff(auth.staff_principal(*found), roles), token_hash
    principal = await staff_of(app, token, roles)
    if principal.user_id is None:  # the admin token, whatever it looks like
        return principal, None
    known.add(token_hash, principal.user_id, principal.role)
    return principal, token_hash


def forget_token(app: Starlette, token_hash: str) -> None:
    """Forget a remembered staff token that a write refused (`TokenWithdrawn`)."""
    app.state.known_tokens.forget(token_hash)


def customer_or_staff(*roles: str) -> Callable[..., Principal]:
    """The customer (rate limited) or staff with one of `roles`."""

    def dependency(request: Request, creds: Credentials) -> Principal:
        return auth.customer_or_staff(_token(creds), client(request), settings(request),
                                      database(request), limits(request), roles)

    dependency.__name__ = f"customer_or_{'_'.join(roles)}"
    return dependency


def customer_only(request: Request, creds: Credentials) -> Principal:
    """The customer, through their access link (rate limited); staff 403."""
    principal = auth.customer_or_staff(_token(creds), client(request), settings(request),
                                       database(request), limits(request), STAFF_ROLES)
    if principal.kind != "customer":
        raise Forbidden("this route is for customers, through their access link")
    return principal


def customer_session(request: Request, creds: Credentials) -> tuple[Principal, str]:
    """The customer and their session token (to sign it out)."""
    return customer_only(request, creds), _token(creds) or ""


Agent = Annotated[Principal, Depends(staff("agent"))]
Reviewer = Annotated[Principal, Depends(staff("reviewer"))]
Admin = Annotated[Principal, Depends(staff("admin"))]
Staff = Annotated[Principal, Depends(staff("agent", "reviewer"))]
# the customer portal's service account (issue 15); the service refuses every other role
Integration = Annotated[Principal, Depends(staff("integration"))]
LinkSenders = Annotated[Principal, Depends(staff("agent", "reviewer", "integration"))]
# issue 18: the outside auditor reads aggregate material only, never a customer, never writes
ModelReader = Annotated[Principal, Depends(staff("agent", "reviewer", "auditor"))]
AnalyticsReader = Annotated[Principal, Depends(staff("reviewer", "auditor"))]
ComplianceReader = Annotated[Principal, Depends(staff("reviewer", "auditor"))]
ChainVerifier = Annotated[Principal, Depends(staff("admin", "auditor"))]
CustomerDep = Annotated[Principal, Depends(customer_only)]
CustomerSessionDep = Annotated[tuple[Principal, str], Depends(customer_session)]
CustomerOrReviewer = Annotated[Principal, Depends(customer_or_staff("reviewer"))]
CustomerOrStaff = Annotated[Principal, Depends(customer_or_staff("agent", "reviewer"))]
