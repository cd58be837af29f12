"""POST /v1/predictions without FastAPI's per-request machinery, for requests that succeed.

The route stays declared in FastAPI (`serving.scoring.router`): it is what the OpenAPI
document describes and what answers every request this fast path does not. A plain ASGI
middleware, placed inside the app's other middlewares (body cap, text guard, security
headers, request id and metrics all apply as before), it answers a request itself only when
it takes the happy path, with the same rules and the same code:

- the token is looked up like the route's `Agent` dependency (`deps.staff_of`, the same
  function: a revoked or deactivated token is refused at once);
- the body is parsed as Starlette parses it (`json.loads`) and validated with the route's
  own body type as FastAPI validates it (`validate_python(..., from_attributes=True)`);
- the records are prepared, stored and answered by the route's own functions
  (`service.prepare`, `router.stored`), and the answer is the route's response
  (`router.PredictionResponse`).

Anything else - no or a bad token, another role, a body that is not JSON or does not
validate, a query string other than `lang=en|fr`, features the model refuses, no model,
more than `IN_LOOP` records, any exception before the write - is replayed unchanged through
the FastAPI app (the body it read is handed back first), so every error body stays the
one FastAPI and `serving.errors` build. Once the write has begun, an error is answered by
the app's own exception handler for it (`Suppressed`: 409, a database that cannot be used:
503), or raised to the server-error middleware, as the route's would be.

Measured in-process (`bench/profile.py`), FastAPI's routing, dependency solving and body
handling cost about half a millisecond of CPU per prediction, as much as scoring and
explaining it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import deps
from serving.scoring import router, service
from serving.scoring.schemas import ScoreBody, ScoreRequest
from serving.system.middleware import HttpMiddleware

_BODY: TypeAdapter = TypeAdapter(ScoreBody)
_LANGS = {b"": "en", b"lang=en": "en", b"lang=fr": "fr"}
_JSON = b"application/json"


def _headers(scope: Scope) -> tuple[str | None, bool]:
    """The Authorization header (the first, as Starlette reads it) and whether the body
    is declared `application/json` (other JSON types are left to FastAPI)."""
    authorization: str | None = None
    json_type: bool | None = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type" and json_type is None:
            json_type = value.split(b";", 1)[0].strip().lower() == _JSON
    return authorization, bool(json_type)


def parse(body: bytes) -> ScoreRequest | list[ScoreRequest]:
    """The body as the route receives it: Starlette's `json.loads`, then FastAPI's
    validation of the route's body type (`ValueError`s: JSON or validation errors)."""
    return _BODY.validate_python(json.loads(body), from_attributes=True)


def _bearer(authorization: str | None) -> str | None:
    """The token as the route's `HTTPBearer(auto_error=False)` reads it."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return credentials


class PredictionFastPath(HttpMiddleware):
    """Answer the happy path of POST /v1/predictions; replay anything else through
    `app` (see the module docstring). `api`: the FastAPI app, for its state, its route
    and its exception handlers."""

    def __init__(self, app: ASGIApp, api: Starlette) -> None:
        super().__init__(app)
        self.api = api
        self._route: APIRoute | None = None

    @property
    def route(self) -> APIRoute:
        """The declared route, as FastAPI puts it in the scope of the requests it routes."""
        if self._route is None:
            self._route = next(r for r in router.router.routes if isinstance(r, APIRoute)
                               and r.path == router.PATH and "POST" in r.methods)
        return self._route

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["method"] != "POST" or scope["path"] != router.PATH
                or scope.get("root_path")):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        answer = None
        if message["type"] == "http.request":
            body = b"".join(m.get("body", b"") for m in messages)
            answer = await self._answer(scope, receive, body)
        if answer is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = self.route  # the access log and metrics name the route
        await answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, body: bytes) -> Response | None:
        """The route's answer, or None to replay the request through FastAPI. Nothing is
        written before every check passed."""
        lang = _LANGS.get(scope.get("query_string", b""))
        authorization, json_type = _headers(scope)
        if lang is None or not json_type or not body:
            return None
        try:
            principal = await deps.staff_of(self.api, _bearer(authorization), router.ROLES)
            runtime = deps.app_runtime(self.api)
            served = runtime.host.current()
            parsed = parse(body)
            items = parsed if isinstance(parsed, list) else [parsed]
            if len(items) > router.IN_LOOP:
                return None  # the route scores a long list in the thread pool
            job = service.prepare(served, runtime.settings, items, principal, runtime.uplift)
        except Exception:  # noqa: BLE001 - nothing written yet: FastAPI answers it
            return None
        try:
            out = await router.stored(runtime, job, lang)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # the server-error middleware answers 500, as for the route
            response = handler(Request(scope, receive), exc)
            return await response if inspect.isawaitable(response) else response
        return router.PredictionResponse(out if isinstance(parsed, list) else out[0],
                                         status_code=201)

    def _handler(self, exc: Exception) -> Callable[..., Any] | None:
        """The app's handler for `exc`, looked up as Starlette's exception middleware
        does (by class, nearest first; 500 and Exception are the server-error
        middleware's)."""
        handlers = self.api.exception_handlers
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in handlers:
                return handlers[cls]
        return None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that first hands back the messages already read."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
