"""POST /v1/predictions without FastAPI's per-request machinery, for requests that succeed.

The route stays declared in FastAPI (`serving.scoring.router`): it is what the OpenAPI
document describes and what answers every request this fast path does not. A plain ASGI
middleware, the outermost of the app's own (inside only Starlette's server-error handler
and FastAPI's telemetry), it answers a request itself only when it takes the happy path,
with the same rules and the same code:

- the app's other middlewares apply their own rules to it, called as functions instead of
  as a layer each (about a tenth of the server's CPU per prediction, measured under wrk):
  the body cap (a declared `Content-Length` within `BodyLimit.max_bytes`; a body without
  one is left to the app), the text guard (`textguard.bad_url`, `textguard.bad_json`), the
  security headers (`SecurityHeaders.harden`), the request id, metrics and access log
  (`middleware.tagged`, `RequestMetrics.observe`). The fast path finds those middlewares
  in the stack it wraps and uses their settings; next to a middleware whose rule it does
  not know, it turns itself off (every request goes through the app), so a middleware
  added later is never skipped;

- the token is looked up like the route's `Agent` dependency (`deps.staff_of`, the same
  function), except that a staff token that authenticated before is taken on the app's
  memory of it (`deps.staff_remembered`, `serving.auth.known`) and confirmed by the
  write in its own transaction: a token revoked, rotated, deactivated or given another
  role meanwhile stores nothing (`TokenWithdrawn`), is forgotten, and the request is
  replayed through the route, which looks it up again (401, 403, or the prediction);
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
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter
from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import deps, idempotency
from serving.errors import TokenWithdrawn
from serving.scoring import router, service
from serving.scoring.schemas import ScoreBody, ScoreRequest
from serving.system import textguard
from serving.system.bodylimit import BodyLimit, declared_length
from serving.system.middleware import HttpMiddleware, RequestMetrics, request_id, tagged
from serving.system.security import SecurityHeaders

log = logging.getLogger(__name__)

_BODY: TypeAdapter = TypeAdapter(ScoreBody)
_LANGS = {b"": "en", b"lang=en": "en", b"lang=fr": "fr"}
_JSON = b"application/json"


def _headers(scope: Scope) -> tuple[str | None, bool, str | None]:
    """The Authorization header (the first, as Starlette reads it), whether the body is
    declared `application/json` (other JSON types are left to FastAPI) and the
    Idempotency-Key (the first, as FastAPI's `Header` reads it)."""
    authorization: str | None = None
    json_type: bool | None = None
    key: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type" and json_type is None:
            json_type = value.split(b";", 1)[0].strip().lower() == _JSON
        elif name == b"idempotency-key" and key is None:
            key = value.decode("latin-1")
    return authorization, bool(json_type), key


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


def _layers(app: ASGIApp) -> dict[type, Any] | None:
    """The middlewares between this one and FastAPI's exception middleware, by class; None
    when one of them is not one whose rule the fast path applies."""
    from serving.openapi import AllowHeader  # only acts on 405: none of the fast path's

    known = (AllowHeader, BodyLimit, textguard.TextGuard, SecurityHeaders, RequestMetrics)
    layers: dict[type, Any] = {}
    node: Any = app
    while not isinstance(node, ExceptionMiddleware):
        if not isinstance(node, known):
            log.warning("the scoring fast path is off: %s is a middleware whose rule it does "
                        "not apply (every prediction goes through the app)",
                        type(node).__name__)
            return None
        layers[type(node)] = node
        node = node.app
    return layers


class PredictionFastPath(HttpMiddleware):
    """Answer the happy path of POST /v1/predictions; replay anything else through
    `app` (see the module docstring). `api`: the FastAPI app, for its state and its
    exception handlers."""

    def __init__(self, app: ASGIApp, api: Starlette) -> None:
        super().__init__(app)
        self.api = api
        layers = _layers(app)
        self.on = layers is not None
        layers = layers or {}
        self.limit: BodyLimit | None = layers.get(BodyLimit)
        self.guard = textguard.TextGuard in layers
        self.security: SecurityHeaders | None = layers.get(SecurityHeaders)
        self.metrics: RequestMetrics | None = layers.get(RequestMetrics)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (not self.on or scope["method"] != "POST" or scope["path"] != router.PATH
                or scope.get("root_path") or not self._admits(scope)):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        if (message["type"] != "http.request"
                or self.limit is not None and len(body) > self.limit.max_bytes
                or self.guard and textguard.bad_json(body)):
            await self.app(scope, _replaying(messages, receive), send)
            return
        rid = request_id(scope)
        status = 500  # as `RequestMetrics` counts a request that fails before its answer
        replayed = False

        async def send_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = tagged(message.get("headers", ()), rid)
                if self.security is not None:
                    headers = self.security.harden(headers, router.PATH)
                message = {**message, "headers": headers}
            await send(message)

        try:
            answer = await self._answer(scope, receive, body)
            if answer is None:  # the app answers it, every middleware included
                replayed = True
                await self.app(scope, _replaying(messages, receive), send)
                return
            await answer(scope, receive, send_edge)
        finally:
            if self.metrics is not None and not replayed:
                self.metrics.observe(scope, router.PATH, status, started, rid)

    def _admits(self, scope: Scope) -> bool:
        """Whether the edge middlewares let the request through before its body is read:
        a declared length within the cap (none: the app counts the body as it streams),
        no NUL in the URL."""
        declared = declared_length(scope)
        if declared is None or self.limit is not None and declared > self.limit.max_bytes:
            return False
        return not (self.guard and textguard.bad_url(scope))

    async def _answer(self, scope: Scope, receive: Receive, body: bytes) -> Response | None:
        """The route's answer, or None to replay the request through FastAPI. Nothing is
        written before every check passed."""
        lang = _LANGS.get(scope.get("query_string", b""))
        authorization, json_type, raw_key = _headers(scope)
        if lang is None or not json_type or not body:
            return None
        try:
            key = idempotency.clean_key(raw_key)  # a key too long: FastAPI's 422
            principal, token_hash = await deps.staff_remembered(
                self.api, _bearer(authorization), router.ROLES)
            runtime = deps.app_runtime(self.api)
            served = runtime.host.current()
            parsed = parse(body)
            items = parsed if isinstance(parsed, list) else [parsed]
            if len(items) > router.IN_LOOP:
                return None  # the route scores a long list in the thread pool
            job = service.prepare(served, runtime.settings, items, principal, runtime.uplift,
                                  key)
            job.token_hash = token_hash  # the write confirms it
        except Exception:  # noqa: BLE001 - nothing written yet: FastAPI answers it
            return None
        try:
            out, created = await router.stored(runtime, job, lang)
        except TokenWithdrawn:
            # nothing stored: the route looks the token up again and answers as it would
            assert token_hash is not None
            deps.forget_token(self.api, token_hash)
            return None
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # the server-error middleware answers 500, as for the route
            response = handler(Request(scope, receive), exc)
            return await response if inspect.isawaitable(response) else response
        return router.PredictionResponse(out if isinstance(parsed, list) else out[0],
                                         status_code=201 if created else 200)

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
