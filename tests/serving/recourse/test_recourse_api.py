"""GET /v1/customers/{id}/recourse and GET /v1/me/recourse (issue 16): staff roles, the
customer's own view, the served model's exact scores, the rules of restriction, objection
and erasure, and the audit of a staff read. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models import pseudonymise
from serving.recourse.service import RECOURSE_VIEWED, recourse_for_customer
from serving.storage.tables import AuditEvent
from tests.serving.conftest import access_token, bearer


def _events(app, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with app.state.db.session() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)))


def _high(api, by_risk: list[dict[str, Any]], n: int = 6) -> list[dict[str, Any]]:  # noqa: ANN001
    chosen = by_risk[:n]
    r = api.score(chosen)
    assert r.status_code == 201, r.text
    assert all(p["risk_band"] == "high" for p in r.json())
    return chosen


def _recourse(api, customer_id: str, role: str = "agent", **params: Any):  # noqa: ANN001, ANN202
    return api.get(f"/v1/customers/{customer_id}/recourse", role=role, **params)


def test_options_rescored_by_the_api_give_the_score_they_claim(api, by_risk, host):
    high = _high(api, by_risk)
    threshold = host.current().thresholds.high
    seen = 0
    for i, c in enumerate(high):
        r = _recourse(api, c["customer_id"])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["customer_ref"] == pseudonymise(c["customer_id"],
                                                    api.client.app.state.settings.pseudonym_secret)
        assert body["status"] in ("options", "lowers_only", "none")
        assert body["target"] == threshold and body["risk_band"] == "high"
        assert abs(body["score"] - c["expected_score"]) <= 1e-9
        for j, option in enumerate(body["options"]):
            probe = {"customer_id": f"recourse-probe-{i}-{j}", "features": option["features"]}
            scored = api.score(probe)
            assert scored.status_code == 201, scored.text
            assert abs(scored.json()["score"] - option["score"]) <= 1e-9
            assert scored.json()["risk_band"] == option["risk_band"]
            if body["status"] == "options":
                assert option["score"] < threshold and option["risk_band"] != "high"
            changed = {ch["feature"] for ch in option["changes"]}
            assert all(ch["why"] for ch in option["changes"]), option["changes"]
            spec = host.current().spec
            assert all(spec.feature(f).actionable is not None for f in changed)
            assert {x["feature"] for x in option["contributions"]} == changed
            seen += 1
    assert seen >= 3


def test_a_low_customer_gets_no_option_and_a_plain_sentence(api, by_risk):
    low = by_risk[-1]
    assert api.score(low).status_code == 201
    body = _recourse(api, low["customer_id"]).json()
    assert body["status"] == "already_below" and body["options"] == []
    assert "already below" in body["summary"]
    fr = _recourse(api, low["customer_id"], lang="fr").json()
    assert "déjà sous" in fr["summary"]


def test_roles(api, by_risk, tokens):
    c = _high(api, by_risk, 1)[0]
    path = f"/v1/customers/{c['customer_id']}/recourse"
    for role in ("agent", "reviewer", "admin"):
        assert api.get(path, role=role).status_code == 200, role
    assert api.get(path, role="integration").status_code == 403
    assert api.client.get(path).status_code == 401
    me = bearer(access_token(api, c["customer_id"]))
    assert api.client.get(path, headers=me).status_code == 403
    assert api.get("/v1/customers/nobody-here/recourse").status_code == 404


def test_the_customer_reads_their_own_and_staff_cannot_use_that_route(api, by_risk):
    c = _high(api, by_risk, 1)[0]
    staff_view = _recourse(api, c["customer_id"]).json()
    me = bearer(access_token(api, c["customer_id"]))
    mine = api.client.get("/v1/me/recourse", headers=me, params={"lang": "fr"})
    assert mine.status_code == 200, mine.text
    assert [o["score"] for o in mine.json()["options"]] == \
        [o["score"] for o in staff_view["options"]]
    assert " : de " in mine.json()["options"][0]["changes"][0]["text"]
    assert api.get("/v1/me/recourse").status_code == 403


def test_a_staff_read_is_audited_pseudonymously(app, api, by_risk):
    c = _high(api, by_risk, 1)[0]
    before = len(_events(app, RECOURSE_VIEWED))
    body = _recourse(api, c["customer_id"]).json()
    events = _events(app, RECOURSE_VIEWED)
    assert len(events) == before + 1
    event = events[-1]
    assert event.customer_ref == body["customer_ref"] and event.role == "agent"
    assert f'"status":"{body["status"]}"' in event.objects
    assert c["customer_id"] not in event.objects
    assert api.get("/v1/audit/verify", role="admin").json()["ok"] is True
    # the customer's own read is theirs: not a staff view
    me = bearer(access_token(api, c["customer_id"]))
    api.client.get("/v1/me/recourse", headers=me)
    assert len(_events(app, RECOURSE_VIEWED)) == before + 1


def test_restricted_objecting_and_erased_customers(api, by_risk, contest):
    a, b, c = _high(api, by_risk, 3)
    # a dispute restricts the record: not used, nothing proposed
    prediction, headers = contest.scored(a)
    assert contest.dispute(prediction, headers).status_code == 201
    body = _recourse(api, a["customer_id"]).json()
    assert body["status"] == "restricted" and body["options"] == [] and body["score"] is None
    # an objection: the customer is not profiled
    me = bearer(access_token(api, b["customer_id"]))
    assert api.client.post("/v1/objections", headers=me).status_code == 201
    body = _recourse(api, b["customer_id"]).json()
    assert body["status"] == "objected" and body["options"] == [] and body["score"] is None
    # erased: nothing is held
    assert api.client.delete(f"/v1/customers/{c['customer_id']}",
                             headers=api.headers("admin")).status_code == 200
    assert _recourse(api, c["customer_id"]).status_code == 404


def test_the_service_function_others_call(app, api, by_risk):
    c = _high(api, by_risk, 1)[0]
    ref = pseudonymise(c["customer_id"], app.state.settings.pseudonym_secret)
    before = len(_events(app, RECOURSE_VIEWED))
    with app.state.db.session() as s:
        out = recourse_for_customer(s, app.state.host.current(), ref, "en")
    assert out.customer_ref == ref and out.status in ("options", "lowers_only", "none")
    assert len(_events(app, RECOURSE_VIEWED)) == before  # the caller audits its own read
