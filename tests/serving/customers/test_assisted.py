"""Assisted actions and the insider story (issue 15).

The story as an insider tried it: customer C objects; an agent asks for C's access link,
withdraws C's objection with it and scores C again. It must fail at the first step; the
assisted version (the agent records an objection or a dispute for a customer who phoned)
is recorded under the agent's name, visible to the customer and in the audit log; only
the customer, in their own session, can withdraw."""

from __future__ import annotations

from tests.serving.conftest import access_token, bearer, dispute_body


def _events(api, ref, action):  # noqa: ANN001, ANN202
    return [e for e in api.get("/v1/audit/events", role="admin", customer_ref=ref,
                               action=action).json()["items"]]


def test_the_insider_story_fails_at_the_first_step(api, customers):
    c = customers[0]
    p = api.score(c).json()
    me = bearer(access_token(api, c["customer_id"]))
    assert api.client.post("/v1/objections", headers=me).status_code == 201
    # 1. the agent asks for C's link: refused, no token in the answer
    r = api.post(f"/v1/customers/{c['customer_id']}/access-link")
    assert r.status_code == 403 and "token" not in r.json()
    # (and cannot withdraw on C's behalf with their own token either)
    r = api.client.delete("/v1/objections", headers=api.headers("agent"))
    assert r.status_code == 403
    # so C stays suppressed
    r = api.score(c)
    assert r.status_code == 409 and r.json()["status"] == "suppressed"
    (recorded,) = _events(api, p["customer_ref"], "objection.recorded")
    assert recorded["actor"] == f"customer:{p['customer_ref']}"
    assert recorded["object_ids"]["session_id"] and recorded["object_ids"]["link_id"]
    assert recorded["object_ids"]["link_issued_by"].startswith("staff:")  # the portal


def test_an_assisted_objection_is_the_agents_and_only_the_customer_withdraws(api, customers):
    c = customers[1]
    p = api.score(c).json()
    r = api.post(f"/v1/customers/{c['customer_id']}/assisted/objections")
    assert r.status_code == 201, r.text
    assert r.json()["objected"] and r.json()["assisted"] and r.json()["assisted_by"] == \
        "test agent"
    (recorded,) = _events(api, p["customer_ref"], "objection.recorded")
    assert recorded["actor"].startswith("staff:") and recorded["role"] == "agent"
    assert recorded["object_ids"]["assisted"] is True
    assert api.score(c).status_code == 409  # suppressed
    # the customer sees who recorded it
    me = bearer(access_token(api, c["customer_id"]))
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["objected"] and mine["objection"]["assisted_by"] == "test agent"
    # reviewers and the integration cannot file it; nobody but the customer withdraws
    for role in ("reviewer", "integration"):
        assert api.post(f"/v1/customers/{c['customer_id']}/assisted/objections",
                        role=role).status_code == 403
    assert api.client.delete("/v1/objections", headers=me).status_code == 200
    (withdrawn,) = _events(api, p["customer_ref"], "objection.withdrawn")
    assert withdrawn["actor"] == f"customer:{p['customer_ref']}"
    assert withdrawn["object_ids"]["session_id"]


def test_an_assisted_dispute_is_recorded_under_the_agents_name(api, customers, host):
    c = customers[2]
    p = api.score(c).json()
    body = dispute_body(p, host, statement="Customer phoned: contract changed.")
    r = api.post(f"/v1/customers/{c['customer_id']}/assisted/disputes", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["assisted"] and r.json()["assisted_by"] == "test agent"
    (opened,) = _events(api, p["customer_ref"], "dispute.opened")
    assert opened["actor"].startswith("staff:") and opened["role"] == "agent"
    me = bearer(access_token(api, c["customer_id"]))
    (d,) = api.client.get("/v1/me/prediction", headers=me).json()["disputes"]
    assert d["assisted"] and d["assisted_by"] == "test agent"
    # the reviewer sees it too
    seen = api.get(f"/v1/disputes/{d['dispute_id']}", role="reviewer").json()
    assert seen["assisted_by"] == "test agent"
    from fastapi.testclient import TestClient

    from tests.serving.web.test_pages import sign_in

    with TestClient(api.client.app) as page:  # and on the review page
        sign_in(page, api.tokens["reviewer"])
        html = page.get(f"/staff/reviews/{d['dispute_id']}").text
        assert "on the phone by test agent" in html
    # an agent's own token on the customer's route is still refused
    r = api.client.post("/v1/disputes", json=body, headers=api.headers("agent"))
    assert r.status_code == 403
