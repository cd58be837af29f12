"""The fast path of POST /v1/predictions (`serving.scoring.fastpath`) answers what the
FastAPI route answers: the same status, the same header names and the same body (the
same shape for a new prediction, the same bytes for an error), whichever of the two
takes the request; and it refuses a revoked or deactivated token on the next request.
In front of the app's own middlewares, it applies their rules itself (request id,
metrics, access log, security headers, body cap, text guard), and turns itself off next
to a middleware whose rule it does not know."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.middleware import Middleware

from serving.config import Settings
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.scoring.fastpath import PredictionFastPath
from serving.storage import Database
from serving.storage import staff as staff_store
from serving.storage.tables import Customer, Prediction
from tests.serving.conftest import ADMIN_TOKEN, Api, bearer, second_agent


class Paths:
    """Send a request through the fast path, then through the route alone (the fast
    path told to hand everything over), and say which one answered the first time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.answered: list[bool] = []  # per request: did the fast path answer it?
        self.route_only = False
        real = PredictionFastPath._answer

        async def spy(fast: PredictionFastPath, *args: Any) -> Any:
            out = None if self.route_only else await real(fast, *args)
            self.answered.append(out is not None)
            return out

        monkeypatch.setattr(PredictionFastPath, "_answer", spy)

    def both(self, send: Callable[[], Any]) -> tuple[Any, bool, Any]:
        """(fast path's response, whether it answered itself, the route's response)."""
        self.route_only = False
        fast = send()
        answered = self.answered[-1]
        self.route_only = True
        try:
            route = send()
        finally:
            self.route_only = False
        assert self.answered[-1] is False  # the second one really went to the route
        return fast, answered, route


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    return Paths(monkeypatch)


def shape(value: Any) -> Any:
    """The body's structure: keys in order, list lengths, kinds of leaves."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) \
        else type(value).__name__


def names(response: Any) -> set[str]:
    return {k.lower() for k in response.headers}


def same_error(fast: Any, answered: bool, route: Any, status: int) -> None:
    """An error: the route answered both times (the fast path replayed it), alike."""
    assert not answered
    assert fast.status_code == route.status_code == status, (fast.text, route.text)
    assert fast.content == route.content
    assert names(fast) == names(route)


def test_a_prediction_is_answered_by_the_fast_path_as_the_route_answers_it(
        api: Api, paths: Paths, customers: list[dict]) -> None:
    for body, params in ((customers[0], {}), (customers[1], {"lang": "fr"}),
                         (customers[2:4], {})):
        fast, answered, route = paths.both(lambda b=body, p=params: api.score(b, **p))
        assert answered, "the happy path went to FastAPI"
        assert fast.status_code == route.status_code == 201, (fast.text, route.text)
        assert names(fast) == names(route)
        assert {"x-request-id", "cache-control", "x-content-type-options",
                "content-type", "content-length"} <= names(fast)
        assert fast.headers["content-type"] == route.headers["content-type"]
        assert shape(fast.json()) == shape(route.json())
        one = fast.json() if isinstance(body, dict) else fast.json()[0]
        again = route.json() if isinstance(body, dict) else route.json()[0]
        # the same customer scored twice by the same model: the same score and reasons
        assert (one["score"], one["contributions"]) == (again["score"], again["contributions"])


@pytest.mark.parametrize("token", [None, "st_not-a-real-token", "something-else"])
def test_no_or_an_unknown_token_is_401_from_the_route(
        api: Api, paths: Paths, customers: list[dict], token: str | None) -> None:
    headers = bearer(token) if token else {}
    fast, answered, route = paths.both(lambda: api.client.post(
        "/v1/predictions", json=customers[0], headers=headers))
    same_error(fast, answered, route, 401)
    assert fast.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["reviewer", "auditor", "integration"])
def test_a_role_that_may_not_score_is_403_from_the_route(
        api: Api, paths: Paths, customers: list[dict], role: str) -> None:
    fast, answered, route = paths.both(lambda: api.score(customers[0], role=role))
    same_error(fast, answered, route, 403)


@pytest.mark.parametrize("body", [
    {"features": {}},  # no customer_id
    {"customer_id": "c-1", "features": {}, "extra": 1},  # an unknown key
    {"customer_id": "c-1", "features": [1, 2]},  # features not an object
    {"customer_id": "c-1", "features": {}, "customer_value": True},  # strict number
    [],  # an empty list
])
def test_a_bad_body_is_the_routes_422(api: Api, paths: Paths, body: Any) -> None:
    fast, answered, route = paths.both(lambda: api.client.post(
        "/v1/predictions", json=body, headers=api.headers()))
    same_error(fast, answered, route, 422)


def test_a_body_that_is_not_json_or_not_declared_json_is_the_routes(api: Api,
                                                                    paths: Paths) -> None:
    for content, ctype, status in ((b"{not json", "application/json", 422),
                                   (b'{"customer_id": "x"}', "text/plain", 422)):
        fast, answered, route = paths.both(lambda c=content, t=ctype: api.client.post(
            "/v1/predictions", content=c, headers=api.headers() | {"content-type": t}))
        same_error(fast, answered, route, status)


def test_an_unknown_category_or_a_bad_language_is_the_routes_422(
        api: Api, paths: Paths, customers: list[dict], host: Any) -> None:
    spec = host.current().spec
    categorical = next(f.name for f in spec.features if f.kind != "numeric")
    bad = {**customers[0], "features": {**customers[0]["features"], categorical: "Bogus"}}
    fast, answered, route = paths.both(lambda: api.score(bad))
    same_error(fast, answered, route, 422)
    assert fast.json()["fields"] == [categorical]
    fast, answered, route = paths.both(lambda: api.score(customers[0], lang="de"))
    same_error(fast, answered, route, 422)


def test_a_restricted_customer_is_kept_without_a_route_and_an_objecting_one_is_409(
        api: Api, paths: Paths, app: Any, by_risk: list[dict]) -> None:
    high = next(c for c in by_risk if c["expected_score"] >= 0.5)
    objecting = by_risk[-1]
    refs = {c["customer_id"]: api.score(c).json()["customer_ref"] for c in (high, objecting)}
    with app.state.db.session() as s:
        s.get(Customer, refs[high["customer_id"]]).restricted = True
        s.get(Customer, refs[objecting["customer_id"]]).objected = True
        s.commit()

    fast, answered, route = paths.both(lambda: api.score(high))
    assert answered and fast.status_code == route.status_code == 201
    assert shape(fast.json()) == shape(route.json()) and names(fast) == names(route)
    for r in (fast, route):
        p = r.json()
        assert p["route"]["action"] == "none" and "restricted" in p["route"]["reason"]
        assert p["retention_task_id"] is None

    # refused by the write itself: the fast path answers with the app's own handler
    fast, answered, route = paths.both(lambda: api.score(objecting))
    assert answered
    assert fast.status_code == route.status_code == 409
    assert fast.content == route.content and fast.json()["status"] == "suppressed"
    assert names(fast) == names(route)


@pytest.mark.parametrize("how", ["deactivate", "rotate-token"])
def test_a_revoked_token_is_refused_on_the_next_request(
        api: Api, paths: Paths, customers: list[dict], how: str) -> None:
    token, actor = second_agent(api)
    ok = api.client.post("/v1/predictions", json=customers[0], headers=bearer(token))
    assert ok.status_code == 201 and paths.answered[-1]
    user_id = actor.removeprefix("staff:")
    r = api.post(f"/v1/admin/users/{user_id}/{how}", role="admin")
    assert r.status_code in (200, 201), r.text
    refused = api.client.post("/v1/predictions", json=customers[1], headers=bearer(token))
    assert refused.status_code == 401 and not paths.answered[-1]
    assert refused.json()["error"] == "not_authenticated"


def _counted(client: TestClient, status: int) -> float:
    """How many POST /v1/predictions answered `status` the app's metrics counted."""
    m = re.search(r'churn_http_requests_total\{method="POST",route="/v1/predictions",'
                  rf'status="{status}"\}} ([0-9.e+]+)', client.get("/metrics").text)
    return float(m.group(1)) if m else 0.0


def test_the_fast_paths_answer_is_tagged_counted_and_logged_as_the_middlewares_do(
        api: Api, paths: Paths, customers: list[dict], caplog: pytest.LogCaptureFixture,
) -> None:
    before = _counted(api.client, 201)
    with caplog.at_level(logging.INFO, logger="churn.access"):
        r = api.client.post("/v1/predictions", json=customers[0],
                            headers=api.headers() | {"X-Request-ID": "trace-fast-0001"})
        mine = api.client.post("/v1/predictions", json=customers[1], headers=api.headers())
    assert r.status_code == mine.status_code == 201 and paths.answered == [True, True]
    assert r.headers["x-request-id"] == "trace-fast-0001"  # the caller's id, sent back
    assert re.fullmatch(r"[0-9a-f]{32}", mine.headers["x-request-id"])  # or a new one
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # production only
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "churn.access"]
    assert len(lines) == 2
    assert '"POST /v1/predictions" 201' in lines[0] and "rid=trace-fast-0001" in lines[0]
    assert f"rid={mine.headers['x-request-id']}" in lines[1]
    assert customers[0]["customer_id"] not in "\n".join(lines)
    assert _counted(api.client, 201) == before + 2


def test_the_body_cap_and_the_text_guard_stand_before_the_fast_path(
        settings: Settings, host: ModelHost, paths: Paths, customers: list[dict]) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    app = create_app(settings.model_copy(update={"max_body_bytes": 4096}), host=host)
    with TestClient(app) as client:
        # a declared length over the cap: 413 before a byte is read
        padded = json.dumps(customers[0] | {"pad": "x" * 5000}).encode()
        r = client.post("/v1/predictions", content=padded, headers=admin)
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
        # a NUL in the body: the text guard's 422, naming the field
        nul = json.dumps(customers[0] | {"customer_id": "a\x00b"}).encode()
        r = client.post("/v1/predictions", content=nul, headers=admin)
        assert r.status_code == 422 and r.json()["fields"] == ["customer_id"]
        assert paths.answered == []  # the fast path never looked at either
        # no declared length (chunked): the app counts the body as it streams, and answers
        body = json.dumps(customers[0]).encode()
        r = client.post("/v1/predictions", content=iter([body[:10], body[10:]]),
                        headers=admin)
        assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
        assert paths.answered == []
        assert _counted(client, 201) == 1  # (the edge's refusals come before the metrics)


def test_in_production_the_fast_paths_answer_is_hardened_too(
        settings: Settings, host: ModelHost, paths: Paths, customers: list[dict]) -> None:
    from pydantic import SecretStr

    prod = settings.model_copy(update={
        "mode": "production", "pseudonym_key": SecretStr("p" * 32),
        "link_secret": SecretStr("l" * 32), "public_base_url": "https://churn.example"})
    with TestClient(create_app(prod, host=host), base_url="https://testserver") as client:
        r = client.post("/v1/predictions", json=customers[0],
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201 and paths.answered == [True]
    assert r.headers["strict-transport-security"].startswith("max-age=")


class _Unknown:
    """A middleware whose rule the fast path does not know."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def test_next_to_a_middleware_it_does_not_know_the_fast_path_turns_itself_off(
        settings: Settings, host: ModelHost, paths: Paths, customers: list[dict],
        caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, host=host)
    assert app.user_middleware[0].cls is PredictionFastPath  # the outermost of ours
    app.user_middleware.insert(1, Middleware(_Unknown))  # inside it: it would be skipped
    with caplog.at_level(logging.WARNING, logger="serving.scoring.fastpath"), \
            TestClient(app) as client:
        r = client.post("/v1/predictions", json=customers[0],
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 201 and paths.answered == []  # the route answered it
    assert "_Unknown" in caplog.text and "fast path is off" in caplog.text


# -- the memory of staff tokens (serving.auth.known), confirmed by the write ----------------
def _stored_by(db: Database, actor: str) -> int:
    """Receipts stored with `actor` as their author."""
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Prediction)
                              .where(Prediction.actor == actor)) or 0


@pytest.mark.parametrize("writer", ["process", "thread"])
@pytest.mark.parametrize("how", ["deactivate", "rotate", "reviewer", "admin"])
def test_a_token_changed_behind_the_apps_back_is_confirmed_by_the_write(
        settings: Settings, host: ModelHost, paths: Paths, customers: list[dict],
        writer: str, how: str) -> None:
    """A token the fast path remembers is changed in the table by another process (an
    operator, the CLI): the next prediction's write refuses it and stores nothing, and the
    route answers the request after a fresh lookup: 401 for a deactivated or rotated token,
    403 for a role that may not score, the prediction for one that may (under the new
    role: looked up and remembered again by the fast path on the request after it)."""
    app = create_app(settings.model_copy(update={"writer": writer}), host=host)
    with TestClient(app) as client:
        api = Api(client, {"admin": ADMIN_TOKEN})
        token, actor = second_agent(api)
        user_id = actor.removeprefix("staff:")
        first = client.post("/v1/predictions", json=customers[0], headers=bearer(token))
        assert first.status_code == 201 and paths.answered[-1]
        known = app.state.known_tokens
        assert len(known) == 1  # remembered once it authenticated
        other = Database(settings.database_url)  # not the app's: another process's
        try:
            with other.session() as session:
                change = {"deactivate": {"active": False},
                          "rotate": {"token_hash": "0" * 64},
                          "reviewer": {"role": "reviewer"}, "admin": {"role": "admin"}}[how]
                staff_store.change(session, user_id, **change)
                session.commit()
        finally:
            other.dispose()
        before = _stored_by(app.state.db, actor)
        r = client.post("/v1/predictions", json=customers[1], headers=bearer(token))
        assert not paths.answered[-1]  # the write refused it: the route answered
        if how in ("deactivate", "rotate"):
            assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
            assert r.json()["detail"] == "unknown or revoked staff token"
        elif how == "reviewer":
            assert r.status_code == 403 and r.json()["error"] == "forbidden"
        else:
            assert r.status_code == 201, r.text
        after = _stored_by(app.state.db, actor)
        assert after == before + (1 if how == "admin" else 0)
        assert len(known) == 0  # forgotten
        if how == "admin":  # looked up again by the fast path, and remembered as admin
            again = client.post("/v1/predictions", json=customers[2], headers=bearer(token))
            assert again.status_code == 201 and paths.answered[-1]
            assert _stored_by(app.state.db, actor) == after + 1
            assert len(known) == 1


def test_only_staff_tokens_that_authenticated_are_remembered(
        api: Api, paths: Paths, customers: list[dict]) -> None:
    known = api.client.app.state.known_tokens
    for token in ("st_" + "x" * 43, "nonsense", ""):
        r = api.client.post("/v1/predictions", json=customers[0], headers=bearer(token))
        assert r.status_code in (401, 403)
    reviewer = api.client.post("/v1/predictions", json=customers[0],
                               headers=api.headers("reviewer"))
    assert reviewer.status_code == 403  # a staff token, but not one that may score
    admin = api.client.post("/v1/predictions", json=customers[0], headers=api.headers("admin"))
    assert admin.status_code == 201 and paths.answered[-1]
    assert len(known) == 0  # the admin token is the settings', not the table's
    assert api.score(customers[1]).status_code == 201
    assert len(known) == 1
