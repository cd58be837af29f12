"""POST /v1/predictions over HTTP on the default model: explained, stored, routed."""

import json

import numpy as np
import pytest
import sqlalchemy as sa

from serving.storage.receipts import unpack_shap
from serving.storage.tables import Customer, Prediction, RetentionTask


def _db(app):
    return app.state.db


def test_explained_score(api, customers, host, trained):
    r = api.score(customers[0])
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["model"] == {"name": trained.model_name, "version": trained.model_version,
                          "contract_version": host.current().contract_version}
    assert 0.0 <= p["score"] <= 1.0 and p["risk_band"] in ("low", "medium", "high")
    assert p["customer_ref"].startswith("cu_") and customers[0]["customer_id"] not in r.text
    contribs = p["contributions"]
    names = host.current().model.feature_names
    assert sorted(c["feature"] for c in contribs) == sorted(names)
    shap = [c["shap"] for c in contribs]
    assert [abs(v) for v in shap] == sorted((abs(v) for v in shap), reverse=True)
    assert abs(p["base_value"] + sum(shap) - p["margin"]) < 1e-6
    for c in contribs:
        # a sentence, never the raw column name alone
        assert c["text"].endswith(".") and " " in c["text"] and c["text"] != c["feature"]
    assert p["route"]["action"] in ("human_contact", "none") and p["route"]["reason"]
    # the same as the model computes directly
    ex = host.current().model.explain_records([customers[0]["features"]])
    assert p["score"] == pytest.approx(float(ex.score[0]), abs=1e-12)
    assert p["margin"] == pytest.approx(float(ex.margin[0]), abs=1e-12)


def test_the_answer_is_exactly_the_response_models_json(api, customers):
    """The route sends the service's answer as it is (no re-validation on the hot path):
    it must be what `PredictionPublic` itself writes, key for key and value for value,
    for one record and for a list."""
    from pydantic import TypeAdapter

    from serving.scoring.schemas import PredictionPublic

    one = api.score(customers[2])
    assert one.status_code == 201 and one.headers["content-type"] == "application/json"
    body = one.json()
    assert PredictionPublic.model_validate(body).model_dump(mode="json") == body
    assert list(body) == list(PredictionPublic.model_fields)
    many = api.score(customers[3:6], lang="fr").json()
    adapter = TypeAdapter(list[PredictionPublic])
    assert adapter.dump_python(adapter.validate_python(many), mode="json") == many


def test_french_explanations(api, customers):
    p = api.score(customers[0], lang="fr").json()
    assert all("l'estimation" in c["text"] for c in p["contributions"])


def test_prediction_is_stored_as_a_decision_receipt(api, app, customers, host):
    p = api.score(customers[1]).json()
    with _db(app).session() as s:
        row = s.get(Prediction, p["prediction_id"])
        assert row is not None
        assert (row.model_name, row.model_version) == (p["model"]["name"], p["model"]["version"])
        feats = json.loads(row.features)
        assert set(feats) == set(host.current().model.feature_names)
        assert row.route_action == p["route"]["action"] and row.route_reason
        shap = unpack_shap(row.shap)
        assert abs(row.base_value + shap.sum() - row.margin) < 1e-9
        assert row.customer_ref == p["customer_ref"] and row.actor.startswith("staff:")
        # the raw id is only in the customers table
        assert s.get(Customer, p["customer_ref"]).external_id == customers[1]["customer_id"]
    # and it reads back identically
    again = api.get(f"/v1/predictions/{p['prediction_id']}").json()
    assert again["contributions"] == p["contributions"] and again["score"] == p["score"]


def test_batch_form(api, customers):
    batch = customers[:40]
    r = api.score(batch)
    assert r.status_code == 201, r.text
    out = r.json()
    assert isinstance(out, list) and len(out) == 40
    single = {c["customer_id"]: api.score(c).json()["score"] for c in batch[:3]}
    by_ref = {p["customer_ref"]: p for p in out}
    assert len(by_ref) == 40
    for c, p in zip(batch[:3], out[:3], strict=True):
        assert p["score"] == pytest.approx(single[c["customer_id"]], abs=1e-12)
    for p in out:
        assert abs(p["base_value"] + sum(c["shap"] for c in p["contributions"])
                   - p["margin"]) < 1e-6


def test_batch_limit(api, customers):
    many = (customers * 2)[:1001]
    r = api.score(many)
    assert r.status_code == 422
    assert "1000" in r.text


def test_high_score_goes_to_a_human_task_with_its_reason(api, app, by_risk, host):
    top = by_risk[0]
    assert top["expected_score"] >= host.current().thresholds.high
    p = api.score(top).json()
    assert p["risk_band"] == "high"
    assert p["route"]["action"] == "human_contact"
    assert "High risk" in p["route"]["reason"]
    assert p["retention_task_id"]
    tasks = api.get("/v1/retention-tasks").json()["items"]
    task = next(t for t in tasks if t["task_id"] == p["retention_task_id"])
    assert task["reason"] == p["route"]["reason"]
    assert task["customer_id"] == top["customer_id"]
    assert task["prediction"]["contributions"] == p["contributions"]
    # scoring again does not open a second task
    p2 = api.score(top).json()
    assert p2["retention_task_id"] == p["retention_task_id"]
    with _db(app).session() as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(RetentionTask)
                     .where(RetentionTask.customer_ref == p["customer_ref"]))
    assert n == 1


def test_low_score_does_nothing(api, by_risk, host):
    low = by_risk[-1]
    assert low["expected_score"] < host.current().thresholds.high - \
        host.current().thresholds.review_margin
    p = api.score(low).json()
    assert p["route"]["action"] == "none" and p["retention_task_id"] is None


# -- bad input: a 422 per class, naming the field -------------------------------------------
def _bad(customer, change):
    features = dict(customer["features"])
    change(features)
    return {"customer_id": customer["customer_id"], "features": features}


def _numeric(host):
    return next(f.name for f in host.current().spec.features if f.kind == "numeric")


def _categorical(host):
    return next(f.name for f in host.current().spec.features if f.kind != "numeric")


@pytest.mark.parametrize("case", ["unknown", "missing", "wrong_type", "unseen_category"])
def test_bad_input_is_422_naming_the_field(api, app, customers, host, case):
    num, cat = _numeric(host), _categorical(host)
    change, field, problem = {
        "unknown": (lambda f: f.update(favourite_colour="blue"), "favourite_colour",
                    "unknown feature"),
        "missing": (lambda f: f.pop(num), num, "missing required feature"),
        "wrong_type": (lambda f: f.update({num: "twelve"}), num, "wrong type"),
        "unseen_category": (lambda f: f.update({cat: "Martian"}), cat, "unseen category"),
    }[case]
    r = api.score(_bad(customers[2], change))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["fields"] == [field]
    (err,) = body["errors"]
    assert err["field"] == field and err["problem"] == problem
    assert err["expected"] and err["got"] and err["fix"]
    assert err["loc"] == ["body", "features", field]
    with _db(app).session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0


def test_a_bad_record_in_a_batch_writes_nothing(api, app, customers, host):
    cat = _categorical(host)
    batch = list(customers[:5]) + [_bad(customers[5], lambda f: f.update({cat: "?"}))]
    r = api.score(batch)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["row"] == 5 and err["loc"] == ["body", 5, "features", cat]
    with _db(app).session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_malformed_body_is_422(api):
    r = api.client.post("/v1/predictions", json={"features": {}}, headers=api.headers())
    assert r.status_code == 422 and "customer_id" in r.text


def test_objection_suppresses_scoring(api, app, customers):
    p = api.score(customers[7]).json()
    with _db(app).session() as s:
        s.get(Customer, p["customer_ref"]).objected = True
        s.commit()
    r = api.score(customers[7])
    assert r.status_code == 409 and r.json()["status"] == "suppressed"
    with _db(app).session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 1


def test_thresholds_from_settings_override_the_model(app, host, settings):
    from serving.modelhost import thresholds_for

    spec = host.current().spec
    t = thresholds_for(spec, settings)
    assert (t.high, t.medium) == (spec.decision.high_threshold, spec.decision.medium_threshold)
    t2 = thresholds_for(spec, settings.model_copy(update={"risk_high_threshold": 0.9,
                                                           "risk_medium_threshold": 0.5}))
    assert (t2.high, t2.medium) == (0.9, 0.5)
    assert np.isclose(t2.review_margin, settings.human_review_margin)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"features": {}}, "customer_id"), ([{"customer_id": "a"}], "0.features"),
     ({"customer_id": "a", "features": [1]}, "features")],
)
def test_malformed_request_names_the_field(api, body, field):
    r = api.client.post("/v1/predictions", json=body, headers=api.headers())
    assert r.status_code == 422
    assert r.json()["fields"] == [field]
    (err,) = r.json()["errors"]
    assert err["expected"] and err["got"] and err["problem"]


def test_concurrent_requests_are_group_committed_each_with_its_own_answer(api, app, by_risk):
    """Requests that arrive together share one transaction; each still gets its own
    prediction, task and status, an objecting customer's 409 fails nobody else, and a
    restricted customer's receipt is kept without a task or a risk-list move."""
    import threading
    import time

    high = [c for c in by_risk if c["expected_score"] >= 0.5][:6]
    low = by_risk[-6:]
    objecting, restricted = by_risk[100], high[0]
    first = {c["customer_id"]: api.score(c).json() for c in (objecting, restricted)}
    with _db(app).session() as s:
        s.get(Customer, first[objecting["customer_id"]]["customer_ref"]).objected = True
        s.get(Customer, first[restricted["customer_id"]]["customer_ref"]).restricted = True
        s.commit()

    writer = app.state.score_writer
    real_store, groups_before, jobs_before = writer.store, writer.groups, writer.jobs

    def slow_store(session, jobs):  # a slow disk: the other requests queue meanwhile
        time.sleep(0.05)
        return real_store(session, jobs)

    writer.store = slow_store
    callers = [*high, *low, objecting, [low[0], low[1]]]
    answers: dict[int, object] = {}
    start = threading.Barrier(len(callers))

    def call(n: int) -> None:
        start.wait()
        answers[n] = api.score(callers[n])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(callers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    writer.store = real_store

    assert writer.jobs - jobs_before == len(callers)
    assert writer.groups - groups_before < len(callers)  # shared transactions happened
    assert answers[len(callers) - 2].status_code == 409
    assert answers[len(callers) - 2].json()["status"] == "suppressed"
    ok = [answers[n].json() for n in range(len(callers) - 2)] + answers[len(callers) - 1].json()
    assert all(answers[n].status_code == 201 for n in range(len(callers)) if n != len(callers) - 2)
    with _db(app).session() as s:
        for p in ok:
            row = s.get(Prediction, p["prediction_id"])
            assert row is not None and row.route_action == p["route"]["action"]
            task = s.scalar(sa.select(RetentionTask).where(
                RetentionTask.customer_ref == p["customer_ref"],
                RetentionTask.status.in_(("open", "claimed"))))
            if p["route"]["action"] == "human_contact":
                assert task is not None and p["retention_task_id"] == task.id
            else:
                assert p["retention_task_id"] is None
        gone = s.get(Customer, first[objecting["customer_id"]]["customer_ref"])
        assert s.scalar(sa.select(sa.func.count()).select_from(Prediction)
                        .where(Prediction.customer_ref == gone.customer_ref)) == 1
        kept = s.get(Customer, first[restricted["customer_id"]]["customer_ref"])
        assert kept.latest_prediction_id == first[restricted["customer_id"]]["prediction_id"]
        assert s.scalar(sa.select(sa.func.count()).select_from(RetentionTask).where(
            RetentionTask.customer_ref == kept.customer_ref,
            RetentionTask.status == "open")) <= 1
    mine = next(p for p in ok if p["customer_ref"] == kept.customer_ref)
    assert mine["route"]["action"] == "none" and "restricted" in mine["route"]["reason"]
    assert mine["retention_task_id"] is None
    assert len(ok) == len(high) + len(low) + 2
    assert api.get("/v1/audit/verify", role="admin").json()["ok"] is True
