"""Web page fixtures: the app served by uvicorn on 127.0.0.1 (a thread), seeded through
the JSON API, and a headless Debian Chromium driven by Playwright (nothing downloaded;
tests/chromium.py).

The model, its MLflow store and the synthetic customers come from tests/serving/conftest.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from tests import chromium, resources
from tests.e2e.conftest import free_port
from tests.serving.conftest import ADMIN_TOKEN

CHROMIUM_ARGS = chromium.ARGS
SEED_CUSTOMERS = 120


@dataclass
class Live:
    """A running app: its base URL, staff tokens, and the customers scored into it."""

    url: str
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)
    scored: list[dict[str, Any]] = field(default_factory=list)

    def api(self, method: str, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {}) | {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def high(self) -> list[dict[str, Any]]:
        return [p for p in self.scored if p["risk_band"] == "high"]

    def with_task(self) -> list[dict[str, Any]]:
        return [p for p in self.scored if p.get("retention_task_id")]

    def access_link(self, customer_id: str) -> dict[str, Any]:
        r = self.api("POST", f"/v1/customers/{customer_id}/access-link", role="integration")
        assert r.status_code == 201, r.text
        return r.json()


class Server:
    def __init__(self, app: Any, port: int):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_live(settings: Settings, host: ModelHost, customers: list[dict[str, Any]],
               n: int = SEED_CUSTOMERS) -> Iterator[Live]:
    port = free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_app(settings, host=host)
    with Server(app, port):
        live = Live(url=f"http://127.0.0.1:{port}", settings=settings,
                    tokens={"admin": ADMIN_TOKEN})
        for role in ("agent", "reviewer", "integration", "auditor"):
            r = live.api("POST", "/v1/admin/users", json={"name": f"web {role}", "role": role})
            assert r.status_code == 201, r.text
            live.tokens[role] = r.json()["token"]
        r = live.api("POST", "/v1/predictions", role="agent", json=customers[:n])
        assert r.status_code == 201, r.text
        live.scored = [p | {"customer_id": c["customer_id"], "features": c["features"]}
                       for p, c in zip(r.json(), customers[:n], strict=True)]
        yield live


@pytest.fixture
def live(base_settings: Settings, host: ModelHost, customers: list[dict[str, Any]],
         tmp_path: Path) -> Iterator[Live]:
    """The app on SQLite, served on a free localhost port, with scored customers."""
    settings = base_settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path}/web.db"})
    yield from start_live(settings, host, customers)


@pytest.fixture
def live_pg(base_settings: Settings, host: ModelHost, customers: list[dict[str, Any]],
            pg_database: str) -> Iterator[Live]:
    """The same on PostgreSQL (the session's database, emptied)."""
    from tests.postgres import reset_schema

    reset_schema(pg_database)
    settings = base_settings.model_copy(update={"database_url": pg_database})
    yield from start_live(settings, host, customers)


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Any:
    """Headless Chromium, kept open from one browser test to the next (tests/chromium.py)."""
    # skipped, or failed with CHURN_REQUIRE_ALL=1, without Chromium (tests/resources.py)
    resources.BY_KEY["chromium"].require(getattr(request, "_pyfuncitem", None))
    return chromium.browser()


def new_page(browser: Any, locale: str = "en-GB", mobile: bool = False) -> Any:
    viewport = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
    context = browser.new_context(locale=locale, viewport=viewport,
                                  java_script_enabled=True)
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    p = new_page(browser)
    yield p
    p.context.close()


def shot(page: Any, tmp_path: Path, name: str, full_page: bool = True) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
