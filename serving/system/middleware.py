"""Request metrics and the access log, as one plain ASGI middleware.

Plain ASGI rather than Starlette's `BaseHTTPMiddleware`: that one runs every request
through an extra task and memory stream, a cost paid on each prediction. The access log
is written here instead of by uvicorn so that it never holds a query string: the
customer access link (`/me?token=...`) must not end up in log files.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.system.metrics import Metrics

access_log = logging.getLogger("churn.access")


class RequestMetrics:
    """Count and time every HTTP request by route template; log it without its query."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info('%s "%s %s" %d %.1f ms', client[0] if client else "-",
                                method, scope["path"], status, seconds * 1e3)
