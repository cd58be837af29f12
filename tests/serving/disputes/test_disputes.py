"""Disputes: idempotency, restriction, deadlines, validation and BOLA (a customer never
reaches another customer's prediction or dispute, by any route)."""

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from serving.disputes.service import days_left, one_month_after
from serving.storage.tables import AuditEvent, Dispute, IdempotencyKey
from tests.serving.conftest import dispute_body


@pytest.mark.parametrize(("received", "due"), [
    ("2026-01-31T10:00:00", "2026-02-28T10:00:00"),
    ("2028-01-31T10:00:00", "2028-02-29T10:00:00"),
    ("2026-03-15T23:59:59", "2026-04-15T23:59:59"),
    ("2026-12-31T00:00:00", "2027-01-31T00:00:00"),
])
def test_deadline_is_one_calendar_month(received, due):
    r = datetime.fromisoformat(received).replace(tzinfo=UTC)
    assert one_month_after(r) == datetime.fromisoformat(due).replace(tzinfo=UTC)
    assert days_left(one_month_after(r), r) in (28, 29, 30, 31)


def test_replay_returns_the_same_dispute_and_other_body_is_422(contest, by_risk, app):
    p, me = contest.scored(by_risk[0])
    first = contest.dispute(p, me, key="k-1")
    assert first.status_code == 201, first.text
    again = contest.dispute(p, me, key="k-1")
    assert again.status_code == 200
    assert again.json()["dispute_id"] == first.json()["dispute_id"]
    assert again.json()["due_by"] == first.json()["due_by"]
    other = contest.dispute(p, me, key="k-1", statement="something else")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["fields"]
    # a new key for the same prediction while its dispute is open: 409 naming it
    dup = contest.dispute(p, me, key="k-2")
    assert dup.status_code == 409 and dup.json()["dispute_id"] == first.json()["dispute_id"]
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "dispute.opened")) == 1


def test_same_key_of_two_customers_is_two_disputes(contest, by_risk):
    a, me_a = contest.scored(by_risk[0])
    b, me_b = contest.scored(by_risk[1])
    ra = contest.dispute(a, me_a, key="shared")
    rb = contest.dispute(b, me_b, key="shared")
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["dispute_id"] != rb.json()["dispute_id"]


def test_concurrent_requests_with_one_key_make_one_dispute(contest, by_risk, app):
    p, me = contest.scored(by_risk[0])
    body = dispute_body(p, contest.host)
    results, barrier = [], threading.Barrier(6)

    def send():
        barrier.wait()
        results.append(contest.client.post("/v1/disputes", json=body,
                                           headers=me | {"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200] * 5 + [201], \
        [r.text for r in results]
    assert len({r.json()["dispute_id"] for r in results}) == 1
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 1


def test_unknown_feature_or_value_is_422_naming_the_field(contest, by_risk):
    p, me = contest.scored(by_risk[0])
    body = dispute_body(p, contest.host)
    body["contested_features"] = [{"feature": "ShoeSize", "claimed_value": 43}]
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 422 and "ShoeSize" in r.json()["fields"]
    spec = contest.host.current().spec
    cat = next(f for f in spec.features if f.kind != "numeric")
    body["contested_features"] = [{"feature": cat.name, "claimed_value": "Not a category"}]
    r = contest.client.post("/v1/disputes", json=body, headers=me)
    assert r.status_code == 422 and r.json()["fields"] == [cat.name]
    assert r.json()["errors"][0]["problem"] == "unseen category"
    body["contested_features"] = [{"feature": cat.name, "claimed_value": cat.categories[0]}] * 2
    assert contest.client.post("/v1/disputes", json=body, headers=me).status_code == 422
    assert contest.client.get("/v1/me", headers=me).json()["restricted"] is False


def test_bola_a_never_reaches_b(contest, by_risk, api):
    a, me_a = contest.scored(by_risk[0])
    b, me_b = contest.scored(by_risk[1])
    db = contest.dispute(b, me_b).json()
    # A cannot read B's prediction or dispute
    assert api.client.get(f"/v1/predictions/{b['prediction_id']}", headers=me_a).status_code \
        == 404
    assert api.client.get(f"/v1/disputes/{db['dispute_id']}", headers=me_a).status_code == 404
    # ... nor contest B's prediction (same answer as a prediction that does not exist)
    r = contest.dispute(b, me_a)
    assert r.status_code == 404
    missing = dispute_body(b, contest.host) | {"prediction_id": "no-such-prediction"}
    assert api.client.post("/v1/disputes", json=missing, headers=me_a).json() == r.json()
    # ... nor see B's disputes in lists or on their own page
    assert api.client.get("/v1/disputes", headers=me_a).json()["items"] == []
    assert api.client.get("/v1/me/prediction", headers=me_a).json()["disputes"] == []
    mine = api.client.get("/v1/me/prediction", headers=me_a).json()
    assert mine["prediction"]["prediction_id"] == a["prediction_id"]
    # ... nor decide or preview anything (customer tokens are not staff)
    assert api.client.post(f"/v1/disputes/{db['dispute_id']}/decision", headers=me_a,
                           json={"decision": "upheld", "rationale": "x"}).status_code == 403
    assert api.client.post(f"/v1/disputes/{db['dispute_id']}/preview", headers=me_a,
                           json={"corrected_features": {"x": 1}}).status_code == 403
    # B is still restricted, A is not
    assert api.client.get("/v1/me", headers=me_b).json()["restricted"] is True
    assert api.client.get("/v1/me", headers=me_a).json()["restricted"] is False
    # a reviewer sees B's dispute; an agent does not
    assert api.get(f"/v1/disputes/{db['dispute_id']}", role="reviewer").status_code == 200
    assert api.get(f"/v1/disputes/{db['dispute_id']}", role="agent").status_code == 403


def test_withdrawn_prediction_cannot_be_contested(contest, by_risk):
    p, me = contest.scored(by_risk[0])
    d = contest.dispute(p, me).json()
    r = contest.decide(d["dispute_id"], {"decision": "overturned", "rationale": "Wrong data."})
    assert r.status_code == 201, r.text
    assert contest.dispute(p, me).status_code == 409


def test_what_the_database_cannot_store_is_422_not_500(contest, by_risk, api):
    p, me = contest.scored(by_risk[0])
    spec = contest.host.current().spec
    num = next(f for f in spec.features if f.kind == "numeric")
    raw = (f'{{"prediction_id": "{p["prediction_id"]}", "statement": "x", '
           f'"contested_features": [{{"feature": "{num.name}", "claimed_value": NaN}}]}}')
    h = me | {"Content-Type": "application/json"}
    assert api.client.post("/v1/disputes", content=raw, headers=h).status_code == 422
    body = dispute_body(p, contest.host, statement="nul \x00 here")
    assert api.client.post("/v1/disputes", json=body, headers=me).status_code == 422
    assert api.client.get("/v1/disputes/abc%00def", headers=me).status_code == 404
    assert api.get("/v1/audit/events", role="admin", action="a\x00").status_code == 422
    assert api.get("/v1/audit/events", role="admin", before_seq=2**70).status_code == 422
    d = contest.dispute(p, me).json()
    raw = ('{"decision": "rectified", "rationale": "x", '
           f'"corrected_features": {{"{num.name}": Infinity}}}}')
    r = api.client.post(f"/v1/disputes/{d['dispute_id']}/decision", content=raw,
                        headers=api.headers("reviewer") | {"Content-Type": "application/json"})
    assert r.status_code == 422
    assert api.get("/v1/reviews", role="reviewer", cursor="bm90LWpzb24").status_code == 422


def test_two_app_instances_one_key_one_dispute(contest, by_risk, settings, host, app):
    """Two instances on one database (as replicas would be) racing with one key."""
    from fastapi.testclient import TestClient

    from serving.main import create_app

    p, me = contest.scored(by_risk[0])
    body = dispute_body(p, contest.host)
    results, barrier = [], threading.Barrier(6)
    with TestClient(create_app(settings, host=host)) as second:
        clients = [contest.client, second] * 3

        def send(c):
            barrier.wait()
            results.append(c.post("/v1/disputes", json=body,
                                  headers=me | {"Idempotency-Key": "replicas"}))

        threads = [threading.Thread(target=send, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert len({r.json()["dispute_id"] for r in results}) == 1
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 1
        from serving.audit.service import verify
        assert verify(s).ok
