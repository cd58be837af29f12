"""Contest analytics (issue 18) on a database filled through the API the way the product
runs: customers scored, links exchanged, disputes opened by the customers, judged blind
first and decided by a reviewer. Small cells suppressed on the API, the CSV and the page.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from tests.serving.web.test_pages import sign_in

UPHELD, OVERTURNED, RECTIFIED = 7, 5, 2


@pytest.fixture
def world(app, api, contest, by_risk, host):  # noqa: ANN001, ANN201
    """14 disputes: 7 upheld, 5 overturned, 2 rectified, each judged blind first."""
    app.state.settings = app.state.settings.model_copy(update={"blind_review": True})
    spec = host.current().spec
    made = []
    for i, customer in enumerate(by_risk[:UPHELD + OVERTURNED + RECTIFIED]):
        p, me = contest.scored(customer)
        r = contest.dispute(p, me)
        assert r.status_code == 201, r.text
        d = r.json()
        claim = "disagree" if i < UPHELD else "agree"
        j = api.post(f"/v1/disputes/{d['dispute_id']}/judgement", role="reviewer",
                     json={"expected_risk": "high", "claim_view": claim})
        assert j.status_code == 201, j.text
        if i < UPHELD:
            body = {"decision": "upheld", "rationale": "The data is right."}
        elif i < UPHELD + OVERTURNED:
            body = {"decision": "overturned", "rationale": "The model was wrong."}
        else:
            c = d["contested_features"][0]
            value = c["claimed_value"]
            if spec.feature(c["feature"]).kind == "numeric":
                value = float(value)
            body = {"decision": "rectified", "rationale": "Corrected.",
                    "corrected_features": {c["feature"]: value}}
        out = contest.decide(d["dispute_id"], body)
        assert out.status_code == 201, out.text
        made.append((customer, p, d, body["decision"]))
    return made


def test_analytics_counts_and_suppression(world, api, app, client, tokens):
    a = api.get("/v1/analytics/contests", role="reviewer").json()
    assert a["k"] == 5 and a["disputes"] == 14 and a["decided"] == 14 and a["open"] == 0
    outcome = {c["group"]: c["count"] for c in
               next(t for t in a["tables"] if t["key"] == "by_outcome")["cells"]}
    # 2 rectified is below k: suppressed, and the next smallest (5 overturned) with it, so
    # that the total (14) cannot give the 2 back
    assert outcome == {"upheld": UPHELD, "overturned": None, "rectified": None, "open": 0}
    rates = {r["key"]: r for r in a["rates"]}
    assert rates["decided_within_deadline"]["rate"] == 1.0
    assert rates["rectification_changed_route"]["rate"] is None  # 2 cases: too few
    assert rates["judged_mistaken"]["numerator"] == OVERTURNED + RECTIFIED
    # blind-first: every reviewer said "high"; the model's bands decide the agreement
    bands = [p["risk_band"] for _, p, _, _ in world]
    same = sum(b == "high" for b in bands)
    first_model = rates["blind_first_vs_model"]
    assert first_model["denominator"] == 14
    shown = same in (0, 14) or (same >= 5 and 14 - same >= 5)
    assert first_model["rate"] == (same / 14 if shown else None)
    # the claim view matched the decision every time (disagree -> upheld, agree -> not)
    assert rates["blind_first_vs_final"]["rate"] == 1.0
    assert rates["blind_model_vs_final"]["rate"] == pytest.approx(UPHELD / 14)
    # by factor contested: every factor's count adds up to the disputes
    by_feature = next(t for t in a["tables"] if t["key"] == "by_feature")
    assert by_feature["total"] == 14
    assert all(c["count"] is None or c["count"] >= 5 for c in by_feature["cells"])
    # never an individual: no pseudonym, id or dispute id in the answer
    text = api.get("/v1/analytics/contests", role="reviewer").text
    for customer, _, d, _ in world:
        assert customer["customer_id"] not in text and d["dispute_id"] not in text
        assert d["customer_ref"] not in text
    assert api.get("/v1/analytics/contests", role="agent").status_code == 403

    # the CSV export: the same figures, "< 5" where suppressed
    r = api.get("/v1/analytics/contests.csv", role="admin")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by = {(row["table"], row["group"]): row for row in rows}
    assert by[("by_outcome", "rectified")]["count"] == "< 5"
    assert by[("by_outcome", "upheld")]["count"] == str(UPHELD)
    assert by[("totals", "disputes")]["count"] == "14"
    assert all(row["count"] not in {"1", "2", "3", "4"} for row in rows)

    # the page, in English and French, with its charts
    assert sign_in(client, tokens["reviewer"]).status_code == 303
    page = client.get("/staff/analytics")
    assert page.status_code == 200
    assert "Contest analytics" in page.text and "<svg" in page.text
    assert "&lt; 5" in page.text and 'id="no-groups"' in page.text
    fr = client.get("/staff/analytics?lang=fr")
    assert "Analyse des contestations" in fr.text and "masqué" in fr.text
    csv_page = client.get("/staff/analytics.csv")
    assert csv_page.status_code == 200 and "by_outcome" in csv_page.text
    for customer, _, _, _ in world:
        assert customer["customer_id"] not in page.text


def test_sensitive_groups_from_the_audit_attributes(world, app, host, tmp_path, api, client,
                                                     tokens):
    """Groups joined by the keyed pseudonym from the customer file's sensitive columns."""
    import pandas as pd

    from serving.analytics import service
    from serving.specs import SpecCache

    settings = app.state.settings
    ids = [c["customer_id"] for c, _, _, _ in world]
    frame = pd.DataFrame({"customer_id": ids + ["OTHER-1", "OTHER-2"],
                          "gender": ["Female"] * 9 + ["Male"] * 5 + ["Male", "Male"]})
    data = tmp_path / "attrs.csv"
    frame.to_csv(data, index=False)
    schema = tmp_path / "schema.yaml"
    schema.write_text("name: attrs\nid_column: customer_id\ntarget: {column: churn, "
                      "positive: 1}\nsensitive: [gender]\n")
    attrs, sizes = service.attributes_from_file(data, schema, settings.pseudonym_secret)
    assert sizes["gender"] == {"Female": 9, "Male": 7}
    assert all(ref.startswith("cu_") for ref in attrs)  # never the raw id
    with app.state.db.session() as s:
        a = service.compute(s, SpecCache(), 5, attributes=attrs, group_sizes=sizes)
    g = a.table("group:gender")
    cells = {c.group: c for c in g.cells}
    assert cells["Female"].count == 9 and cells["Male"].count == 5
    assert cells["Male"].per_thousand == pytest.approx(1000 * 5 / 7)
    assert a.groups_available

    # the same through the CLI, into a CSV (counts only: no pseudonym, no id)
    from serving.cli import main as cli

    out = tmp_path / "by-group.csv"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHURN_DATABASE_URL", settings.database_url)
        assert cli(["contest-analytics", "--attributes", str(data), "--schema", str(schema),
                    "--out", str(out)]) == 0
        assert cli(["contest-analytics", "--attributes", str(data)]) == 2  # no schema
    rows = {(r["table"], r["group"]): r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert rows[("group:gender", "Female")]["count"] == "9"
    assert rows[("group:gender", "Male")]["count"] == "5"
    assert not any(i in out.read_text() for i in ids)

    # the page and the API read the file the DPO names (CHURN_AUDIT_ATTRIBUTES)
    app.state.settings = settings.model_copy(update={"audit_attributes": str(data)})
    got = api.get("/v1/analytics/contests", role="reviewer").json()
    table = next(t for t in got["tables"] if t["key"] == "group:gender")
    assert {c["group"]: c["count"] for c in table["cells"]} == {"Female": 9, "Male": 5}
    assert sign_in(client, tokens["reviewer"]).status_code == 303
    page = client.get("/staff/analytics")
    assert 'id="table-group-gender"' in page.text and 'id="no-groups"' not in page.text


def test_suppression_rule():
    from serving.analytics.service import rate, suppress

    assert suppress({"a": 10, "b": 3, "c": 7}, 5) == {"a": 10, "b": None, "c": None}
    assert suppress({"a": 10, "b": 3, "c": 2}, 5) == {"a": 10, "b": None, "c": None}
    assert suppress({"a": 10, "b": 0}, 5) == {"a": 10, "b": 0}
    assert rate("x", 3, 20, 5).rate is None and rate("x", 6, 20, 5).rate == 0.3
    assert rate("x", 0, 4, 5).rate is None and rate("x", 0, 5, 5).rate == 0.0
    # "5 of 6" would give the one other case back
    assert rate("x", 5, 6, 5).rate is None and rate("x", 5, 6, 5).numerator is None
    assert rate("x", 6, 6, 5).rate == 1.0
