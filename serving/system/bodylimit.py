"""A cap on request bodies (`CHURN_MAX_BODY_BYTES`, 1 MiB by default), enforced before the
body is read.

A plain ASGI middleware, outside everything that reads a body (authentication included), so
an oversized request costs the server neither memory nor work:

- a declared `Content-Length` above the cap is answered 413 at once, without reading a byte
  of the body (a client sending `Expect: 100-continue` is told before it sends anything);
- a body without a length (chunked) is counted as it streams in; at the first message that
  crosses the cap the client gets 413 and the application sees the client disconnect, so it
  stops reading and whatever it would have answered is dropped.

The 413 has the API's error shape (`serving.errors.error_body`) and `Connection: close`: the
server closes the connection instead of draining the rest of the body.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import error_body
from serving.system.bodywatch import watch_body
from serving.system.middleware import HttpMiddleware

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def declared_length(scope: Scope) -> int | None:
    """The request's `Content-Length` (the first), or None: none or malformed (the HTTP
    server refuses a malformed length itself)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimit(HttpMiddleware):
    """Refuse request bodies larger than `max_bytes` with 413, before they are read."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        super().__init__(app)
        self.max_bytes = max_bytes
        body = error_body(
            "payload_too_large",
            f"The request body is larger than the limit of {_size(max_bytes)} "
            f"({max_bytes} bytes). Send less per request (a list of "
            "predictions can be split into several requests).")
        self._body = json.dumps(body).encode()
        self._headers = [(b"content-type", b"application/json"),
                         (b"content-length", str(len(self._body)).encode()),
                         (b"connection", b"close"),
                         (b"cache-control", b"no-store")]

    async def _refuse(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 413, "headers": self._headers})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return

        received = 0

        def too_much(chunk: bytes, _last: bool) -> bool:
            nonlocal received
            received += len(chunk)
            return received > self.max_bytes

        await watch_body(self.app, scope, receive, send, too_much, self._refuse)
