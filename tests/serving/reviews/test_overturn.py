"""Overturn means the model's view of that customer is withdrawn: no earlier prediction on
the same data comes back, a new score on exactly the overturned values (online or batch)
is stored withdrawn, routed nowhere, with the reason, and keeps the customer off the risk
list; a score on changed data brings them back."""

from __future__ import annotations

import sqlalchemy as sa

from serving.batch import score_file
from serving.routing import OVERTURNED
from serving.storage import Database
from serving.storage.tables import Customer, Prediction, RetentionTask
from tests.serving.conftest import SYNTHETIC_SCHEMA, other_value


def _risk_ids(api) -> list[str]:
    return [e["prediction_id"] for e in api.get("/v1/risk-list").json()["items"]]


def _open_tasks(app) -> int:
    with app.state.db.session() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(RetentionTask).where(
            RetentionTask.status.in_(("open", "claimed"))))


def _overturned_twice_scored(contest, api, customer):
    """Two predictions on the same data; the second contested and overturned."""
    first = api.score(customer).json()
    second, me = contest.scored(customer)
    assert first["route"]["action"] == second["route"]["action"] == "human_contact"
    r = contest.dispute(second, me)
    assert r.status_code == 201, r.text
    r = contest.decide(r.json()["dispute_id"], {"decision": "overturned",
                                                "rationale": "The data was wrong."})
    assert r.status_code == 201 and r.json()["prediction_withdrawn"] is True, r.text
    assert _risk_ids(api) == [] and _open_tasks(contest.api.client.app) == 0
    return first, second, me


def test_a_score_on_the_overturned_values_stays_off_the_list(contest, by_risk, api, app):
    customer = by_risk[0]
    first, second, me = _overturned_twice_scored(contest, api, customer)

    # the same data again: stored, withdrawn, routed nowhere, with the reason
    again = api.score(customer)
    assert again.status_code == 201, again.text
    again = again.json()
    assert again["route"] == {"action": "none", "reason": OVERTURNED.reason}
    assert "overturned" in again["route"]["reason"]
    assert again["retention_task_id"] is None
    assert _risk_ids(api) == [] and _open_tasks(app) == 0
    mine = api.client.get("/v1/me/prediction", headers=me).json()
    assert mine["prediction"] is None
    with app.state.db.session() as s:
        stored = s.get(Prediction, again["prediction_id"])
        assert stored.withdrawn is True and stored.route_action == "none"
        assert s.get(Prediction, first["prediction_id"]).withdrawn is False  # never back
        assert s.get(Customer, customer_ref := again["customer_ref"]).latest_prediction_id \
            is None
    # a list of records is held to the same rule
    batch = api.score([customer, by_risk[1]]).json()
    assert batch[0]["route"]["reason"] == OVERTURNED.reason
    assert _risk_ids(api) == [batch[1]["prediction_id"]]

    # changed data: the customer comes back, from the new prediction
    spec = contest.host.current().spec
    name = second["contributions"][0]["feature"]
    changed = {**customer, "features": {**customer["features"], name: other_value(
        spec.feature(name), customer["features"][name])}}
    back = api.score(changed)
    assert back.status_code == 201, back.text
    back = back.json()
    assert back["route"]["reason"] != OVERTURNED.reason
    assert back["prediction_id"] in _risk_ids(api)
    with app.state.db.session() as s:
        assert s.get(Customer, customer_ref).latest_prediction_id == back["prediction_id"]
    # and the overturned values, seen again later, still do not bring the old view back
    once_more = api.score(customer).json()
    assert once_more["route"]["reason"] == OVERTURNED.reason
    assert customer_ref not in {e["customer_ref"] for e in
                                api.get("/v1/risk-list").json()["items"]}


def test_the_batch_keeps_the_same_rule(contest, by_risk, api, app, settings, host, tmp_path):
    customer = by_risk[0]
    _first, second, _me = _overturned_twice_scored(contest, api, customer)
    spec = host.current().spec
    name = second["contributions"][0]["feature"]
    changed = {**by_risk[1]["features"]}

    def write(rows: list[dict], path):
        import csv

        names = spec.feature_names
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["customer_id", *names])
            for r in rows:
                w.writerow([r["customer_id"], *("" if r["features"][n] is None
                                                 else r["features"][n] for n in names)])

    db = Database(settings.database_url)
    try:
        same = tmp_path / "same.csv"
        write([customer, by_risk[1]], same)
        report = score_file(settings, same, SYNTHETIC_SCHEMA, db=db, host=host)
        assert report.scored == 2 and report.repeated_overturned == 1
        with db.session() as s:
            rows = s.execute(sa.select(Prediction.route_reason, Prediction.withdrawn)
                             .where(Prediction.source == "batch",
                                    Prediction.customer_ref == second["customer_ref"])).all()
        assert rows == [(OVERTURNED.reason, True)]
        refs = {e["customer_ref"] for e in api.get("/v1/risk-list").json()["items"]}
        assert second["customer_ref"] not in refs and len(refs) == 1
        assert _open_tasks(app) == 1  # the other customer's only

        moved = tmp_path / "changed.csv"
        changed = {**customer, "features": {**customer["features"], name: other_value(
            spec.feature(name), customer["features"][name])}}
        write([changed], moved)
        report = score_file(settings, moved, SYNTHETIC_SCHEMA, db=db, host=host)
        assert report.scored == 1 and report.repeated_overturned == 0
        refs = {e["customer_ref"] for e in api.get("/v1/risk-list").json()["items"]}
        assert second["customer_ref"] in refs
    finally:
        db.dispose()
