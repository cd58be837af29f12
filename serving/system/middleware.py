"""The base of the app's plain ASGI middlewares, and request metrics and the access log as
one of them.

Plain ASGI rather than Starlette's `BaseHTTPMiddleware`: that one runs every request
through an extra task and memory stream, a cost paid on each prediction. The access log
is written here instead of by uvicorn so that it never holds a query string nor a path:
it names the route template and a request id (issue 15), so neither an access link
(`/me?token=...`) nor a raw customer id (`/v1/customers/<id>`) ends up in log files.
"""

from __future__ import annotations

import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.system.metrics import Metrics

access_log = logging.getLogger("churn.access")


_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a plain token (8-64 of [A-Za-z0-9._-]), else a
    new random one; logged with the request and sent back in X-Request-ID."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _RID.match(text):
                return text
    return _random_id()


_VERSION_4 = ~(0xF000 << 64) & ~(0xC000 << 48)


def _random_id() -> str:
    """`uuid.uuid4().hex` (122 random bits, version 4, RFC 4122 variant) without building
    a `UUID` on every request."""
    n = int.from_bytes(os.urandom(16), "big") & _VERSION_4
    return f"{n | 0x4000 << 64 | 0x8000 << 48:032x}"


class HttpMiddleware(ABC):
    """A plain ASGI middleware that acts on HTTP requests only: lifespan and websocket
    scopes go straight to the wrapped app. A subclass implements `http`; its `__init__`
    takes the wrapped app first, as Starlette's `add_middleware` passes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    @abstractmethod
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request; the wrapped app is `self.app`."""


def tagged(headers: Iterable[tuple[bytes, bytes]], rid: str) -> list[tuple[bytes, bytes]]:
    """An answer's headers with its request id (X-Request-ID) added."""
    return [*headers, (b"x-request-id", rid.encode())]


class RequestMetrics(HttpMiddleware):
    """Count and time every HTTP request by route template; log it without its query.
    The scoring fast path, which answers in front of this middleware, applies the same
    two rules (`tagged`, `observe`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        rid = request_id(scope)

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = tagged(message.get("headers", []), rid)
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            self.observe(scope, getattr(route, "path", "unmatched"), status, started, rid)

    def observe(self, scope: Scope, path: str, status: int, started: float, rid: str) -> None:
        """Count, time and log one answered request (`path`: its route template)."""
        seconds = time.perf_counter() - started
        method = scope["method"]
        self.metrics.request(method, path, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            # the route template, never the path: a raw customer id or a token in a
            # path (DELETE /v1/customers/<id>) must not outlive an erasure in a log
            access_log.info('%s "%s %s" %d %.1f ms rid=%s', client[0] if client else "-",
                            method, path, status, seconds * 1e3, rid)
