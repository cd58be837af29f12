"""A queue a team can work from: release, reassign, my tasks, search by customer, counts;
every task event (claim, release, reassignment, completion with its outcome) audited."""

from tests.serving.conftest import bearer, second_agent


def _task(api, by_risk, n=0):
    p = api.score(by_risk[n]).json()
    assert p["route"]["action"] == "human_contact", p["route"]
    return p["retention_task_id"], p


def _events(api, action):
    return [e for e in api.get("/v1/audit/events", role="admin", limit=200,
                               action=action).json()["items"]]


def _me(api, token):
    listed = api.client.get("/v1/retention-tasks", params={"status": "claimed", "mine": True},
                            headers=bearer(token)).json()["items"]
    return [t["task_id"] for t in listed]


def test_every_task_event_is_in_the_audit_chain(api, by_risk):
    tid, p = _task(api, by_risk)
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200  # no new event
    r = api.post(f"/v1/retention-tasks/{tid}/release")
    assert r.status_code == 200 and r.json()["status"] == "open" and not r.json()["claimed_by"]
    assert api.post(f"/v1/retention-tasks/{tid}/claim").status_code == 200
    done = api.post(f"/v1/retention-tasks/{tid}/complete", json={"outcome": "declined"})
    assert done.status_code == 200, done.text

    claimed = _events(api, "retention_task.claimed")
    assert len(claimed) == 2 and all(e["object_ids"]["task_id"] == tid for e in claimed)
    assert claimed[0]["customer_ref"] == p["customer_ref"]
    (released,) = _events(api, "retention_task.released")
    assert released["object_ids"]["claimed_by"] == claimed[0]["actor"]
    (completed,) = _events(api, "retention_task.completed")
    assert completed["object_ids"]["outcome"] == "declined"
    assert completed["object_ids"]["prediction_id"] == p["prediction_id"]
    assert api.get("/v1/audit/verify", role="admin").json()["ok"] is True


def test_an_admin_completing_an_agents_task_is_recorded(api, by_risk):
    tid, _ = _task(api, by_risk)
    claim = api.post(f"/v1/retention-tasks/{tid}/claim").json()
    r = api.post(f"/v1/retention-tasks/{tid}/complete", role="admin",
                 json={"outcome": "retained"})
    assert r.status_code == 200, r.text
    (completed,) = _events(api, "retention_task.completed")
    assert completed["actor"] == "admin:bootstrap"
    assert completed["object_ids"]["claimed_by"] == claim["claimed_by"]


def test_release_and_reassign_rules(api, by_risk):
    tid, _ = _task(api, by_risk)
    other, to = second_agent(api)
    # nobody's task cannot be released; an agent may not assign an open task
    assert api.post(f"/v1/retention-tasks/{tid}/release").status_code == 409
    mine = api.post(f"/v1/retention-tasks/{tid}/claim").json()
    taken = api.client.post(f"/v1/retention-tasks/{tid}/claim", headers=bearer(other))
    assert taken.status_code == 409 and "claimed by" in taken.json()["detail"]
    # another agent can neither release nor reassign someone else's claim
    for path, body in (("release", None), ("reassign", {"to": mine["claimed_by"]})):
        r = api.client.post(f"/v1/retention-tasks/{tid}/{path}", json=body,
                            headers=bearer(other))
        assert r.status_code == 409, r.text
    # an unknown agent is refused with the field named
    r = api.post(f"/v1/retention-tasks/{tid}/reassign", json={"to": "staff:nobody"})
    assert r.status_code == 422 and r.json()["fields"] == ["to"]
    # the claimant hands it over; it is then the other agent's
    r = api.post(f"/v1/retention-tasks/{tid}/reassign", json={"to": to})
    assert r.status_code == 200 and r.json()["claimed_by"] == to, r.text
    assert tid in _me(api, other) and tid not in _me(api, api.tokens["agent"])
    (event,) = _events(api, "retention_task.reassigned")
    assert event["object_ids"]["to"] == to
    assert event["object_ids"]["claimed_by"] == mine["claimed_by"]
    # an admin may move any task, open ones included
    back = api.post(f"/v1/retention-tasks/{tid}/reassign", role="admin",
                    json={"to": mine["claimed_by"]})
    assert back.status_code == 200 and back.json()["claimed_by"] == mine["claimed_by"]
    # the agent's name does too, whatever its case (the error says so, and how to find one)
    r = api.post(f"/v1/retention-tasks/{tid}/reassign", role="admin",
                 json={"to": "Second AGENT"})
    assert r.status_code == 200 and r.json()["claimed_by"] == to, r.text
    r = api.post(f"/v1/retention-tasks/{tid}/reassign", role="admin", json={"to": "nobody"})
    (error,) = r.json()["errors"]
    assert "name" in error["expected"] and "staff:<user id>" in error["expected"]
    assert "staff:<name>" not in r.text


def test_search_by_customer_id_and_counts(api, by_risk):
    tids = [_task(api, by_risk, n)[0] for n in range(3)]
    found = api.get("/v1/retention-tasks", customer_id=by_risk[1]["customer_id"]).json()
    assert [t["task_id"] for t in found["items"]] == [tids[1]]
    assert api.get("/v1/retention-tasks", customer_id="nobody").json()["items"] == []
    api.post(f"/v1/retention-tasks/{tids[0]}/claim")
    counts = api.get("/v1/retention-tasks/counts").json()
    assert counts["open"] == 2 and counts["claimed"] == 1
    assert sum(n for by in counts["by_band"].values() for n in by.values()) == 3
