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
from tests.serving.web.test_pages import (
    contest_tenure,
    csrf_of,
    customer_link,
    open_me,
    review_as,
    sign_in,
)

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
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "q"]

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


def test_every_page_form_is_read_through_its_check(app):  # noqa: ANN001
    """The text guard lets a page's form body through unscanned, for the page to answer a
    NUL in HTML (`serving.system.textguard`): every page taking a post reads its form
    through `Form` or `form_keeping` (`serving.web.core._read_form`), which refuses a NUL
    in any field the page does not show again."""
    from fastapi.dependencies.models import Dependant

    from serving.system.textguard import is_page

    def reads_form(d: Dependant) -> bool:
        return getattr(d.call, "reads_page_form", False) or any(
            reads_form(sub) for sub in d.dependencies)

    def walk(routes: list[Any]) -> list[APIRoute]:
        out = []
        for r in routes:
            included = getattr(r, "original_router", None)
            out += walk(included.routes) if included is not None else [r]
        return out

    posts = [r for r in walk(app.routes) if isinstance(r, APIRoute) and is_page(r.path)
             and "POST" in r.methods]
    assert len(posts) > 10
    assert all(reads_form(r.dependant) for r in posts), [
        r.path for r in posts if not reads_form(r.dependant)]


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


# -- a NUL in a form: the page's answer, never the API's JSON ----------------------------------
NUL_KEPT = "This holds a NUL character (U+0000), which no text can keep."
NUL_FIX = "Remove it, then send the form again."


def _form_refusal(r: Any, names: str, lang: str = "en") -> None:
    """The HTML page a form holding a NUL in a field no form shows again answers: the
    field, what came and the fix, in the page's language."""
    assert r.status_code == 422, (r.request.url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), (r.request.url, r.text[:200])
    said = _said(r.text)
    if lang == "fr":
        assert '<html lang="fr">' in r.text
        assert "Certaines informations ne sont pas valables" in said
        assert f"{names} ne doit contenir que du texte" in said, said
        assert "contenait un caractère NUL (%00)" in said and "retirez-le" in said, said
    else:
        assert "Some details are not valid" in said
        assert f"{names} should hold text only, but held a NUL character (%00)" in said, said
        assert "remove it and send the form again" in said, said
    assert "Content-Security-Policy" in r.headers
    assert "\x00" not in r.text  # what came is said, never echoed


def _nul_kept(r: Any, error_id: str, typed: str) -> None:
    """A form shown again as typed, the NUL named by its field with the fix."""
    assert r.status_code == 422, (r.request.url, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.text[:200]
    assert re.search(f'<p class="error-text" id="{error_id}"[^>]*>{re.escape(NUL_KEPT)} '
                     f'{re.escape(NUL_FIX)}</p>', r.text), (error_id, r.text[-3000:])
    assert f'aria-describedby="{error_id}"' in r.text
    assert typed in r.text, typed  # what was typed, kept


def test_a_nul_in_a_staff_task_form_comes_back_as_typed(client, api, tokens, customers):  # noqa: ANN001
    """A NUL in a task form (url-encoded as %00, or a raw byte) used to be the text
    guard's JSON 422: the note comes back as typed, the error by it; a NUL in a field the
    agent did not type (the page's own `ref`) is a page naming it."""
    r = api.score(customers[:60])
    p = next(p for p in r.json() if p["retention_task_id"])
    tid, ref = p["retention_task_id"], p["customer_ref"]
    sign_in(client, tokens["agent"])
    page = client.get(f"/staff/customers/{ref}")
    page = client.post(f"/staff/tasks/{tid}/claim",
                       data={"csrf_token": csrf_of(page.text), "ref": ref})
    assert "Task claimed" in page.text
    token = csrf_of(page.text)
    r = client.post(f"/staff/tasks/{tid}/complete",
                    data={"csrf_token": token, "ref": ref, "outcome": "retained",
                          "note": "called\x00back"})
    _nul_kept(r, "error-note", "called\x00back</textarea>")
    assert 'value="retained" required checked' in r.text
    # the %00 as the browser sends it, and a raw NUL byte
    for note in (b"left%00a+message", b"left\x00a+message"):
        r = client.post(f"/staff/tasks/{tid}/attempts", content=(
            f"csrf_token={token}&ref={ref}&channel=sms&reached=1&note=".encode() + note),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        _nul_kept(r, "error-att-note", "left\x00a message</textarea>")
        assert '<option value="sms" selected>' in r.text
    # a field the page wrote itself: nothing to show again, the page names it
    r = client.post(f"/staff/tasks/{tid}/complete",
                    data={"csrf_token": token, "ref": ref + "\x00", "outcome": "retained"})
    _form_refusal(r, "“ref”")
    r = client.post(f"/staff/tasks/{tid}/reassign", data={"csrf_token": token, "ref": ref,
                                                          "to": "a\x00"},
                    headers={"Accept-Language": "fr"})
    _form_refusal(r, "« to »", "fr")
    task = api.get(f"/v1/retention-tasks/{tid}").json()
    assert task["status"] == "claimed" and task["attempts"] == []


def test_a_nul_in_the_other_staff_forms_is_answered_by_a_page(client, api, tokens,  # noqa: ANN001
                                                              customers):
    """Rights, new member, sign-in: each a page in the person's language, what was typed
    kept where the page shows it again; nothing is written."""
    c = customers[5]
    api.score(c)
    set_contact(api, c["customer_id"], "nul@example.org")
    rid = api.post(f"/v1/customers/{c['customer_id']}/assisted/rights-requests",
                   json={"kind": "rectification", "details": "Wrong plan."}).json()["request_id"]
    sign_in(client, ADMIN_TOKEN)
    token = csrf_of(client.get("/staff/rights").text)
    for action, field in (("extend", "reason"), ("done", "outcome")):
        typed = "Still checking\x00 the records"
        r = client.post(f"/staff/rights/{rid}", data={"csrf_token": token, "action": action,
                                                      "status": "open", field: typed})
        _nul_kept(r, f"error-{field}-{rid}", f"{typed}</textarea>")
    r = client.post(f"/staff/rights/{rid}", data={"csrf_token": token, "action": "take",
                                                  "status": "open\x00"})
    _form_refusal(r, "“status”")
    listed = api.get("/v1/rights-requests", role="reviewer", status="all").json()["items"]
    assert [(x["status"], x["handler"]) for x in listed if x["request_id"] == rid] == [
        ("open", None)]

    token = csrf_of(client.get("/staff/users").text)
    r = client.post("/staff/users", data={"csrf_token": token, "action": "create",
                                          "name": "Ana\x00 Lima", "role": "agent"})
    _nul_kept(r, "error-name", 'value="Ana\x00 Lima" aria-invalid="true"')
    assert '<option value="agent" selected>' in r.text
    r = client.post("/staff/users", data={"csrf_token": token, "action": "deactivate",
                                          "user_id": "u\x00"},
                    headers={"Accept-Language": "fr"})
    _form_refusal(r, "« user_id »", "fr")
    users = api.get("/v1/admin/users", role="admin").json()["items"]
    assert all("\x00" not in u["name"] for u in users) and all(u["active"] for u in users)

    client.cookies.clear()
    page = client.get("/staff/sign-in", headers={"Accept-Language": "fr"})
    r = client.post("/staff/sign-in", data={"csrf_token": csrf_of(page.text),
                                            "token": ADMIN_TOKEN + "\x00", "next": ""},
                    headers={"Accept-Language": "fr"})
    _form_refusal(r, "« token »", "fr")


def test_a_nul_in_a_review_or_a_customers_request_comes_back_as_typed(  # noqa: ANN001
        client, api, tokens, customers):
    c = customers[7]
    api.score(c)
    open_me(client, customer_link(api, c["customer_id"])["token"])
    form = client.get("/me/rights")
    typed = "My plan\x00 is wrong"
    r = client.post("/me/rights", data={"csrf_token": csrf_of(form.text),
                                        "kind": "rectification", "details": typed})
    assert r.status_code == 422 and f">{typed}</textarea>" in r.text, r.text[-2000:]
    assert f'<p class="error-text">{NUL_KEPT} {NUL_FIX}</p>' in r.text
    assert api.get("/v1/rights-requests", role="reviewer", status="all").json()["items"] == []
    dispute_id = contest_tenure(client, "n1")
    rationale = "Checked\x00 the contract"
    r = review_as(client, tokens["reviewer"], dispute_id,
                  {"decision": "upheld", "rationale": rationale, "action": "confirm"})
    _nul_kept(r, "error-rationale", f"{rationale}</textarea>")
    assert api.get(f"/v1/disputes/{dispute_id}", role="reviewer").json()["status"] == "open"


# -- a refused query keeps the parameters it can read -----------------------------------------
def test_a_refused_query_keeps_the_language_it_asked_for(client, api, tokens, customers):  # noqa: ANN001
    sign_in(client, ADMIN_TOKEN)
    r = client.get("/staff/risk?lang=fr&q=%00")
    assert r.status_code == 422 and '<html lang="fr">' in r.text
    assert "mais « q » contenait un caractère NUL" in _said(r.text)
    # the other language's link keeps what could be read, never the NUL
    assert 'href="/staff/risk?band=high&amp;lang=en"' in client.get(
        "/staff/risk?band=high&q=a%00&lang=fr").text
    r = client.get("/staff/risk?q=%00&lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in r.text and "but “q” held a NUL" in _said(r.text)
    api.score(customers[2])
    client.cookies.clear()
    open_me(client, customer_link(api, customers[2]["customer_id"])["token"])
    r = client.get("/me/contest?x=%00&lang=fr")
    assert r.status_code == 422 and '<html lang="fr">' in r.text
    assert "mais « x » contenait un caractère NUL" in _said(r.text)
