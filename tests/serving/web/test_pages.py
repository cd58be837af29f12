"""The pages over HTTP (no browser): sessions, CSRF, who may open what, the risk list
and the customer page. On SQLite and PostgreSQL (the parent `client` fixture)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.web.session import COOKIE
from tests.serving.conftest import ADMIN_TOKEN

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(client: TestClient, token: str, next_: str = "") -> Any:
    page = client.get("/staff/sign-in")
    assert page.status_code == 200
    return client.post("/staff/sign-in", data={"csrf_token": csrf_of(page.text), "token": token,
                                               "next": next_}, follow_redirects=False)


def open_me(client: TestClient, link_token: str, **kw: Any) -> Any:
    """A customer opens the link they were sent: the GET shows a button, pressing it posts
    the link with the page's CSRF token (a GET alone opens nothing)."""
    page = client.get("/me", params={"token": link_token})
    assert page.status_code == 200 and 'id="link-form"' in page.text, page.text
    return client.post("/me/session", data={"csrf_token": csrf_of(page.text),
                                            "token": link_token}, **kw)


def contest_tenure(client: TestClient, idem: str) -> str:
    """The signed-in customer contests their tenure on the form (a person asked for); the
    new dispute's id."""
    form = client.get("/me/contest").text
    r = client.post("/me/contest", data={"csrf_token": csrf_of(form), "wrong": "tenure",
                                         "value-tenure": "12", "statement": "",
                                         "human": "yes", "idem": idem},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("/")[-1].split("?")[0]


def review_as(client: TestClient, token: str, dispute_id: str, data: dict[str, Any],
              **kw: Any) -> Any:
    """A reviewer (a fresh sign-in with `token`) sends the dispute's review form with
    `data` (its CSRF token from the page)."""
    client.cookies.clear()
    sign_in(client, token)
    page = client.get(f"/staff/reviews/{dispute_id}")
    assert page.status_code == 200, page.text[-500:]
    return client.post(f"/staff/reviews/{dispute_id}",
                       data={"csrf_token": csrf_of(page.text), **data}, **kw)


def post_contest_form(page: TestClient, data: dict[str, Any]) -> Any:
    """The customer's contest form posted with `data` (its CSRF token from the form)."""
    form = page.get("/me/contest")
    assert form.status_code == 200, form.text
    return page.post("/me/contest", data={"csrf_token": csrf_of(form.text), "human": "yes",
                                          "idem": "", **data}, follow_redirects=False)


@pytest.fixture
def scored(api, customers) -> list[dict[str, Any]]:  # noqa: ANN001
    r = api.score(customers[:60])
    assert r.status_code == 201, r.text
    return [p | {"customer_id": c["customer_id"]} for p, c in zip(r.json(), customers[:60],
                                                                   strict=True)]


def customer_link(api, customer_id: str) -> dict[str, Any]:  # noqa: ANN001
    """The customer's link, as the customer portal (integration role) receives it."""
    r = api.post(f"/v1/customers/{customer_id}/access-link", role="integration")
    assert r.status_code == 201, r.text
    return r.json()


def test_sign_in_sets_a_safe_cookie_and_sign_out_clears_it(client, tokens):  # noqa: ANN001
    r = sign_in(client, tokens["agent"])
    assert r.status_code == 303 and r.headers["location"] == "/staff/risk"
    cookie = r.headers["set-cookie"]
    assert COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert tokens["agent"] not in cookie
    page = client.get("/staff/risk")
    assert page.status_code == 200 and "Risk list" in page.text
    out = client.post("/staff/sign-out", data={"csrf_token": csrf_of(page.text)},
                      follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/staff/risk").status_code == 401


def test_a_bad_token_is_refused_with_a_page_that_says_what_to_do(client):  # noqa: ANN001
    r = sign_in(client, "st_not-a-real-token")
    assert r.status_code == 401 and "not valid" in r.text
    page = client.get("/staff/risk")
    assert page.status_code == 401
    assert "Sign in with your staff token" in page.text
    assert 'href="/staff/sign-in?next=/staff/risk"' in page.text


def test_secure_cookie_outside_development(client, app, tokens):  # noqa: ANN001
    app.state.settings = app.state.settings.model_copy(update={"mode": "production"})
    r = sign_in(client, tokens["agent"])
    assert "Secure" in r.headers["set-cookie"]


def test_posts_without_the_csrf_token_are_refused(client, tokens, scored):  # noqa: ANN001
    assert sign_in(client, tokens["agent"]).status_code == 303
    task = next(p for p in scored if p["retention_task_id"])
    r = client.post(f"/staff/tasks/{task['retention_task_id']}/claim", data={})
    assert r.status_code == 403 and "security token" in r.text
    r = client.post(f"/staff/tasks/{task['retention_task_id']}/claim",
                    data={"csrf_token": "0" * 64})
    assert r.status_code == 403
    # a token from another session is refused too
    other = TestClient(client.app)
    other_token = csrf_of(other.get("/staff/sign-in").text)
    r = client.post(f"/staff/tasks/{task['retention_task_id']}/claim",
                    data={"csrf_token": other_token})
    assert r.status_code == 403
    assert client.post("/staff/sign-in", data={"token": tokens["agent"]}).status_code == 403


def test_roles_on_pages(client, tokens):  # noqa: ANN001
    sign_in(client, tokens["reviewer"])
    r = client.get("/staff/risk")
    assert r.status_code == 403 and "needs the role agent" in r.text
    client.cookies.clear()
    sign_in(client, ADMIN_TOKEN)
    assert client.get("/staff/risk").status_code == 200


def test_risk_list_filters_and_pages(client, tokens, scored):  # noqa: ANN001
    sign_in(client, tokens["agent"])
    ranked = sorted(scored, key=lambda p: -p["score"])
    first = client.get("/staff/risk")
    assert first.status_code == 200
    ids = re.findall(r'href="/staff/customers/([\w-]+)"', first.text)
    assert ids == [p["customer_ref"] for p in ranked[:25]]
    nxt = re.search(r'href="(/staff/risk\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert nxt
    second = client.get(nxt.group(1).replace("&amp;", "&"))
    ids2 = re.findall(r'href="/staff/customers/([\w-]+)"', second.text)
    assert ids2 == [p["customer_ref"] for p in ranked[25:50]]
    high = client.get("/staff/risk", params={"band": "high"})
    ids_high = re.findall(r'href="/staff/customers/([\w-]+)"', high.text)
    assert ids_high == [p["customer_ref"] for p in ranked if p["risk_band"] == "high"][:25]
    with_task = client.get("/staff/risk", params={"task": "open"})
    ids_task = re.findall(r'href="/staff/customers/([\w-]+)"', with_task.text)
    assert ids_task == [p["customer_ref"] for p in ranked if p["retention_task_id"]][:25]
    no_task = client.get("/staff/risk", params={"task": "none"})
    ids_none = re.findall(r'href="/staff/customers/([\w-]+)"', no_task.text)
    assert ids_none == [p["customer_ref"] for p in ranked if not p["retention_task_id"]][:25]
    # every read of the list is in the audit log, as for the JSON route
    events = client.get("/v1/audit/events", params={"action": "risk_list.read"},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["items"]
    assert len(events) == 5 and all(e["object_ids"]["via"] == "web" for e in events)


def test_customer_view_claim_and_complete(client, tokens, scored):  # noqa: ANN001
    sign_in(client, tokens["agent"])
    p = next(p for p in scored if p["retention_task_id"])
    page = client.get(f"/staff/customers/{p['customer_ref']}")
    assert page.status_code == 200
    assert "<svg" in page.text and 'role="img"' in page.text
    assert "Claim this task" in page.text
    r = client.post(f"/staff/tasks/{p['retention_task_id']}/claim",
                    data={"csrf_token": csrf_of(page.text), "ref": p["customer_ref"]})
    assert r.status_code == 200 and "Task claimed" in r.text
    assert "Complete the task" in r.text
    r = client.post(f"/staff/tasks/{p['retention_task_id']}/complete",
                    data={"csrf_token": csrf_of(r.text), "ref": p["customer_ref"],
                          "outcome": "retained", "note": "called"})
    assert r.status_code == 200 and "Task completed" in r.text
    assert 'id="task-status">done<' in r.text


def test_the_task_forms_refuse_what_the_api_refuses(client, api, tokens, scored):  # noqa: ANN001
    """One rulebook: each task form the page refuses, the JSON API refuses too (422), and
    the limit itself (a 4,000-character note) passes both. A refused form comes back as
    the agent typed it (the note, the outcome or channel chosen, the box ticked), the
    error by its field: the note used to be lost, the refusal only flashed."""
    sign_in(client, tokens["agent"])
    p = next(p for p in scored if p["retention_task_id"])
    tid, ref = p["retention_task_id"], p["customer_ref"]
    page = client.get(f"/staff/customers/{ref}")
    r = client.post(f"/staff/tasks/{tid}/claim",
                    data={"csrf_token": csrf_of(page.text), "ref": ref})
    assert "Task claimed" in r.text
    note = "Spoke to them <b>at length</b>: call back in May"
    long = "y" * 4001
    refused = [  # what is posted, the field in error and its words, what is kept
        ("complete", {"outcome": "won", "note": note}, "outcome",
         "Choose an outcome, one of those listed.", ['id="note"', note]),
        ("complete", {"outcome": "retained", "note": long}, "note",
         "Keep it to 4000 characters (you wrote 4001).",
         ['id="outcome-retained" name="outcome" value="retained" required checked', long]),
        ("attempts", {"channel": "pigeon", "reached": "1", "note": note}, "channel",
         "Choose a channel, one of those listed.",
         ['id="reached" name="reached" value="1" checked', note]),
        ("attempts", {"channel": "sms", "note": long}, "att-note",
         "Keep it to 4000 characters (you wrote 4001).",
         ['<option value="sms" selected>', long]),
    ]
    for action, body, field, said, kept in refused:
        r = client.post(f"/staff/tasks/{tid}/{action}",
                        data={"csrf_token": csrf_of(r.text), "ref": ref} | body)
        assert r.status_code == 422, (action, body, r.status_code)
        assert f'<p class="error-text" id="error-{field}">{said}</p>' in r.text, (action, body)
        assert 'aria-describedby="error-' + field + '"' in r.text
        escaped = [k if k.startswith(("id=", "<option")) else
                   k.replace("<", "&lt;").replace(">", "&gt;") for k in kept]
        assert all(k in r.text for k in escaped), (action, body)
        wire = {k: v for k, v in body.items() if k != "reached"}
        assert api.post(f"/v1/retention-tasks/{tid}/{action}", json=wire).status_code == 422
    task = api.get(f"/v1/retention-tasks/{tid}").json()
    assert task["status"] == "claimed" and task["attempts"] == []
    r = client.post(f"/staff/tasks/{tid}/attempts",
                    data={"csrf_token": csrf_of(r.text), "ref": ref, "channel": "phone",
                          "note": "x" * 4000}, follow_redirects=False)
    assert r.status_code == 303  # recorded: back to the page, the form empty again
    assert len(api.get(f"/v1/retention-tasks/{tid}").json()["attempts"]) == 1
    r = client.get(r.headers["location"])
    assert "error-text" not in r.text and note not in r.text


def test_customer_link_opens_only_their_own_page(client, api, scored):  # noqa: ANN001
    a, b = scored[0], scored[1]
    link = customer_link(api, a["customer_id"])
    r = open_me(client, link["token"], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    me = client.get("/me", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert me.status_code == 200 and 'lang="fr"' in me.text
    assert "Notre modèle" in me.text
    en = client.get("/me", params={"lang": "en"})
    assert "Our model estimates" in en.text
    # staff pages are closed to a customer session
    for path in ("/staff/risk", f"/staff/customers/{a['customer_ref']}",
                 f"/staff/customers/{b['customer_ref']}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert b["customer_id"] not in r.text


def test_access_code_form_and_bad_links(client, api, scored):  # noqa: ANN001
    page = client.get("/me")
    assert page.status_code == 200 and "access.js" in page.text
    bad = client.post("/me/session", data={"csrf_token": csrf_of(page.text),
                                            "token": "forged"})
    assert bad.status_code == 401
    link = customer_link(api, scored[2]["customer_id"])
    ok = client.post("/me/session", data={"csrf_token": csrf_of(page.text),
                                          "token": link["token"]}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/me"
    assert client.get("/me").status_code == 200
    assert client.get("/me/contest").status_code == 200


def test_a_link_is_opened_by_its_button_never_by_a_get(app, client, api, scored, tokens):  # noqa: ANN001
    """A GET of a link opens nothing: any page could send a browser to a link of its own
    and swap the session it holds (login CSRF), and a mail filter following links would
    use them up. The customer presses the button (a POST with the page's CSRF token)."""
    link = customer_link(api, scored[3]["customer_id"])
    shown = client.get("/me", params={"token": link["token"]}, follow_redirects=False)
    assert shown.status_code == 200 and 'id="link-form"' in shown.text
    assert client.get("/me/contest").status_code == 401  # no session yet
    assert client.get("/me", params={"token": link["token"]}).status_code == 200  # not used up
    # a signed-in member of staff sent to someone's link keeps their session
    with TestClient(app) as staff:
        assert sign_in(staff, tokens["agent"]).status_code == 303
        staff.get("/me", params={"token": link["token"]})
        assert staff.get("/staff/risk").status_code == 200
        # a cross-site POST has no CSRF token: refused
        forged = staff.post("/me/session", data={"token": link["token"]})
        assert forged.status_code == 403
        assert staff.get("/staff/risk").status_code == 200
    # the customer's own press opens it, once
    assert open_me(client, link["token"]).status_code == 200
    assert client.get("/me/contest").status_code == 200


def test_customer_pages_need_a_link(client):  # noqa: ANN001
    for path in ("/me/contest", "/me/object"):
        r = client.get(path)
        assert r.status_code == 401 and "Open the link" in r.text


def test_security_headers(client):  # noqa: ANN001
    r = client.get("/staff/sign-in")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    css = client.get("/static/web/site.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_customer_forms_need_the_csrf_token(client, api, scored):  # noqa: ANN001
    link = customer_link(api, scored[0]["customer_id"])
    open_me(client, link["token"])
    for path in ("/me/contest", "/me/object"):
        r = client.post(path, data={"statement": "x"})
        assert r.status_code == 403 and "security token" in r.text, path


def test_audit_page_for_admins_only(client, tokens):  # noqa: ANN001
    sign_in(client, tokens["reviewer"])
    assert client.get("/staff/audit").status_code == 403
    client.cookies.clear()
    sign_in(client, ADMIN_TOKEN)
    r = client.get("/staff/audit")
    assert r.status_code == 200 and "The chain verifies" in r.text


def test_review_needs_a_rationale_and_valid_corrections(client, api, tokens,  # noqa: ANN001
                                                        scored):
    link = customer_link(api, scored[0]["customer_id"])
    open_me(client, link["token"])
    dispute_id = contest_tenure(client, "k1")
    r = review_as(client, tokens["reviewer"], dispute_id,
                  {"decision": "rectified", "corrected-tenure": "abc", "rationale": "",
                   "action": "confirm"})
    assert r.status_code == 422
    token = csrf_of(r.text)
    assert "Enter a number." in r.text and "Give the reasons" in r.text
    r = client.post(f"/staff/reviews/{dispute_id}",
                    data={"csrf_token": token, "decision": "upheld", "rationale": "Checked.",
                          "action": "confirm"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/reviews"


def test_a_customer_cannot_open_another_customers_request(client, api,  # noqa: ANN001
                                                          scored):
    a, b = scored[0], scored[1]
    open_me(client, customer_link(api, a["customer_id"])["token"])
    form = client.get("/me/contest").text
    r = client.post("/me/contest", data={"csrf_token": csrf_of(form), "statement": "Wrong.",
                                         "idem": "a1"}, follow_redirects=False)
    assert r.status_code == 303
    mine = r.headers["location"].split("?")[0]
    assert client.get(mine).status_code == 200
    other = TestClient(client.app)
    open_me(other, customer_link(api, b["customer_id"])["token"])
    r = other.get(mine)
    assert r.status_code == 404 and "Wrong." not in r.text


def test_staff_opening_a_customer_page_is_audited(client, tokens, scored):  # noqa: ANN001
    sign_in(client, tokens["agent"])
    ref = scored[0]["customer_ref"]
    assert client.get(f"/staff/customers/{ref}").status_code == 200
    events = client.get("/v1/audit/events", params={"action": "customer.viewed"},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["items"]
    assert [e["customer_ref"] for e in events] == [ref]
    assert events[0]["actor"].startswith("staff:")
    assert client.get("/staff/customers/cu_nobody").status_code == 404
    assert len(client.get("/v1/audit/events", params={"action": "customer.viewed"},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["items"]) == 1
