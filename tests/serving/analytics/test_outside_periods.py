"""An outside auditor reads one ended calendar quarter, as it stood at its end (issue 18:
two overlapping periods, or the same period read twice, could otherwise be subtracted to
recover a suppressed count). The operator's own reviewers read any period, live. Through
the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from tests.serving.conftest import bearer
from tests.serving.test_analytics import world  # noqa: F401 - the shared fixture
from tests.serving.timeshift import into_last_quarter

DAY = timedelta(days=1)


def test_an_auditor_reads_one_ended_quarter_as_it_stood(
        world, app, api, contest, by_risk, client, tokens):  # noqa: F811
    late, me = contest.scored(by_risk[len(world)])
    late_dispute = contest.dispute(late, me).json()
    q = into_last_quarter(app.state.db)
    # judged blind and decided today, after the quarter ended
    assert api.post(f"/v1/disputes/{late_dispute['dispute_id']}/judgement", role="reviewer",
                    json={"expected_risk": "high", "claim_view": "disagree"}).status_code == 201
    assert contest.decide(late_dispute["dispute_id"], {
        "decision": "upheld", "rationale": "The data is right."}).status_code == 201

    auditor = bearer(tokens["auditor"])
    a = client.get("/v1/analytics/contests", headers=auditor)
    assert a.status_code == 200, a.text
    a = a.json()
    assert (a["since"][:10], a["until"][:10], a["as_of"][:10]) == (
        str(q.since.date()), str(q.until.date()), str(q.until.date()))
    assert (a["disputes"], a["decided"], a["open"]) == (15, 14, 1)  # as it stood
    # the same quarter by name or by its bounds: the same figures
    named = client.get("/v1/analytics/contests", headers=auditor,
                       params={"quarter": q.label}).json()
    bounds = client.get("/v1/analytics/contests", headers=auditor, params={
        "since": q.since.isoformat(), "until": q.until.isoformat()}).json()
    assert named == bounds == a
    # the operator's reviewer: the same quarter, live
    live = api.get("/v1/analytics/contests", role="reviewer", params={"quarter": q.label})
    assert live.json()["decided"] == 15 and live.json()["as_of"] is None
    assert api.get("/v1/analytics/contests", role="reviewer", params={
        "since": (q.since + DAY).isoformat()}).status_code == 200

    # any other period an auditor asks for is refused, saying which would do
    asks = [{"since": (q.since + DAY).isoformat(), "until": q.until.isoformat()},
            {"since": q.since.isoformat()},
            {"since": q.since.isoformat(), "until": q.next().until.isoformat()},
            {"quarter": q.next().label},  # not ended
            {"quarter": q.label, "since": q.since.isoformat()}]
    for params in asks:
        for path in ("/v1/analytics/contests", "/v1/analytics/contests.csv",
                     "/v1/compliance/report"):
            r = client.get(path, headers=auditor, params=params)
            assert r.status_code == 422, (path, params, r.text)
            err = r.json()["errors"][0]
            assert err["problem"] == "period_not_allowed" and "quarter" in err["fix"], err
    assert client.get("/v1/analytics/contests", headers=auditor,
                      params={"quarter": "2026-Q9"}).status_code == 422

    report = client.get("/v1/compliance/report", headers=auditor).json()
    assert report["as_of"][:10] == str(q.until.date())
    assert (report["disputes"]["received"], report["disputes"]["decided"]) == (15, 14)
    staff = api.get("/v1/compliance/report", role="reviewer", params={"quarter": q.label})
    assert staff.json()["disputes"]["decided"] == 15 and staff.json()["as_of"] is None
    csv_text = client.get("/v1/analytics/contests.csv", headers=auditor).text
    assert "disputes" in csv_text


def test_the_pages_offer_quarters_and_refuse_an_auditor_any_other_period(
        world, app, client, tokens):  # noqa: F811
    """The analytics and compliance pages: an auditor picks among ended quarters (the last
    one by default, figures as they stood at its end), a reviewer may also read all time;
    a period an auditor may not read is a translated 422 page, not a partial answer."""
    from fastapi.testclient import TestClient

    from tests.serving.web.test_pages import sign_in

    q = into_last_quarter(app.state.db)
    auditor = TestClient(app)
    assert sign_in(auditor, tokens["auditor"]).status_code == 303
    page = auditor.get("/staff/analytics")
    assert page.status_code == 200
    assert f'<option value="{q.label}" selected>' in page.text
    assert 'value=""' not in page.text and 'id="as-of"' in page.text
    assert f"quarter={q.label}" in page.text  # the CSV link reads the same quarter
    assert auditor.get(f"/staff/analytics.csv?quarter={q.label}").status_code == 200
    report = auditor.get("/staff/compliance?lang=fr")
    assert 'id="quarter-form"' in report.text and 'id="report-as-of"' in report.text
    assert 'type="date"' not in report.text
    for path in (f"/staff/analytics?quarter={q.next().label}",
                 f"/staff/compliance?quarter={q.next().label}",
                 "/staff/compliance?since=2026-01-02&until=2026-04-01",
                 f"/staff/analytics.csv?quarter={q.next().label}"):
        r = auditor.get(path + ("&" if "?" in path else "?") + "lang=fr")
        assert r.status_code == 422, (path, r.status_code)
        assert "text/html" in r.headers["content-type"]

    reviewer = TestClient(app)
    assert sign_in(reviewer, tokens["reviewer"]).status_code == 303
    page = reviewer.get("/staff/analytics")
    assert '<option value="" selected>' in page.text and 'id="as-of"' not in page.text
    assert reviewer.get(f"/staff/analytics?quarter={q.next().label}").status_code == 200
    assert 'type="date"' in reviewer.get("/staff/compliance").text
