"""Customer access links (issue 15): they go to the customer, never to staff. The
customer portal (integration role) receives one; agents and reviewers only send one to
the contact address, which they never see. A link is exchanged once for a session."""

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from serving.main import create_app
from serving.storage.tables import AccessLink
from tests.serving.conftest import (
    access_token,
    bearer,
    deliver,
    link_in,
    mailbox,
    open_session,
    portal_link,
    set_contact,
)

TOKEN = re.compile(r"\b(cl|cs)_[A-Za-z0-9_\-]{20,}")
STAFF = ("agent", "reviewer", "admin")


def test_the_portal_receives_a_link_used_once(api, customers, settings):
    p = api.score(customers[0]).json()
    link = portal_link(api, customers[0]["customer_id"])
    assert link["url"].startswith(settings.public_base_url) and link["token"] in link["url"]
    assert "/me?token=" in link["url"]  # /me shows a button that exchanges it for a cookie
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(hours=settings.link_ttl_hours - 1) < expires - datetime.now(UTC) \
        <= timedelta(hours=settings.link_ttl_hours)
    assert customers[0]["customer_id"] not in link["token"]
    # the link itself opens nothing: it is exchanged once for a session
    assert api.client.get("/v1/me", headers=bearer(link["token"])).status_code == 401
    me = api.client.get("/v1/me", headers=bearer(open_session(api.client, link["token"])))
    assert me.json()["customer_ref"] == p["customer_ref"]
    assert me.json()["latest_prediction_id"] == p["prediction_id"]
    again = api.client.post("/v1/sessions", json={"link": link["token"]})
    assert again.status_code == 401  # dead after one use


def test_no_staff_role_obtains_a_customer_token_by_any_route(api, customers, client):
    """Every route that can return a customer's token, against every staff role."""
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    set_contact(api, cid, "secret.address@example.org")
    for role in STAFF:
        r = api.post(f"/v1/customers/{cid}/access-link", role=role)
        assert r.status_code == 403, (role, r.text)
        assert not TOKEN.search(r.text)
        r = api.post(f"/v1/customers/{cid}/access-link/send", role=role)
        assert r.status_code == 202, (role, r.text)
        assert not TOKEN.search(r.text) and "secret.address" not in r.text
        r = client.put(f"/v1/customers/{cid}/contact", headers=api.headers(role),
                       json={"address": "agent@evil.example", "lang": "en"})
        assert r.status_code == 403, (role, r.text)  # cannot redirect the channel
        for path in ("/v1/me", "/v1/me/prediction", "/v1/audit/events"):
            r = api.get(path, role=role)
            assert not TOKEN.search(r.text), (role, path)
    # the routes whose answer holds a token are exactly: the portal's link (integration
    # only, tested above), the exchange (needs the link) and a staff user's own new token
    # (admin only: created or rotated)
    doc = client.get("/openapi.json").json()
    with_token = {name for name, schema in doc["components"]["schemas"].items()
                  if "token" in schema.get("properties", {})}
    tokened = {(method, path) for path, item in doc["paths"].items()
               for method, op in item.items()
               for code, resp in op.get("responses", {}).items() if code.startswith("2")
               for media in resp.get("content", {}).values()
               if media.get("schema", {}).get("$ref", "").split("/")[-1] in with_token}
    assert tokened == {("post", "/v1/customers/{customer_id}/access-link"),
                       ("post", "/v1/sessions"), ("post", "/v1/admin/users"),
                       ("post", "/v1/admin/users/{user_id}/rotate-token")}, tokened


def test_staff_pages_never_show_a_link(api, customers, client, settings, app):
    from tests.serving.web.test_pages import csrf_of, sign_in

    cid = customers[0]["customer_id"]
    p = api.score(customers[0]).json()
    set_contact(api, cid, "hidden@example.org")
    for role in STAFF:
        with TestClient(app) as c:
            sign_in(c, api.tokens[role])
            page = c.get(f"/staff/customers/{p['customer_ref']}")
            assert page.status_code == 200
            r = c.post(f"/staff/customers/{p['customer_ref']}/access-link",
                       data={"csrf_token": csrf_of(page.text)})
            assert r.status_code == 200 and "on its way" in r.text
            for text in (page.text, r.text):
                assert not TOKEN.search(text) and "hidden@example.org" not in text
    deliver(app)
    assert len(mailbox(settings, "hidden@example.org")) == len(STAFF)


def test_sent_link_arrives_in_the_mailbox_and_opens_once(api, customers, app, settings):
    cid = customers[0]["customer_id"]
    p = api.score(customers[0]).json()
    r = api.post(f"/v1/customers/{cid}/access-link/send")
    assert r.status_code == 409  # no contact address yet
    set_contact(api, cid, "ana@example.org", "fr")
    r = api.post(f"/v1/customers/{cid}/access-link/send")
    assert r.status_code == 202
    assert deliver(app) == {"sent": 1, "recovered": 0, "retried": 0, "failed": 0}
    (msg,) = mailbox(settings, "ana@example.org")
    assert msg["Subject"] == "Votre page personnelle"
    session_token = open_session(api.client, link_in(msg))
    assert api.client.get("/v1/me", headers=bearer(session_token)).json()["customer_ref"] \
        == p["customer_ref"]
    assert api.client.post("/v1/sessions", json={"link": link_in(msg)}).status_code == 401
    events = api.get("/v1/audit/events", role="admin",
                     customer_ref=p["customer_ref"]).json()["items"]
    actions = [e["action"] for e in events]
    assert "access_link.sent" in actions and "session.opened" in actions
    opened = next(e for e in events if e["action"] == "session.opened")
    assert opened["object_ids"]["link_issued_by"].startswith("staff:")
    # delivered: the outbox keeps no token
    with app.state.db.session() as s:
        from serving.storage import outbox
        (row,) = outbox.for_customer(s, p["customer_ref"])
    assert row.status == "sent" and not TOKEN.search(row.body or "")


def test_unknown_customer_gets_no_link(api):
    assert api.post("/v1/customers/nobody-at-all/access-link",
                    role="integration").status_code == 404
    assert api.post("/v1/customers/nobody-at-all/access-link/send").status_code == 404


def test_a_session_for_a_never_reads_b(api, customers):
    a = api.score(customers[0]).json()
    b = api.score(customers[1]).json()
    link_a = bearer(open_session(api.client,
                                 portal_link(api, customers[0]["customer_id"])["token"]))
    own = api.client.get(f"/v1/predictions/{a['prediction_id']}", headers=link_a)
    assert own.status_code == 200 and own.json()["customer_ref"] == a["customer_ref"]
    other = api.client.get(f"/v1/predictions/{b['prediction_id']}", headers=link_a)
    assert other.status_code == 404
    assert b["customer_ref"] not in other.text
    missing = api.client.get("/v1/predictions/does-not-exist", headers=link_a)
    assert missing.json()["detail"] == other.json()["detail"]  # indistinguishable
    # staff see both
    assert api.get(f"/v1/predictions/{b['prediction_id']}").status_code == 200


def test_expired_revoked_and_forged_links_are_401(api, customers, app):
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    old = portal_link(api, cid)
    with app.state.db.session() as s:
        s.execute(update(AccessLink).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    assert api.client.post("/v1/sessions", json={"link": old["token"]}).status_code == 401
    fresh = portal_link(api, cid)
    r = api.post(f"/v1/customers/{cid}/access-links/revoke")
    assert r.status_code == 200 and r.json()["revoked"] == 2  # the expired one too
    assert api.client.post("/v1/sessions", json={"link": fresh["token"]}).status_code == 401
    forged = "cl_" + "A" * 43
    assert api.client.post("/v1/sessions", json={"link": forged}).status_code == 401
    assert api.client.get("/v1/me", headers=bearer("cs_" + "A" * 43)).status_code == 401


def test_revoking_a_customers_links_ends_the_sessions_they_opened(api, customers):
    """A link that reached the wrong person: revoking it must also end the session it
    already opened, not leave it alive for its 12 hours."""
    cid = customers[1]["customer_id"]
    api.score(customers[1])
    api.score(customers[2])
    opened = bearer(open_session(api.client, portal_link(api, cid)["token"]))
    unused = portal_link(api, cid)
    other = bearer(access_token(api, customers[2]["customer_id"]))
    assert api.client.get("/v1/me", headers=opened).status_code == 200
    r = api.post(f"/v1/customers/{cid}/access-links/revoke", role="reviewer")
    assert r.status_code == 200 and r.json() == {"revoked": 1, "sessions_ended": 1}
    assert api.client.get("/v1/me", headers=opened).status_code == 401
    assert api.client.post("/v1/sessions", json={"link": unused["token"]}).status_code == 401
    assert api.client.get("/v1/me", headers=other).status_code == 200  # another customer's
    events = api.client.get("/v1/audit/events", headers=api.headers("admin"),
                            params={"action": "access_link.revoked"}).json()["items"]
    assert events[0]["object_ids"] == {"revoked": 1, "sessions_ended": 1}


def test_sign_out_and_erasure_end_customer_sessions(api, customers):
    cid = customers[0]["customer_id"]
    api.score(customers[0])
    one = bearer(open_session(api.client, portal_link(api, cid)["token"]))
    two = bearer(open_session(api.client, portal_link(api, cid)["token"]))
    assert api.client.delete("/v1/sessions/current", headers=one).status_code == 200
    assert api.client.get("/v1/me", headers=one).status_code == 401
    assert api.client.get("/v1/me", headers=two).status_code == 200
    assert api.client.delete(f"/v1/customers/{cid}", headers=api.headers("admin")
                             ).status_code == 200
    assert api.client.get("/v1/me", headers=two).status_code == 401


def test_customer_routes_are_rate_limited(settings, host, tokens, customers):
    tight = settings.model_copy(update={"rate_limit_per_token": 3,
                                       "rate_limit_per_client": 7})
    with TestClient(create_app(tight, host=host)) as c:
        staff = bearer(tokens["agent"])
        portal = bearer(tokens["integration"])
        c.post("/v1/predictions", headers=staff, json=customers[0])
        c.post("/v1/predictions", headers=staff, json=customers[1])
        links = [c.post(f"/v1/customers/{customers[i]['customer_id']}/access-link",
                        headers=portal).json()["token"] for i in (0, 1)]
        h0, h1 = (bearer(open_session(c, t)) for t in links)  # 2 of the client's 7
        assert [c.get("/v1/me", headers=h0).status_code for _ in range(4)] == \
            [200, 200, 200, 429]  # per session
        r = c.get("/v1/me", headers=h1)
        assert r.status_code == 200  # another session still works...
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


def test_customer_page_sign_out_ends_the_session(api, customers, app):
    from tests.serving.web.test_pages import csrf_of, open_me

    api.score(customers[0])
    link = portal_link(api, customers[0]["customer_id"])
    with TestClient(app) as c:
        assert open_me(c, link["token"]).status_code == 200
        stolen = dict(c.cookies)
        page = c.get("/me")
        c.post("/me/sign-out", data={"csrf_token": csrf_of(page.text)})
    with TestClient(app) as other:
        for k, v in stolen.items():
            other.cookies.set(k, v)
        assert other.get("/me/contest").status_code == 401
    with TestClient(app) as again:  # the link was used: it opens nothing any more
        page = again.get("/me", params={"token": link["token"]})
        assert again.post("/me/session", data={"csrf_token": csrf_of(page.text),
                                                "token": link["token"]}).status_code == 401


def _holds_token(doc: dict, schema: dict, seen: frozenset = frozenset()) -> bool:
    """A response schema that can carry a secret: a property named like one (token, link,
    secret), at any depth (objects, arrays, unions, referenced schemas). (A `url` alone is
    not one: the DPO's and the authority's web addresses are public.)"""
    ref = schema.get("$ref")
    if ref:
        name = ref.split("/")[-1]
        if name in seen:
            return False
        return _holds_token(doc, doc["components"]["schemas"][name], seen | {name})
    props = schema.get("properties", {})
    if any(re.search(r"token|^link$|secret", p) for p in props):
        return True
    parts = [*props.values(), schema.get("items") or {},
             schema.get("additionalProperties") if isinstance(
                 schema.get("additionalProperties"), dict) else {},
             *schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
    return any(_holds_token(doc, p, seen) for p in parts if p)


def test_every_route_is_checked_against_every_staff_role(api, customers, client):
    """Issue 15's first must-show, over the whole API as it stands: (1) the only routes
    whose answer can carry a token, at any depth of its schema, are the four known ones;
    (2) with live links, a session and an unsent message holding a link in the outbox,
    every GET route, as every staff role, answers without any link or session token."""
    doc = client.get("/openapi.json").json()
    carrying = {(method, path) for path, item in doc["paths"].items()
                for method, op in item.items()
                for code, resp in op.get("responses", {}).items() if code.startswith("2")
                for media in resp.get("content", {}).values()
                if _holds_token(doc, media.get("schema", {}))}
    assert carrying == {("post", "/v1/customers/{customer_id}/access-link"),
                        ("post", "/v1/sessions"), ("post", "/v1/admin/users"),
                        ("post", "/v1/admin/users/{user_id}/rotate-token")}, carrying
    cid = customers[0]["customer_id"]
    p = api.score(customers[0]).json()
    set_contact(api, cid, "hidden@example.org")
    portal = portal_link(api, cid)["token"]  # a live link (the portal's)
    session = open_session(api.client, portal_link(api, cid)["token"])  # a live session
    assert api.post(f"/v1/customers/{cid}/access-link/send").status_code == 202  # queued
    secrets_ = {portal, session}
    values = {"customer_id": cid, "customer_ref": p["customer_ref"],
              "prediction_id": p["prediction_id"]}
    checked = 0
    for path, item in doc["paths"].items():
        if "get" not in item:
            continue
        names = re.findall(r"{(\w+)}", path)
        url = path.format(**{n: values.get(n, "unknown") for n in names})
        for role in STAFF:
            r = api.get(url, role=role)
            assert not TOKEN.search(r.text), (role, path)
            assert not any(s in r.text for s in secrets_), (role, path)
            assert "hidden@example.org" not in r.text, (role, path)
            checked += 1
    assert checked >= 3 * 20  # the whole read API, not a sample
