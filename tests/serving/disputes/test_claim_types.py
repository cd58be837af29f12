"""A claim is checked by the model's value rules, whoever sends it: a JSON boolean, a number
no float can hold, a list or an object is refused with ONE error per claim, at
contested_features.N.claimed_value, with expected / got / fix (the words scoring and a
reviewer's correction use), never pydantic's union noise. A number sent as text is refused
with the reason it is not one. The customer's statement is kept as written, without the
spaces around it: a statement of spaces is no statement."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serving.disputes import rules
from tests.serving.conftest import dispute_body

LOC = ["body", "contested_features", 0, "claimed_value"]


def _number(spec: Any) -> Any:
    """A numeric feature that was never negative (tenure, a count...)."""
    return next(f for f in spec.features
                if f.kind == "numeric" and f.min is not None and f.min >= 0)


def _choice(spec: Any) -> Any:
    return next(f for f in spec.features if f.kind != "numeric")


def _post_raw(contest, me: dict[str, str], body: dict[str, Any], raw: str):  # noqa: ANN001, ANN202
    text = json.dumps(body).replace('"__RAW__"', raw)
    return contest.client.post("/v1/disputes", content=text,
                               headers=me | {"Content-Type": "application/json"})


def _one_error(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_features", body
    (error,) = body["errors"]
    assert error["loc"] == LOC, error
    assert error["expected"] and error["got"] and error["fix"]
    return error


# (case, feature kind, the claimed value as raw JSON, problem, a word of `got`)
REFUSED = [
    ("true", "number", "true", "wrong type", "bool True"),
    ("false", "number", "false", "wrong type", "bool False"),
    ("true for a category", "choice", "true", "wrong type", "bool True"),
    ("an integer no float holds", "number", "1" + "0" * 400, "not a finite number", "1000"),
    ("minus that", "number", "-1" + "0" * 400, "not a finite number", "-1000"),
    ("overflow", "number", "1e400", "not a finite number", "inf"),
    ("NaN", "number", "NaN", "not a finite number", "NaN"),
    ("a list", "number", "[1]", "wrong type", "list"),
    ("an object", "number", '{"a": 1}', "wrong type", "dict"),
    ("a list for a category", "choice", '["x"]', "wrong type", "list"),
    ("null", "number", "null", rules.EMPTY, "null"),
    ("spaces", "choice", '"   "', rules.EMPTY, "spaces"),
    ("a number as text", "number", '"12"', "wrong type", "'12'"),
    ("thousands", "number", '"10,000"', rules.THOUSANDS, "'10,000'"),
    ("underscore", "number", '"1_0"', rules.THOUSANDS, "'1_0'"),
    ("exponent as text", "number", '"1e3"', rules.EXPONENT, "'1e3'"),
]


@pytest.mark.parametrize(("case", "kind", "raw", "problem", "got"), REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_a_claim_of_the_wrong_kind_is_one_clear_error(contest, by_risk, case, kind, raw,  # noqa: ANN001
                                                      problem, got):
    p, me = contest.scored(by_risk[0])
    spec = contest.host.current().spec
    f = _number(spec) if kind == "number" else _choice(spec)
    body = dispute_body(p, contest.host) | {
        "contested_features": [{"feature": f.name, "claimed_value": "__RAW__"}]}
    error = _one_error(_post_raw(contest, me, body, raw))
    assert error["problem"] == problem and error["field"] == f.name
    assert got in error["got"]
    assert "contested_features.0.claimed_value." not in json.dumps(error)  # no union branch
    assert contest.client.get("/v1/me", headers=me).json()["restricted"] is False


def test_the_claim_scoring_refuses_the_claim_refuses_with_the_same_words(contest, by_risk,  # noqa: ANN001
                                                                         api):
    p, me = contest.scored(by_risk[0])
    spec = contest.host.current().spec
    f = _number(spec)
    scored = api.client.post("/v1/predictions", headers=api.headers(), json={
        "customer_id": by_risk[1]["customer_id"],
        "features": by_risk[1]["features"] | {f.name: True}})
    assert scored.status_code == 422
    (score_error,) = scored.json()["errors"]
    body = dispute_body(p, contest.host) | {
        "contested_features": [{"feature": f.name, "claimed_value": True}]}
    error = _one_error(contest.client.post("/v1/disputes", json=body, headers=me))
    for key in ("problem", "expected", "got", "fix", "field"):
        assert error[key] == score_error[key], key


def test_numbers_are_kept_as_numbers(contest, by_risk):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    spec = contest.host.current().spec
    f = _number(spec)
    current = next(c["value"] for c in p["contributions"] if c["feature"] == f.name)
    claimed = int(float(current)) + 1
    body = dispute_body(p, contest.host, statement="") | {
        "contested_features": [{"feature": f.name, "claimed_value": claimed}]}
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 201, r.text
    (c,) = r.json()["contested_features"]
    assert c["claimed_value"] == float(claimed) and not isinstance(c["claimed_value"], bool)


@pytest.mark.parametrize(("statement", "stored"), [
    ("   ", ""), ("\n\t I moved house. \n", "I moved house."), ("", "")])
def test_the_statement_is_kept_without_the_spaces_around_it(contest, by_risk, statement,  # noqa: ANN001
                                                            stored):
    p, me = contest.scored(by_risk[0])
    r = contest.client.post("/v1/disputes", json=dispute_body(p, contest.host,
                                                              statement=statement),
                            headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["statement"] == stored


def test_a_statement_of_spaces_alone_contests_nothing(contest, by_risk):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    body = dispute_body(p, contest.host, statement=" \n ") | {"contested_features": []}
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 422
    assert [e["problem"] for e in r.json()["errors"]] == [rules.NOTHING]


def test_the_statement_limit_counts_the_words_not_the_spaces_around_them(contest, by_risk):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    text = "x" * 4000
    r = contest.client.post("/v1/disputes", json=dispute_body(
        p, contest.host, statement=f"  {text}\n"), headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["statement"] == text


@pytest.mark.parametrize("depth", [2, 300, 900, 5000])
def test_a_deeply_nested_claim_is_refused_not_a_server_error(contest, by_risk, depth):  # noqa: ANN001
    p, me = contest.scored(by_risk[0])
    f = _number(contest.host.current().spec)
    body = dispute_body(p, contest.host) | {
        "contested_features": [{"feature": f.name, "claimed_value": "__RAW__"}]}
    r = _post_raw(contest, me, body, "[" * depth + "1" + "]" * depth)
    assert r.status_code in (400, 422), r.text[:300]
    if r.status_code == 422:
        assert _one_error(r)["problem"] == "wrong type"
    assert len(r.content) < 20_000
