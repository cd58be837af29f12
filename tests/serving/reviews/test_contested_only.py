"""A reviewer's rectification corrects what the customer contested, nothing else: any
other feature in the corrections is refused (422) at its own field, saying which features
were contested and how to fix it, in a decision and its preview alike; a dispute that
contested no value (a statement alone) cannot be rectified. The reviewer's page, which
offers only the contested features, keeps working. The OpenAPI document describes each
correction as the rulebook takes it: a value, never null."""

from __future__ import annotations

from typing import Any

from serving.disputes import rules
from tests.serving.conftest import other_value


def _numbers(spec: Any) -> list[Any]:
    return [f for f in spec.features if f.kind == "numeric" and f.min is not None
            and f.max is not None and f.min >= 0]


def _open(contest, customer: dict[str, Any], features: list[str]):  # noqa: ANN001, ANN202
    """An open dispute of the customer's prediction contesting `features` (none: a
    statement alone)."""
    p, me = contest.scored(customer)
    spec = contest.host.current().spec
    used = {c["feature"]: c["value"] for c in p["contributions"]}
    body = {"prediction_id": p["prediction_id"], "wants_human_review": True,
            "statement": "My contract changed last month.",
            "contested_features": [
                {"feature": n, "claimed_value": other_value(spec.feature(n), used[n])}
                for n in features]}
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 201, r.text
    return p, r.json()


def _status(contest, did: str) -> str:  # noqa: ANN001
    return contest.api.get(f"/v1/disputes/{did}", role="reviewer").json()["status"]


def test_a_correction_of_a_feature_not_contested_is_refused_naming_it(contest, by_risk):  # noqa: ANN001
    spec = contest.host.current().spec
    contested, other = (f.name for f in _numbers(spec)[:2])
    p, d = _open(contest, by_risk[0], [contested])
    did = d["dispute_id"]
    used = {c["feature"]: c["value"] for c in p["contributions"]}
    body = {contested: other_value(spec.feature(contested), used[contested]),
            other: other_value(spec.feature(other), used[other])}
    for path, sent in [
            (f"/v1/disputes/{did}/decision",
             {"decision": "rectified", "rationale": "Checked the contract.",
              "corrected_features": body}),
            (f"/v1/disputes/{did}/preview", {"corrected_features": body})]:
        r = contest.api.post(path, role="reviewer", json=sent)
        assert r.status_code == 422, (path, r.text)
        out = r.json()
        assert out["fields"] == [other], (path, out)
        (error,) = out["errors"]
        assert error["loc"] == ["body", "corrected_features", other], (path, error)
        assert error["problem"] == rules.NOT_CONTESTED and error["field"] == other
        assert contested in error["expected"] and error["got"] == other
        assert contested in error["fix"] and other in error["fix"]
        assert other in out["detail"]
    assert _status(contest, did) == "open"  # nothing was decided by the refusals
    # the contested feature alone is a rectification
    fix = {contested: body[contested]}
    pv = contest.api.post(f"/v1/disputes/{did}/preview", role="reviewer",
                          json={"corrected_features": fix})
    assert pv.status_code == 200, pv.text
    r = contest.decide(did, {"decision": "rectified", "rationale": "Checked the contract.",
                             "corrected_features": fix})
    assert r.status_code == 201, r.text
    assert r.json()["corrected_features"] == fix
    assert [c["feature"] for c in r.json()["changes"] if c["corrected"]] == [contested]


def test_some_of_the_contested_features_may_be_corrected(contest, by_risk):  # noqa: ANN001
    """The customer may be right about one value and wrong about another: the reviewer
    corrects the one."""
    spec = contest.host.current().spec
    first, second = (f.name for f in _numbers(spec)[:2])
    p, d = _open(contest, by_risk[1], [first, second])
    used = {c["feature"]: c["value"] for c in p["contributions"]}
    fix = {second: other_value(spec.feature(second), used[second])}
    r = contest.decide(d["dispute_id"], {"decision": "rectified", "rationale": "In part.",
                                         "corrected_features": fix})
    assert r.status_code == 201, r.text


def test_a_dispute_that_contested_no_value_cannot_be_rectified(contest, by_risk):  # noqa: ANN001
    spec = contest.host.current().spec
    f = _numbers(spec)[0]
    p, d = _open(contest, by_risk[2], [])
    did = d["dispute_id"]
    used = {c["feature"]: c["value"] for c in p["contributions"]}
    r = contest.decide(did, {"decision": "rectified", "rationale": "Checked.",
                             "corrected_features": {f.name: other_value(f, used[f.name])}})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "corrected_features", f.name]
    assert error["problem"] == rules.NOT_CONTESTED
    assert "no value" in error["expected"]
    assert "uphold or overturn" in error["fix"].lower()
    assert _status(contest, did) == "open"
    r = contest.decide(did, {"decision": "upheld", "rationale": "Checked."})
    assert r.status_code == 201, r.text


def test_the_rulebook_refuses_a_correction_outside_the_contested_features(host):  # noqa: ANN001
    """The rule lives in the rulebook (`disputes.rules`), which every entry point applies;
    called without the contested features (a caller that only offers those), it checks
    the values alone."""
    spec = host.current().spec
    a, b = (f for f in _numbers(spec)[:2])
    corrected = {a.name: float(a.max), b.name: float(b.max)}
    errors = rules.correction_errors(spec, corrected, contested=[a.name])
    assert [(e.field, e.problem) for e in errors] == [(b.name, rules.NOT_CONTESTED)]
    assert rules.correction_errors(spec, corrected) == []
    both = rules.decision_errors(spec, "rectified", " ", corrected, contested=[a.name])
    assert {e.field for e in both} == {"rationale", b.name}


def test_the_openapi_document_shows_no_correction_as_null(client):  # noqa: ANN001
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("DecisionCreate", "PreviewCreate"):
        prop = schemas[name]["properties"]["corrected_features"]
        variants = prop.get("anyOf", [prop])
        objects = [v for v in variants if v.get("type") == "object"]
        assert len(objects) == 1, (name, prop)
        features = objects[0]["properties"]
        assert features and objects[0]["additionalProperties"] is False
        for feature, schema in features.items():
            assert "null" not in str(schema), (name, feature, schema)
        assert objects[0].get("minProperties") == 1
        text = prop.get("description", "") + objects[0].get("description", "")
        assert "contested" in text, (name, text)
        if any(v.get("type") == "null" for v in variants):  # null must be explained
            assert "null" in prop["description"] and "upheld" in prop["description"], prop
    # a score request's features still take null: an unknown value is scored as missing
    score = schemas["ScoreRequest"]["properties"]["features"]["properties"]
    assert any("null" in str(s) for s in score.values())
