"""Every read of a customer's record by a member of staff is in the audit log, whatever the
entry point: one receipt, one contact task, its attempts (filed under the customer: their
own copy lists it), the rights-request queue, one customer's task list. A customer reading
their own record is not recorded (it is theirs)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.conftest import ADMIN_TOKEN, access_token, bearer
from tests.serving.web.test_pages import sign_in

ADMIN = bearer(ADMIN_TOKEN)


def _events(api, action: str, customer_ref: str | None = None) -> list[dict]:  # noqa: ANN001
    params = {"action": action, "limit": 500}
    if customer_ref:
        params["customer_ref"] = customer_ref
    r = api.client.get("/v1/audit/events", headers=ADMIN, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_staff_read_of_one_record_is_audited_under_the_customer(api, by_risk):
    p = api.score(by_risk[0]).json()
    assert p["route"]["action"] == "human_contact"
    ref, pid, tid = p["customer_ref"], p["prediction_id"], p["retention_task_id"]
    assert _events(api, "customer_record.read") == []

    assert api.get(f"/v1/predictions/{pid}", role="reviewer").status_code == 200
    assert api.get(f"/v1/retention-tasks/{tid}").status_code == 200
    assert api.get(f"/v1/retention-tasks/{tid}/attempts").status_code == 200
    read = _events(api, "customer_record.read", ref)
    assert sorted((e["object_ids"]["record"], e["object_ids"]["id"], e["role"])
                  for e in read) == [("contact_attempts", tid, "agent"),
                                     ("prediction", pid, "reviewer"),
                                     ("retention_task", tid, "agent")]
    assert all(e["object_ids"]["via"] == "api" and e["actor"].startswith("staff:")
               for e in read)

    # the customer reads their own receipt: theirs, not recorded; their copy lists the
    # staff's reads in words
    me = bearer(access_token(api, by_risk[0]["customer_id"]))
    assert api.client.get(f"/v1/predictions/{pid}", headers=me).status_code == 200
    assert len(_events(api, "customer_record.read", ref)) == 3
    history = api.client.get("/v1/me/copy", headers=me).json()["history"]
    words = [h["what"] for h in history if h["action"] == "customer_record.read"]
    assert len(words) == 3 and all("read one of your records" in w for w in words)


def test_no_such_task_is_a_404_for_its_attempts_too(api):
    for path in ("/v1/retention-tasks/00000000-0000-0000-0000-000000000000/attempts",
                 "/v1/retention-tasks/x/attempts"):
        r = api.get(path)
        assert r.status_code == 404, r.text
    assert _events(api, "customer_record.read") == []  # nothing read, nothing recorded


def test_one_customers_task_list_is_filed_under_them(api, by_risk):
    p = api.score(by_risk[1]).json()
    r = api.get("/v1/retention-tasks", customer_id=by_risk[1]["customer_id"])
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    filed = _events(api, "retention_tasks.read", p["customer_ref"])
    assert len(filed) == 1 and filed[0]["object_ids"]["customer_ref"] == p["customer_ref"]


def test_the_rights_request_queue_is_audited_from_the_api_and_the_page(app, api, tokens):
    assert api.get("/v1/rights-requests", role="reviewer").status_code == 200
    with TestClient(app) as c:
        sign_in(c, tokens["reviewer"])
        assert c.get("/staff/rights").status_code == 200
    read = _events(api, "rights_requests.read")
    assert sorted(e["object_ids"]["via"] for e in read) == ["api", "staff page"]
    assert all(e["role"] == "reviewer" and e["object_ids"]["entries"] == 0 for e in read)


def test_disputes_read_by_staff_are_audited_from_the_api_and_the_pages(app, api, contest,
                                                                       customers, tokens):
    prediction, me = contest.scored(customers[3])
    r = contest.dispute(prediction, me)
    assert r.status_code == 201, r.text
    did, ref = r.json()["dispute_id"], prediction["customer_ref"]
    # the customer reads their own: not recorded
    assert api.client.get(f"/v1/disputes/{did}", headers=me).status_code == 200
    assert api.client.get("/v1/disputes", headers=me).status_code == 200
    assert _events(api, "customer_record.read", ref) == []
    assert _events(api, "disputes.read") == []
    # a reviewer: the dispute (API and page), the queue (API and page), everyone's list
    assert api.get(f"/v1/disputes/{did}", role="reviewer").status_code == 200
    assert api.get("/v1/reviews", role="reviewer").status_code == 200
    assert api.get("/v1/disputes", role="reviewer").status_code == 200
    with TestClient(app) as c:
        sign_in(c, tokens["reviewer"])
        assert c.get("/staff/reviews").status_code == 200
        assert c.get(f"/staff/reviews/{did}").status_code == 200
    read = _events(api, "customer_record.read", ref)
    assert sorted((e["object_ids"]["record"], e["object_ids"]["via"]) for e in read) == [
        ("dispute", "api"), ("dispute", "staff page")]
    assert all(e["object_ids"]["id"] == did for e in read)
    lists = _events(api, "disputes.read")
    assert sorted(e["object_ids"]["via"] for e in lists) == ["api", "api", "staff page"]
    assert all(e["object_ids"]["entries"] >= 1 for e in lists)


def test_page_sign_in_and_sign_out_are_audited_as_the_apis_are(app, api, tokens, customers):
    from tests.serving.conftest import portal_link
    from tests.serving.web.test_pages import csrf_of, open_me

    p = api.score(customers[5]).json()  # (before the pages' clients: they end the writer)
    with TestClient(app) as c:
        assert sign_in(c, tokens["agent"]).status_code == 303
        page = c.get("/staff/risk")
        c.post("/staff/sign-out", data={"csrf_token": csrf_of(page.text)})
    opened = _events(api, "session.opened")
    closed = _events(api, "session.closed")
    assert [(e["role"], e["object_ids"]) for e in opened] == [("agent", {"session": "staff page"})]
    assert [(e["role"], e["object_ids"]) for e in closed] == [("agent", {"session": "staff page"})]
    assert opened[0]["actor"] == closed[0]["actor"] != "admin:bootstrap"
    # a customer's page sign-out too, filed under them
    with TestClient(app) as c:
        assert open_me(c, portal_link(api, customers[5]["customer_id"])["token"]
                       ).status_code == 200
        page = c.get("/me")
        c.post("/me/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert len(_events(api, "session.closed", p["customer_ref"])) == 1


def test_the_audit_page_refuses_a_position_past_the_chain_not_a_500(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        sign_in(c, ADMIN_TOKEN)
        for seq in ("99999999999999999999999", "9223372036854775808", str(2**62 + 1)):
            r = c.get("/staff/audit", params={"before_seq": seq})
            assert r.status_code == 422, (seq, r.status_code)
        assert c.get("/staff/audit", params={"before_seq": str(2**62)}).status_code == 200
