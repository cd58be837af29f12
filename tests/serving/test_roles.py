"""Deny by default: every route, every role. No token 401, wrong role 403, a customer
token on a staff route 403. The table must list every route the app has."""

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from tests.serving.conftest import access_token
from tests.serving.role_table import role_table

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
# a link is exchanged for a session without any other token (tests/serving/customers)
EXCHANGE = {("POST", "/v1/sessions")}
# the customer first: an erasure (admin) ends their session
ROLES = ("customer", "agent", "reviewer", "admin", "integration", "auditor")
# METHOD /path -> the roles allowed; "customer" = a customer access-link token
RULES = role_table("""
    # the served model: no customer in it, so the outside auditor reads it too (issue 18)
    GET    /v1/model                                             agent reviewer admin auditor
    POST   /v1/admin/reload-model                                admin
    POST   /v1/admin/users                                       admin
    GET    /v1/admin/users                                       admin
    POST   /v1/admin/users/{user_id}/deactivate                  admin
    POST   /v1/admin/users/{user_id}/rotate-token                admin
    PUT    /v1/admin/users/{user_id}/role                        admin
    POST   /v1/predictions                                       agent admin
    GET    /v1/predictions/{prediction_id}                       agent reviewer admin customer
    GET    /v1/retention-tasks                                   agent admin
    POST   /v1/retention-tasks/{task_id}/claim                   agent admin
    GET    /v1/retention-tasks/{task_id}                         agent admin
    GET    /v1/retention-tasks/{task_id}/attempts                agent admin
    POST   /v1/retention-tasks/{task_id}/attempts                agent admin
    # blind-first review (issue 18), contest analytics (issue 18), who left (issue 17)
    POST   /v1/disputes/{dispute_id}/judgement                   reviewer admin
    GET    /v1/analytics/contests                                reviewer admin auditor
    GET    /v1/analytics/contests.csv                            reviewer admin auditor
    GET    /v1/compliance/report                                 reviewer admin auditor
    POST   /v1/churn-events                                      integration admin
    POST   /v1/retention-tasks/{task_id}/complete                agent admin
    POST   /v1/retention-tasks/{task_id}/release                 agent admin
    POST   /v1/retention-tasks/{task_id}/reassign                agent admin
    GET    /v1/retention-tasks/counts                            agent admin
    GET    /v1/risk-list                                         agent admin
    # issue 15: only the customer portal receives a link; staff only send one
    POST   /v1/customers/{customer_id}/access-link               integration
    POST   /v1/customers/{customer_id}/access-link/send          agent reviewer admin
    PUT    /v1/customers/{customer_id}/contact                   integration
    POST   /v1/customers/{customer_id}/access-links/revoke       agent reviewer admin integration
    DELETE /v1/sessions/current                                  customer
    POST   /v1/customers/{customer_id}/assisted/disputes         agent admin
    POST   /v1/customers/{customer_id}/assisted/objections       agent admin
    GET    /v1/me                                                customer
    # contestability (issue 4)
    GET    /v1/me/prediction                                     customer
    POST   /v1/disputes                                          customer
    GET    /v1/disputes                                          customer reviewer admin
    GET    /v1/disputes/{dispute_id}                             customer reviewer admin
    GET    /v1/reviews                                           reviewer admin
    POST   /v1/disputes/{dispute_id}/preview                     reviewer admin
    POST   /v1/disputes/{dispute_id}/decision                    reviewer admin
    POST   /v1/objections                                        customer
    DELETE /v1/objections                                        customer
    DELETE /v1/customers/{customer_id}                           admin
    # the chain's verification is aggregate; its entries carry pseudonyms: admins only
    GET    /v1/audit/verify                                      admin auditor
    GET    /v1/audit/events                                      admin
    # what would lower the risk (issue 16): staff read it, the customer reads their own
    GET    /v1/customers/{customer_id}/recourse                  agent reviewer admin
    GET    /v1/me/recourse                                       customer
    # rights requests and the customer's own copy (issue 18)
    GET    /v1/me/copy                                           customer
    GET    /v1/me/rights-requests                                customer
    POST   /v1/me/rights-requests                                customer
    POST   /v1/me/rights-requests/{request_id}/cancel            customer
    POST   /v1/customers/{customer_id}/assisted/rights-requests  agent admin
    GET    /v1/rights-requests                                   reviewer admin
    POST   /v1/rights-requests/{request_id}/take                 reviewer admin
    POST   /v1/rights-requests/{request_id}/extend               reviewer admin
    POST   /v1/rights-requests/{request_id}/close                reviewer admin
""", who=frozenset(ROLES))


def api_routes(app):
    """Every APIRoute, including those of included routers."""
    return [rc.original_route for rc in iter_route_contexts(app.routes)
            if isinstance(rc.original_route, APIRoute)]


def _routes(app):
    return {(m, r.path) for r in api_routes(app) for m in r.methods}


def test_every_route_has_a_rule(app):
    """Every JSON API route (/v1/...) and the public probes; the server-rendered pages
    (serving/web) are covered by tests/serving/web."""
    api = {(m, p) for m, p in _routes(app) if p.startswith("/v1/") or (m, p) in PUBLIC}
    assert api == set(RULES) | PUBLIC | EXCHANGE


def test_the_table_refuses_a_misspelt_role_and_a_route_listed_twice():
    """What a dict literal let pass silently: the later row winning, a role denied by a
    typo."""
    assert role_table("GET /v1/x  admin  # note", frozenset(ROLES)) == {
        ("GET", "/v1/x"): frozenset({"admin"})}
    with pytest.raises(ValueError, match="unknown"):
        role_table("GET /v1/x  admn", frozenset(ROLES))
    with pytest.raises(ValueError, match="listed twice"):
        role_table("GET /v1/x  admin\nGET /v1/x  agent", frozenset(ROLES))
    with pytest.raises(ValueError, match="METHOD /path"):
        role_table("/v1/x GET admin", frozenset(ROLES))


@pytest.fixture
def world(api, customers):
    """A scored customer, their open task if any, and their access link."""
    p = api.score(customers[0]).json()
    session_token = access_token(api, customers[0]["customer_id"])
    return {
        "prediction_id": p["prediction_id"],
        "task_id": "no-such-task",
        "user_id": "no-such-user",
        "customer_id": customers[0]["customer_id"],
        "customer": session_token,
        "body": {"customer_id": customers[1]["customer_id"],
                 "features": customers[1]["features"]},
        "dispute_id": "no-such-dispute",
        "request_id": "no-such-request",
        "dispute": {"prediction_id": p["prediction_id"], "statement": "wrong",
                    "contested_features": [], "wants_human_review": True},
    }


def _call(client, method, path, world, token=None):
    url = path.format(**world)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if path == "/v1/predictions":
        body = world["body"]
    elif path.endswith("/complete"):
        body = {"outcome": "retained", "note": ""}
    elif path.endswith("/role"):
        body = {"role": "agent"}
    elif path.endswith("/contact"):
        body = {"address": "someone@example.org", "lang": "en"}
    elif path == "/v1/admin/users":
        body = {"name": "x", "role": "agent"}
    elif path == "/v1/disputes" and method == "POST" or path.endswith("/assisted/disputes"):
        body = world["dispute"]
    elif path.endswith("/decision"):
        body = {"decision": "upheld", "rationale": "checked"}
    elif path.endswith("/preview"):
        body = {"corrected_features": {"tenure": 1}}
    elif path.endswith("rights-requests") and method == "POST":
        body = {"kind": "rectification"}
    elif path.endswith("/extend"):
        body = {"reason": "We need the archive."}
    elif path.endswith("/close"):
        body = {"status": "done", "outcome": "done"}
    return client.request(method, url, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_role_rules(client, tokens, world, method, path):
    allowed = RULES[(method, path)]
    assert _call(client, method, path, world).status_code == 401
    assert _call(client, method, path, world, token="st_forged").status_code == 401
    for role in ROLES:
        token = world["customer"] if role == "customer" else tokens[role]
        status = _call(client, method, path, world, token).status_code
        if role in allowed:
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes(client, method, path):
    assert client.request(method, path).status_code == 200


def test_admin_token_from_settings_and_revoked_users(client, tokens, app):
    from sqlalchemy import update

    from serving.storage.tables import StaffUser

    h = {"Authorization": f"Bearer {tokens['agent']}"}
    assert client.get("/v1/model", headers=h).status_code == 200
    with app.state.db.session() as s:
        s.execute(update(StaffUser).values(active=False))
        s.commit()
    assert client.get("/v1/model", headers=h).status_code == 401
    assert client.get("/v1/model", headers={"Authorization": f"Bearer {tokens['admin']}"}
                      ).status_code == 200
