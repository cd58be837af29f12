"""Reviews: the queue (oldest first), preview, and the three decisions with their effects."""

import sqlalchemy as sa

from serving.storage.tables import Customer, Prediction, RetentionTask
from tests.serving.conftest import other_value


def _open(contest, customer, **kw):
    p, me = contest.scored(customer)
    r = contest.dispute(p, me, **kw)
    assert r.status_code == 201, r.text
    return p, me, r.json()


def _open_on(contest, customer, feature):
    """A dispute contesting `feature` (a reviewer corrects only what was contested)."""
    p, me = contest.scored(customer)
    used = next(c["value"] for c in p["contributions"] if c["feature"] == feature.name)
    r = contest.client.post("/v1/disputes", headers=me, json={
        "prediction_id": p["prediction_id"], "statement": "Wrong.",
        "contested_features": [{"feature": feature.name,
                                "claimed_value": other_value(feature, used)}]})
    assert r.status_code == 201, r.text
    return p, me, r.json()


def test_queue_is_oldest_first_with_explanation_and_days_left(contest, by_risk, api):
    opened = [_open(contest, by_risk[i])[2]["dispute_id"] for i in range(3)]
    page = api.get("/v1/reviews", role="reviewer", limit=2).json()
    assert [i["dispute_id"] for i in page["items"]] == opened[:2]
    rest = api.get("/v1/reviews", role="reviewer", cursor=page["next_cursor"]).json()
    assert [i["dispute_id"] for i in rest["items"]] == opened[2:] and rest["next_cursor"] is None
    item = page["items"][0]
    assert item["days_left"] >= 28 and item["overdue"] is False
    assert item["prediction"]["contributions"][0]["text"].endswith(".")
    assert item["contested_features"][0]["label"]
    fr = api.get("/v1/reviews", role="reviewer", lang="fr").json()["items"][0]
    text = item["prediction"]["contributions"][0]["text"]
    assert fr["prediction"]["contributions"][0]["text"] != text
    # admin may do what reviewers do; agents may not
    assert api.get("/v1/reviews", role="admin").status_code == 200
    assert api.get("/v1/reviews", role="agent").status_code == 403


def test_upheld_lifts_the_restriction_and_gives_the_task_back(contest, by_risk, api, app):
    p, me, d = _open(contest, by_risk[0])
    assert p["retention_task_id"]
    r = contest.decide(d["dispute_id"], {"decision": "upheld", "rationale": "Data checked."})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["restriction_lifted"] and out["new_prediction"] is None
    assert not out["prediction_withdrawn"]
    assert api.client.get("/v1/me", headers=me).json()["restricted"] is False
    tasks = api.get("/v1/retention-tasks").json()["items"]
    assert [t["prediction"]["prediction_id"] for t in tasks] == [p["prediction_id"]]
    assert [e["prediction_id"] for e in api.get("/v1/risk-list").json()["items"]] == \
        [p["prediction_id"]]
    assert api.get("/v1/reviews", role="reviewer").json()["items"] == []


def test_overturned_withdraws_the_prediction_from_all_use(contest, by_risk, api, app):
    p, me, d = _open(contest, by_risk[0])
    r = contest.decide(d["dispute_id"], {"decision": "overturned", "rationale": "Wrong."})
    assert r.status_code == 201 and r.json()["prediction_withdrawn"] is True
    assert api.get("/v1/risk-list").json()["items"] == []
    assert api.get("/v1/retention-tasks").json()["items"] == []
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["prediction"] is None and not mine["restricted"]
    assert mine["disputes"][0]["decision"]["decision"] == "overturned"
    with app.state.db.session() as s:
        assert s.get(Prediction, p["prediction_id"]).withdrawn is True
        c = s.get(Customer, p["customer_ref"])
        assert c.latest_prediction_id is None
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask).where(
            RetentionTask.status.in_(("open", "claimed")))) == 0
    # a new score on the same data stays off the list (tests/serving/reviews/test_overturn.py);
    # on changed data it puts the customer back, from the new prediction only
    assert api.score(by_risk[0]).json()["route"]["action"] == "none"
    assert api.get("/v1/risk-list").json()["items"] == []
    name = p["contributions"][0]["feature"]
    spec = contest.host.current().spec
    changed = {**by_risk[0], "features": {**by_risk[0]["features"], name: other_value(
        spec.feature(name), by_risk[0]["features"][name])}}
    again = api.score(changed).json()
    assert [e["prediction_id"] for e in api.get("/v1/risk-list").json()["items"]] == \
        [again["prediction_id"]]


def test_rectified_needs_valid_corrections_naming_the_field(contest, by_risk):
    p, _, d = _open(contest, by_risk[0])
    did = d["dispute_id"]
    r = contest.decide(did, {"decision": "rectified", "rationale": "x"})
    assert r.status_code == 422
    spec = contest.host.current().spec
    cat = next(f for f in spec.features if f.kind != "numeric")
    num = next(f for f in spec.features if f.kind == "numeric")
    r = contest.decide(did, {"decision": "rectified", "rationale": "x",
                             "corrected_features": {cat.name: "nope", num.name: "ten"}})
    assert r.status_code == 422 and sorted(r.json()["fields"]) == sorted([cat.name, num.name])
    r = contest.decide(did, {"decision": "rectified", "rationale": "x",
                             "corrected_features": {"ShoeSize": 3}})
    assert r.status_code == 422 and r.json()["fields"] == ["ShoeSize"]
    r = contest.decide(did, {"decision": "upheld", "rationale": "x",
                             "corrected_features": {cat.name: cat.categories[0]}})
    assert r.status_code == 422
    # nothing was decided by the failures
    assert contest.api.get(f"/v1/disputes/{did}", role="reviewer").json()["status"] == "open"
    assert contest.api.post(f"/v1/disputes/{did}/preview", role="reviewer",
                            json={"corrected_features": {cat.name: "nope"}}).status_code == 422


def test_preview_writes_nothing_and_matches_the_decision(contest, by_risk, api, app):
    spec = contest.host.current().spec
    num = next(f for f in spec.features if f.kind == "numeric")
    p, _, d = _open_on(contest, by_risk[0], num)
    fix = {num.name: float(num.max)}
    with app.state.db.session() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(Prediction))
    pv = api.post(f"/v1/disputes/{d['dispute_id']}/preview", role="reviewer",
                  json={"corrected_features": fix})
    assert pv.status_code == 200, pv.text
    pv = pv.json()
    assert pv["score_before"] == p["score"]
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == before
    out = contest.decide(d["dispute_id"], {"decision": "rectified", "rationale": "ok",
                                           "corrected_features": fix}).json()
    assert out["new_prediction"]["score"] == pv["score_after"]
    assert out["new_prediction"]["risk_band"] == pv["risk_band_after"]
    assert [c["feature"] for c in out["changes"]] == [c["feature"] for c in pv["changes"]]
    assert out["corrected_features"] == fix
    # the preview names the contract it scored with, as the decision's receipt does
    assert pv["model"]["contract_version"] == out["new_prediction"]["model"]["contract_version"]
    assert pv["model"]["contract_version"]


def test_restriction_stays_while_another_dispute_is_open(contest, by_risk, api):
    p1, me, d1 = _open(contest, by_risk[0])
    p2 = api.score(by_risk[0]).json()  # restricted: routed to nobody
    assert p2["route"]["action"] == "none" and "restricted" in p2["route"]["reason"]
    d2 = contest.dispute(p2, me).json()
    out = contest.decide(d1["dispute_id"], {"decision": "upheld", "rationale": "ok"}).json()
    assert out["restriction_lifted"] is False
    assert api.client.get("/v1/me", headers=me).json()["restricted"] is True
    assert api.get("/v1/risk-list").json()["items"] == []
    out = contest.decide(d2["dispute_id"], {"decision": "upheld", "rationale": "ok"}).json()
    assert out["restriction_lifted"] is True
    assert api.client.get("/v1/me", headers=me).json()["restricted"] is False


def test_objection_and_withdrawal(contest, by_risk, api):
    p, me = contest.scored(by_risk[0])
    assert api.client.delete("/v1/objections", headers=me).status_code == 409
    r = api.client.post("/v1/objections", headers=me)
    assert r.status_code == 201 and r.json()["cancelled_task_ids"] == [p["retention_task_id"]]
    assert api.client.post("/v1/objections", headers=me).status_code == 200  # no-op
    r = api.score(by_risk[0])
    assert r.status_code == 409 and r.json()["status"] == "suppressed"
    assert api.get("/v1/risk-list").json()["items"] == []
    assert api.get("/v1/retention-tasks").json()["items"] == []
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["objected"] and "objected" in mine["summary"]
    r = api.client.delete("/v1/objections", headers=me)
    assert r.status_code == 200 and r.json()["objected"] is False and r.json()["withdrawn_at"]
    assert api.score(by_risk[0]).status_code == 201


def test_training_export_uses_corrected_data_and_leaves_out_the_restricted(
        contest, by_risk, api, app, tmp_path, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from serving import cli
    from serving.loop.export import training_table

    spec = contest.host.current().spec
    num = next(f for f in spec.features if f.kind == "numeric")
    fixed, _, d1 = _open_on(contest, by_risk[0], num)
    out = contest.decide(d1["dispute_id"], {"decision": "rectified", "rationale": "ok",
                                            "corrected_features": {num.name: float(num.max)}})
    _, _, d2 = _open(contest, by_risk[1])  # stays open: restricted
    gone, _, d3 = _open(contest, by_risk[2])
    contest.decide(d3["dispute_id"], {"decision": "overturned", "rationale": "wrong"})
    plain = api.score(by_risk[3]).json()
    assert out.status_code == 201, out.text
    # once the label horizon has passed, every customer scored here is labelled
    horizon = app.state.settings.label_horizon_days
    with app.state.db.session() as s:
        table, _ = training_table(s, horizon, spec,
                                  now=datetime.now(UTC) + timedelta(days=horizon + 1))
    rows = {r["customer_ref"]: r for r in table.to_dict("records")}
    assert set(rows) == {fixed["customer_ref"], plain["customer_ref"]}
    corrected = rows[fixed["customer_ref"]]
    assert corrected["source"] == "review" and corrected[num.name] == num.max
    # The command writes labelled customers only (Parquet and a schema training accepts:
    # tests/serving/loop/test_export.py); these were scored just now, so none is labelled
    # yet, and it says so rather than writing an empty table.
    monkeypatch.setenv("CHURN_DATABASE_URL", app.state.settings.database_url)
    assert cli.main(["export-training", "--out", str(tmp_path / "export")]) == 2
    assert not (tmp_path / "export").exists()


def test_a_bad_review_queue_cursor_is_named_like_every_other(api):
    """The review queue's cursor is refused as the risk list's and the task queue's are:
    the query parameter named, what was expected, what came and the fix."""
    for path in ("/v1/reviews", "/v1/risk-list", "/v1/retention-tasks"):
        role = "reviewer" if path == "/v1/reviews" else "agent"
        r = api.get(path, role=role, cursor="not-a-cursor")
        assert r.status_code == 422, (path, r.text)
        (error,) = r.json()["errors"]
        assert error["loc"] == ["query", "cursor"]
        assert error["fix"] == "Start again without a cursor."
