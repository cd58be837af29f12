"""An address that names nothing: a browser (it asks for HTML) reads a 404 page in its
language with a way back, on the staff or the customer side; the JSON API, and any client
that does not ask for HTML, reads a JSON 404 in the API's error body (`ErrorPublic`: a
code and a detail that says what to do), never the framework's bare `{"detail": ...}`."""

from __future__ import annotations

import re
from typing import Any

import pytest

from serving.errors import ErrorPublic
from tests.serving.conftest import ADMIN_TOKEN
from tests.serving.web.test_pages import customer_link, open_me, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _said(html: str) -> str:
    m = re.search(r'<section class="card error".*?</section>', html, re.S)
    assert m, html[:500]
    return re.sub(r"\s+", " ", m.group())


def _page_404(r: Any, lang: str, back: str) -> str:
    assert r.status_code == 404, (r.request.url, r.status_code)
    assert r.headers["content-type"].startswith("text/html"), (r.request.url, r.text[:200])
    assert f'<html lang="{lang}">' in r.text
    said = _said(r.text)
    title = "Introuvable" if lang == "fr" else "Not found"
    assert f">{title}</h1>" in said, said
    assert f'href="{back}"' in said, said  # a way back
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert header in r.headers, header
    return said


def _json_404(r: Any) -> dict[str, Any]:
    assert r.status_code == 404, (r.request.url, r.status_code)
    assert r.headers["content-type"].startswith("application/json"), r.text[:200]
    body = r.json()
    ErrorPublic.model_validate(body)
    assert body["error"] == "not_found" and body["detail"] != "Not Found", body
    return body


def test_an_unknown_page_address_is_a_page_in_the_persons_language(client, tokens):  # noqa: ANN001
    html = {"Accept": BROWSER}
    said = _page_404(client.get("/staff/nope", headers=html), "en", "/staff")
    assert "There is no page at this address" in said, said
    _page_404(client.get("/nope", headers=html), "en", "/staff")
    _page_404(client.get("/", headers=html), "en", "/staff")
    said = _page_404(client.get("/staff/nope", headers=html | {"Accept-Language": "fr"}),
                     "fr", "/staff")
    assert "Il n&#39;y a pas de page à cette adresse" in said, said
    _page_404(client.get("/me/nope", headers=html), "en", "/me")
    _page_404(client.post("/staff/tasks", headers=html), "en", "/staff")  # a form's POST
    _page_404(client.get("/staff/nope?lang=fr", headers=html), "fr", "/staff")
    _page_404(client.get("/me/nope", headers=html), "fr", "/me")  # the language remembered
    # signed in: their start page, in the language they chose
    sign_in(client, tokens["agent"])
    assert client.get("/staff/risk?lang=fr").status_code == 200
    r = client.get("/staff/risk/nope", headers=html)
    _page_404(r, "fr", "/staff")
    assert 'action="/staff/sign-out"' in r.text  # their menu, signed in


def test_a_customer_is_sent_back_to_their_own_page(client, api, customers):  # noqa: ANN001
    api.score(customers[3])
    open_me(client, customer_link(api, customers[3]["customer_id"])["token"])
    html = {"Accept": BROWSER}
    _page_404(client.get("/me/nope", headers=html), "en", "/me")
    _page_404(client.get("/nope", headers=html), "en", "/me")  # their side, wherever


def test_the_api_and_clients_not_asking_for_html_keep_a_json_404(client, tokens):  # noqa: ANN001
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = _json_404(client.get("/v1/nope", headers={"Accept": BROWSER} | auth))
    assert "/v1/nope" in body["detail"] and "openapi.json" in body["detail"], body
    for path in ("/v1/nope", "/nope", "/staff/nope", "/me/nope"):
        for accept in ("*/*", "application/json", None):
            headers = {"Accept": accept} if accept else {}
            _json_404(client.get(path, headers=headers))
    # the address is quoted short, never at length
    body = _json_404(client.get("/v1/" + "x" * 5000))
    assert len(body["detail"]) < 400, body
    # a known resource the API does not find keeps its own words
    r = client.get("/v1/predictions/nope", headers=auth | {"Accept": BROWSER})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
