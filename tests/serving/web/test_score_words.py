"""Words, not certainties, on the pages: no probability is shown as 0 % or 100 %, even for
extreme scores, and each score has words beside it ("very high, higher than 9 in 10
customers"): ranked among the served model's out-of-fold training scores when its spec
keeps them, else among the stored latest scores. Staff and customer pages, English and
French."""

from __future__ import annotations

import copy
import dataclasses
import html
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from models.wording import describe
from serving.main import create_app
from serving.modelhost import ModelHost
from serving.scoring import reference
from serving.storage.tables import Customer, Prediction
from serving.web.i18n import CATALOG
from tests.serving.conftest import access_token, bearer
from tests.serving.web.test_pages import customer_link, open_me, review_as, sign_in

CERTAIN = re.compile(r"(?<![\d.,])(0|100)\s?%")


def _set_score(app, prediction: dict, score: float) -> None:
    """Make a stored receipt extreme (no model of ours gives exactly 0 or 1)."""
    with app.state.db.session() as s:
        s.execute(sa.update(Prediction).where(Prediction.id == prediction["prediction_id"])
                  .values(score=score))
        s.execute(sa.update(Customer).where(Customer.customer_ref ==
                                            prediction["customer_ref"])
                  .values(latest_score=score))
        s.commit()


def _text(page) -> str:  # noqa: ANN001
    """What a person reads: the page without its tags (an SVG's width="100%" is no
    probability)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


def test_extreme_scores_are_never_certainties(client, api, customers, tokens):
    reference.forget()
    r = api.score(customers[:2])
    assert r.status_code == 201, r.text
    high, low = r.json()
    _set_score(client.app, high, 1.0)
    _set_score(client.app, low, 0.0)

    sign_in(client, tokens["agent"])
    pages = [client.get("/staff/risk"), client.get("/staff/risk", params={"lang": "fr"})]
    for p in (high, low):
        pages.append(client.get(f"/staff/customers/{p['customer_ref']}"))
    for c in customers[:2]:
        client.cookies.clear()
        link = customer_link(api, c["customer_id"])
        assert open_me(client, link["token"]).status_code == 200
        pages += [client.get("/me", params={"lang": "en"}),
                  client.get("/me", params={"lang": "fr"})]
    for page in pages:
        assert page.status_code == 200, page.text[:300]
        text = _text(page)
        assert not CERTAIN.search(text), CERTAIN.search(text).group(0)
    staff, fr_staff = _text(pages[0]), _text(pages[1])
    assert "over 99\u00a0%" in staff and "under 1\u00a0%" in staff
    assert "very high" in staff and "very low" in staff
    assert "plus de 99\u00a0%" in fr_staff or "over 99\u00a0%" in fr_staff


def test_words_rank_the_score_among_the_models_training_scores(client, api, by_risk, tokens,
                                                                host):
    reference.forget()
    spec = host.current().spec
    assert len(spec.reference_scores) == 101  # the out-of-fold quantiles, kept at training
    top = api.score(by_risk[0]).json()
    expected = describe(top["score"], spec.reference_scores)
    assert expected.startswith("very high, higher than 9 in 10 customers") or \
        ", higher than" in expected
    sign_in(client, tokens["agent"])
    page = _text(client.get(f"/staff/customers/{top['customer_ref']}"))
    assert expected in page
    client.cookies.clear()
    link = customer_link(api, by_risk[0]["customer_id"])
    open_me(client, link["token"])
    fr = _text(client.get("/me", params={"lang": "fr"}))
    assert describe(top["score"], spec.reference_scores, "fr") in fr
    assert "plus élevée que pour" in fr or "plus faible que pour" in fr or "moyenne" in fr
    en = _text(client.get("/me", params={"lang": "en"}))
    assert f"({expected})" in en


def test_without_a_model_reference_the_stored_scores_rank(settings, host, by_risk, tokens,
                                                          client):
    reference.forget()
    served = host.current()
    model = copy.copy(served.model)
    model.spec = served.spec.model_copy(update={"reference_scores": []})
    own = ModelHost.with_model(settings, dataclasses.replace(served, model=model))
    with TestClient(create_app(settings, host=own)) as c:
        agent = bearer(tokens["agent"])
        items = [{"customer_id": b["customer_id"], "features": b["features"]}
                 for b in by_risk[:40]]
        r = c.post("/v1/predictions", json=items, headers=agent)
        assert r.status_code == 201, r.text
        scored = r.json()
        top = max(scored, key=lambda p: p["score"])
        bottom = min(scored, key=lambda p: p["score"])
        sign_in(c, tokens["agent"])
        page = _text(c.get(f"/staff/customers/{top['customer_ref']}"))
        assert "higher than 9 in 10 customers" in page
        page = _text(c.get(f"/staff/customers/{bottom['customer_ref']}"))
        assert "lower than 9 in 10 customers" in page
    reference.forget()


# -- words people read (issue 16) -------------------------------------------------------------
LOG_ODDS = re.compile(r"[+\u2212-]\d+[.,]\d\d(?!\d)")
# a catalogue key shown as it is (keys with an underscore: never a word people read)
RAW_KEY = re.compile(r"\b(?:" + "|".join(sorted((re.escape(k) for k in CATALOG if "_" in k),
                                                 key=len, reverse=True)) + r")\b")


def _contest(client, api, customer_id: str, idem: str, lang: str = "en"):  # noqa: ANN001, ANN202
    """Open the customer's page from a fresh link and send a contest form; the response."""
    client.cookies.clear()
    open_me(client, customer_link(api, customer_id)["token"])
    form = client.get("/me/contest", params={"lang": lang}).text
    return client.post("/me/contest", data={"csrf_token": _csrf(form), "wrong": "tenure",
                                            "value-tenure": "30", "statement": "",
                                            "human": "yes", "idem": idem},
                       follow_redirects=False), form


def _csrf(html_text: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html_text).group(1)


def test_customer_pages_read_as_sentences_without_log_odds(client, api, customers):
    r = api.score(customers[:1])
    assert r.status_code == 201, r.text
    link = customer_link(api, customers[0]["customer_id"])
    open_me(client, link["token"])
    for lang, you, why in (("en", "You ", "did not record"), ("fr", "Vous ", "n'a pas noté")):
        page = client.get("/me", params={"lang": lang})
        assert page.status_code == 200
        text = _text(page)
        assert not LOG_ODDS.search(text), LOG_ODDS.search(text).group(0)
        assert not RAW_KEY.search(text), RAW_KEY.search(text).group(0)
        assert not re.search(r"\b1 months\b|\b1 calls\b|\b1 other facts\b|\b1 autres\b", text)
        reasons = re.findall(r'<ul class="reasons factors">(.*?)</ul>', page.text, re.S)[0]
        items = [html.unescape(re.sub(r"<[^>]+>", "", li))
                 for li in re.findall(r"<li[^>]*>(.*?)</li>", reasons, re.S)]
        assert items and all(i.startswith(you) for i in items), items
        # every feature's purpose is given (the built-in schema has one for each)
        purposes = re.findall(r'<dd class="purpose muted">(.*?)</dd>', page.text, re.S)
        assert len(purposes) >= 5 and all(p.strip() for p in purposes)
        assert why not in text
        # the chart prints words beside its bars, its text in CSS pixels (no viewBox)
        svg = re.search(r"<svg class=\"shap-chart\".*?</svg>", page.text, re.S).group(0)
        assert "viewBox" not in svg and 'font-size="14"' in svg
        assert re.search(r"(a lot|a little|clearly|barely|beaucoup|un peu|nettement|à peine)"
                         r"</text>", svg)


def test_a_second_request_while_one_is_reviewed_is_answered_in_the_customers_words(
        client, api, customers):
    r = api.score(customers[:1])
    assert r.status_code == 201, r.text
    first, form = _contest(client, api, customers[0]["customer_id"], "first", "fr")
    assert first.status_code == 303, first.text
    dispute = first.headers["location"].split("?")[0]
    # the old form sent again (another key): the dispute is already open
    again = client.post("/me/contest", data={"csrf_token": _csrf(form), "wrong": "tenure",
                                             "value-tenure": "31", "statement": "",
                                             "human": "yes", "idem": "second"},
                        headers={"Accept-Language": "fr"})
    assert again.status_code == 409, again.text[:300]
    text = _text(again)
    assert "err_" not in again.text and not RAW_KEY.search(text)
    assert "Impossible pour le moment" in text
    assert "déjà une demande en cours d'examen" in text
    assert f'href="{dispute}"' in again.text


def test_staff_pages_in_french(client, api, customers, tokens):
    r = api.score(customers[:30])
    assert r.status_code == 201, r.text
    top = max(r.json(), key=lambda p: p["score"])
    client.headers["Accept-Language"] = "fr-FR,fr;q=0.9,en;q=0.5"
    assert client.get("/staff/sign-in").text.count("Connexion du personnel") >= 1
    sign_in(client, tokens["admin"])
    english = ("Risk list", "Main reasons", "Latest score", "Retention task", "Data used",
               "Prediction history", "Why it is used", "Sign out", "Apply filters",
               "Audit log", "Chain verification", "New staff member", "Review queue")
    pages = {"/staff/risk": "Liste des risques",
             f"/staff/customers/{top['customer_ref']}": "Pourquoi cet élément est utilisé",
             "/staff/audit": "Journal d'audit", "/staff/users": "Nouveau membre du personnel",
             "/staff/reviews": "File des revues"}
    for url, french in pages.items():
        page = client.get(url)
        assert page.status_code == 200, (url, page.text[:300])
        text = _text(page)
        assert '<html lang="fr">' in page.text and french in text, url
        leftovers = [w for w in english if w in text]
        assert not leftovers, (url, leftovers)
        assert not RAW_KEY.search(text), (url, RAW_KEY.search(text).group(0))
        assert not LOG_ODDS.search(text), (url, LOG_ODDS.search(text).group(0))
        assert f'href="{url.split("?")[0]}?lang=en"' in page.text  # the switch
    view = _text(client.get(f"/staff/customers/{top['customer_ref']}"))
    assert "Le client " in view and "l'estimation" in view
    # the switch is remembered: English again, the reasons worded for staff
    en = _text(client.get(f"/staff/customers/{top['customer_ref']}", params={"lang": "en"}))
    assert "Why it is used" in en and "The customer " in en


def test_the_reviewers_rationale_is_shown_as_written_with_its_language(client, api, customers,
                                                                       tokens):
    r = api.score(customers[:1])
    assert r.status_code == 201, r.text
    sent, _ = _contest(client, api, customers[0]["customer_id"], "k", "fr")
    dispute_id = sent.headers["location"].split("/")[-1].split("?")[0]
    mine = dict(client.cookies)
    rationale = "We checked your contract and the prediction stands."
    r = review_as(client, tokens["reviewer"], dispute_id,
                  {"decision": "upheld", "rationale": rationale, "action": "confirm"},
                  follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    client.cookies.clear()
    client.cookies.update(mine)
    fr = client.get(f"/me/disputes/{dispute_id}", params={"lang": "fr"})
    assert fr.status_code == 200
    assert f'<blockquote id="rationale" lang="en">{rationale}</blockquote>' in fr.text
    assert "en anglais ; non traduit" in _text(fr)
    en = client.get(f"/me/disputes/{dispute_id}", params={"lang": "en"})
    assert 'id="rationale-note"' not in en.text  # written in the page's language


def test_every_error_page_is_in_the_pages_language(client, tokens, monkeypatch):
    from serving.retention import service as retention

    client.headers["Accept-Language"] = "fr"
    sign_in(client, tokens["admin"])
    bad = client.get("/staff/audit", params={"before_seq": "abc"})  # a malformed query
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    assert "Certaines informations ne sont pas valables" in _text(bad)

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("a fault of ours")

    monkeypatch.setattr(retention, "risk_list", boom)
    fault = client.get("/staff/risk")
    assert fault.status_code == 500 and "text/html" in fault.headers["content-type"]
    text = _text(fault)
    assert "Une erreur est survenue" in text and "C'est de notre fait" in text
    assert "a fault of ours" not in text and "Traceback" not in text
    assert not RAW_KEY.search(text)


def test_the_customer_api_words_reasons_to_the_customer(client, api, customers):
    r = api.score(customers[:1])
    assert r.status_code == 201, r.text
    staff = r.json()[0]["contributions"]  # the agent's API: about "the customer"
    assert all(c["text"].startswith("The customer ") or ": " in c["text"] for c in staff)
    assert any(c["text"].startswith("The customer ") for c in staff)
    token = access_token(api, customers[0]["customer_id"])
    mine = client.get("/v1/me/prediction", params={"lang": "fr"}, headers=bearer(token))
    assert mine.status_code == 200, mine.text
    said = [c["text"] for c in mine.json()["prediction"]["contributions"]]
    assert said and all(t.startswith("Vous ") or "\u00a0: " in t for t in said), said
    assert any(t.startswith("Vous ") for t in said)


def test_the_review_page_in_french_words_its_reasons_in_french(client, api, customers,
                                                                tokens):
    # the model's reasons on the page from the start (blind-first review shows them later)
    client.app.state.settings = client.app.state.settings.model_copy(
        update={"blind_review": False})
    r = api.score(customers[:1])
    assert r.status_code == 201, r.text
    sent, _ = _contest(client, api, customers[0]["customer_id"], "rv", "en")
    dispute_id = sent.headers["location"].split("/")[-1].split("?")[0]
    client.cookies.clear()
    client.headers["Accept-Language"] = "fr"
    sign_in(client, tokens["reviewer"])
    page = client.get(f"/staff/reviews/{dispute_id}")
    assert page.status_code == 200, page.text[:300]
    reasons = re.findall(r'<ol class="reasons">(.*?)</ol>', page.text, re.S)
    assert reasons, page.text[:500]
    items = [html.unescape(re.sub(r"<[^>]+>", "", li))
             for li in re.findall(r"<li[^>]*>(.*?)</li>", reasons[0], re.S)]
    assert items and all("l'estimation" in i for i in items), items
    assert not any("the estimate" in i for i in items)
