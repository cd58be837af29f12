"""Customer access links: signed, expiring, scoped to one customer, rate limited."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from serving.auth.tokens import issue_link
from serving.main import create_app


def _link(api, customer_id):
    r = api.post(f"/v1/customers/{customer_id}/access-link")
    assert r.status_code == 201, r.text
    return r.json()


def test_link_is_issued_for_a_scored_customer(api, customers, settings):
    p = api.score(customers[0]).json()
    link = _link(api, customers[0]["customer_id"])
    assert link["url"].startswith(settings.public_base_url) and link["token"] in link["url"]
    assert "/me?token=" in link["url"]  # /me exchanges it for a cookie, then redirects
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(hours=settings.link_ttl_hours - 1) < expires - datetime.now(UTC) \
        <= timedelta(hours=settings.link_ttl_hours)
    assert customers[0]["customer_id"] not in link["token"]
    me = api.client.get("/v1/me", headers={"Authorization": f"Bearer {link['token']}"}).json()
    assert me["customer_ref"] == p["customer_ref"]
    assert me["latest_prediction_id"] == p["prediction_id"]


def test_unknown_customer_gets_no_link(api):
    assert api.post("/v1/customers/nobody-at-all/access-link").status_code == 404


def test_a_link_for_a_never_reads_b(api, customers):
    a = api.score(customers[0]).json()
    b = api.score(customers[1]).json()
    link_a = {"Authorization": f"Bearer {_link(api, customers[0]['customer_id'])['token']}"}
    own = api.client.get(f"/v1/predictions/{a['prediction_id']}", headers=link_a)
    assert own.status_code == 200 and own.json()["customer_ref"] == a["customer_ref"]
    other = api.client.get(f"/v1/predictions/{b['prediction_id']}", headers=link_a)
    assert other.status_code == 404
    assert b["customer_ref"] not in other.text
    missing = api.client.get("/v1/predictions/does-not-exist", headers=link_a)
    assert missing.json()["detail"] == other.json()["detail"]  # indistinguishable
    # staff see both
    assert api.get(f"/v1/predictions/{b['prediction_id']}").status_code == 200


def test_expired_and_forged_links_are_401(api, customers, settings):
    p = api.score(customers[0]).json()
    old = issue_link(p["customer_ref"], settings.link_signing_secret, timedelta(hours=1),
                     now=datetime.now(UTC) - timedelta(hours=3))
    r = api.client.get("/v1/me", headers={"Authorization": f"Bearer {old.token}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged = issue_link(p["customer_ref"], "not-the-secret", timedelta(hours=1))
    r = api.client.get("/v1/me", headers={"Authorization": f"Bearer {forged.token}"})
    assert r.status_code == 401


def test_customer_routes_are_rate_limited(settings, host, tokens, customers):
    tight = settings.model_copy(update={"rate_limit_per_token": 3,
                                       "rate_limit_per_client": 5})
    with TestClient(create_app(tight, host=host)) as c:
        staff = {"Authorization": f"Bearer {tokens['agent']}"}
        c.post("/v1/predictions", headers=staff, json=customers[0])
        c.post("/v1/predictions", headers=staff, json=customers[1])
        links = [c.post(f"/v1/customers/{customers[i]['customer_id']}/access-link",
                        headers=staff).json()["token"] for i in (0, 1)]
        h0, h1 = ({"Authorization": f"Bearer {t}"} for t in links)
        assert [c.get("/v1/me", headers=h0).status_code for _ in range(4)] == \
            [200, 200, 200, 429]  # per token
        r = c.get("/v1/me", headers=h1)
        assert r.status_code == 200  # another token still works...
        r = c.get("/v1/me", headers=h1)
        assert r.status_code == 429  # ...until the client's own limit
        assert int(r.headers["Retry-After"]) >= 1
        assert c.get("/v1/me").status_code == 429  # failed attempts count too
        pid = c.get("/v1/me", headers=staff)  # staff on a customer-only route: 403
        assert pid.status_code == 403
        p = c.post("/v1/predictions", headers=staff, json=customers[2]).json()
        for _ in range(3):  # staff are not limited on the shared customer routes
            assert c.get(f"/v1/predictions/{p['prediction_id']}", headers=staff
                         ).status_code == 200
