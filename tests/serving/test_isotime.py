"""Dates are ISO text: a number sent as a date is refused, not read as seconds since 1970
(schemathesis found `until=0.5` and `"left_on": 0` accepted)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", [0, 1_700_000_000, 0.5, "0.5", "1700000000"])
def test_a_number_is_not_a_departure_day(api, value) -> None:
    r = api.post("/v1/churn-events", role="integration",
                 json={"events": [{"customer_id": "C-ISO-1", "left_on": value}]})
    assert r.status_code == 422, r.text
    assert "ISO 8601" in r.text and "left_on" in r.text


def test_an_iso_day_is_read(api) -> None:
    r = api.post("/v1/churn-events", role="integration",
                 json={"events": [{"customer_id": "C-ISO-1", "left_on": "2026-10-31"}]})
    assert r.status_code == 200, r.text  # read; refused per row as an unknown customer
    assert r.json()["rejected_by_reason"] == {"unknown_customer": 1}


@pytest.mark.parametrize("path", ["/v1/analytics/contests", "/v1/analytics/contests.csv"])
def test_analytics_periods_are_iso_text(api, path) -> None:
    for bad in ("0.5", "1700000000"):
        r = api.get(path, role="reviewer", until=bad)
        assert r.status_code == 422, r.text
        assert "ISO 8601" in r.text
    assert api.get(path, role="reviewer", since="2026-01-01T00:00:00Z",
                   until="2026-12-31T00:00:00Z").status_code == 200


def test_the_command_lines_when_is_iso_and_utc_by_default() -> None:
    """Every command's --since/--until/--now (serving.cli, rights-due) reads its time so."""
    import argparse
    from datetime import UTC, datetime, timedelta, timezone

    from serving.isotime import when

    assert when("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert when("2026-01-31T12:00:00+02:00") == datetime(
        2026, 1, 31, 12, tzinfo=timezone(timedelta(hours=2)))
    for bad in ("31/01/2026", "yesterday", "0.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="is not an ISO date"):
            when(bad)
    from serving import cli

    for argv in (["rights-due", "--now", "soon"], ["contest-analytics", "--since", "soon"]):
        with pytest.raises(SystemExit) as refused:  # argparse, before anything runs
            cli.main(argv)
        assert refused.value.code == 2, argv
