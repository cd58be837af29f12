"""Staff administration and server-side sessions (issue 15): list, create (names unique),
deactivate, rotate a token, change a role, every change audited; sign-out, deactivation
and rotation end live page sessions (a replayed cookie is refused)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from serving import cli
from tests.serving.conftest import ADMIN_TOKEN, bearer
from tests.serving.web.test_pages import csrf_of, sign_in

ADMIN = bearer(ADMIN_TOKEN)


def _cookie_replay(app, cookies) -> int:  # noqa: ANN001
    """The status of the risk page for a new browser holding `cookies`."""
    with TestClient(app) as other:
        for name, value in cookies.items():
            other.cookies.set(name, value)
        return other.get("/staff/risk", follow_redirects=False).status_code


def test_staff_are_listed_created_with_unique_names_and_audited(client):
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": "Ana", "role": "agent"})
    assert r.status_code == 201
    again = client.post("/v1/admin/users", headers=ADMIN, json={"name": " ana ", "role": "agent"})
    assert again.status_code == 409 and again.json()["reason"] == "name_taken"
    listed = client.get("/v1/admin/users", headers=ADMIN).json()["items"]
    assert [(u["name"], u["role"], u["active"]) for u in listed] == [("Ana", "agent", True)]
    assert "token" not in listed[0]
    agent = bearer(r.json()["token"])
    assert client.get("/v1/admin/users", headers=agent).status_code == 403
    uid = r.json()["user_id"]
    r = client.put(f"/v1/admin/users/{uid}/role", headers=ADMIN, json={"role": "reviewer"})
    assert r.status_code == 200 and r.json()["role"] == "reviewer"
    assert client.get("/v1/reviews", headers=agent).status_code == 200  # now a reviewer
    events = client.get("/v1/audit/events", headers=ADMIN,
                        params={"action": "staff.changed"}).json()["items"]
    assert sorted(e["object_ids"]["change"] for e in events) == ["created", "role_changed"]


def test_sign_out_ends_the_session_a_replayed_cookie_is_refused(app, tokens):
    with TestClient(app) as c:
        assert sign_in(c, tokens["agent"]).status_code == 303
        stolen = dict(c.cookies)
        assert _cookie_replay(app, stolen) == 200
        page = c.get("/staff/risk")
        c.post("/staff/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert _cookie_replay(app, stolen) == 401


def test_deactivation_and_rotation_end_tokens_and_sessions(app, client, tokens):
    users = {u["name"]: u["user_id"] for u in
             client.get("/v1/admin/users", headers=ADMIN).json()["items"]}
    with TestClient(app) as c:
        sign_in(c, tokens["reviewer"])
        stolen = dict(c.cookies)
    with TestClient(app) as other:
        for k, v in stolen.items():
            other.cookies.set(k, v)
        assert other.get("/staff/reviews").status_code == 200
        r = client.post(f"/v1/admin/users/{users['test reviewer']}/rotate-token", headers=ADMIN)
        assert r.status_code == 200 and r.json()["token"] != tokens["reviewer"]
        assert other.get("/staff/reviews").status_code == 401  # session ended
        assert client.get("/v1/reviews", headers=bearer(tokens["reviewer"])).status_code == 401
        assert client.get("/v1/reviews", headers=bearer(r.json()["token"])).status_code == 200
    with TestClient(app) as c:
        sign_in(c, tokens["agent"])
        stolen = dict(c.cookies)
    assert _cookie_replay(app, stolen) == 200
    r = client.post(f"/v1/admin/users/{users['test agent']}/deactivate", headers=ADMIN)
    assert r.status_code == 200 and r.json()["active"] is False
    assert _cookie_replay(app, stolen) == 401
    assert client.get("/v1/model", headers=bearer(tokens["agent"])).status_code == 401
    changes = [e["object_ids"]["change"] for e in client.get(
        "/v1/audit/events", headers=ADMIN, params={"action": "staff.changed"}).json()["items"]]
    assert "deactivated" in changes and "token_rotated" in changes


def test_cli_administers_staff(database_url, monkeypatch, capsys):
    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    assert cli.main(["create-user", "--role", "agent", "--name", "Bo"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("st_")
    assert cli.main(["create-user", "--role", "agent", "--name", "bo"]) == 2
    assert "already called" in capsys.readouterr().err
    assert cli.main(["set-role", "--name", "Bo", "--role", "reviewer"]) == 0
    assert cli.main(["rotate-token", "--name", "Bo"]) == 0
    new = capsys.readouterr().out.strip().splitlines()[-1]
    assert new.startswith("st_") and new != token
    assert cli.main(["deactivate-user", "--name", "Bo"]) == 0
    capsys.readouterr()
    assert cli.main(["list-users"]) == 0
    out = capsys.readouterr().out
    assert "reviewer" in out and "inactive" in out and "Bo" in out and "st_" not in out


def test_the_staff_page_administers_users(app, tokens, client):
    with TestClient(app) as c:
        sign_in(c, ADMIN_TOKEN)
        page = c.get("/staff/users")
        assert page.status_code == 200 and "test agent" in page.text
        assert tokens["agent"] not in page.text
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text), "action": "create",
                                         "name": "Paged", "role": "reviewer"})
        assert r.status_code == 201 and "st_" in r.text  # the new token, shown once
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text), "action": "create",
                                         "name": "paged", "role": "agent"})
        assert "already called" in c.get("/staff/users").text or "already called" in r.text
        uid = next(u["user_id"] for u in client.get("/v1/admin/users", headers=ADMIN
                                                     ).json()["items"] if u["name"] == "Paged")
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text),
                                         "action": "deactivate", "user_id": uid})
        assert r.status_code == 200 and "deactivated" in r.text
    with TestClient(app) as c:  # agents may not open it
        sign_in(c, tokens["agent"])
        assert c.get("/staff/users").status_code == 403
