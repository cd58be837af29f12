"""A page refuses as a page: a refused query (a NUL the text guard stops, a value the
route's parameters refuse) answers an HTML page saying what was expected, what came and
the fix, never the API's JSON (the API keeps it); and a staff form its rules refuse comes
back as it was typed, the error by its field. The rules are the same on either database:
these run on SQLite."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from serving.web.core import PageRoute
from tests.serving.conftest import ADMIN_TOKEN, set_contact
from tests.serving.web.test_pages import csrf_of, customer_link, open_me, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

STAFF_PAGES = ["/staff/risk?q=a%00b", "/staff/risk?band=%00&task=open",
               "/staff/risk?cursor=%00", "/staff/reviews?cursor=%00",
               "/staff/audit?before_seq=%00", "/staff/analytics?since=%00",
               "/staff/analytics.csv?quarter=%00", "/staff/compliance?quarter=%00",
               "/staff/compliance/report.json?until=%00", "/staff/rights?status=%00",
               "/staff/users?x=%00", "/staff/dashboard?x=%00", "/staff/sign-in?next=%00"]
CUSTOMER_PAGES = ["/me?x=%00", "/me?token=%00", "/me/contest?x=%00", "/me/rights?x=%00",
                  "/me/copy?download=%00", "/me/erase?x=%00"]


def _said(html: str) -> str:
    """The error page's words, on one line."""
    m = re.search(r'<section class="card error".*?</section>', html, re.S)
    assert m, html[:500]
    return re.sub(r"\s+", " ", m.group())


def _page_refusal(r: Any, names: str) -> None:
    assert r.status_code == 422, (r.request.url, r.status_code)
    assert r.headers["content-type"].startswith("text/html"), (r.request.url, r.text[:200])
    said = _said(r.text)
    assert "Some details are not valid" in said
    # expected, what came and the fix
    assert "should hold text only" in said and f"but {names} held a NUL" in said, said
    assert "Remove it from the address" in said
    assert "Content-Security-Policy" in r.headers  # a page's answer, its headers with it


def test_a_nul_in_a_pages_query_answers_a_page_and_the_api_keeps_its_json(
        client, api, tokens, customers):  # noqa: ANN001
    sign_in(client, ADMIN_TOKEN)
    for url in STAFF_PAGES:
        name = url.split("?")[1].split("=")[0]
        _page_refusal(client.get(url), f"“{name}”")
    _page_refusal(client.get("/staff/risk?q=%00&band=a%00"), "“q”, “band”")
    fr = client.get("/staff/risk?q=%00", headers={"Accept-Language": "fr"})
    assert fr.status_code == 422 and "mais « q » contenait un caractère NUL" in _said(fr.text)
    # a page that does the deed (a form post) does none of it
    ref = api.score(customers[0]).json()["customer_ref"]
    page = client.get(f"/staff/customers/{ref}")
    r = client.post(f"/staff/customers/{ref}/access-link?x=%00",
                    data={"csrf_token": csrf_of(page.text)})
    _page_refusal(r, "“x”")
    # a NUL in a page's path names no page: the page's 404
    r = client.get("/staff/customers/a%00b")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    # the API keeps its JSON, naming the query
    r = client.get("/v1/risk-list", params={"q": "a\x00b"}, headers=api.headers("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query"]

    client.cookies.clear()
    r = api.score(customers[1])
    open_me(client, customer_link(api, customers[1]["customer_id"])["token"])
    for url in CUSTOMER_PAGES:
        name = url.split("?")[1].split("=")[0]
        _page_refusal(client.get(url), f"“{name}”")


def test_a_value_a_pages_query_refuses_is_named_on_its_page(client, tokens):  # noqa: ANN001
    sign_in(client, ADMIN_TOKEN)
    r = client.get("/staff/audit", params={"before_seq": "abc"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    said = _said(r.text)
    assert "before_seq: Input should be a valid integer" in said and "abc" in said, said
    r = client.get("/staff/analytics", params={"since": "9" * 41})
    assert r.status_code == 422 and "since: String should have at most 40 characters" in (
        _said(r.text))


def test_every_page_is_a_page_route(app):  # noqa: ANN001
    """The text guard lets a page's refused URL on to its route, the query emptied, for
    the page to answer it (`serving.system.textguard.is_page`): only a page route does."""
    from serving.system.textguard import is_page

    def walk(routes: list[Any]) -> list[APIRoute]:
        out = []
        for r in routes:
            included = getattr(r, "original_router", None)  # an included router (FastAPI
            out += walk(included.routes) if included is not None else [r]  # 0.165 nests them)
        return out

    routes = [r for r in walk(app.routes) if isinstance(r, APIRoute) and is_page(r.path)]
    assert len(routes) > 20
    assert all(isinstance(r, PageRoute) for r in routes), [
        r.path for r in routes if not isinstance(r, PageRoute)]


def test_a_refused_rights_answer_comes_back_as_typed(client, api, customers, tokens):  # noqa: ANN001
    c = customers[5]
    api.score(c)
    set_contact(api, c["customer_id"], "rr@example.org")
    made = api.post(f"/v1/customers/{c['customer_id']}/assisted/rights-requests",
                    json={"kind": "rectification", "details": "Wrong plan."}).json()
    rid = made["request_id"]
    sign_in(client, tokens["reviewer"])
    page = client.get("/staff/rights")
    for action, field, typed, said in (
            ("extend", "reason", "Too busy", "Give a reason of at least 10 characters."),
            ("done", "outcome", "ok", "Say what was done, or why not (3 characters at least)."),
            ("refused", "outcome", "n" * 4001, "Keep it to 4000 characters (you wrote 4001).")):
        r = client.post(f"/staff/rights/{rid}", data={"csrf_token": csrf_of(page.text),
                                                      "action": action, "status": "open",
                                                      field: typed})
        assert r.status_code == 422, (action, r.status_code)
        assert f'aria-describedby="error-{field}-{rid}">{typed}</textarea>' in r.text, action
        assert f'id="error-{field}-{rid}" role="alert">{said}</p>' in r.text, action
        assert "<details open><summary>" in r.text
    listed = api.get("/v1/rights-requests", role="reviewer", status="all").json()["items"]
    assert [r["status"] for r in listed if r["request_id"] == rid] == ["open"]


def test_a_refused_new_member_comes_back_as_typed(client, tokens):  # noqa: ANN001
    sign_in(client, ADMIN_TOKEN)
    page = client.get("/staff/users")
    for name, role, status, field, said in (
            ("n" * 201, "reviewer", 422, "name", "Keep it to 200 characters (you wrote 201)."),
            ("   ", "auditor", 422, "name", "Give the member a name"),
            ("test agent", "reviewer", 409, "name", "already called"),
            ("Someone", "boss", 422, "role", "Choose a role, one of those listed.")):
        r = client.post("/staff/users", data={"csrf_token": csrf_of(page.text),
                                              "action": "create", "name": name, "role": role})
        assert r.status_code == status, (name, role, r.status_code)
        assert f'value="{name}" aria-invalid="true"' in r.text or field == "role", name
        assert re.search(f'<p class="error-text" id="error-{field}">[^<]*{re.escape(said)}',
                         r.text), name
        if role != "boss":
            assert f'<option value="{role}" selected>' in r.text
        assert "st_" not in r.text  # nothing was created
