"""One rulebook for a dispute: every claim the web form refuses, the JSON API refuses with
the same field error (the same place, the same problem code), and neither opens anything.

Each row is one refused claim, written twice: as the customer types it in the form
(/me/contest) and as a client sends it (POST /v1/disputes)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from serving.disputes import rules
from serving.disputes.schemas import NUL
from tests.serving.web.test_pages import post_contest_form

STATEMENT_MAX = 4000


def _number_feature(spec: Any) -> Any:
    """A numeric feature that was never negative (tenure, a count...)."""
    return next(f for f in spec.features
                if f.kind == "numeric" and f.min is not None and f.min >= 0)


def _choice_feature(spec: Any) -> Any:
    return next(f for f in spec.features if f.kind != "numeric")


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# (case, feature kind, typed in the form, sent as JSON claimed_value, problem); `current`
# stands for the value the prediction used; JSON `...raw` cases are sent as raw JSON text
CLAIMS = [
    ("negative", "number", "-3", -3, rules.OUT_OF_RANGE),
    ("too large", "number", "2000000000", 2e9, rules.OUT_OF_RANGE),
    ("above the range", "number", "99999", 99999, rules.OUT_OF_RANGE),
    ("huge", "number", "1" + "0" * 300, 1e300, rules.OUT_OF_RANGE),
    ("same number", "number", "current", "current", rules.SAME),
    ("empty number", "number", "", None, rules.EMPTY),
    ("not a number", "number", "twelve", "twelve", "wrong type"),
    ("nan", "number", "nan", "raw:NaN", rules.NOT_FINITE),
    ("infinity", "number", "inf", "raw:Infinity", rules.NOT_FINITE),
    ("overflow", "number", "1" + "0" * 400, "raw:1e400", rules.NOT_FINITE),
    # a number field reads what a person writes; the text it cannot read goes on as it
    # is, refused with the reason, the same as from a client sending that text
    ("thousands", "number", "10,000", "10,000", rules.THOUSANDS),
    ("underscore", "number", "1_0", "1_0", rules.THOUSANDS),
    ("exponent", "number", "1e3", "1e3", rules.EXPONENT),
    ("unknown category", "choice", "Martian", "Martian", "unseen category"),
    ("same category", "choice", "current", "current", rules.SAME),
    ("empty category", "choice", "", None, rules.EMPTY),
]




def _web_problem(html: str, field: str) -> str | None:
    """The problem code the page shows next to `field` ("form": the summary)."""
    if field == "form":
        m = re.search(r'<p data-problem="([^"]*)">', html)
    else:
        m = re.search(rf'id="error-{re.escape(field)}" data-problem="([^"]*)"', html)
    return m.group(1) if m else None


def _post_json(contest, me: dict[str, str], body: dict[str, Any], raw: str | None = None):  # noqa: ANN001, ANN202
    if raw is None:
        return contest.client.post("/v1/disputes", json=body, headers=me)
    text = json.dumps(body).replace('"__RAW__"', raw)
    return contest.client.post("/v1/disputes", content=text,
                               headers=me | {"Content-Type": "application/json"})


def _json_problems(r: Any) -> dict[tuple, str]:
    assert r.status_code == 422, r.text
    return {tuple(e["loc"]): e["problem"] for e in r.json()["errors"]}


@pytest.mark.parametrize(("case", "kind", "typed", "claimed", "problem"), CLAIMS,
                         ids=[c[0] for c in CLAIMS])
def test_a_claim_the_form_refuses_the_api_refuses_alike(contest_page, contest, case, kind,  # noqa: ANN001
                                                        typed, claimed, problem):
    p, me, page = contest_page
    spec = contest.host.current().spec
    f = _number_feature(spec) if kind == "number" else _choice_feature(spec)
    current = next(c["value"] for c in p["contributions"] if c["feature"] == f.name)
    typed = _shown(current) if typed == "current" else typed
    claimed = current if claimed == "current" else claimed

    web = post_contest_form(page, {"wrong": f.name, f"value-{f.name}": typed,
                            "statement": "This is wrong."})
    assert web.status_code == 422, web.text
    assert _web_problem(web.text, f.name) == problem

    raw = claimed[4:] if isinstance(claimed, str) and claimed.startswith("raw:") else None
    body = {"prediction_id": p["prediction_id"], "statement": "This is wrong.",
            "wants_human_review": True,
            "contested_features": [{"feature": f.name,
                                    "claimed_value": "__RAW__" if raw else claimed}]}
    r = _post_json(contest, me, body, raw)
    assert _json_problems(r) == {("body", "contested_features", 0, "claimed_value"): problem}
    assert r.json()["fields"] == [f.name]  # the rulebook's error, naming the feature
    assert contest.client.get("/v1/me", headers=me).json()["restricted"] is False


@pytest.mark.parametrize(("case", "form", "body", "field", "loc", "problem"), [
    ("nothing", {"statement": "   "}, {"statement": "   ", "contested_features": []},
     "form", ("body", "contested_features"), rules.NOTHING),
    ("nul", {"statement": "a\x00b"}, {"statement": "a\x00b"},
     "statement", ("body", "statement"), NUL),
    ("too long", {"statement": "x" * (STATEMENT_MAX + 1)},
     {"statement": "x" * (STATEMENT_MAX + 1)}, "statement", ("body", "statement"),
     "string_too_long"),
], ids=["nothing", "nul", "too long"])
def test_a_dispute_the_form_refuses_the_api_refuses_alike(contest_page, contest, case, form,  # noqa: ANN001
                                                          body, field, loc, problem):
    p, me, page = contest_page
    web = post_contest_form(page, form)
    assert web.status_code == 422, web.text
    assert _web_problem(web.text, field) == problem
    r = _post_json(contest, me, {"prediction_id": p["prediction_id"],
                                 "wants_human_review": True} | body)
    if problem == NUL:
        # the API's edge refuses such text in any JSON body before a route runs, naming
        # the field (serving/system/textguard.py); the page, which must keep the
        # customer's form, gets the schema's field error instead
        assert _json_problems(r) == {loc: "invalid_text"}
    else:
        assert _json_problems(r) == {loc: problem}
    assert contest.client.get("/v1/me", headers=me).json()["restricted"] is False


def test_the_form_translates_the_services_problems(contest_page, contest):  # noqa: ANN001
    p, me, page = contest_page
    f = _number_feature(contest.host.current().spec)
    page.get("/me", params={"lang": "fr"})
    web = post_contest_form(page, {"wrong": f.name, f"value-{f.name}": "-3"})
    lo, hi = f.valid_range()
    assert f"Saisissez un nombre entre {lo:g} et {hi:g}." in web.text


def test_a_claim_both_accept_opens_one_dispute(contest_page, contest):  # noqa: ANN001
    p, me, page = contest_page
    f = _number_feature(contest.host.current().spec)
    current = next(c["value"] for c in p["contributions"] if c["feature"] == f.name)
    web = post_contest_form(page, {"wrong": f.name, f"value-{f.name}": _shown(float(current) + 7),
                            "statement": ""})
    assert web.status_code == 303, web.text
    assert contest.client.get("/v1/me", headers=me).json()["restricted"] is True
    mine = contest.client.get("/v1/disputes", headers=me).json()["items"]
    assert [c["claimed_value"] for c in mine[0]["contested_features"]] == [float(current) + 7]
