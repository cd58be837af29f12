"""Agents cannot tell who is in the control group (issue 17).

The design: an agent never sees the draw. While a control group runs, every receipt drawn
into an arm reads the same to an agent, whichever the arm: the campaign's route (which says
honestly that some of the campaign's customers get no task, and to call only customers with
a task) and no task beside it (tasks are in the queue). Held-out customers are not on an
agent's risk list, where a high score without a task would single them out. What is left
between a held-out customer and a contacted one is who they are (id, score, reasons) and
the contact itself: the contacted customer's task, in the queue and on their page. Admins
and reviewers see the arm; the receipt as stored, and the customer's own page, say plainly
that some customers are not contacted.

Each agent-facing route and page is compared below, field by field, for a held-out and a
contacted customer of the same band."""

from __future__ import annotations

import html as html_text
import re
from typing import Any

import sqlalchemy as sa

from serving.loop.control import CAMPAIGN, HELD_OUT
from serving.storage.tables import Prediction
from tests.serving.test_roles import api_routes
from tests.serving.web.test_pages import customer_link, open_me, sign_in

# what differs between any two customers: who they are and what the model read about them
IDENTITY = {"prediction_id", "customer_ref", "customer_id", "score", "margin", "contributions",
            "created_at", "reasons", "scored_at", "options", "summary", "features",
            "uplift", "customer_value", "expected_value", "search"}


def masked(value: Any) -> Any:
    """`value` with every identity field replaced by a mark (kept: the keys, the shape)."""
    if isinstance(value, dict):
        return {k: "<who>" if k in IDENTITY else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _pair(api, app, by_risk, host):  # noqa: ANN001, ANN202
    """Scored high-band customers (by an admin), and one held out and one contacted."""
    t = host.current().thresholds
    high = [c for c in by_risk if c["expected_score"] >= t.high][:16]
    scored = api.score(high, role="admin").json()
    with app.state.db.session() as s:
        arm = dict(s.execute(sa.select(Prediction.id, Prediction.arm)).all())
    held = [(c, p) for c, p in zip(high, scored, strict=True)
            if arm[p["prediction_id"]] == "control"]
    contacted = [(c, p) for c, p in zip(high, scored, strict=True)
                 if arm[p["prediction_id"]] == "contact"]
    assert held and contacted
    return held[0], contacted[0], scored


def test_the_api_answers_agents_alike_for_both_arms(api, app, by_risk, host):
    (h, hp), (c, cp), scored = _pair(api, app, by_risk, host)
    assert hp["risk_band"] == cp["risk_band"] == "high"
    # the receipt, read by an agent
    for p in (hp, cp):
        agent = api.get(f"/v1/predictions/{p['prediction_id']}").json()
        assert agent["route"] == {"action": CAMPAIGN.action, "reason": CAMPAIGN.reason}
        assert agent["retention_task_id"] is None
    read = [api.get(f"/v1/predictions/{p['prediction_id']}").json() for p in (hp, cp)]
    assert masked(read[0]) == masked(read[1])
    # scoring them again, as an agent: the answers alike too
    again = [api.score(x).json() for x in (h, c)]
    assert masked(again[0]) == masked(again[1])
    assert again[0]["route"]["reason"] == CAMPAIGN.reason
    # what would lower their risk
    recourse = [api.get(f"/v1/customers/{x['customer_id']}/recourse").json() for x in (h, c)]
    assert masked(recourse[0]) == masked(recourse[1])
    # the lists: the contacted customer is there with a task, the held-out one is not
    listed = api.get("/v1/risk-list", limit=500).json()["items"]
    refs = {i["customer_ref"] for i in listed}
    assert cp["customer_ref"] in refs and hp["customer_ref"] not in refs
    for band in ("high", None):
        q = {"band": band} if band else {}
        for task in ("none", None):
            q2 = q | ({"task": task} if task else {})
            items = api.get("/v1/risk-list", limit=500, **q2).json()["items"]
            assert hp["customer_ref"] not in {i["customer_ref"] for i in items}, q2
    queue = api.get("/v1/retention-tasks", limit=500, status="active").json()["items"]
    assert cp["customer_ref"] in {t["customer_ref"] for t in queue}
    assert hp["customer_ref"] not in {t["customer_ref"] for t in queue}
    # an admin sees the truth: the held-out receipt's own route, and the customer listed
    admin = api.get(f"/v1/predictions/{hp['prediction_id']}", role="admin").json()
    assert admin["route"] == {"action": "none", "reason": HELD_OUT.reason}
    listed = api.get("/v1/risk-list", role="admin", limit=500).json()["items"]
    assert hp["customer_ref"] in {i["customer_ref"] for i in listed}


def _fields(html: str) -> dict[str, Any]:
    """What the staff customer page says about a customer, outside who they are (their id,
    score, reasons, data, options) and the task card (the contact itself)."""
    task = re.search(r'<section class="card" aria-labelledby="task-h">.*?</section>', html, re.S)
    assert task, "no task card"
    rest = html.replace(task.group(0), "")
    score = re.search(r'<section class="card" aria-labelledby="score-h">(.*?)</section>',
                      rest, re.S).group(1)
    return {
        "band": re.findall(r'class="band band-(\w+)"', score),
        "route": [html_text.unescape(r)
                  for r in re.findall(r'<span lang="en">([^<]*)</span>', score)],
        "marks": re.findall(r'<p class="mark ([^"]+)"', rest),
        "headings": [re.sub(r"\d+", "#", h) for h in re.findall(r"<h2[^>]*>([^<]*)</h2>", rest)],
        "ids": sorted(set(re.findall(r'\sid="([^"]+)"', rest))),
        "forms": sorted(re.findall(r'<form method="post" action="(/staff/customers/)[^/]+'
                                   r'(/[^"]*)"', rest)),
        "arm words": [w for w in ("control", "held out", "témoin") if w in rest.lower()],
    }


def test_the_pages_show_agents_the_same_for_both_arms(api, app, client, tokens, by_risk, host):
    (h, hp), (c, cp), _ = _pair(api, app, by_risk, host)
    assert sign_in(client, tokens["agent"]).status_code == 303
    for lang in ("en", "fr"):
        pages = [client.get(f"/staff/customers/{p['customer_ref']}", params={"lang": lang})
                 for p in (hp, cp)]
        assert all(p.status_code == 200 for p in pages)
        held, contacted = (_fields(p.text) for p in pages)
        assert held == contacted, (held, contacted)
        assert held["band"] == ["high"] and held["route"] == [CAMPAIGN.reason]
        assert held["arm words"] == []
    # the risk page: the contacted customer with their task, never the held-out one
    for params in ({}, {"band": "high"}, {"task": "none"}, {"band": "high", "task": "none"}):
        page = client.get("/staff/risk", params=params).text
        assert hp["customer_ref"] not in page, params
        if "task" not in params:
            assert cp["customer_ref"] in page, params
    # an admin's pages name the arm
    client.cookies.clear()
    assert sign_in(client, tokens["admin"]).status_code == 303
    page = client.get(f"/staff/customers/{hp['customer_ref']}", params={"lang": "en"}).text
    assert 'id="arm"' in page and "held out (control group)" in page
    assert "held out (control group)" in client.get("/staff/risk", params={"band": "high"}).text


def test_no_csv_export_reaches_an_agent(app, client, tokens):
    """CSV exports (contest analytics, API and page) are for reviewers and admins: an agent
    is refused every one, so none can carry the arm to them."""
    csv = [r for r in api_routes(app) if r.path.endswith(".csv")]
    assert len(csv) >= 2
    for route in csv:
        headers = {"Authorization": f"Bearer {tokens['agent']}"}
        if route.path.startswith("/v1/"):
            assert client.get(route.path, headers=headers).status_code == 403, route.path
        else:
            client.cookies.clear()
            assert sign_in(client, tokens["agent"]).status_code == 303
            assert client.get(route.path, follow_redirects=False).status_code == 403, route.path


def test_the_customer_and_the_receipt_say_some_customers_are_not_contacted(api, app, client,
                                                                           by_risk, host):
    (h, hp), _, _ = _pair(api, app, by_risk, host)
    # the stored receipt of a held-out customer says what was done, in neutral words
    with app.state.db.session() as s:
        row = s.get(Prediction, hp["prediction_id"])
        assert (row.route_action, row.route_reason, row.arm) == ("none", HELD_OUT.reason,
                                                                "control")
    # what an agent reads says that some are not contacted; so does the customer's page
    assert "get no task" in CAMPAIGN.reason
    link = customer_link(api, h["customer_id"])
    open_me(client, link["token"], follow_redirects=False)
    assert "Some customers are not contacted" in client.get("/me", params={"lang": "en"}).text
