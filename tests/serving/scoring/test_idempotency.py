"""`Idempotency-Key` on POST /v1/predictions: a client that got no answer (a timeout, a
dropped connection, a 503 `write_unconfirmed`) sends the request again and it is stored
at most once; the repeat answers the receipts stored the first time (200). On both
databases, through the fast path and through the route, one record or a list, and under
concurrent repeats."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from serving.storage.tables import AuditEvent, Prediction, RetentionTask
from tests.serving.conftest import Api, _strip, bearer, second_agent
from tests.serving.scoring.test_fastpath import Paths


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    return Paths(monkeypatch)


def post(api: Api, body: Any, key: str | None, token: str | None = None,
         **params: Any) -> Any:
    headers = bearer(token) if token else api.headers("agent")
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post("/v1/predictions", json=body, headers=headers, params=params)


def receipts(app: Any) -> list[Prediction]:
    with app.state.db.session() as s:
        return list(s.scalars(sa.select(Prediction).order_by(Prediction.id)))


def created_events(app: Any) -> int:
    with app.state.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "prediction.created"))


def high_risk(by_risk: list[dict]) -> dict:
    return next(c for c in by_risk if c["expected_score"] >= 0.5)


def test_a_repeat_is_stored_once_and_answers_the_first_receipt(
        api: Api, app: Any, paths: Paths, by_risk: list[dict]) -> None:
    body = _strip(high_risk(by_risk))
    first = post(api, body, "retry-1")
    assert first.status_code == 201, first.text
    assert paths.answered[-1], "a keyed request is the fast path's too"
    again = post(api, body, "retry-1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # the same receipt, the same task, the same words
    assert first.json()["retention_task_id"] is not None
    assert len(receipts(app)) == 1 and created_events(app) == 1
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)) == 1
        read = s.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "customer_record.read")).all()
    # reading the receipt again is a member of staff's read of a customer's record
    assert [json.loads(e.objects) if isinstance(e.objects, str) else e.objects
            for e in read] == [{"record": "prediction", "id": first.json()["prediction_id"],
                                "via": "api_repeat"}]


def test_the_route_and_the_fast_path_honour_the_same_key(
        api: Api, app: Any, paths: Paths, customers: list[dict]) -> None:
    body = _strip(customers[0])
    fast, answered, route = paths.both(lambda: post(api, body, "both-ways"))
    assert answered and fast.status_code == 201 and route.status_code == 200, route.text
    assert route.json() == fast.json()
    # and the other way round: stored by the route, repeated through the fast path
    paths.route_only = True
    stored = post(api, _strip(customers[1]), "other-way")
    paths.route_only = False
    repeat = post(api, _strip(customers[1]), "other-way")
    assert stored.status_code == 201 and repeat.status_code == 200
    assert repeat.json() == stored.json()
    assert len(receipts(app)) == 2


def test_a_list_is_repeated_whole_and_in_its_order(api: Api, app: Any,
                                                   customers: list[dict]) -> None:
    body = [_strip(c) for c in customers[3:8]]
    first = post(api, body, "a-list", lang="fr")
    again = post(api, body, "a-list", lang="fr")
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert [p["prediction_id"] for p in again.json()] == [
        p["prediction_id"] for p in first.json()]
    assert again.json() == first.json()
    # a list longer than the loop scores is written from the thread pool: the same rule
    long = [_strip(c) | {"customer_id": f"long-{n}"} for n, c in enumerate(customers[:12])]
    one, two = post(api, long, "a-long-list"), post(api, long, "a-long-list")
    assert (one.status_code, two.status_code) == (201, 200), two.text
    assert two.json() == one.json()
    assert len(receipts(app)) == 5 + 12


def test_the_same_body_written_otherwise_is_the_same_request(api: Api, app: Any,
                                                             customers: list[dict]) -> None:
    body = _strip(customers[0])
    first = post(api, body, "spelling")
    numbers = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
               for k, v in reversed(body["features"].items())}
    respelt = {"features": numbers, "customer_id": body["customer_id"]}
    assert respelt != body or list(respelt) != list(body)
    again = post(api, respelt, "spelling")
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert len(receipts(app)) == 1


def test_the_same_key_with_another_body_is_refused_and_stores_nothing(
        api: Api, app: Any, customers: list[dict]) -> None:
    assert post(api, _strip(customers[0]), "reused").status_code == 201
    for other in (_strip(customers[1]), [_strip(customers[0])] * 2,
                  _strip(customers[0]) | {"customer_value": 10.0}):
        r = post(api, other, "reused")
        assert r.status_code == 422, r.text
        e = r.json()
        assert e["error"] == "idempotency_key_reused" and e["fields"] == ["Idempotency-Key"]
        assert e["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        assert "new key" in e["detail"] and e["errors"][0]["fix"]
    assert len(receipts(app)) == 1


def test_keys_are_each_callers_own(api: Api, app: Any, customers: list[dict]) -> None:
    body = _strip(customers[0])
    token, _actor = second_agent(api)
    mine, theirs = post(api, body, "shared-key"), post(api, body, "shared-key", token)
    assert (mine.status_code, theirs.status_code) == (201, 201), theirs.text
    assert mine.json()["prediction_id"] != theirs.json()["prediction_id"]
    assert len(receipts(app)) == 2


def test_no_key_or_a_blank_key_stores_every_request(api: Api, app: Any,
                                                    customers: list[dict]) -> None:
    body = _strip(customers[0])
    for key in (None, None, "   ", ""):
        assert post(api, body, key).status_code == 201
    assert len(receipts(app)) == 4
    assert all(p.request_key is None and p.request_item is None for p in receipts(app))


def test_a_key_too_long_is_a_422_naming_the_header(api: Api, paths: Paths,
                                                   customers: list[dict], app: Any) -> None:
    fast, answered, route = paths.both(lambda: post(api, _strip(customers[0]), "k" * 201))
    assert not answered
    for r in (fast, route):
        assert r.status_code == 422, r.text
        assert any(e["loc"] == ["header", "Idempotency-Key"] for e in r.json()["errors"])
    assert receipts(app) == []
    assert post(api, _strip(customers[0]), "k" * 200).status_code == 201


def test_concurrent_repeats_store_one_request(api: Api, app: Any,
                                              by_risk: list[dict]) -> None:
    body = [_strip(high_risk(by_risk)), _strip(by_risk[-1])]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _n: post(api, body, "storm"), range(16)))
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201], [
        a.text for a in answers if a.status_code not in (200, 201)]
    ids = {tuple(p["prediction_id"] for p in a.json()) for a in answers}
    assert len(ids) == 1 and len(receipts(app)) == 2 and created_events(app) == 2
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)) == 1


def test_a_repeat_after_an_erasure_is_never_a_new_score(api: Api, app: Any,
                                                        customers: list[dict]) -> None:
    one, two = _strip(customers[0]), _strip(customers[1])
    assert post(api, [one, two], "before-erasure").status_code == 201
    assert post(api, one, "alone").status_code == 201
    gone = api.client.delete(f"/v1/customers/{one['customer_id']}",
                             headers=api.headers("admin"))
    assert gone.status_code == 200, gone.text
    # part of what the key stored is gone: the first answer cannot be given again
    r = post(api, [one, two], "before-erasure")
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "idempotency_key_expired" and "new key" in r.json()["detail"]
    # all of it is gone (and the key with it): the erased customer is not scored again
    r = post(api, one, "alone")
    assert r.status_code == 409 and r.json()["error"] == "suppressed", r.text
    assert {p.customer_ref for p in receipts(app)} == {
        api.score(two).json()["customer_ref"]}


def test_the_header_is_in_the_openapi_document(api: Api) -> None:
    op = api.client.get("/openapi.json").json()["paths"]["/v1/predictions"]["post"]
    header = next(p for p in op["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["anyOf"][0]["maxLength"] == 200
    assert {"200", "201", "409", "422"} <= set(op["responses"])


def test_a_write_committed_but_never_confirmed_is_repeated_without_a_second_receipt(
        settings: Any, host: Any, customers: list[dict],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault the key is for: the writer process commits a prediction and dies before
    it answers. The client gets 503 `write_unconfirmed`; sent again with its key, the
    request answers the receipt that was stored, and there is still only one."""
    from fastapi.testclient import TestClient

    from serving.main import create_app
    from serving.scoring import service
    from tests.serving.conftest import ADMIN_TOKEN
    from tests.serving.scoring.dying_store import marker

    monkeypatch.setattr(service, "WRITER_STORE", "tests.serving.scoring.dying_store:store")
    app = create_app(settings.model_copy(update={"writer": "process"}), host=host)
    body = _strip(customers[0])
    headers = bearer(ADMIN_TOKEN) | {"Idempotency-Key": "after-a-crash"}
    with TestClient(app, raise_server_exceptions=True) as c:
        assert app.state.score_writer.process is not None
        marker(settings.database_url).touch()
        lost = c.post("/v1/predictions", json=body, headers=headers)
        assert lost.status_code == 503 and lost.json()["error"] == "write_unconfirmed"
        assert "same Idempotency-Key" in lost.json()["detail"]
        assert len(receipts(app)) == 1  # it was stored all the same
        again = c.post("/v1/predictions", json=body, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["prediction_id"] == receipts(app)[0].id
        assert len(receipts(app)) == 1
