"""The control group on the pages (issue 17): the customer page says one exists (EN and
FR, and not when the fraction is 0); an agent's pages never say who is in it."""

from __future__ import annotations

import sqlalchemy as sa

from serving.storage.tables import Prediction
from tests.serving.web.test_pages import customer_link, open_me, sign_in

EN = "Some customers are not contacted, drawn at random each period"
FR = "Certains clients ne sont pas contactés, tirés au sort à chaque période"


def test_the_customer_page_says_some_customers_are_not_contacted(api, client, customers):
    c = customers[0]
    assert api.score(c).status_code == 201
    link = customer_link(api, c["customer_id"])
    assert open_me(client, link["token"], follow_redirects=False).status_code == 303
    assert EN in client.get("/me", params={"lang": "en"}).text
    assert FR in client.get("/me", params={"lang": "fr"}).text


def test_without_a_control_group_the_page_does_not_claim_one(api, client, customers, app):
    app.state.settings = app.state.settings.model_copy(update={"control_fraction": 0.0})
    c = customers[1]
    assert api.score(c).status_code == 201
    link = customer_link(api, c["customer_id"])
    open_me(client, link["token"], follow_redirects=False)
    page = client.get("/me", params={"lang": "en"})
    assert page.status_code == 200 and EN not in page.text


def test_an_agents_pages_never_name_the_held_out(api, app, client, tokens, by_risk, host):
    t = host.current().thresholds
    high = [c for c in by_risk if c["expected_score"] >= t.high][:16]
    scored = api.score(high).json()
    with app.state.db.session() as s:
        arm = dict(s.execute(sa.select(Prediction.id, Prediction.arm)).all())
    held = [p for p in scored if arm[p["prediction_id"]] == "control"]
    assert held and len(held) < len(scored)
    assert sign_in(client, tokens["agent"]).status_code == 303
    pages = [client.get("/staff/risk"), client.get("/staff/risk", params={"band": "high"})]
    pages += [client.get(f"/staff/customers/{p['customer_ref']}") for p in scored]
    for page in pages:
        assert page.status_code == 200
        low = page.text.lower()
        assert "control" not in low and "held out" not in low and "arm" not in \
            [w.strip(".,:;()\"'<>") for w in low.split()]
