"""The rights pages over HTTP (issue 18): the customer's copy (page, HTML file, JSON), their
requests, the erasure request with its confirmation, the DPO and the authority on their
page; the staff list with overdue requests marked, and its actions. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from serving.storage.tables import Customer, RightsRequest
from tests.serving.conftest import set_contact
from tests.serving.web.test_pages import csrf_of, customer_link, open_me, sign_in


def _open(client, api, customer):  # noqa: ANN001, ANN202
    r = api.score(customer)
    assert r.status_code == 201, r.text
    link = customer_link(api, customer["customer_id"])
    assert open_me(client, link["token"]).status_code == 200
    return r.json()


def test_the_customer_page_names_the_dpo_and_the_authority(client, api, customers):
    _open(client, api, customers[0])
    fr = client.get("/me", params={"lang": "fr"})
    assert "CNIL" in fr.text and "https://www.cnil.fr/fr/adresser-une-plainte" in fr.text
    assert "délégué à la protection des données" in fr.text
    assert 'href="/me/copy"' in fr.text and 'href="/me/erase"' in fr.text
    en = client.get("/me", params={"lang": "en"})
    assert "data protection authority of the country where you live" in en.text
    assert "https://www.edpb.europa.eu/" in en.text and "Ask the retention team" not in en.text


def test_settings_name_the_dpo_and_the_authority(client, api, app, customers):
    app.state.settings = app.state.settings.model_copy(update={
        "dpo_contact": "dpo@telco.example", "supervisory_authority": "Autorité de test",
        "supervisory_authority_url": "https://authority.example/complain"})
    _open(client, api, customers[1])
    for lang in ("en", "fr"):
        page = client.get("/me", params={"lang": lang}).text
        assert 'href="mailto:dpo@telco.example"' in page
        assert "Autorité de test" in page and "https://authority.example/complain" in page


def test_the_copy_as_a_page_a_file_and_json(client, api, customers):
    p = _open(client, api, customers[2])
    page = client.get("/me/copy", params={"lang": "fr"})
    assert page.status_code == 200
    assert "Vos données : tout ce que nous détenons à votre sujet" in page.text
    assert p["prediction_id"] in page.text and "La procédure et les principes" in page.text
    assert "/static/web/copy.css" in page.text and "<style>" not in page.text
    assert "attachment" not in page.headers.get("content-disposition", "")
    file = client.get("/me/copy", params={"download": "1", "lang": "en"})
    assert file.status_code == 200 and "attachment" in file.headers["content-disposition"]
    assert ".html" in file.headers["content-disposition"]
    assert "<style>" in file.text and "@media print" in file.text  # reads alone from a disk
    assert "Your data: everything we hold about you" in file.text
    data = client.get("/me/copy.json")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    assert data.json()["predictions"][0]["prediction"]["prediction_id"] == p["prediction_id"]


def test_a_request_from_the_form_and_its_errors(client, api, customers):
    _open(client, api, customers[3])
    page = client.get("/me/rights", params={"lang": "en"})
    assert page.status_code == 200 and "You have made no request yet." in page.text
    token = csrf_of(page.text)
    bad = client.post("/me/rights", data={"csrf_token": token, "kind": "launch"})
    assert bad.status_code == 422 and "Choose what you ask for." in bad.text
    long = client.post("/me/rights", data={"csrf_token": token, "kind": "rectification",
                                           "details": "x" * 4001})
    assert long.status_code == 422 and "too long" in long.text
    ok = client.post("/me/rights", data={"csrf_token": token, "kind": "rectification",
                                         "details": "My tenure is 30 months."})
    assert ok.status_code == 200 and "We answer by" in ok.text  # followed the redirect
    assert "Correct my data" in ok.text and "in progress" in ok.text
    again = client.post("/me/rights", data={"csrf_token": token, "kind": "rectification"})
    assert again.status_code == 409 and "already have a request of this kind" in again.text
    assert client.post("/me/rights", data={"kind": "objection"}).status_code == 403  # CSRF


def test_the_erasure_request_needs_its_confirmation_and_can_be_cancelled(
        client, api, app, customers):
    _open(client, api, customers[4])
    form = client.get("/me/erase", params={"lang": "fr"})
    assert form.status_code == 200 and "Effacer mes données" in form.text
    token = csrf_of(form.text)
    unticked = client.post("/me/erase", data={"csrf_token": token})
    assert unticked.status_code == 422 and "Cochez la case" in unticked.text
    done = client.post("/me/erase", data={"csrf_token": token, "understood": "yes"})
    assert done.status_code == 200 and "elle est effectuée le" in done.text
    with app.state.db.session() as s:
        (row,) = s.query(RightsRequest).filter_by(kind="erasure").all()
        assert row.status == "open" and row.carry_out_at is not None
    cancel = client.post(f"/me/rights/{row.id}/cancel", data={"csrf_token": token})
    assert cancel.status_code == 200 and "annulée" in cancel.text


def test_the_staff_page_marks_overdue_requests_and_answers_them(
        client, api, app, customers, tokens):
    c = customers[5]
    api.score(c)
    set_contact(api, c["customer_id"], "ov@example.org")
    made = api.post(f"/v1/customers/{c['customer_id']}/assisted/rights-requests",
                    json={"kind": "rectification", "details": "Wrong plan."}).json()
    with app.state.db.session() as s:  # received five weeks ago: overdue
        past = datetime.now(UTC) - timedelta(days=35)
        s.execute(update(RightsRequest).where(RightsRequest.id == made["request_id"])
                  .values(opened_at=past, due_at=past + timedelta(days=30)))
        s.commit()
    assert client.get("/staff/rights").status_code == 401
    sign_in(client, tokens["agent"])
    assert client.get("/staff/rights").status_code == 403  # agents open, reviewers answer
    client.cookies.clear()
    sign_in(client, tokens["reviewer"])
    page = client.get("/staff/rights", params={"lang": "fr"})
    assert page.status_code == 200 and "1 demande(s) en retard." in page.text
    assert 'class="request open overdue"' in page.text and "En retard de 5 jour(s)" in page.text
    assert "Wrong plan." in page.text and "par téléphone" in page.text
    token = csrf_of(page.text)
    late = client.post(f"/staff/rights/{made['request_id']}",
                       data={"csrf_token": token, "action": "extend",
                             "reason": "Too late for this, the month is over."})
    assert late.status_code == 200 and "Non effectué" in late.text
    answered = client.post(f"/staff/rights/{made['request_id']}",
                           data={"csrf_token": token, "action": "done",
                                 "outcome": "Plan corrected to two-year."})
    assert answered.status_code == 200 and "Réponse donnée" in answered.text
    closed = client.get("/staff/rights", params={"status": "closed", "lang": "en"})
    assert "Plan corrected to two-year." in closed.text and "test reviewer" in closed.text
    with app.state.db.session() as s:
        assert s.get(Customer, made["customer_ref"]) is not None


def test_the_french_copy_describes_each_feature_in_french(client, api, customers, host):
    """What each piece of data is, in the copy, comes from the model's spec (the dataset
    schema's words, as the customer page's labels and purposes do): French in a French
    copy, English in an English one; never the other language unmarked."""
    _open(client, api, customers[3])
    spec = host.current().spec
    expected = {f.name: f.description for f in spec.features}
    assert all(d is not None and d.fr != d.en for d in expected.values())
    for lang in ("fr", "en"):
        data = client.get("/me/copy.json", params={"lang": lang}).json()
        (model,) = data["procedure"]["models"]
        got = {f["feature"]: (f["description"], f["description_lang"]) for f in model["features"]}
        assert got == {n: (d.get(lang), lang) for n, d in expected.items()}
    page = client.get("/me/copy", params={"lang": "fr"}).text
    for d in expected.values():
        assert f"<td>{d.fr}</td>".replace("'", "&#39;") in page
        assert d.en not in page
