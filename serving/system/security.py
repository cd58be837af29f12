"""Response hardening, as one plain ASGI middleware (no extra task per request):

- `Cache-Control: no-store` (and `X-Content-Type-Options: nosniff`) on every answer except
  the pages' static files, unless the route set its own: API answers carry personal data
  and tokens, which no browser or proxy cache should keep;
- `Strict-Transport-Security` in production (`CHURN_MODE=production`): browsers then
  refuse plain HTTP for this host;
- the interactive documentation (`/docs`, `/redoc`) and the OpenAPI document
  (`/openapi.json`) answer 404 unless `CHURN_API_DOCS` enables them; by default they are on
  in development and off in production.

The session cookie's `__Host-` prefix in production lives with the cookie itself
(`serving/web/session.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_body
from serving.system.middleware import HttpMiddleware

HSTS = b"max-age=63072000; includeSubDomains"
STATIC_PREFIX = "/static/"


def docs_enabled(mode: str, api_docs: bool | None) -> bool:
    """`CHURN_API_DOCS` when set, else on in development only."""
    return api_docs if api_docs is not None else mode != "production"


class SecurityHeaders(HttpMiddleware):
    """Harden every HTTP answer: no-store, nosniff, HSTS in production, docs hidden
    unless enabled (the module docstring says why)."""

    def __init__(self, app: ASGIApp, *, production: bool, docs: bool,
                 docs_paths: Iterable[str | None] = ("/docs", "/docs/oauth2-redirect",
                                                     "/redoc", "/openapi.json")) -> None:
        super().__init__(app)
        self.production = production
        self.hidden = frozenset() if docs else frozenset(p for p in docs_paths if p)
        self._not_found = json.dumps(error_body(
            "not_found", "The API documentation is not served here (CHURN_API_DOCS=true "
            "enables it).")).encode()

    def harden(self, headers: Iterable[tuple[bytes, bytes]],
               path: str) -> list[tuple[bytes, bytes]]:
        """An answer's headers for `path`, hardened (the rule of this middleware, also
        applied by the scoring fast path, which answers in front of it)."""
        headers = list(headers)
        names = {name.lower() for name, _ in headers}
        if not path.startswith(STATIC_PREFIX) and b"cache-control" not in names:
            headers.append((b"cache-control", b"no-store"))
        if b"x-content-type-options" not in names:
            headers.append((b"x-content-type-options", b"nosniff"))
        if self.production and b"strict-transport-security" not in names:
            headers.append((b"strict-transport-security", HSTS))
        return headers

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self.harden(message.get("headers", ()),
                                                              path)}
            await send(message)

        if path in self.hidden:
            await send_hardened({"type": "http.response.start", "status": 404,
                                 "headers": [(b"content-type", b"application/json"),
                                             (b"content-length",
                                              str(len(self._not_found)).encode())]})
            await send_hardened({"type": "http.response.body", "body": self._not_found})
            return
        await self.app(scope, receive, send_hardened)
