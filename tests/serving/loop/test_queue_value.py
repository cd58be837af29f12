"""The agents' queue under uplift targeting (issue 17): ranked by the expected retained
value of a call (uplift x customer value - contact cost) by default, on the API and the
staff page, each task saying in words what its call is expected to be worth; pages of the
queue follow one another without a gap or a repeat. Under risk targeting the default
stays risk."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.main import create_app
from tests.serving.conftest import ADMIN_TOKEN, Api, bearer
from tests.serving.loop.conftest import uplift_settings
from tests.serving.web.test_pages import sign_in


@pytest.fixture
def uplift_api(settings, host, uplift_version) -> Iterator[Api]:  # noqa: ANN001
    """The API of an app with uplift targeting in force (a fifth held out)."""
    app = create_app(uplift_settings(settings, uplift_version, control_fraction=0.2,
                                     customer_value=300.0, contact_cost=10.0), host=host)
    with TestClient(app) as client:
        tokens = {"admin": ADMIN_TOKEN}
        for role in ("agent", "reviewer"):
            r = client.post("/v1/admin/users", json={"name": f"q {role}", "role": role},
                            headers=bearer(ADMIN_TOKEN))
            tokens[role] = r.json()["token"]
        yield Api(client, tokens)


def _score(api: Api, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score the customers online, each with a value of their own (every third unknown)."""
    body = [{"customer_id": c["customer_id"], "features": c["features"],
             **({"customer_value": 50.0 + 97.0 * (n % 23)} if n % 3 else {})}
            for n, c in enumerate(customers)]
    out = []
    for i in range(0, len(body), 200):
        r = api.client.post("/v1/predictions", json=body[i:i + 200], headers=api.headers())
        assert r.status_code == 201, r.text
        out += r.json()
    return out


def _values(items: list[dict[str, Any]]) -> list[float]:
    return [i["call_value"]["expected_value"] for i in items]


def test_the_queue_is_ranked_by_expected_value_under_uplift(uplift_api, customers):
    api = uplift_api
    _score(api, customers[:400])
    tasks = api.get("/v1/retention-tasks", limit=500).json()["items"]
    assert len(tasks) > 20
    values = _values(tasks)
    assert values == sorted(values, reverse=True)  # the default order: value
    assert all(v > 0 for v in values)  # a call not worth its cost is not queued
    for t in tasks:  # each value is the rule's, from its own parts
        cv = t["call_value"]
        assert cv["expected_value"] == pytest.approx(cv["uplift"] * cv["customer_value"] - 10)
        assert t["prediction"]["targeting"]["rule"] == "uplift"
    # customers without a value of their own were valued at CHURN_CUSTOMER_VALUE
    assert 300.0 in {t["call_value"]["customer_value"] for t in tasks}
    # not by risk: the two orders differ
    by_score = [t["task_id"] for t in sorted(tasks, key=lambda t: -t["score"])]
    assert by_score != [t["task_id"] for t in tasks]
    assert [t["task_id"] for t in api.get("/v1/retention-tasks", limit=500, sort="score")
            .json()["items"]] == by_score
    # page after page (the keyset cursor of the value order): the same order, whole
    seen, cursor = [], None
    while True:
        page = api.get("/v1/retention-tasks", limit=7, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        seen += [t["task_id"] for t in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [t["task_id"] for t in tasks]
    # the risk list's default order is the queue's too
    listed = api.get("/v1/risk-list", limit=500).json()["items"]
    assert [i["open_task_id"] for i in listed] == [t["task_id"] for t in tasks]
    assert _values(listed) == values


def test_the_staff_queue_says_what_a_call_is_worth(uplift_api, customers):
    api = uplift_api
    _score(api, customers[:300])
    tasks = api.get("/v1/retention-tasks", limit=500).json()["items"]
    assert sign_in(api.client, api.tokens["agent"]).status_code == 303
    page = api.client.get("/staff/risk", params={"lang": "en"})
    assert page.status_code == 200
    # rows in the value order, each with its words
    refs = re.findall(r'href="/staff/customers/([^"]+)"', page.text)
    assert refs[:10] == [t["customer_ref"] for t in tasks[:10]]
    words = re.findall(r'class="call-value">([^<]+)<', page.text)
    assert len(words) >= 10 and all(w.startswith("Expected value of a call: ") for w in words)
    assert "lower their chance of leaving by" in words[0]
    assert 'aria-current="true" class="current">by value of a call' in page.text
    assert "the highest expected value of a call first" in page.text
    fr = html.unescape(api.client.get("/staff/risk", params={"lang": "fr"}).text)
    assert "Valeur attendue d'un appel" in fr and "par valeur d'un appel" in fr
    assert "Un appel réduirait son risque de départ de" in fr
    # the customer page of the first task says it too
    first = tasks[0]
    customer = api.client.get(f"/staff/customers/{first['customer_ref']}",
                              params={"lang": "en"})
    m = re.search(r'id="call-value" class="call-value">([^<]+)<', customer.text)
    assert m and m.group(1).startswith("Expected value of a call: ")
    shown = m.group(1).split(": ")[1].split(".")[0].replace(",", "")
    assert abs(float(shown) - first["call_value"]["expected_value"]) <= 1


def test_under_risk_targeting_the_default_stays_risk(api, customers):
    api.score(customers[:200])
    tasks = api.get("/v1/retention-tasks", limit=500).json()["items"]
    assert tasks and all(t["call_value"] is None for t in tasks)
    assert [t["score"] for t in tasks] == sorted((t["score"] for t in tasks), reverse=True)
    assert all(t["prediction"]["targeting"]["rule"] == "risk" for t in tasks)
    card = api.get("/v1/model").json()["targeting"]
    assert card["rule"] == "risk" and card["uplift_model"] is None
    assert card["statement"].startswith("Risk targeting")


def test_the_dashboard_names_the_rule_applied(uplift_api, settings, host):
    api = uplift_api
    assert sign_in(api.client, api.tokens["reviewer"]).status_code == 303
    page = api.client.get("/staff/dashboard", params={"lang": "en"})
    assert "Queue ranked by: expected retained value (uplift model)." in page.text
    # uplift asked for, but no uplift model loads: the rule applied is risk, and said so
    app = create_app(settings.model_copy(update={
        "targeting": "uplift", "uplift_model_uri": "models:/no-such-uplift@champion"}),
        host=host)
    with TestClient(app) as client:
        assert sign_in(client, ADMIN_TOKEN).status_code == 303
        page = client.get("/staff/dashboard", params={"lang": "en"})
        assert "Queue ranked by: churn risk" in page.text
        card = client.get("/v1/model", headers=bearer(ADMIN_TOKEN)).json()["targeting"]
        assert (card["rule"], card["requested"]) == ("risk", "uplift")
