"""The error body (serving.errors): one shape everywhere, short echoes, never a 500 from
what a rejected request contains (a lone surrogate, NaN, nearly a megabyte of text)."""

from __future__ import annotations

import json

import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from serving.errors import ECHO_MAX, ErrorPublic, NotFound, install_handlers
from tests.serving.conftest import dispute_body

BIG = 900_000  # nearly a megabyte: just under the request-body cap (1 MiB)


def _raw(client: TestClient, method: str, path: str, text: str, headers: dict) -> object:
    return client.request(method, path, content=text.encode("utf-8", "surrogatepass"),
                          headers=headers | {"Content-Type": "application/json"})


def _valid_body(r: object) -> dict:
    """The answer is JSON in the ErrorPublic shape, and short."""
    body = json.loads(r.content.decode("utf-8"))  # strict UTF-8: no lone surrogate
    ErrorPublic.model_validate(body)
    return body


def test_a_huge_statement_is_refused_without_echoing_it(contest, by_risk):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    body = dispute_body(p, contest.host, statement="x" * BIG)
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 422
    out = _valid_body(r)
    assert out["fields"] == ["statement"] and out["errors"][0]["problem"] == "string_too_long"
    assert len(r.content) < 4_000, len(r.content)
    assert all(len(e["got"]) <= ECHO_MAX for e in out["errors"])


@pytest.mark.parametrize("body", [
    {"customer_id": "c1", "features": {}, "y" * BIG: 1},  # the schema refuses it
    {"customer_id": "c1", "features": {"y" * BIG: 1}},  # the model refuses it
], ids=["request field", "feature"])
def test_a_huge_field_name_is_not_echoed(api, body):  # noqa: ANN001
    r = api.client.post("/v1/predictions", headers=api.headers(), json=body)
    assert r.status_code == 422
    _valid_body(r)
    assert len(r.content) < 20_000, len(r.content)


@pytest.mark.parametrize("text", [
    '{"customer_id": "\\ud800", "features": {"\\ud800": 1}}',  # a feature named by it
    '{"customer_id": "\\ud800", "features": []}',  # pydantic's 422, input echoed
    '[{"customer_id": "a", "features": {"x": "\\udfff"}}, {"customer_id": 1}]',
    '{"customer_id": "\\ud800\\ud800", "features": {"tenure": "\\ud800"}, "x\\ud800": 1}',
], ids=["feature key", "schema", "batch", "extra key"])
def test_a_lone_surrogate_in_a_rejected_request_is_a_clean_422(api, text):  # noqa: ANN001
    r = _raw(api.client, "POST", "/v1/predictions", text, api.headers())
    assert r.status_code == 422, r.text
    _valid_body(r)


@pytest.mark.parametrize("text", [
    '{"customer_id": NaN, "features": {}}',
    '{"customer_id": "a", "features": {"tenure": NaN, "nope": Infinity}}',
    '[{"customer_id": "a", "features": {"tenure": -Infinity}}, {"features": NaN}]',
], ids=["schema", "features", "batch"])
def test_nan_anywhere_in_a_rejected_request_is_a_clean_422(api, text):  # noqa: ANN001
    r = _raw(api.client, "POST", "/v1/predictions", text, api.headers())
    assert r.status_code == 422, r.text
    _valid_body(r)


def test_a_surrogate_or_nan_in_a_dispute_is_a_clean_422(contest, by_risk):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    for claimed in ('"\\ud800"', "NaN"):
        text = json.dumps(dispute_body(p, contest.host)).replace(
            '"claimed_value": ', f'"claimed_value": {claimed}, "was": ', 1)
        text = text.replace('"statement": "', '"statement": "\\udc00', 1)
        r = _raw(contest.client, "POST", "/v1/disputes", text, me)
        assert r.status_code == 422, r.text
        _valid_body(r)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int


def _union_app() -> TestClient:
    app = FastAPI()
    install_handlers(app)

    @app.post("/v1/items")
    def items(body: Item | list[Item] = Body(...)) -> int:
        return 1

    @app.get("/v1/missing")
    def missing() -> int:
        raise NotFound("no such thing")

    return TestClient(app)


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": "a", "size": "big"}, ["size"]),
    ([{"name": "a", "size": 1}, {"name": "b"}], ["1.size"]),
    ("text", ["body"]),
])
def test_a_body_of_either_shape_is_judged_by_the_shape_it_has(body, fields):  # noqa: ANN001
    """Not keyed to a model's name: any `X | list[X]` body drops the other branch's
    complaint that the body is not of its type."""
    r = _union_app().post("/v1/items", json=body)
    assert r.status_code == 422
    assert r.json()["fields"] == fields, r.json()


def test_domain_and_framework_errors_share_the_shape():
    client = _union_app()
    assert _valid_body(client.get("/v1/missing")) == {"error": "not_found",
                                                      "detail": "no such thing"}
    assert _valid_body(client.get("/v1/nowhere"))["error"] == "not_found"
    r = client.post("/v1/items", content=b"{not json", headers={"Content-Type":
                                                                "application/json"})
    assert r.status_code == 422 and _valid_body(r)["error"] == "invalid_request"


def test_a_wrong_method_names_every_method_of_the_path(api):  # noqa: ANN001
    """GET and POST /v1/disputes are two routes: the 405 lists both in `Allow`
    (serving.openapi.AllowHeader), in the API's error shape."""
    r = api.client.request("PUT", "/v1/disputes")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert _valid_body(r)["error"] == "method_not_allowed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_query_value_is_located_at_its_parameter(api):  # noqa: ANN001
    """A query parameter the API refuses is named in `loc` (["query", "limit"]) with what
    was expected, what came and the fix, as a body field is: a NUL in its value too (the
    text guard refuses it before any route), which used to be located at "query" alone."""
    def errors(path: str) -> list[dict]:
        r = api.client.get(path, headers=api.headers("admin"))
        assert r.status_code == 422, (path, r.status_code, r.text)
        return _valid_body(r)["errors"]

    (e,) = errors("/v1/risk-list?limit=abc")
    assert e["loc"] == ["query", "limit"] and e["field"] == "limit", e
    assert "integer" in e["expected"] and e["got"] == "'abc'" and e["fix"], e
    (e,) = errors("/v1/risk-list?band=high&q=a%00b")
    assert e["loc"] == ["query", "q"] and e["field"] == "q" and e["problem"] == "invalid_text"
    assert e["got"] == "a NUL character (U+0000)" and "NUL" in e["expected"], e
    assert "Remove the NUL character (%00) from q" in e["fix"], e
    r = api.client.get("/v1/risk-list?q=%00&cursor=x%00y&sort%5B%5D=a%00",
                       headers=api.headers("admin"))
    body = _valid_body(r)
    assert [e["loc"] for e in body["errors"]] == [["query", "q"], ["query", "cursor"],
                                                  ["query", "sort[]"]], body
    assert body["fields"] == ["cursor", "q", "sort[]"]
    # a NUL in a parameter's name: the name as the address shows it, never the NUL
    (e,) = errors("/v1/risk-list?a%00b=1")
    assert e["loc"] == ["query", "a%00b"], e
    (e,) = errors("/v1/audit/events?limit=0")
    assert e["loc"] == ["query", "limit"] and e["problem"] == "greater_than_equal", e
