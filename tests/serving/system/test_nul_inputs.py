"""No 5xx from any input on either database: a NUL byte (which PostgreSQL cannot store)
in a customer id, in an id path a customer can reach, in a user name, in a task note (JSON
and the staff form), in a dispute statement or a query string is refused with 422, or 404
for an id path (it names nothing), and nothing is written. Table-driven, on SQLite and
PostgreSQL (the `client` fixture's databases)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from serving.storage.tables import Customer, RetentionTask, StaffUser
from tests.serving.conftest import access_token, bearer
from tests.serving.web.test_pages import csrf_of, sign_in

NUL = "a\x00b"


def _js(value: Any) -> dict[str, Any]:
    return {"content": json.dumps(value).encode(),
            "headers": {"content-type": "application/json"}}


def test_nul_bytes_are_refused_never_a_5xx(client, api, by_risk, tokens, host):
    scored = api.score(by_risk[0]).json()
    task = scored["retention_task_id"]
    assert task, scored
    assert api.post(f"/v1/retention-tasks/{task}/claim").status_code == 200
    customer = bearer(access_token(api, by_risk[0]["customer_id"]))
    agent, admin = api.headers("agent"), api.headers("admin")
    item = {"customer_id": by_risk[1]["customer_id"], "features": by_risk[1]["features"]}
    statement = {"prediction_id": scored["prediction_id"], "statement": NUL,
                 "contested_features": [], "wants_human_review": True}

    # (what, method, path, headers, extra request arguments, statuses allowed)
    cases = [
        ("customer id", "POST", "/v1/predictions", agent,
         _js(item | {"customer_id": NUL}), {422}),
        ("customer id in a list", "POST", "/v1/predictions", agent,
         _js([item, item | {"customer_id": NUL}]), {422}),
        ("customer id path (access link)", "POST", "/v1/customers/a%00b/access-link",
         agent, {}, {404, 422}),
        ("customer id path (erasure)", "DELETE", "/v1/customers/a%00b", admin, {},
         {404, 422}),
        ("prediction path, by a customer", "GET", "/v1/predictions/a%00b", customer, {},
         {404}),
        ("prediction path, by staff", "GET", "/v1/predictions/a%00b", agent, {}, {404}),
        ("dispute path, by a customer", "GET", "/v1/disputes/a%00b", customer, {}, {404}),
        ("task path", "POST", "/v1/retention-tasks/a%00b/claim", agent, {}, {404}),
        ("user name", "POST", "/v1/admin/users", admin,
         _js({"name": NUL, "role": "agent"}), {422}),
        ("task note", "POST", f"/v1/retention-tasks/{task}/complete", agent,
         _js({"outcome": "retained", "note": NUL}), {422}),
        ("dispute statement", "POST", "/v1/disputes", customer, _js(statement), {422}),
        ("query string", "GET", "/v1/risk-list", agent, {"params": {"cursor": NUL}}, {422}),
    ]
    for what, method, path, headers, extra, allowed in cases:
        extra = dict(extra)
        h = headers | extra.pop("headers", {})
        r = client.request(method, path, headers=h, **extra)
        assert r.status_code in allowed, (what, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/json"), what
        assert r.json()["error"], what

    # the staff form: a note with a NUL byte
    sign_in(client, tokens["agent"])
    page = client.get(f"/staff/customers/{scored['customer_ref']}")
    assert page.status_code == 200
    r = client.post(f"/staff/tasks/{task}/complete",
                    data={"csrf_token": csrf_of(page.text), "ref": scored["customer_ref"],
                          "outcome": "retained", "note": NUL})
    assert r.status_code == 422, (r.status_code, r.text[:300])
    client.cookies.clear()

    # nothing was written, and the service carries on
    with client.app.state.db.session() as s:
        assert s.get(RetentionTask, task).status == "claimed"
        assert not [n for n in s.scalars(sa.select(StaffUser.name)) if "\x00" in n]
        assert s.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    r = api.post(f"/v1/retention-tasks/{task}/complete",
                 json={"outcome": "retained", "note": "called, all fine"})
    assert r.status_code == 200, r.text
    assert api.score(by_risk[1]).status_code == 201
