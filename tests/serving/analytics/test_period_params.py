"""The period of contest analytics and the compliance report, as a reviewer or an admin
sends it (a tester found plain-text 500s): a date, or a time without an offset, is read as
UTC; a bound outside the calendar once in UTC, or until not after since, is a 422 naming
the field with what was expected, what came and the fix. The pages read the period with the
API's model and the same service, and show a refusal on their period form. The API and the
pages on SQLite and PostgreSQL; the rules alone first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from serving.analytics.periods import resolve
from serving.errors import InvalidInput
from tests.serving.web.test_pages import sign_in

PATHS = ("/v1/analytics/contests", "/v1/analytics/contests.csv", "/v1/compliance/report")
OFF_CALENDAR = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")


# -- the rules ---------------------------------------------------------------------------------
def test_a_naive_bound_is_utc_and_an_aware_one_is_converted():
    east = timezone(timedelta(hours=2))
    assert resolve(datetime(2026, 1, 1), datetime(2026, 2, 1, 12, tzinfo=east), None) == (
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, 10, tzinfo=UTC))
    assert resolve(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59), None)[1].tzinfo


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("hours", [14, -14])
def test_a_bound_off_the_calendar_in_utc_is_refused_naming_it(name, hours):
    t = (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=hours))) if hours > 0
         else datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=hours))))
    with pytest.raises(InvalidInput) as e:
        resolve(**{"since": None, "until": None, name: t}, quarter=None)
    err = e.value.field_errors()[0]
    assert (err.field, err.problem) == (name, "out_of_range")
    assert "UTC" in err.expected and err.got == t.isoformat() and f"{name}=2026-01-01" in err.fix


def test_until_must_come_after_since():
    for since, until in ((datetime(2026, 6, 1), datetime(2026, 1, 1)),
                         (datetime(2026, 6, 1), datetime(2026, 6, 1, tzinfo=UTC))):
        with pytest.raises(InvalidInput) as e:
            resolve(since, until, None)
        err = e.value.field_errors()[0]
        assert (err.field, err.problem) == ("until", "period_order"), err
        assert "since=2026-06-01T00:00:00+00:00" in err.expected and "until" in err.fix
    # the same instant written in two zones is no period either
    with pytest.raises(InvalidInput):
        resolve(datetime(2026, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))),
                datetime(2026, 6, 1), None)
    assert resolve(datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 1), None)[0]


# -- the API -----------------------------------------------------------------------------------
def test_a_date_or_a_naive_time_is_read_as_utc(api, contest, by_risk):
    """The tester's requests, each a 500 before; and a date is its midnight UTC: a dispute
    received today counts from today's date, not until it."""
    p, me = contest.scored(by_risk[0])
    assert contest.dispute(p, me).status_code == 201
    today = datetime.now(UTC).date().isoformat()
    for role in ("reviewer", "admin"):
        r = api.get("/v1/analytics/contests", role=role, since="2026-01-01")
        assert r.status_code == 200, r.text
        assert r.json()["since"] == "2026-01-01T00:00:00Z"
        r = api.get("/v1/analytics/contests.csv", role=role, until="2026-06-01")
        assert r.status_code == 200, r.text
        r = api.get("/v1/compliance/report", role=role, since="2026-01-01T00:00:00")
        assert r.status_code == 200, r.text
        assert r.json()["since"] == "2026-01-01T00:00:00+00:00"
        assert api.get("/v1/analytics/contests", role=role, since=today).json()[
            "disputes"] == 1
        assert api.get("/v1/analytics/contests", role=role, until=today).json()[
            "disputes"] == 0
        assert api.get("/v1/compliance/report", role=role, since=today).json()[
            "disputes"]["received"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_a_bound_off_the_calendar_is_a_422_naming_it(api, path):
    for name in ("since", "until"):
        for value in OFF_CALENDAR:
            r = api.get(path, role="admin", **{name: value})
            assert r.status_code == 422, (path, name, value, r.text)
            err = r.json()["errors"][0]
            assert (err["field"], err["problem"]) == (name, "out_of_range"), err
            assert "UTC" in err["expected"] and err["got"] == value and err["fix"], err


@pytest.mark.parametrize("path", PATHS)
def test_since_after_until_is_a_422(api, path):
    for since, until in (("2026-06-01", "2026-01-01"), ("2026-06-01", "2026-06-01T00:00:00Z")):
        r = api.get(path, role="reviewer", since=since, until=until)
        assert r.status_code == 422, (path, since, until, r.text)
        err = r.json()["errors"][0]
        assert (err["field"], err["problem"]) == ("until", "period_order"), err


def test_an_auditor_may_write_a_quarters_bounds_as_dates(api):
    """The auditor's quarter by its bounds, written as dates (UTC): still that quarter."""
    named = api.get("/v1/analytics/contests", role="auditor", quarter="2026-Q1")
    dated = api.get("/v1/analytics/contests", role="auditor", since="2026-01-01",
                    until="2026-04-01")
    assert named.status_code == dated.status_code == 200, dated.text
    assert dated.json() == named.json()


# -- the pages ---------------------------------------------------------------------------------
def _signed_in(app, token: str) -> TestClient:
    c = TestClient(app)
    assert sign_in(c, token).status_code == 303
    return c


def test_the_pages_show_a_refused_period_on_their_form(app, tokens):
    """What the API refuses, the pages refuse the same way (a 422 and the form saying why,
    in the page's language), instead of ignoring the period or showing a bare error page."""
    reviewer = _signed_in(app, tokens["reviewer"])
    for page in ("/staff/analytics", "/staff/compliance"):
        r = reviewer.get(page, params={"since": "garbage"})
        assert r.status_code == 422 and "text/html" in r.headers["content-type"], page
        assert 'id="period-errors"' in r.text and "“garbage” is not a date" in r.text
        assert 'id="since"' in r.text and 'aria-invalid="true"' in r.text
        assert 'id="download-' not in r.text  # no figures for a period not read
        r = reviewer.get(page, params={"since": "2026-06-01", "until": "2026-01-01",
                                       "lang": "fr"})
        assert r.status_code == 422 and "La fin doit venir après le début" in r.text, page
        r = reviewer.get(page, params={"since": "0001-01-01T00:00:00+14:00", "lang": "en"})
        assert r.status_code == 422 and "outside the calendar" in r.text, page
        r = reviewer.get(page, params={"since": "2026-01-01", "until": "2026-06-01"})
        assert r.status_code == 200, page
        assert 'value="2026-01-01"' in r.text and "since=2026-01-01&amp;until=2026-06-01" in r.text
    for download in ("/staff/analytics.csv", "/staff/compliance/report.json",
                     "/staff/compliance/report.html"):
        for params in ({"since": "garbage"}, {"since": "2026-06-01", "until": "2026-01-01"},
                       {"until": "9999-12-31T23:59:59-14:00"}):
            r = reviewer.get(download, params=params)
            assert r.status_code == 422 and "text/html" in r.headers["content-type"], (
                download, params)
        assert reviewer.get(download, params={"since": "2026-01-01"}).status_code == 200

    auditor = _signed_in(app, tokens["auditor"])
    r = auditor.get("/staff/analytics", params={"since": "2026-01-02", "until": "2026-04-01"})
    assert r.status_code == 422 and "one whole calendar quarter that has ended" in r.text
    assert 'id="quarter-form"' in r.text and 'type="date"' not in r.text
    r = auditor.get("/staff/compliance", params={"quarter": "2026-Q9"})
    assert r.status_code == 422 and 'id="error-quarter"' in r.text


@pytest.mark.parametrize("command", [["contest-analytics"],
                                     ["compliance-report", "--out", "REPORT"]])
def test_the_command_line_says_the_same_words_and_exits_2(command, database_url, tmp_path,
                                                          monkeypatch, capsys):
    from serving.cli import main

    monkeypatch.setenv("CHURN_DATABASE_URL", database_url)
    argv = [str(tmp_path / "report") if a == "REPORT" else a for a in command]
    assert main([*argv, "--since", "2026-06-01", "--until", "2026-01-01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "until" in err and "since" in err
