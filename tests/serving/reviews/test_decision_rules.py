"""One rulebook for a decision: the JSON API refuses what the reviewer's page refuses, with
the same words. The reasons are kept without the spaces around them and a reason of
spaces is no reason; a corrected value may not be empty (null: "unknown" is not a
correction), in a decision and in its preview alike; every correction is checked by the
model's value rules (a boolean, NaN, a number as text are refused, naming the feature)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from serving.disputes import rules
from tests.serving.conftest import ADMIN_TOKEN, dispute_body
from tests.serving.web.test_pages import csrf_of, sign_in

RATIONALE_FIX = "Give the reasons for the decision: the customer will read them."
EMPTY_FIX = "Give the right value."


def _number(spec: Any) -> Any:
    return next(f for f in spec.features
                if f.kind == "numeric" and f.min is not None and f.min >= 0)


def _open(contest, customer: dict[str, Any], feature: str | None = None):  # noqa: ANN001, ANN202
    """An open dispute contesting `feature` (else the strongest factor)."""
    p, me = contest.scored(customer)
    body = dispute_body(p, contest.host)
    if feature is not None:
        spec = contest.host.current().spec
        current = next(c["value"] for c in p["contributions"] if c["feature"] == feature)
        f = spec.feature(feature)
        value = float(f.max) if float(current) != float(f.max) else float(f.min)
        body["contested_features"] = [{"feature": feature, "claimed_value": value}]
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 201, r.text
    return p, me, r.json()


def _raw(contest, path: str, body: dict[str, Any], raw: str | None = None):  # noqa: ANN001, ANN202
    text = json.dumps(body)
    if raw is not None:
        text = text.replace('"__RAW__"', raw)
    return contest.client.post(path, content=text, headers=contest.api.headers("reviewer")
                               | {"Content-Type": "application/json"})


def _still_open(contest, did: str) -> None:  # noqa: ANN001
    assert contest.api.get(f"/v1/disputes/{did}", role="reviewer").json()["status"] == "open"


@pytest.mark.parametrize("rationale", ["", "   ", "\n\t \u00a0"])
def test_a_decision_without_reasons_is_refused_naming_the_rationale(contest, by_risk,  # noqa: ANN001
                                                                    rationale):
    _, _, d = _open(contest, by_risk[0])
    r = contest.decide(d["dispute_id"], {"decision": "upheld", "rationale": rationale})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["body", "rationale"] and error["field"] == "rationale"
    assert error["problem"] == rules.EMPTY and error["fix"] == RATIONALE_FIX
    assert error["expected"] and error["got"]
    _still_open(contest, d["dispute_id"])


def test_the_reasons_are_kept_without_the_spaces_around_them(contest, by_risk):  # noqa: ANN001
    p, me, d = _open(contest, by_risk[0])
    r = contest.decide(d["dispute_id"], {"decision": "upheld",
                                         "rationale": "  \n Checked the contract.\n  "})
    assert r.status_code == 201, r.text
    assert r.json()["rationale"] == "Checked the contract."
    mine = contest.client.get(f"/v1/disputes/{d['dispute_id']}", headers=me).json()
    assert mine["decision"]["rationale"] == "Checked the contract."


def test_reasons_and_corrections_are_refused_together(contest, by_risk):  # noqa: ANN001
    spec = contest.host.current().spec
    f = _number(spec)
    _, _, d = _open(contest, by_risk[0], f.name)
    r = contest.decide(d["dispute_id"], {"decision": "rectified", "rationale": " ",
                                         "corrected_features": {f.name: None}})
    assert r.status_code == 422, r.text
    assert {tuple(e["loc"]): e["problem"] for e in r.json()["errors"]} == {
        ("body", "rationale"): rules.EMPTY,
        ("body", "corrected_features", f.name): rules.EMPTY}


# (case, the corrected value as raw JSON, problem)
CORRECTIONS = [
    ("null", "null", rules.EMPTY),
    ("spaces", '"  "', rules.EMPTY),
    ("true", "true", "wrong type"),
    ("NaN", "NaN", "not a finite number"),
    ("Infinity", "Infinity", "not a finite number"),
    ("an integer no float holds", "1" + "0" * 400, "not a finite number"),
    ("text", '"ten"', "wrong type"),
    ("thousands", '"10,000"', rules.THOUSANDS),
    ("a list", "[3]", "wrong type"),
    ("a list nested deep", "[" * 900 + "3" + "]" * 900, "wrong type"),
]


@pytest.mark.parametrize(("case", "raw", "problem"), CORRECTIONS,
                         ids=[c[0] for c in CORRECTIONS])
def test_a_correction_the_page_refuses_the_api_refuses_in_decision_and_preview(
        contest, by_risk, case, raw, problem):  # noqa: ANN001
    spec = contest.host.current().spec
    f = _number(spec)
    _, _, d = _open(contest, by_risk[0], f.name)
    did = d["dispute_id"]
    for path, body in [
            (f"/v1/disputes/{did}/decision",
             {"decision": "rectified", "rationale": "Checked.",
              "corrected_features": {f.name: "__RAW__"}}),
            (f"/v1/disputes/{did}/preview", {"corrected_features": {f.name: "__RAW__"}})]:
        r = _raw(contest, path, body, raw)
        assert r.status_code == 422, (path, r.text)
        (error,) = r.json()["errors"]
        assert error["loc"] == ["body", "corrected_features", f.name], (path, error)
        assert error["problem"] == problem and error["field"] == f.name, (path, error)
        assert error["expected"] and error["got"] and error["fix"]
        if problem == rules.EMPTY:
            assert error["fix"] == EMPTY_FIX
        assert "null" not in error["fix"]  # "send null when unknown" is no correction
    _still_open(contest, did)


def test_the_record_is_never_rectified_to_unknown(contest, by_risk, api):  # noqa: ANN001
    spec = contest.host.current().spec
    f = _number(spec)
    p, _, d = _open(contest, by_risk[0], f.name)
    r = contest.decide(d["dispute_id"], {"decision": "rectified", "rationale": "   ",
                                         "corrected_features": {f.name: None}})
    assert r.status_code == 422
    _still_open(contest, d["dispute_id"])
    assert api.get(f"/v1/disputes/{d['dispute_id']}", role="reviewer").json()[
        "decision"] is None


# -- the reviewer's page: the same rules, the same words --------------------------------------
@pytest.fixture
def review_page(client, api, contest, by_risk, tokens):  # noqa: ANN001, ANN201
    """A reviewer signed in on the page of an open dispute about a numeric feature."""
    spec = contest.host.current().spec
    f = _number(spec)
    _, _, d = _open(contest, by_risk[0], f.name)
    sign_in(client, tokens["reviewer"])
    page = client.get(f"/staff/reviews/{d['dispute_id']}")
    assert page.status_code == 200, page.text
    return client, d["dispute_id"], f, csrf_of(page.text)


def _error_of(html: str, dom: str) -> str:
    m = re.search(rf'<p class="error-text" id="error-{re.escape(dom)}">([^<]*)</p>', html)
    assert m, f"no error shown for {dom}"
    return m.group(1)


@pytest.mark.parametrize("rationale", ["", "   \n "])
def test_the_page_refuses_a_blank_rationale_with_the_apis_words(review_page, rationale):  # noqa: ANN001
    client, did, f, token = review_page
    r = client.post(f"/staff/reviews/{did}", data={
        "csrf_token": token, "decision": "upheld", "rationale": rationale,
        "action": "confirm"})
    assert r.status_code == 422
    assert _error_of(r.text, "rationale") == RATIONALE_FIX


@pytest.mark.parametrize(("typed", "words"), [
    ("", EMPTY_FIX),
    ("10,000", "without a thousands separator"),
    ("1_0", "without a thousands separator"),
    ("1e3", "without an exponent"),
    ("inf", "Enter a number."),
    ("abc", "Enter a number."),
])
@pytest.mark.parametrize("action", ["preview", "confirm"])
def test_the_page_words_a_correction_it_cannot_read(review_page, typed, words, action):  # noqa: ANN001
    client, did, f, token = review_page
    r = client.post(f"/staff/reviews/{did}", data={
        "csrf_token": token, "decision": "rectified", "rationale": "Checked.",
        f"corrected-{f.name}": typed, "action": action})
    assert r.status_code == 422, r.text
    assert words in _error_of(r.text, f"corrected-{f.name}")
    api_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.get(f"/v1/disputes/{did}", headers=api_headers).json()["status"] == "open"


def test_the_page_decides_with_the_trimmed_reasons(review_page, contest):  # noqa: ANN001
    client, did, f, token = review_page
    r = client.post(f"/staff/reviews/{did}", data={
        "csrf_token": token, "decision": "upheld", "rationale": "  Checked.  ",
        "action": "confirm"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    d = contest.api.get(f"/v1/disputes/{did}", role="reviewer").json()
    assert d["decision"]["rationale"] == "Checked."
