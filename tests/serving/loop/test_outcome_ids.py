"""Churn events from a file and from the API read the same: the customer id exactly as
written (a tester found `python -m serving.cli outcomes` trimming " SPX2" to "SPX2", which the
API scores as a different customer), and the day left by one rule (`outcomes.day_left`):
the file refused "2026-10-26T00:00:00" which the API took, and the API called the text
"20261031" a number. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from models import pseudonymise
from serving import cli
from serving.loop.outcomes import day_left
from serving.loop.service import OutcomesFileError, read_events_file
from serving.storage.tables import ChurnEvent

TODAY = datetime.now(UTC).date()

# (as written, why refused: a word of the fix), the same in the file and the API
REFUSED = [
    ("2026-10-26T00:00:00", "send the day alone"),
    ("2026-10-26T23:30:00-02:00", "2026-10-27"),  # the day in UTC is the 27th
    ("20261031", "2026-10-31"),
    (" 2026-10-31", "spaces"),
    ("2026-02-30", "calendar"),
    ("2026-W44-1", "YYYY-MM-DD"),
    ("31/10/2026", "YYYY-MM-DD"),
    ("", "YYYY-MM-DD"),
]


def _events(api, events):
    return api.client.post("/v1/churn-events", json={"events": events},
                           headers=api.headers("integration"))


def _file(tmp_path, name: str, rows: list[tuple[str, str]]):
    import csv

    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(["customer_id", "left_on"])
        w.writerows(rows)
    return path


# -- the one day rule ----------------------------------------------------------------------------
def test_the_day_left_is_one_rule():
    assert day_left("2026-10-31") == date(2026, 10, 31)
    assert day_left(date(2026, 10, 31)) == date(2026, 10, 31)
    for value, fix in [*REFUSED, (20261031, "as text"), (None, "YYYY-MM-DD")]:
        with pytest.raises(ValueError) as e:
            day_left(value)
        text = str(e.value)
        assert text.startswith("expected an ISO date (ISO 8601: YYYY-MM-DD)"), text
        assert f"got {value!r}" in text or "the number" in text, text
        assert fix in text.split("; got ", 1)[1], (value, text)


def test_the_file_and_the_api_refuse_the_same_days_in_the_same_words(api, customers,
                                                                       tmp_path):
    c = customers[0]
    assert api.score(c).status_code == 201
    for value, _ in REFUSED:
        r = _events(api, [{"customer_id": c["customer_id"], "left_on": value}])
        assert r.status_code == 422, (value, r.text)
        err = r.json()["errors"][0]
        assert err["field"] == "events.0.left_on" and err["problem"] == "not_a_day", err
        with pytest.raises(OutcomesFileError) as e:
            read_events_file(_file(tmp_path, "left.csv", [(c["customer_id"], value)]))
        assert f"row 2, column left_on: {err['expected']}" in str(e.value), (value, e.value)
    # a day as the rule wants it: read alike
    day = TODAY.isoformat()
    assert read_events_file(_file(tmp_path, "ok.csv", [(c["customer_id"], day)])).rows == [
        (c["customer_id"], TODAY, 2)]
    assert _events(api, [{"customer_id": c["customer_id"], "left_on": day}]).json()[
        "recorded"] == 1
    # a number sent as JSON is not a day either, said so
    r = _events(api, [{"customer_id": c["customer_id"], "left_on": 20261031}])
    assert r.status_code == 422 and "send the date as text" in r.text


# -- the id as written -------------------------------------------------------------------------
def test_a_file_records_the_customer_as_written(api, app, customers, settings, monkeypatch,
                                                tmp_path, capsys):
    """" SPX2" (a leading space: the API scores it as written) and "SPX2" are two
    customers; a file's departure of " SPX2" is theirs, as the API's is."""
    spaced, plain = " SPX2", "SPX2"
    for cid, c in ((spaced, customers[0]), (plain, customers[1])):
        r = api.score({"customer_id": cid, "features": c["features"]})
        assert r.status_code == 201, r.text
    monkeypatch.setenv("CHURN_DATABASE_URL", settings.database_url)
    left = _file(tmp_path, "left.csv", [(spaced, "2026-01-15")])
    assert cli.main(["outcomes", "--data", str(left)]) == 0
    assert '"recorded": 1' in capsys.readouterr().out
    with app.state.db.session() as s:
        stored = s.execute(sa.select(ChurnEvent.customer_ref)).scalars().all()
    assert stored == [pseudonymise(spaced, settings.pseudonym_secret)]
    # the API's departure of the same customer and day: the one already recorded
    again = _events(api, [{"customer_id": spaced, "left_on": "2026-01-15"}]).json()
    assert (again["recorded"], again["already_recorded"]) == (0, 1)
    # unquoted, the spaces are still part of the id (csv keeps them)
    raw = tmp_path / "raw.csv"
    raw.write_text(f"customer_id,left_on\n{spaced},2026-01-16\n", encoding="utf-8")
    assert read_events_file(raw).rows == [(spaced, date(2026, 1, 16), 2)]
