"""The whole contestability story over HTTP, on the default model, SQLite and PostgreSQL:
score -> high risk -> human task -> access link -> customer reads -> disputes -> record
restricted (off the risk list, task cancelled) -> reviewer rectifies -> re-scored with
before/after -> customer sees the outcome -> objection -> suppressed -> erasure -> the
audit chain verifies."""

from datetime import UTC, datetime

import sqlalchemy as sa

from models.wording import shown_percent
from serving.disputes.service import one_month_after
from serving.storage.tables import AuditEvent, Customer, RetentionTask
from tests.serving.conftest import bearer, deliver, dispute_body, follow_link, mailbox, set_contact


def test_the_whole_story(api, app, host, by_risk, contest):
    admin = bearer(api.tokens["admin"])
    who = by_risk[0]

    # score -> high risk -> a human task with the explanation attached
    r = api.score(who)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["risk_band"] == "high" and p["route"]["action"] == "human_contact"
    task_id = p["retention_task_id"]
    assert task_id
    tasks = api.get("/v1/retention-tasks").json()["items"]
    assert [t["task_id"] for t in tasks] == [task_id]
    listed = api.get("/v1/risk-list").json()["items"]
    assert [e["customer_ref"] for e in listed] == [p["customer_ref"]]

    # the portal knows where to write to the customer; the agent sends them their link
    # (seeing neither), the worker delivers it to the development mailbox, the customer
    # opens it once -> reads their prediction in plain words (EN and FR)
    set_contact(api, who["customer_id"], "story@example.org")
    r = api.post(f"/v1/customers/{who['customer_id']}/access-link/send")
    assert r.status_code == 202 and "token" not in r.json()
    assert deliver(api.client.app)["sent"] == 1
    (message,) = mailbox(api.client.app.state.settings, "story@example.org")
    me = follow_link(api, message)
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["prediction"]["prediction_id"] == p["prediction_id"]
    assert shown_percent(p["score"]) in mine["summary"]  # never 0 % nor 100 %
    assert mine["purpose"] and {r["right"] for r in mine["rights"]} >= {
        "rectification", "restriction", "objection", "human_review"}
    assert {d["feature"] for d in mine["data_used"]} == set(host.current().spec.feature_names)
    fr = api.client.get("/v1/me/prediction", headers=me, params={"lang": "fr"}).json()
    assert "probabilité" in fr["summary"] and fr["rights"][0]["text"] != mine["rights"][0]["text"]

    # the customer disputes the strongest factor and asks for a human
    body = dispute_body(p, host)
    claimed = body["contested_features"][0]
    r = api.client.post("/v1/disputes", json=body, headers=me | {"Idempotency-Key": "story-1"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "open" and d["prediction_id"] == p["prediction_id"]
    received = datetime.fromisoformat(d["received_at"])
    assert datetime.fromisoformat(d["due_by"]) == one_month_after(received)
    assert 28 <= d["days_left"] <= 31 and not d["overdue"]

    # restricted at once: off the risk list, the task cancelled, no contact proposed
    assert api.client.get("/v1/me", headers=me).json()["restricted"] is True
    assert api.get("/v1/risk-list").json()["items"] == []
    assert api.get("/v1/retention-tasks").json()["items"] == []
    with app.state.db.session() as s:
        task = s.get(RetentionTask, task_id)
        assert task.status == "cancelled" and d["dispute_id"] in task.note
    assert api.get(f"/v1/predictions/{p['prediction_id']}").json()["retention_task_id"] is None

    # the reviewer sees it in the queue with the explanation, statement, claim, deadline
    queue = api.get("/v1/reviews", role="reviewer").json()["items"]
    assert [q["dispute_id"] for q in queue] == [d["dispute_id"]]
    item = queue[0]
    assert item["statement"] == body["statement"] and item["due_by"] == d["due_by"]
    assert item["contested_features"][0]["claimed_value"] == claimed["claimed_value"]
    assert item["prediction"]["contributions"][0]["text"]
    assert item["customer_id"] == who["customer_id"]

    # ... previews and rectifies: re-scored, before/after per contribution
    correction = {claimed["feature"]: claimed["claimed_value"]}
    preview = api.post(f"/v1/disputes/{d['dispute_id']}/preview", role="reviewer",
                       json={"corrected_features": correction}).json()
    r = contest.decide(d["dispute_id"], {"decision": "rectified",
                                         "rationale": "Checked the contract: customer is right.",
                                         "corrected_features": correction})
    assert r.status_code == 201, r.text
    decision = r.json()
    new = decision["new_prediction"]
    assert new["prediction_id"] != p["prediction_id"] and decision["restriction_lifted"]
    assert new["score"] == preview["score_after"]
    assert abs(new["base_value"] + sum(c["shap"] for c in new["contributions"])
               - new["margin"]) < 1e-6
    change = {c["feature"]: c for c in decision["changes"]}[claimed["feature"]]
    assert change["corrected"] and change["value_after"] == claimed["claimed_value"]
    assert abs(change["change"] - (change["shap_after"] - change["shap_before"])) < 1e-12
    assert {c["feature"] for c in decision["changes"]} == set(host.current().spec.feature_names)
    assert contest.decide(d["dispute_id"], {"decision": "upheld",
                                            "rationale": "again"}).status_code == 409

    # the customer sees the outcome; the corrected prediction is now theirs
    seen = api.client.get(f"/v1/disputes/{d['dispute_id']}", headers=me).json()
    assert seen["status"] == "decided" and seen["decision"]["decision"] == "rectified"
    assert seen["decision"]["new_prediction_id"] == new["prediction_id"]
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["prediction"]["prediction_id"] == new["prediction_id"]
    # told before the restriction is lifted (Art. 18(3)): lifted once the notice is sent
    assert mine["restricted"] and mine["disputes"][0]["status"] == "decided"
    assert deliver(api.client.app)["sent"] == 1
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert not mine["restricted"]

    # objection -> suppressed, off the list, tasks cancelled
    r = api.client.post("/v1/objections", headers=me)
    assert r.status_code == 201 and r.json()["objected"] is True
    r = api.score(who)
    assert r.status_code == 409 and r.json()["status"] == "suppressed"
    assert api.get("/v1/risk-list").json()["items"] == []
    assert api.get("/v1/retention-tasks").json()["items"] == []

    # erasure: everything about the customer goes; the audit keeps the pseudonym only
    r = api.client.delete(f"/v1/customers/{who['customer_id']}", headers=admin)
    assert r.status_code == 200, r.text
    erased = r.json()["erased"]
    assert erased["customers"] == 1 and erased["predictions"] == 2
    assert erased["disputes"] == 1 and erased["decisions"] == 1
    assert erased["idempotency_keys"] == 1 and erased["objections"] == 1
    assert erased["retention_tasks"] >= 1
    assert erased["contacts"] == 1 and erased["sessions"] == 1  # issue 15
    # the customer's session ended with the erasure (issue 15: it was a 404 before)
    assert api.client.get("/v1/me/prediction", headers=me).status_code == 401
    assert api.get(f"/v1/predictions/{p['prediction_id']}").status_code == 404
    assert api.client.delete(f"/v1/customers/{who['customer_id']}",
                             headers=admin).status_code == 404
    # an erased customer is not profiled again: scoring them is refused, nothing is kept
    r = api.score(who)
    assert r.status_code == 409 and r.json()["status"] == "suppressed"
    assert "erased" in r.json()["detail"]
    with app.state.db.session() as s:
        assert s.get(Customer, p["customer_ref"]) is None

    # the audit chain verifies; it holds the pseudonym, never the raw id or the statement
    v = api.client.get("/v1/audit/verify", headers=admin).json()
    assert v["ok"] is True and v["first_broken"] is None and v["checked"] >= 10
    events = api.client.get("/v1/audit/events", headers=admin, params={"limit": 1000}).json()
    actions = [e["action"] for e in reversed(events["items"])]
    for a in ("model.loaded", "prediction.created", "risk_list.read", "access_link.sent",
              "session.opened",
              "dispute.opened", "dispute.decided", "objection.recorded", "customer.erased"):
        assert a in actions, a
    assert actions[-1] == "customer.erased"
    with app.state.db.session() as s:
        rows = s.execute(sa.select(AuditEvent)).scalars().all()
        text = " ".join(f"{r.actor} {r.customer_ref} {r.objects}" for r in rows)
    assert who["customer_id"] not in text and body["statement"] not in text
    assert p["customer_ref"] in text
    assert all(r.at <= datetime.now(UTC) for r in rows)
