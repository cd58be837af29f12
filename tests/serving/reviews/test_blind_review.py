"""Blind-first review (issue 18): with CHURN_BLIND_REVIEW on, the reviewer's own judgement
comes before the model's score and explanation, on the API and on the page; off, nothing
changes. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from serving.storage.tables import AuditEvent
from tests.serving.web.test_pages import csrf_of, sign_in

SCORE_FIELDS = ("score", "risk_band", "contributions", "margin", "base_value")


@pytest.fixture
def blind(app):  # noqa: ANN001, ANN201
    app.state.settings = app.state.settings.model_copy(update={"blind_review": True})
    return app


def _open(contest, customer):  # noqa: ANN001, ANN202
    p, me = contest.scored(customer)
    r = contest.dispute(p, me)
    assert r.status_code == 201, r.text
    return p, r.json()


def _no_model_view(item: dict) -> None:
    """No score, band or explanation anywhere in the item."""
    text = json.dumps(item)
    assert item["blind"] is True and item.get("prediction") is None
    for key in SCORE_FIELDS:
        assert f'"{key}"' not in text, key


def test_the_api_withholds_the_score_until_the_judgement(blind, contest, by_risk, api):
    p, d = _open(contest, by_risk[0])
    item = api.get("/v1/reviews", role="reviewer").json()["items"][0]
    _no_model_view(item)
    # the customer's data, as the model read it, is there to judge from
    values = {v["feature"]: v["value"] for v in item["data"]}
    assert values == {c["feature"]: c["value"] for c in p["contributions"]}
    assert item["statement"] and item["contested_features"]
    # neither a preview nor a decision before the judgement
    did = d["dispute_id"]
    feature = item["contested_features"][0]
    r = api.post(f"/v1/disputes/{did}/preview", role="reviewer",
                 json={"corrected_features": {feature["feature"]: feature["claimed_value"]}})
    assert r.status_code == 409 and "judgement" in r.json()["detail"]
    r = contest.decide(did, {"decision": "upheld", "rationale": "Looks right."})
    assert r.status_code == 409 and "judgement" in r.json()["detail"]
    # a judgement outside the choices is refused, naming the field
    bad = api.post(f"/v1/disputes/{did}/judgement", role="reviewer",
                   json={"expected_risk": "very", "claim_view": "agree"})
    assert bad.status_code == 422 and "expected_risk" in bad.text
    assert api.post(f"/v1/disputes/{did}/judgement", role="agent",
                    json={"expected_risk": "low", "claim_view": "agree"}).status_code == 403
    # the judgement, then the model's view
    r = api.post(f"/v1/disputes/{did}/judgement", role="reviewer",
                 json={"expected_risk": "low", "claim_view": "agree"})
    assert r.status_code == 201, r.text
    assert r.json()["expected_risk"] == "low" and r.json()["judged_by"]
    again = api.post(f"/v1/disputes/{did}/judgement", role="reviewer",
                     json={"expected_risk": "high", "claim_view": "disagree"})
    assert again.status_code == 409
    item = api.get("/v1/reviews", role="reviewer").json()["items"][0]
    assert item["prediction"]["score"] == pytest.approx(p["score"])
    assert item["judgement"]["expected_risk"] == "low"
    assert contest.decide(did, {"decision": "upheld", "rationale": "Checked."}).status_code \
        == 201
    with blind.state.db.session() as s:
        (row,) = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "review.judged"))
        assert json.loads(row.objects) == {"dispute_id": did, "expected_risk": "low",
                                           "claim_view": "agree"}


def test_without_the_setting_nothing_is_withheld(contest, by_risk, api):
    p, d = _open(contest, by_risk[0])
    item = api.get("/v1/reviews", role="reviewer").json()["items"][0]
    assert item["prediction"]["score"] == pytest.approx(p["score"])
    assert item.get("judgement") is None
    assert contest.decide(d["dispute_id"], {"decision": "upheld",
                                            "rationale": "Checked."}).status_code == 201


def test_the_page_asks_for_the_judgement_first(blind, client, tokens, contest, by_risk):
    p, d = _open(contest, by_risk[0])
    did = d["dispute_id"]
    assert sign_in(client, tokens["reviewer"]).status_code == 303
    page = client.get(f"/staff/reviews/{did}")
    assert page.status_code == 200
    html = page.text
    assert 'id="blind"' in html and 'id="blind-data"' in html
    assert "What the model said" not in html and "Explanation (before)" not in html
    assert f"{round(p['score'] * 100)}%" not in html
    assert 'name="decision"' not in html
    # deciding through the page before judging is refused
    r = client.post(f"/staff/reviews/{did}", data={
        "csrf_token": csrf_of(html), "decision": "upheld", "rationale": "x",
        "action": "confirm"})
    assert r.status_code == 409
    # an incomplete judgement: the form again with the field named
    r = client.post(f"/staff/reviews/{did}/judgement",
                    data={"csrf_token": csrf_of(html), "expected_risk": "high"})
    assert r.status_code == 422 and 'id="error-claim_view"' in r.text
    # one rulebook: a choice the page refuses, the API refuses, naming the same field
    for body, field in (({"expected_risk": "certain", "claim_view": "agree"}, "expected_risk"),
                        ({"expected_risk": "low", "claim_view": "maybe"}, "claim_view")):
        r = client.post(f"/staff/reviews/{did}/judgement",
                        data={"csrf_token": csrf_of(html)} | body)
        assert r.status_code == 422 and f'id="error-{field}"' in r.text, body
        other = "claim_view" if field == "expected_risk" else "expected_risk"
        assert f'id="error-{other}"' not in r.text, body
        api_r = contest.api.post(f"/v1/disputes/{did}/judgement", role="reviewer", json=body)
        assert api_r.status_code == 422 and field in api_r.text, api_r.text
    r = client.post(f"/staff/reviews/{did}/judgement",
                    data={"csrf_token": csrf_of(html), "expected_risk": "high",
                          "claim_view": "disagree"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/staff/reviews/{did}"
    page = client.get(f"/staff/reviews/{did}")
    assert "What the model said" in page.text and 'name="decision"' in page.text
    assert 'id="own-judgement"' in page.text and 'id="blind"' not in page.text
    # French words are in the catalogue for every key the form uses
    from serving.web.i18n import CATALOG

    assert all("fr" in CATALOG[k] for k in CATALOG if k.startswith("blind_"))
