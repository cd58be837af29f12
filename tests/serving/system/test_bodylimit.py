"""The request-body cap (CHURN_MAX_BODY_BYTES): refused with 413 before the body is read.

On a bare ASGI app that records what it was given (is the app even called? how much of
the body did it get? how much did the client have to send?), then on the real app. The
200 MB body against a live server is in tests/e2e/test_body_limit.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.system.bodylimit import BodyLimit
from tests.serving.conftest import ADMIN_TOKEN

CAP = 64 * 1024
CHUNK = 8 * 1024


class Recorder:
    """An ASGI app that reads the whole body, then answers 200 with its length."""

    def __init__(self) -> None:
        self.called = False
        self.read = 0
        self.saw_disconnect = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.saw_disconnect = True
                raise ConnectionAbortedError("client gone")  # what a framework would do
            self.read += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = str(self.read).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class Stream:
    """A chunked request body of `total` bytes that counts what the client had to send."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            n = min(CHUNK, self.total - self.sent)
            self.sent += n
            yield b"x" * n


def post(app: Any, content: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.post("/v1/predictions", content=content, headers=headers)

    return asyncio.run(go())


def assert_413(r: httpx.Response) -> None:
    assert r.status_code == 413
    body = r.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "payload_too_large"
    assert "64 KiB" in body["detail"] and str(CAP) in body["detail"]
    assert r.headers["connection"] == "close"


def test_a_declared_length_above_the_cap_is_refused_without_calling_the_app() -> None:
    inner = Recorder()
    r = post(BodyLimit(inner, max_bytes=CAP), b"x" * (CAP + 1))
    assert_413(r)
    assert not inner.called


@pytest.mark.parametrize("size", [0, 1, CAP])
def test_bodies_up_to_the_cap_pass_whole(size: int) -> None:
    inner = Recorder()
    r = post(BodyLimit(inner, max_bytes=CAP), b"x" * size)
    assert r.status_code == 200 and r.text == str(size)


def test_a_chunked_body_is_cut_at_the_cap_while_it_streams() -> None:
    inner = Recorder()
    stream = Stream(100 * CAP)
    r = post(BodyLimit(inner, max_bytes=CAP), stream)
    assert_413(r)
    assert inner.called and inner.saw_disconnect
    assert inner.read <= CAP  # the app never got past the cap...
    assert stream.sent <= CAP + CHUNK  # ...and the client was stopped right after it


def test_a_chunked_body_within_the_cap_passes() -> None:
    inner = Recorder()
    stream = Stream(CAP)
    r = post(BodyLimit(inner, max_bytes=CAP), stream)
    assert r.status_code == 200 and r.text == str(CAP)


def test_a_lying_small_length_is_still_counted() -> None:
    """A declared length under the cap does not switch counting off."""
    inner = Recorder()
    r = post(BodyLimit(inner, max_bytes=CAP), Stream(4 * CAP), headers={"content-length": "10"})
    assert_413(r)


def test_other_scopes_pass_untouched() -> None:
    seen = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(BodyLimit(inner, max_bytes=CAP)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


def test_the_setting_has_a_one_mebibyte_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHURN_MAX_BODY_BYTES", raising=False)
    assert Settings().max_body_bytes == 1024 * 1024
    monkeypatch.setenv("CHURN_MAX_BODY_BYTES", "2048")
    assert Settings().max_body_bytes == 2048
    monkeypatch.setenv("CHURN_MAX_BODY_BYTES", "10")
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings()


# -- the real app ----------------------------------------------------------------------------
@pytest.fixture
def capped(base_settings: Settings, host: ModelHost, tmp_path: Any) -> Settings:
    return base_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/c.db",
                                            "max_body_bytes": CAP})


@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/disputes", "/staff/sign-in",
                                  "/v1/nothing-here"])
def test_the_app_refuses_a_large_body_before_authentication(capped: Settings, host: ModelHost,
                                                            path: str) -> None:
    with TestClient(create_app(capped, host=host)) as c:
        r = c.post(path, content=b"[" + b" " * CAP + b"]",
                   headers={"content-type": "application/json"})
    assert_413(r)


def test_the_app_takes_a_large_list_of_predictions_within_the_default_cap(
        base_settings: Settings, host: ModelHost, customers: list[dict[str, Any]],
        tmp_path: Any) -> None:
    """The default cap leaves room for the largest batch the API takes (1,000 customers)."""
    settings = base_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/d.db"})
    body = (customers * 2)[: settings.max_batch]
    body = [c | {"customer_id": f"{c['customer_id']}-{i}"} for i, c in enumerate(body)]
    with TestClient(create_app(settings, host=host)) as c:
        r = c.post("/v1/predictions", json=body,
                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201, r.text[:300]
    assert len(r.request.content) < settings.max_body_bytes / 2


def test_the_413_is_documented_on_every_route_taking_a_body(capped: Settings,
                                                            host: ModelHost) -> None:
    with TestClient(create_app(capped, host=host)) as c:
        doc = c.get("/openapi.json").json()
    with_body = [(path, method, op) for path, methods in doc["paths"].items()
                 for method, op in methods.items() if "requestBody" in op]
    assert len(with_body) >= 5
    for path, method, op in with_body:
        answer = op["responses"].get("413")
        assert answer is not None, (method, path)
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorPublic"}, (method, path)
