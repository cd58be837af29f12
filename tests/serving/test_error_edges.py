"""What a client sends wrongly at the edge still gets a field, what was expected, what came
and the fix: a body that is not JSON, a body that cannot be read, a blank name."""

from __future__ import annotations

from tests.serving.conftest import ADMIN_TOKEN, bearer

ADMIN = bearer(ADMIN_TOKEN)


def test_a_body_not_sent_as_json_says_to_send_json(client):
    for headers, content in (({"Content-Type": "text/plain"}, b'{"name": "x", "role": "agent"}'),
                             ({"Content-Type": "application/x-www-form-urlencoded"},
                              b"name=x&role=agent")):
        r = client.post("/v1/admin/users", headers=ADMIN | headers, content=content)
        assert r.status_code == 422, r.text
        (error,) = [e for e in r.json()["errors"] if e["loc"] == ["body"]]
        assert "Content-Type: application/json" in error["fix"]
        assert headers["Content-Type"] in error["fix"]
    # sent as JSON, the same body is fine: the fix is not given where it does not apply
    r = client.post("/v1/admin/users", headers=ADMIN, json=["not", "an", "object"])
    assert r.status_code == 422
    assert all("Content-Type" not in e["fix"] for e in r.json()["errors"])


def test_an_unreadable_body_names_the_body_and_the_fix(client):
    for headers, content in (({"Content-Type": "application/json"}, b'{"name": "\xff\xfe"}'),
                             ({"Content-Type": "application/json; charset=latin-1"},
                              '{"name": "Émile", "role": "agent"}'.encode("latin-1"))):
        r = client.post("/v1/admin/users", headers=ADMIN | headers, content=content)
        assert r.status_code in (400, 422), r.text
        body = r.json()
        assert body["fields"] == ["body"], body
        (error,) = body["errors"]
        assert "UTF-8" in error["expected"] and "UTF-8" in error["fix"]


def test_a_blank_staff_name_names_the_field(client):
    r = client.post("/v1/admin/users", headers=ADMIN, json={"name": "   ", "role": "agent"})
    assert r.status_code == 422 and r.json()["fields"] == ["name"], r.text
    (error,) = r.json()["errors"]
    assert error["got"] == "only spaces" and "Give the user a name" in error["fix"]
