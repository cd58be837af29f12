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
from tests.serving.conftest import bearer
from tests.serving.web.test_pages import customer_link, sign_in

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
        assert client.get("/me", params={"token": link["token"]}).status_code == 200
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
    client.get("/me", params={"token": link["token"]})
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
