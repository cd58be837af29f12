"""Which periods an outside auditor may read: pure decisions (serving/analytics/periods.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from serving.analytics.periods import Quarter, ended_since, for_outside_reader, last_ended, resolve
from serving.errors import InvalidInput

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def d(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_quarters_cover_the_year_without_gap_or_overlap():
    q = Quarter(2025, 4)
    seen = []
    for _ in range(8):
        assert q.until == q.next().since
        seen.append((q.label, q.since, q.until))
        q = q.next()
    assert seen[0] == ("2025-Q4", d(2025, 10, 1), d(2026, 1, 1))
    assert seen[1] == ("2026-Q1", d(2026, 1, 1), d(2026, 4, 1))
    assert Quarter.of(d(2026, 3, 31, 23, 59)) == Quarter(2026, 1)
    assert Quarter.of(d(2026, 4, 1)) == Quarter(2026, 2)
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter.parse(" 2026-q3 ") == Quarter.parse("2026Q3") == Quarter(2026, 3)
    for bad in ("2026-Q5", "2026-3", "Q3", ""):
        with pytest.raises(ValueError):
            Quarter.parse(bad)


def test_the_last_ended_quarter_and_the_shortcuts():
    assert last_ended(NOW) == Quarter(2026, 3)
    assert last_ended(d(2026, 1, 1)) == Quarter(2025, 4)
    assert [q.label for q in ended_since(d(2025, 11, 5), NOW)] == [
        "2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4"]
    assert len(ended_since(d(2010, 1, 1), NOW, most=8)) == 8
    assert ended_since(None, NOW) == [Quarter(2026, 3)]


def test_staff_periods_pass_through_and_a_quarter_stands_for_its_bounds():
    assert resolve(d(2026, 2, 3), None, None) == (d(2026, 2, 3), None)
    assert resolve(None, None, "2026-Q2") == (d(2026, 4, 1), d(2026, 7, 1))
    with pytest.raises(InvalidInput) as e:
        resolve(d(2026, 4, 1), None, "2026-Q2")
    assert e.value.field_errors()[0].field == "quarter"


def test_an_outside_reader_gets_one_ended_quarter_or_a_clear_refusal():
    assert for_outside_reader(None, None, NOW) == Quarter(2026, 3)
    assert for_outside_reader(d(2026, 4, 1), d(2026, 7, 1), NOW) == Quarter(2026, 2)
    refused = [
        (d(2026, 4, 1), None),                 # open-ended
        (None, d(2026, 7, 1)),
        (d(2026, 4, 2), d(2026, 7, 1)),        # overlaps Q2 but is not it: subtractable
        (d(2026, 4, 1), d(2026, 10, 1)),       # two quarters: minus one gives the other
        (d(2026, 1, 1), d(2027, 1, 1)),        # a year
        (d(2026, 10, 1), d(2027, 1, 1)),       # the current quarter: still moving
    ]
    for since, until in refused:
        with pytest.raises(InvalidInput) as e:
            for_outside_reader(since, until, NOW)
        err = e.value.field_errors()[0]
        assert err.problem == "period_not_allowed"
        assert "quarter" in err.expected and "quarter=" in err.fix, err
    with pytest.raises(InvalidInput) as e:
        for_outside_reader(d(2026, 4, 2), d(2026, 7, 1), NOW)
    assert "since=2026-04-01 until=2026-07-01" in e.value.field_errors()[0].expected


def test_a_quarter_outside_the_calendar_is_refused_not_a_fault():
    """Found by the API fuzz: quarter=0000Q1 made a 500 (year 0 is out of datetime's range)."""
    for text in ("0000Q1", "0001-Q1", "9999-Q4"):
        with pytest.raises(InvalidInput):
            resolve(None, None, text)
    for since in (d(1, 1, 1), d(9999, 10, 1)):
        with pytest.raises(InvalidInput):
            for_outside_reader(since, d(9999, 12, 31), NOW)
    east = timezone(timedelta(hours=14))
    with pytest.raises(InvalidInput):
        for_outside_reader(datetime(1, 1, 1, tzinfo=east), d(2026, 1, 1), NOW)
