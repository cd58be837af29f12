"""Who actually left (issue 17): churn events from the integration role and from a file,
validated per row and idempotent; each prediction's observed label."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from models import pseudonymise
from serving import cli
from serving.loop.outcomes import label_of, labelled_predictions
from serving.storage.tables import ChurnEvent

TODAY = datetime.now(UTC).date()


def _events(api, events, role="integration"):
    return api.client.post("/v1/churn-events", json={"events": events},
                           headers=api.headers(role))


def test_churn_events_are_validated_per_row_and_idempotent(api, app, customers, settings):
    a, b, c = customers[:3]
    assert api.score([a, b, c]).status_code == 201
    erased = customers[3]
    assert api.score(erased).status_code == 201
    assert api.client.delete(f"/v1/customers/{erased['customer_id']}",
                             headers=api.headers("admin")).status_code == 200
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    body = [
        {"customer_id": a["customer_id"], "left_on": yesterday},  # 0: recorded
        {"customer_id": b["customer_id"], "left_on": TODAY.isoformat()},  # 1: recorded
        {"customer_id": "NOT-A-CUSTOMER", "left_on": yesterday},  # 2: unknown
        {"customer_id": c["customer_id"],
         "left_on": (TODAY + timedelta(days=3)).isoformat()},  # 3: future
        {"customer_id": a["customer_id"], "left_on": yesterday},  # 4: repeat in the call
        {"customer_id": erased["customer_id"], "left_on": yesterday},  # 5: erased
    ]
    r = _events(api, body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["received"], out["recorded"], out["already_recorded"], out["rejected"]) == \
        (6, 2, 0, 4)
    assert {(p["row"], p["field"], p["problem"]) for p in out["problems"]} == {
        (2, "events.2.customer_id", "unknown_customer"),
        (3, "events.3.left_on", "future_date"),
        (4, "events.4.left_on", "duplicate_in_request"),
        (5, "events.5.customer_id", "erased")}
    assert all(p["detail"] for p in out["problems"])
    # no raw id comes back
    assert a["customer_id"] not in r.text and "NOT-A-CUSTOMER" not in r.text
    # the same call again records nothing new
    again = _events(api, body).json()
    assert (again["recorded"], again["already_recorded"], again["rejected"]) == (0, 2, 4)
    with app.state.db.session() as s:
        stored = s.execute(sa.select(ChurnEvent.customer_ref, ChurnEvent.left_on,
                                     ChurnEvent.source)).all()
    assert sorted(stored) == sorted([
        (pseudonymise(a["customer_id"], settings.pseudonym_secret),
         TODAY - timedelta(days=1), "api"),
        (pseudonymise(b["customer_id"], settings.pseudonym_secret), TODAY, "api")])
    # audited with counts, never an id
    events = api.get("/v1/audit/events", role="admin", limit=50,
                     action="churn_events.recorded").json()["items"]
    assert len(events) == 2 and events[-1]["customer_ref"] is None
    assert a["customer_id"] not in str(events)


def test_agents_and_reviewers_cannot_record_churn_events(api, customers):
    api.score(customers[0])
    body = [{"customer_id": customers[0]["customer_id"], "left_on": TODAY.isoformat()}]
    for role in ("agent", "reviewer"):
        assert _events(api, body, role).status_code == 403
    # the integration (and the admin, who may do everything) can
    assert _events(api, body, "admin").json()["recorded"] == 1
    bad = _events(api, [{"customer_id": customers[0]["customer_id"], "left_on": "31/10/2026"}])
    assert bad.status_code == 422 and "left_on" in bad.text
    assert _events(api, []).status_code == 422


def test_an_erased_customers_events_go_with_them(api, app, customers):
    c = customers[5]
    api.score(c)
    assert _events(api, [{"customer_id": c["customer_id"],
                          "left_on": TODAY.isoformat()}]).json()["recorded"] == 1
    r = api.client.delete(f"/v1/customers/{c['customer_id']}", headers=api.headers("admin"))
    assert r.status_code == 200 and r.json()["erased"]["churn_events"] == 1
    with app.state.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ChurnEvent)) == 0


def test_outcomes_from_a_file(api, customers, settings, monkeypatch, tmp_path, capsys):
    api.score(customers[:2])
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    good = tmp_path / "left.csv"
    good.write_text("customer_id,left_on\n"
                    f"{customers[0]['customer_id']},2026-01-15\n"
                    f"{customers[1]['customer_id']},2026-01-16\n"
                    "NOBODY,2026-01-16\n", encoding="utf-8")
    assert cli.main(["outcomes", "--data", str(good)]) == 0
    out = capsys.readouterr().out
    assert '"recorded": 2' in out and "row 4, column customer_id: unknown_customer" in out
    assert cli.main(["outcomes", "--data", str(good)]) == 0  # again: nothing new
    assert '"already_recorded": 2' in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("customerID,churn_date\n"
                   f"{customers[0]['customer_id']},2026-02-01\n"
                   f"{customers[1]['customer_id']},01/02/2026\n", encoding="utf-8")
    assert cli.main(["outcomes", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3, column churn_date" in err and "ISO date" in err
    assert "nothing was recorded" in err
    nodate = tmp_path / "nodate.csv"
    nodate.write_text("customer_id,when\nC1,2026-01-01\n", encoding="utf-8")
    assert cli.main(["outcomes", "--data", str(nodate)]) == 2
    assert "no date column" in capsys.readouterr().err


# -- labels ---------------------------------------------------------------------------------
def test_label_of_a_prediction():
    at = datetime(2026, 1, 10, 12, tzinfo=UTC)
    early, late = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    assert label_of(at, [date(2026, 1, 10)], 90, early) == (1.0, date(2026, 1, 10))
    assert label_of(at, [date(2026, 4, 10)], 90, late) == (1.0, date(2026, 4, 10))  # day 90
    assert label_of(at, [date(2026, 4, 11)], 90, late)[0] == 0.0  # day 91: too late
    assert math.isnan(label_of(at, [], 90, early)[0])  # the horizon still runs
    assert label_of(at, [], 90, late) == (0.0, None)
    assert math.isnan(label_of(at, [date(2026, 1, 2)], 90, late)[0])  # left before


def test_labelled_predictions(api, app, customers, settings):
    a, b, c = customers[6:9]
    scored = api.score([a, b, c]).json()
    _events(api, [{"customer_id": a["customer_id"], "left_on": TODAY.isoformat()}])
    with app.state.db.session() as s:
        now = labelled_predictions(s, settings.label_horizon_days)
        later = labelled_predictions(s, settings.label_horizon_days,
                                     now=datetime.now(UTC) + timedelta(days=91))
    pids = [p["prediction_id"] for p in scored]
    assert sorted(now["prediction_id"]) == sorted(pids)
    now, later = now.set_index("prediction_id"), later.set_index("prediction_id")
    assert now.loc[pids[0], "label"] == 1.0 and now.loc[pids[1:], "label"].isna().all()
    assert later.loc[pids, "label"].tolist() == [1.0, 0.0, 0.0]
    row = now.loc[pids[0]]
    assert row["customer_ref"] == scored[0]["customer_ref"]
    assert row["features"] == {x["feature"]: x["value"] for x in scored[0]["contributions"]}
    assert row["period"] == datetime.now(UTC).strftime("%Y-%m")
    assert row["targeting"] == "risk" and row["left_on"] == TODAY
