"""The human contact queue: list with explanation, claim, complete with an outcome."""

import sqlalchemy as sa

from serving.retention.service import current_task, outcome_labels
from serving.scoring.service import history
from serving.storage.tables import Customer


def _open_task(api, by_risk, n=0):
    p = api.score(by_risk[n]).json()
    assert p["route"]["action"] == "human_contact"
    return p


def test_claim_and_complete_with_an_outcome(api, app, by_risk, tokens):
    p = _open_task(api, by_risk)
    tid = p["retention_task_id"]
    listed = api.get("/v1/retention-tasks").json()["items"]
    assert [t["task_id"] for t in listed] == [tid]
    assert listed[0]["status"] == "open"
    assert len(listed[0]["prediction"]["contributions"]) > 0

    r = api.post(f"/v1/retention-tasks/{tid}/claim")
    assert r.status_code == 200, r.text
    claimed = r.json()
    assert claimed["status"] == "claimed" and claimed["claimed_by"].startswith("staff:")
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200  # idempotent
    assert api.get("/v1/retention-tasks").json()["items"] == []
    assert [t["task_id"] for t in
            api.get("/v1/retention-tasks", status="claimed").json()["items"]] == [tid]

    r = api.post(f"/v1/retention-tasks/{tid}/complete",
                 json={"outcome": "retained", "note": "Offered a one-year contract; accepted."})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done" and done["outcome"] == "retained"
    assert done["note"].startswith("Offered") and done["completed_at"]
    # the outcome is kept as a label for the next training
    with app.state.db.session() as s:
        labels = outcome_labels(s)
    assert [(lab["prediction_id"], lab["outcome"]) for lab in labels] == \
        [(p["prediction_id"], "retained")]
    assert labels[0]["customer_ref"] == p["customer_ref"] and labels[0]["features"]
    # finished: a new high score opens a new task
    p2 = api.score(by_risk[0]).json()
    assert p2["retention_task_id"] not in (None, tid)


def test_someone_elses_task(api, by_risk, tokens, client):
    tid = _open_task(api, by_risk)["retention_task_id"]
    r = client.post("/v1/admin/users", json={"name": "agent two", "role": "agent"},
                    headers={"Authorization": f"Bearer {tokens['admin']}"})
    other = {"Authorization": f"Bearer {r.json()['token']}"}
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200
    assert client.post(f"/v1/retention-tasks/{tid}/claim", headers=other).status_code == 409
    r = client.post(f"/v1/retention-tasks/{tid}/complete", headers=other,
                    json={"outcome": "churned", "note": ""})
    assert r.status_code == 409


def test_complete_needs_a_claim_and_a_known_outcome(api, by_risk):
    tid = _open_task(api, by_risk)["retention_task_id"]
    r = api.post(f"/v1/retention-tasks/{tid}/complete", json={"outcome": "retained"})
    assert r.status_code == 409 and "claim" in r.json()["detail"]
    api.post(f"/v1/retention-tasks/{tid}/claim")
    r = api.post(f"/v1/retention-tasks/{tid}/complete", json={"outcome": "sent_discount"})
    assert r.status_code == 422
    for outcome in ("no_contact",):
        assert api.post(f"/v1/retention-tasks/{tid}/complete",
                        json={"outcome": outcome, "note": "n"}).status_code == 200
    assert api.post(f"/v1/retention-tasks/{tid}/complete",
                    json={"outcome": "declined"}).status_code == 409


def test_unknown_task_is_404(api):
    assert api.post("/v1/retention-tasks/nope/claim").status_code == 404


def test_tasks_listed_highest_risk_first_and_paged(api, by_risk, host):
    high = [c for c in by_risk if c["expected_score"] >= host.current().thresholds.high][:7]
    api.score(high)
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get("/v1/retention-tasks", **params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    scores = [t["score"] for t in seen]
    assert len(seen) == 7 and scores == sorted(scores, reverse=True)
    assert len({t["task_id"] for t in seen}) == 7


def test_restricted_customers_tasks_are_hidden_and_unclaimable(api, app, by_risk):
    p = _open_task(api, by_risk)
    with app.state.db.session() as s:
        s.execute(sa.update(Customer).where(Customer.customer_ref == p["customer_ref"])
                  .values(restricted=True))
        s.commit()
    assert api.get("/v1/retention-tasks").json()["items"] == []
    assert api.post(f"/v1/retention-tasks/{p['retention_task_id']}/claim").status_code == 409


def test_the_customer_page_shows_the_open_task_and_newest_receipts_first(api, app, by_risk):
    first = _open_task(api, by_risk)
    ref, tid = first["customer_ref"], first["retention_task_id"]
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200
    assert api.post(f"/v1/retention-tasks/{tid}/complete",
                    json={"outcome": "retained", "note": ""}).status_code == 200
    second = api.score(by_risk[0]).json()  # a newer score opens a new task
    with app.state.db.session() as s:
        assert current_task(s, ref).id == second["retention_task_id"]
        assert [p.id for p in history(s, ref)] == [second["prediction_id"],
                                                   first["prediction_id"]]
        assert [p.id for p in history(s, ref, limit=1)] == [second["prediction_id"]]
        assert current_task(s, "cu_nobody") is None and history(s, "cu_nobody") == []
