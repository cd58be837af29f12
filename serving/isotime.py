"""Dates and times as clients must send them: ISO 8601 text only (the API's types and
the command line's `when` argument).

pydantic's lax mode reads a number as seconds since 1970 (`until=0.5` became
1970-01-01T00:00:00.5Z, `"left_on": 0` the first of January 1970), which silently
turns a client's mistake into a wrong answer. These types refuse numbers with a 422
that names the format expected; the OpenAPI schema keeps `format: date-time`. (A day,
such as a departure's, is read by `serving.loop.outcomes.day_left`.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _text_only(example: str):  # noqa: ANN202
    def check(value: Any) -> Any:
        if isinstance(value, bool | int | float) or (
                isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError(f"expected an ISO 8601 text such as {example!r}, got the number "
                             f"{value!r}; send the date as text")
        return value
    return check


IsoDateTime = Annotated[dt.datetime, BeforeValidator(_text_only("2026-10-31T00:00:00Z"))]
# a calendar quarter, UTC (serving/analytics/periods.py reads it): the period outside
# auditors read
QUARTER_PATTERN = r"^\s*\d{4}-?[Qq][1-4]\s*$"
QuarterText = Annotated[str, StringConstraints(max_length=20, pattern=QUARTER_PATTERN)]


def as_utc(t: dt.datetime) -> dt.datetime:
    """`t` in UTC; a naive time is taken to be UTC already (SQLite hands them back so)."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def when(text: str) -> dt.datetime:
    """A command-line ISO date or date-time (an argparse `type`), UTC when no offset is
    given."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date (2026-01-31) or "
                                         "date-time (2026-01-31T12:00:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
