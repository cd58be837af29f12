"""Staff administration and server-side sessions (issue 15): list, create (names unique),
deactivate, rotate a token, change a role, every change audited; sign-out, deactivation
and rotation end live page sessions (a replayed cookie is refused)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from serving import cli
from serving.storage import Database, upgrade
from serving.storage import staff as store
from serving.storage.migrate import alembic_config
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
        assert r.status_code == 409 and "already called &#39;paged&#39;" in r.text
        assert "st_" not in r.text  # no token: nothing was created
        uid = next(u["user_id"] for u in client.get("/v1/admin/users", headers=ADMIN
                                                     ).json()["items"] if u["name"] == "Paged")
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text),
                                         "action": "deactivate", "user_id": uid})
        assert r.status_code == 200 and "deactivated" in r.text
    with TestClient(app) as c:  # agents may not open it
        sign_in(c, tokens["agent"])
        assert c.get("/staff/users").status_code == 403


def test_names_are_unique_in_the_database_whatever_their_case(app, client, monkeypatch):
    """The unique index on lower(name) (migration 0012) holds even when the service's own
    check is passed by (two creates racing): 409 name_taken, and nothing written."""
    assert client.post("/v1/admin/users", headers=ADMIN,
                       json={"name": "Zoé", "role": "agent"}).status_code == 201
    with app.state.db.session() as s, pytest.raises(IntegrityError):
        store.insert(s, "ZOé", "agent", "0" * 64)  # lower() in the database: ASCII at least
    monkeypatch.setattr(store, "name_taken", lambda *a, **k: False)  # the race: check passed
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": "zoé", "role": "reviewer"})
    assert r.status_code == 409 and r.json()["reason"] == "name_taken"
    assert "names are unique whatever their case" in r.json()["detail"]
    names = [u["name"] for u in client.get("/v1/admin/users", headers=ADMIN).json()["items"]]
    assert sum(n.lower() == "zoé" for n in names) == 1


def test_the_migration_renames_existing_duplicates(database_url):
    """Names taken twice before 0012 are renamed (the oldest keeps it), never refused:
    the service still starts and every token still works."""
    db = Database(database_url)
    upgrade(db.engine)
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    with db.engine.begin() as conn:
        for i, name in enumerate(["Ana", "ana", "ANA", "Ana (2)", "Bob"]):
            conn.execute(sa.text(
                "INSERT INTO staff_users (id, name, role, token_hash, active, created_at) "
                "VALUES (:i, :n, 'agent', :h, :a, :t)"),
                {"i": f"dup{i}", "n": name, "h": f"{i:064d}", "a": True,
                 "t": f"2026-01-0{i + 1} 00:00:00"})
    upgrade(db.engine)
    with db.engine.connect() as conn:
        names = dict(conn.execute(sa.text(
            "SELECT id, name FROM staff_users WHERE id LIKE 'dup%'")).all())
    assert names == {"dup0": "Ana", "dup1": "ana (3)", "dup2": "ANA (4)", "dup3": "Ana (2)",
                     "dup4": "Bob"}
    db.dispose()


def test_an_auditor_is_created_rotated_and_deactivated_like_any_staff_member(
        app, client, database_url, monkeypatch, capsys):
    """The outside auditor's account (issue 18), through the API, the staff page and the
    CLI: created with its role (the token reads the analytics, not the risk list), its
    token rotated (the old one dead), deactivated (its page session ended); each change
    audited."""
    r = client.post("/v1/admin/users", headers=ADMIN,
                    json={"name": "Inspector", "role": "auditor"})
    assert r.status_code == 201 and r.json()["role"] == "auditor"
    uid, old = r.json()["user_id"], bearer(r.json()["token"])
    assert client.get("/v1/analytics/contests", headers=old).status_code == 200
    assert client.get("/v1/risk-list", headers=old).status_code == 403
    rotated = client.post(f"/v1/admin/users/{uid}/rotate-token", headers=ADMIN).json()
    new = bearer(rotated["token"])
    assert client.get("/v1/analytics/contests", headers=old).status_code == 401
    assert client.get("/v1/analytics/contests", headers=new).status_code == 200
    with TestClient(app) as c:
        sign_in(c, rotated["token"])
        assert c.get("/staff/compliance").status_code == 200
        stolen = dict(c.cookies)
    assert client.post(f"/v1/admin/users/{uid}/deactivate", headers=ADMIN).status_code == 200
    assert client.get("/v1/analytics/contests", headers=new).status_code == 401
    with TestClient(app) as other:
        for k, v in stolen.items():
            other.cookies.set(k, v)
        assert other.get("/staff/compliance").status_code == 401
    changes = [(e["object_ids"]["change"], e["object_ids"].get("role")) for e in client.get(
        "/v1/audit/events", headers=ADMIN, params={"action": "staff.changed"}).json()["items"]
        if e["object_ids"]["user_id"] == uid]
    assert sorted(changes) == [("created", "auditor"), ("deactivated", None),
                               ("token_rotated", None)]

    # the staff page offers the role, in English and French
    with TestClient(app) as c:
        sign_in(c, ADMIN_TOKEN)
        page = c.get("/staff/users", params={"lang": "fr"})
        assert '<option value="auditor">auditeur</option>' in page.text
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text), "action": "create",
                                         "name": "Paged auditor", "role": "auditor"})
        assert r.status_code == 201 and "st_" in r.text
    listed = {u["name"]: u["role"] for u in
              client.get("/v1/admin/users", headers=ADMIN).json()["items"]}
    assert listed["Paged auditor"] == "auditor"

    # the CLI too
    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    assert cli.main(["create-user", "--role", "auditor", "--name", "Regulator"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("st_")
    assert cli.main(["set-role", "--name", "Inspector", "--role", "auditor"]) == 0
    assert cli.main(["list-users"]) == 0
    out = capsys.readouterr().out
    assert any("auditor" in line and "Regulator" in line for line in out.splitlines())


def _staff_admin(client) -> dict[str, str]:  # noqa: ANN001
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": "adm2", "role": "admin"})
    assert r.status_code == 201, r.text
    return bearer(r.json()["token"])


def test_a_staff_admin_cannot_hand_out_an_integration_token(app, client, tokens):
    """An integration token mints any customer's access link: a staff admin who could
    create one, rotate the portal's, or give a user that role could act as any customer.
    Only the operator (command line, bootstrap token) does; a staff admin may still
    deactivate the portal's account."""
    adm2 = _staff_admin(client)
    users = {u["name"]: u for u in client.get("/v1/admin/users", headers=ADMIN).json()["items"]}
    portal, agent = users["test integration"]["user_id"], users["test agent"]["user_id"]
    refused = [
        client.post("/v1/admin/users", headers=adm2,
                    json={"name": "shadow portal", "role": "integration"}),
        client.post(f"/v1/admin/users/{portal}/rotate-token", headers=adm2),
        client.put(f"/v1/admin/users/{agent}/role", headers=adm2, json={"role": "integration"}),
    ]
    for r in refused:
        assert r.status_code == 403, r.text
        assert r.json()["reason"] == "operator_only"
        assert "token" not in r.json() and "command line" in r.json()["detail"]
    names = [u["name"] for u in client.get("/v1/admin/users", headers=ADMIN).json()["items"]]
    assert "shadow portal" not in names
    # nothing changed: the portal's token still works (404: no such customer, not 401),
    # the agent is still an agent
    assert client.post("/v1/customers/C1/access-link",
                       headers=bearer(tokens["integration"])).status_code == 404
    assert client.get("/v1/model", headers=bearer(tokens["agent"])).status_code == 200
    # every other role is theirs to give, and they may stop the portal
    r = client.post("/v1/admin/users", headers=adm2, json={"name": "new rev", "role": "reviewer"})
    assert r.status_code == 201
    r = client.post(f"/v1/admin/users/{portal}/deactivate", headers=adm2)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.post("/v1/customers/C1/access-link",
                       headers=bearer(tokens["integration"])).status_code == 401


def test_the_operator_hands_out_integration_tokens(client, database_url, monkeypatch, capsys):
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": "portal 2",
                                                            "role": "integration"})
    assert r.status_code == 201  # the bootstrap token: the operator's
    r = client.post(f"/v1/admin/users/{r.json()['user_id']}/rotate-token", headers=ADMIN)
    assert r.status_code == 200 and r.json()["token"].startswith("st_")
    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    assert cli.main(["create-user", "--role", "integration", "--name", "portal 3"]) == 0
    assert cli.main(["rotate-token", "--name", "portal 3"]) == 0
    assert cli.main(["create-user", "--role", "agent", "--name", "crm"]) == 0
    assert cli.main(["set-role", "--name", "crm", "--role", "integration"]) == 0
    capsys.readouterr()


def test_the_staff_page_offers_a_staff_admin_no_integration_token(app, client):
    adm2 = _staff_admin(client)
    with TestClient(app) as c:
        sign_in(c, adm2["Authorization"].split()[1])
        page = c.get("/staff/users")
        assert page.status_code == 200
        assert 'value="integration"' not in page.text  # not offered in any role select
        assert "only by the operator" in page.text
        r = c.post("/staff/users", data={"csrf_token": csrf_of(page.text), "action": "create",
                                         "name": "shadow", "role": "integration"})
        assert r.status_code == 403 and "st_" not in r.text
    with TestClient(app) as c:  # the bootstrap admin is offered it
        sign_in(c, ADMIN_TOKEN)
        page = c.get("/staff/users")
        assert 'value="integration"' in page.text and "only by the operator" not in page.text


@pytest.mark.parametrize("first, second", [("Émile Zola", "émile zola"), ("Zoë Ülker", "ZOË ÜLKER"),
                                           ("\u00e1x", "a\u0301x")])  # composed / not
def test_names_are_the_same_name_whatever_their_case_or_spelling_on_both_databases(
        client, first, second):
    """SQLite's lower() folds ASCII only: "Émile" and "émile" were two users on SQLite and
    one on PostgreSQL; and a name spelt with a combining accent looked like another."""
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": first, "role": "agent"})
    assert r.status_code == 201, r.text
    again = client.post("/v1/admin/users", headers=ADMIN, json={"name": second,
                                                                "role": "agent"})
    assert again.status_code == 409 and again.json()["reason"] == "name_taken", again.text
