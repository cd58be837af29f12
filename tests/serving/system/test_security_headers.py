"""Production hardening: the API documentation off unless enabled, HSTS, no caching of API
answers, and the `__Host-` session cookie. On the real app (SQLite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.system.security import docs_enabled
from serving.web.session import COOKIE
from tests.serving.conftest import ADMIN_TOKEN

DOCS = ["/docs", "/redoc", "/openapi.json"]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def settings_for(base: Settings, tmp_path: Path, mode: str, **extra: Any) -> Settings:
    update: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path}/{mode}.db", "mode": mode}
    if mode == "production":
        update |= {"pseudonym_key": SecretStr("p" * 32), "link_secret": SecretStr("l" * 32),
                   "public_base_url": "https://churn.example"}
    return base.model_copy(update=update | extra)


@pytest.fixture
def make_client(base_settings: Settings, host: ModelHost, tmp_path: Path) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(mode: str, base_url: str = "http://testserver", **extra: Any) -> TestClient:
        app = create_app(settings_for(base_settings, tmp_path, mode, **extra), host=host)
        c = TestClient(app, base_url=base_url)
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def test_docs_are_on_in_development_and_off_in_production_by_default() -> None:
    assert docs_enabled("dev", None) and not docs_enabled("production", None)
    assert docs_enabled("production", True) and not docs_enabled("dev", False)


def test_development_serves_the_documentation(make_client: Any) -> None:
    c = make_client("dev")
    for path in DOCS:
        assert c.get(path).status_code == 200, path
    assert "paths" in c.get("/openapi.json").json()


def test_production_hides_the_documentation(make_client: Any) -> None:
    c = make_client("production", base_url="https://testserver")
    for path in [*DOCS, "/docs/oauth2-redirect"]:
        r = c.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found" and "CHURN_API_DOCS" in r.json()["detail"]
        assert r.headers["cache-control"] == "no-store"
    assert c.get("/healthz").status_code == 200  # the rest still answers


def test_production_serves_the_documentation_when_enabled(make_client: Any) -> None:
    c = make_client("production", base_url="https://testserver", api_docs=True)
    for path in DOCS:
        assert c.get(path).status_code == 200, path


def test_development_can_hide_the_documentation(make_client: Any) -> None:
    c = make_client("dev", api_docs=False)
    for path in DOCS:
        assert c.get(path).status_code == 404, path


def test_the_docs_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_API_DOCS", "true")
    assert Settings().api_docs is True
    monkeypatch.delenv("CHURN_API_DOCS")
    assert Settings().api_docs is None


@pytest.mark.parametrize("mode", ["dev", "production"])
def test_api_answers_are_never_cached(make_client: Any, mode: str) -> None:
    c = make_client(mode, base_url="https://testserver")
    answers = [c.get("/v1/model", headers=ADMIN), c.get("/v1/model"),  # 200 and 401
               c.post("/v1/predictions", json={}, headers=ADMIN),  # 422
               c.get("/v1/no-such-route"), c.get("/healthz"), c.get("/readyz")]
    for r in answers:
        assert r.headers["cache-control"] == "no-store", (r.request.url, r.status_code)
        assert r.headers["x-content-type-options"] == "nosniff"
    # the pages' static files may be cached
    static = c.get("/static/web/site.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_hsts_in_production_only(make_client: Any) -> None:
    prod = make_client("production", base_url="https://testserver")
    for r in (prod.get("/healthz"), prod.get("/v1/model", headers=ADMIN),
              prod.get("/staff/sign-in"), prod.get("/docs")):
        assert r.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    dev = make_client("dev")
    assert "strict-transport-security" not in dev.get("/healthz").headers


def test_production_session_cookie_has_the_host_prefix_and_works(make_client: Any) -> None:
    c = make_client("production", base_url="https://testserver")
    page = c.get("/staff/sign-in")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"__Host-{COOKIE}=")
    # what the prefix demands: Secure, Path=/, no Domain
    assert "Secure" in cookie and "Path=/" in cookie and "domain=" not in cookie.lower()
    csrf = CSRF.search(page.text).group(1)
    r = c.post("/staff/sign-in", data={"csrf_token": csrf, "token": ADMIN_TOKEN, "next": ""},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:300]  # the prefixed cookie carried the session
    assert c.get("/staff/risk").status_code == 200


def test_development_session_cookie_keeps_its_plain_name(make_client: Any) -> None:
    c = make_client("dev")
    cookie = c.get("/staff/sign-in").headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "__Host-" not in cookie
